"""Built-in datasets, dataset specs, splits and normalisation."""

from __future__ import annotations

import math
import pathlib

import numpy as np
import pytest
import torch

from graph_compiler.errors import NetwrightError
from graph_compiler.training.datasets import (
    TASKS,
    Dataset,
    DatasetError,
    list_datasets,
    load_dataset,
    resolve_dataset,
)
from graph_compiler.training.text_datasets import decode, encode
from graph_compiler.training.preprocessing import Normalizer, split

REQUIRED = {
    "digits",
    "iris",
    "wine",
    "breast_cancer",
    "moons",
    "circles",
    "spirals",
    "blobs",
    "eight_gaussians",
    "sine",
    "parity",
    "sum",
    "copy",
    "sort",
    "chars",
}
GENERATED = [
    "moons",
    "circles",
    "spirals",
    "blobs",
    "eight_gaussians",
    "sine",
    "parity",
    "sum",
    "copy",
    "sort",
    "chars",
]


def test_registry_lists_every_required_dataset() -> None:
    infos = {info.name: info for info in list_datasets()}
    assert REQUIRED <= set(infos)
    for info in infos.values():
        assert info.task in TASKS
        assert info.description


@pytest.mark.parametrize("info", [i for i in list_datasets() if not i.downloads], ids=lambda info: info.name)
def test_each_dataset_matches_its_info(info) -> None:
    ds = load_dataset(info.name, n=64)
    assert len(ds) == 64
    assert ds.name == info.name and ds.task == info.task
    assert ds.input_shape == info.input_shape
    assert ds.meta["description"] == info.description
    if (
        ds.task in ("sequence_classification", "sequence_to_sequence", "language_model")
        or info.name == "sum"
    ):
        assert ds.x.dtype == torch.int64
        assert 0 <= int(ds.x.min()) and int(ds.x.max()) < ds.meta["vocab_size"]
    else:
        assert ds.x.dtype == torch.float32
        assert torch.isfinite(ds.x).all()
    if ds.task in ("classification", "sequence_classification"):
        assert ds.y.dtype == torch.int64 and ds.y.shape == (64,)
        assert ds.num_classes == len(ds.classes)
        assert 0 <= int(ds.y.min()) and int(ds.y.max()) < ds.num_classes
    elif ds.task == "regression":
        assert ds.y.dtype == torch.float32 and ds.y.ndim == 2 and ds.num_classes is None


@pytest.mark.parametrize("name", GENERATED)
def test_generated_datasets_are_deterministic_given_seed(name: str) -> None:
    a, b, c = (
        load_dataset(name, n=50, seed=3),
        load_dataset(name, n=50, seed=3),
        load_dataset(name, n=50, seed=4),
    )
    assert torch.equal(a.x, b.x) and torch.equal(a.y, b.y)
    assert not torch.equal(a.x, c.x)


def test_digits_images() -> None:
    ds = load_dataset("digits")
    assert ds.x.shape == (1797, 1, 8, 8) and ds.x.dtype == torch.float32
    assert float(ds.x.min()) == 0.0 and float(ds.x.max()) == 1.0
    assert ds.num_classes == 10 and set(ds.y.tolist()) == set(range(10))
    assert ds.meta["image_shape"] == [1, 8, 8]
    flat = load_dataset("digits_flat")
    assert torch.equal(flat.x, ds.x.reshape(1797, 64))


@pytest.mark.parametrize(
    ("name", "shape", "classes"),
    [("iris", (150, 4), 3), ("wine", (178, 13), 3), ("breast_cancer", (569, 30), 2)],
)
def test_tabular_sets_are_standardised(name: str, shape: tuple[int, int], classes: int) -> None:
    ds = load_dataset(name)
    assert ds.x.shape == shape and ds.num_classes == classes
    assert torch.allclose(ds.x.mean(0), torch.zeros(shape[1]), atol=1e-5)
    assert torch.allclose(ds.x.std(0, unbiased=False), torch.ones(shape[1]), atol=1e-4)


def test_fixed_size_subsets() -> None:
    a, b = load_dataset("iris", n=30, seed=1), load_dataset("iris", n=30, seed=1)
    assert torch.equal(a.x, b.x) and len(a) == 30
    with pytest.raises(DatasetError, match="only 150 samples"):
        load_dataset("iris", n=151)


