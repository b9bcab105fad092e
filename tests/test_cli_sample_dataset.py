"""`netwright dataset` and `netwright sample`, in-process through cli.main."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from graph_compiler.cli import main
from graph_compiler.document import dumps, from_dict


pytestmark = pytest.mark.usefixtures("one_thread")


# ---------------------------------------------------------------- dataset


def test_dataset_list_shows_names_tasks_and_shapes(capsys):
    assert main(["dataset", "--list"]) == 0
    out = capsys.readouterr().out
    assert "eight_gaussians" in out and "language_model" in out and "[N, 1, 8, 8]" in out
    assert main(["dataset", "--list", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {"name": "moons", "task": "classification", "shape": [2]}.items() <= next(
        r for r in rows if r["name"] == "moons").items()


def test_dataset_writes_float32_samples_and_labels(tmp_path: Path, capsys):
    out = tmp_path / "moons.npy"
    assert main(["dataset", "moons", "-n", "50", "--seed", "3", "-o", str(out), "--with-labels"]) == 0
    x, y = np.load(out), np.load(tmp_path / "moons_labels.npy")
    assert x.shape == (50, 2) and x.dtype == np.float32
    assert y.shape == (50,) and y.dtype == np.int64 and set(y.tolist()) <= {0, 1}
    again = tmp_path / "again.npy"
    assert main(["dataset", "moons", "-n", "50", "--seed", "3", "-o", str(again)]) == 0
    assert np.array_equal(np.load(again), x), "same seed, same samples"
    assert "wrote" in capsys.readouterr().out


def test_dataset_options_and_token_data(tmp_path: Path):
    out = tmp_path / "spirals.npy"
    assert main(["dataset", "spirals", "-n", "30", "--option", "arms=3", "--with-labels", "-o", str(out)]) == 0
    assert set(np.load(tmp_path / "spirals_labels.npy").tolist()) == {0, 1, 2}
    tokens = tmp_path / "parity.npy"
    assert main(["dataset", "parity", "-n", "10", "--option", "length=5", "-o", str(tokens)]) == 0
    arr = np.load(tokens)
    assert arr.shape == (10, 5) and arr.dtype == np.int64


def test_dataset_errors_name_the_problem(tmp_path: Path, capsys):
    assert main(["dataset", "nope", "-o", str(tmp_path / "x.npy")]) == 1
    assert "unknown dataset 'nope'" in capsys.readouterr().err
    assert main(["dataset", "moons", "--option", "bad=1", "-o", str(tmp_path / "x.npy")]) == 1
    assert "has no option 'bad'" in capsys.readouterr().err
    assert main(["dataset", "moons"]) == 1
    assert "-o OUT.npy" in capsys.readouterr().err
    assert main(["dataset", "moons", "--option", "noise", "-o", str(tmp_path / "x.npy")]) == 1
    assert "expected KEY=VALUE" in capsys.readouterr().err


# ---------------------------------------------------------------- sample


def node(nid: str, type_: str, **params: Any) -> dict[str, Any]:
    return {"id": nid, "type": type_, "params": params}


def chain(name: str, *nodes: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "nodes": list(nodes),
            "edges": [{"src": a["id"], "dst": b["id"]} for a, b in zip(nodes, nodes[1:])]}


def write(tmp_path: Path, name: str, networks: list[dict[str, Any]], training: dict[str, Any]) -> Path:
    path = tmp_path / f"{name}.json"
    path.write_text(dumps(from_dict({"format": "netwright-graph", "version": 1, "networks": networks,
                                     "training": training})))
    return path


def train(path: Path, run_dir: Path) -> None:
    assert main(["train", str(path), "--save", str(run_dir), "--quiet"]) == 0


@pytest.fixture(scope="module")
def gan_run(tmp_path_factory) -> tuple[Path, Path]:
    tmp = tmp_path_factory.mktemp("gan")
    g = chain("Generator", node("z", "Input", shape=[3]), node("fc", "Linear", out_features=16), node("r", "ReLU"),
              node("out", "Linear", out_features=2), node("o", "Output"))
    d = chain("Discriminator", node("x", "Input", shape=[2]), node("fc", "Linear", out_features=16),
              node("r", "LeakyReLU"), node("out", "Linear", out_features=1), node("o", "Output"))
    path = write(tmp, "gan", [g, d], {"recipe": "gan", "dataset": {"name": "blobs", "n": 200}, "epochs": 1,
                                      "batch_size": 50})
    train(path, tmp / "run")
    return path, tmp / "run"


def test_sample_gan_writes_an_array_in_data_units(gan_run, tmp_path: Path, capsys):
    path, run_dir = gan_run
    assert (run_dir / "weights.safetensors").is_file() and (run_dir / "Discriminator.safetensors").is_file()
    out = tmp_path / "fake.npy"
    assert main(["sample", str(path), "--weights", str(run_dir), "-n", "40", "--threads", "1", "-o", str(out)]) == 0
    arr = np.load(out)
    assert arr.shape == (40, 2) and arr.dtype == np.float32 and np.isfinite(arr).all()
    # Without FILE the run's own snapshot of the graph is used; the seed makes it repeatable.
    again = tmp_path / "again.npy"
    assert main(["sample", "--weights", str(run_dir), "-n", "40", "-o", str(again)]) == 0
    assert np.array_equal(np.load(again), arr)
    assert main(["sample", "--weights", str(run_dir), "-n", "40", "--seed", "1", "-o", str(again)]) == 0
    assert not np.array_equal(np.load(again), arr)


def test_sample_errors(gan_run, tmp_path: Path, capsys):
    path, run_dir = gan_run
    assert main(["sample", str(path), "--weights", str(run_dir), "-n", "5", "-o", str(tmp_path / "x.csv")]) == 1
    assert "ending in .npy" in capsys.readouterr().err
    assert main(["sample", str(path), "--weights", str(tmp_path / "missing"), "-o", str(tmp_path / "x.npy")]) == 1
    assert "no such run folder" in capsys.readouterr().err
    clf = write(tmp_path, "clf", [chain("M", node("x", "Input", shape=[2]), node("fc", "Linear", out_features=3),
                                        node("o", "Output"))],
                {"recipe": "classification", "dataset": {"name": "blobs", "n": 100}, "epochs": 1})
    train(clf, tmp_path / "clf_run")
    assert main(["sample", str(clf), "--weights", str(tmp_path / "clf_run"), "-o", str(tmp_path / "x.npy")]) == 1
    assert "does not generate samples" in capsys.readouterr().err


def test_sample_language_model_prints_or_writes_text(tmp_path: Path, capsys):
    T = 8
    lm = chain("LM", node("tokens", "Input", shape=[T], dtype="int64"),
               node("embed", "Embedding", num_embeddings=96, embedding_dim=16),
               node("lstm", "LSTM", hidden_size=16), node("head", "Linear", out_features=96), node("o", "Output"))
    path = write(tmp_path, "lm", [lm], {"recipe": "language_model", "epochs": 1, "batch_size": 32,
                                        "dataset": {"name": "chars", "block_size": T, "n": 200, "max_chars": 5000}})
    train(path, tmp_path / "run")
    capsys.readouterr()
    assert main(["sample", str(path), "--weights", str(tmp_path / "run"), "-n", "25", "--prompt", "the ",
                 "--temperature", "0.5"]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("the ") and len(printed.rstrip("\n")) == 4 + 25
    out = tmp_path / "text.txt"
    assert main(["sample", str(path), "--weights", str(tmp_path / "run"), "-n", "10", "-o", str(out)]) == 0
    assert len(out.read_text()) > 10
    assert main(["sample", str(path), "--weights", str(tmp_path / "run"), "-n", "10",
                 "-o", str(tmp_path / "t.npy")]) == 1
    assert "use an output ending in .txt" in capsys.readouterr().err


def test_dataset_into_a_directory_is_refused_not_written_beside_it(tmp_path: Path, capsys):
    folder = tmp_path / "out"
    folder.mkdir()
    assert main(["dataset", "moons", "-n", "10", "-o", str(folder)]) == 1
    assert f"{folder}: is a directory" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == [folder] and not any(folder.iterdir())