def test_eight_gaussians_cover_every_mode() -> None:
    ds = load_dataset("eight_gaussians", n=400, noise=0.05)
    assert torch.bincount(ds.y, minlength=8).tolist() == [50] * 8
    angles = torch.arange(8) * (2 * math.pi / 8)
    centres = 2.0 * torch.stack([torch.cos(angles), torch.sin(angles)], dim=1)
    nearest = torch.cdist(ds.x, centres).argmin(dim=1)
    assert torch.equal(nearest, ds.y)
    assert torch.allclose(ds.x.norm(dim=1), torch.full((400,), 2.0), atol=0.3)


def test_two_d_options() -> None:
    spirals = load_dataset("spirals", n=300, arms=3)
    assert spirals.num_classes == 3 and torch.bincount(spirals.y).tolist() == [100, 100, 100]
    assert float(spirals.x.norm(dim=1).max()) < 1.3
    assert load_dataset("blobs", n=90, centers=5).num_classes == 5
    tight, loose = load_dataset("moons", n=500, noise=0.0), load_dataset("moons", n=500, noise=0.3)
    assert tight.x.std() < loose.x.std() * 1.2 and not torch.equal(tight.x, loose.x)
    with pytest.raises(DatasetError, match="'arms'"):
        load_dataset("spirals", arms=4)


def test_sine_regression() -> None:
    ds = load_dataset("sine", n=500, noise=0.0)
    assert ds.x.shape == (500, 1) and ds.y.shape == (500, 1)
    assert float(ds.x.min()) >= -math.pi and float(ds.x.max()) <= math.pi
    assert torch.allclose(ds.y, torch.sin(ds.x), atol=1e-6)


def test_sequence_tasks() -> None:
    parity = load_dataset("parity", n=100, length=12)
    assert parity.x.shape == (100, 12) and set(parity.x.unique().tolist()) <= {0, 1}
    assert torch.equal(parity.y, parity.x.sum(1) % 2) and parity.classes == ["even", "odd"]
    assert parity.meta["vocab_size"] == 2

    total = load_dataset("sum", n=100, length=4)
    assert total.task == "regression" and total.meta["vocab_size"] == 10
    assert torch.equal(total.y[:, 0], total.x.sum(1).float())

    copy = load_dataset("copy", n=100, length=6, vocab_size=7)
    assert (
        copy.task == "sequence_to_sequence"
        and torch.equal(copy.y, copy.x)
        and copy.num_classes == 7
    )
    sort = load_dataset("sort", n=100)
    assert sort.y.shape == (100, 8) and sort.y.dtype == torch.int64
    assert torch.equal(sort.y, sort.x.sort(dim=1).values)


def test_chars_language_model() -> None:
    ds = load_dataset("chars", n=32, block_size=16, max_chars=20_000)
    vocab = ds.meta["vocab"]
    assert (
        vocab == "".join(sorted(set(vocab)))
        and ds.meta["vocab_size"] == len(vocab) == ds.num_classes
    )
    assert ds.meta["corpus_chars"] == 20_000
    assert ds.x.shape == ds.y.shape == (32, 16) and ds.x.dtype == ds.y.dtype == torch.int64
    assert torch.equal(ds.x[:, 1:], ds.y[:, :-1])
    assert all(c == "\n" or " " <= c <= "~" for c in vocab)
    text = decode(ds.x[0], vocab)
    assert encode(text, vocab) == ds.x[0].tolist()
    with pytest.raises(DatasetError, match="position 2"):
        encode("ab\u00e9", vocab)
    with pytest.raises(DatasetError):
        decode([len(vocab)], vocab)


def test_load_dataset_errors_name_the_culprit() -> None:
    with pytest.raises(DatasetError, match="unknown dataset 'imagenet'.*digits") as info:
        load_dataset("imagenet")
    assert isinstance(info.value, NetwrightError)
    with pytest.raises(DatasetError, match="no option 'nosie'"):
        load_dataset("moons", nosie=0.1)
    with pytest.raises(DatasetError, match="'noise' must be a number"):
        load_dataset("moons", noise="high")
    with pytest.raises(DatasetError, match="'n' must be at least 1"):
        load_dataset("moons", n=0)
    with pytest.raises(DatasetError, match="'n' must be an integer"):
        load_dataset("moons", n=True)
    with pytest.raises(DatasetError, match="'block_size'"):
        load_dataset("chars", block_size=2.5)


def test_dataset_container_checks() -> None:
    ds = Dataset("d", torch.zeros(4, 3), torch.tensor([0, 1, 2, 1]), "classification")
    assert ds.num_classes == 3 and ds.input_shape == (3,) and len(ds) == 4
    with pytest.raises(DatasetError, match="task"):
        Dataset("d", torch.zeros(4, 3), None, "clustering")
    with pytest.raises(DatasetError, match="4 samples but y has 3"):
        Dataset("d", torch.zeros(4, 3), torch.zeros(3), "regression")


def test_resolve_specs(tmp_path: pathlib.Path) -> None:
    assert resolve_dataset("iris").name == "iris"
    moons = resolve_dataset({"name": "moons", "n": 200, "noise": 0.05}, seed=5)
    assert len(moons) == 200 and torch.equal(
        moons.x, load_dataset("moons", n=200, seed=5, noise=0.05).x
    )
    seeded = resolve_dataset({"name": "moons", "n": 10, "seed": 9})
    assert torch.equal(seeded.x, load_dataset("moons", n=10, seed=9).x)

    (tmp_path / "data.csv").write_text("a,b,label\n1,2,x\n3,4,y\n5,6,x\n")
    ds = resolve_dataset({"csv": "data.csv", "target": "label"}, base_dir=tmp_path)
    assert ds.classes == ["x", "y"] and ds.x.shape == (3, 2)
    np.savez(tmp_path / "d.npz", feats=np.ones((4, 2)), lab=np.array([0, 1, 0, 1]))
    assert len(resolve_dataset({"npz": str(tmp_path / "d.npz"), "x": "feats", "y": "lab"})) == 4


def test_resolve_spec_errors(tmp_path: pathlib.Path) -> None:
    with pytest.raises(DatasetError, match="'colour' is not valid with 'csv'"):
        resolve_dataset({"csv": "data.csv", "colour": "red"}, base_dir=tmp_path)
    with pytest.raises(DatasetError, match="exactly one of"):
        resolve_dataset({"csv": "a.csv", "npz": "b.npz"})
    with pytest.raises(DatasetError, match="exactly one of"):
        resolve_dataset({"n": 3})
    with pytest.raises(DatasetError, match="'csv' must be a file path"):
        resolve_dataset({"csv": 3})
    with pytest.raises(DatasetError, match="name or an object"):
        resolve_dataset(["digits"])  # type: ignore[arg-type]
    with pytest.raises(DatasetError, match="does not exist"):
        resolve_dataset({"csv": "nope.csv"}, base_dir=tmp_path)
    with pytest.raises(DatasetError, match="'grayscale' must be true or false"):
        resolve_dataset({"image_folder": str(tmp_path), "grayscale": "yes"})


def test_split_is_deterministic_and_disjoint() -> None:
    ds = Dataset(
        "d",
        torch.arange(100, dtype=torch.float32)[:, None],
        torch.arange(100) % 3,
        "classification",
        classes=["a", "b", "c"],
        meta={"k": 1},
    )
    train, val = split(ds, 0.2, seed=0)
    assert len(train) == 80 and len(val) == 20
    ids = torch.cat([train.x[:, 0], val.x[:, 0]]).long()
    assert sorted(ids.tolist()) == list(range(100))
    assert torch.equal(train.y, train.x[:, 0].long() % 3)
    assert train.meta == {"k": 1, "split": "train"} and ds.meta == {"k": 1}
    again, _ = split(ds, 0.2, seed=0)
    other, _ = split(ds, 0.2, seed=1)
    assert torch.equal(again.x, train.x) and not torch.equal(other.x, train.x)
    assert [
        len(part) for part in split(Dataset("t", torch.zeros(2, 1), None, "unsupervised"), 0.01, 0)
    ] == [1, 1]
    for bad in (0, 1.0, -0.1, "0.2"):
        with pytest.raises(DatasetError, match="between 0 and 1"):
            split(ds, bad, 0)  # type: ignore[arg-type]


def test_normalizer_per_feature_and_per_channel() -> None:
    generator = torch.Generator().manual_seed(0)
    table = torch.randn(200, 3, generator=generator) * torch.tensor([1.0, 5.0, 0.1]) + torch.tensor(
        [3.0, -2.0, 0.0]
    )
    table[:, 2] = 7.0  # a constant column must not turn into NaN
    norm = Normalizer.fit(table)
    out = norm.apply(table)
    assert torch.allclose(out[:, :2].mean(0), torch.zeros(2), atol=1e-5)
    assert torch.allclose(out[:, :2].std(0, unbiased=False), torch.ones(2), atol=1e-4)
    assert torch.equal(out[:, 2], torch.zeros(200)) and norm.std[2] == 1.0

    images = torch.rand(16, 3, 5, 5, generator=generator) * torch.tensor([1.0, 2.0, 4.0]).view(
        1, 3, 1, 1
    )
    per_channel = Normalizer.fit(images, per_channel=True)
    assert len(per_channel.mean) == 3 and per_channel.view_shape == [1, 3, 1, 1]
    normalised = per_channel.apply(images)
    assert torch.allclose(normalised.mean(dim=(0, 2, 3)), torch.zeros(3), atol=1e-5)
    assert len(Normalizer.fit(images).mean) == 75

    restored = Normalizer.from_dict(per_channel.to_dict())
    assert restored == per_channel
    assert Normalizer.from_dict({"mean": [0.5], "std": [2.0]}).view_shape == [1, 1]

    line = per_channel.code()
    assert (
        "\n" not in line
        and line.startswith("x = (x - torch.tensor([")
        and ".view(1, 3, 1, 1)" in line
    )
    namespace = {"torch": torch, "x": images.clone()}
    exec(line, namespace)  # noqa: S102 - the line is our own generated code
    assert torch.allclose(namespace["x"], normalised, atol=1e-6)

    with pytest.raises(DatasetError, match="cannot apply"):
        per_channel.apply(torch.zeros(2, 4, 5, 5))
    with pytest.raises(DatasetError, match="float features"):
        Normalizer.fit(torch.zeros(4, 3, dtype=torch.int64))
    with pytest.raises(DatasetError, match="invalid normaliser"):
        Normalizer.from_dict({"mean": [0.0]})


def test_a_mistyped_dataset_name_gets_the_close_match_everywhere(tmp_path, capsys) -> None:
    from graph_compiler.cli import main
    from graph_compiler.training.datasets import resolve_dataset

    # The registry, a document's training section (a name or {"name": ...}).
    for resolve in (lambda: load_dataset("eight_gausians"), lambda: resolve_dataset("eight_gausians"),
                    lambda: resolve_dataset({"name": "eight_gausians", "n": 10})):
        with pytest.raises(DatasetError) as info:
            resolve()
        assert str(info.value) == ("unknown dataset 'eight_gausians'; did you mean 'eight_gaussians'? "
                                   "(all: netwright dataset --list)")
    # `netwright evaluate --split NAME` / `--unfamiliar NAME`.
    from graph_compiler.insight.target import load_dataset_spec

    with pytest.raises(DatasetError, match="did you mean 'eight_gaussians'"):
        load_dataset_spec("eight_gausians", None, torch.zeros(1, 2))
    # `netwright dataset NAME` and `--fetch NAME`: one line, the suggestion, not the whole list.
    assert main(["dataset", "eight_gausians", "-o", str(tmp_path / "x.npy")]) == 1
    err = capsys.readouterr().err
    assert "did you mean 'eight_gaussians'?" in err and "moons" not in err and len(err.splitlines()) == 1
    assert main(["dataset", "--fetch", "mnsit"]) == 1
    err = capsys.readouterr().err
    assert "unknown downloadable dataset 'mnsit'; did you mean 'mnist'?" in err and "Traceback" not in err
    # Nothing close: the list, as before.
    with pytest.raises(DatasetError, match="unknown dataset 'zzzzzz'; datasets are: .*moons"):
        load_dataset("zzzzzz")
