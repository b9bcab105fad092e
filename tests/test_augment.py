"""training.augment: checked parameters, batched ops that keep shape and dtype, the same
result under the same seed, misfits named, and a training run that uses them."""
from __future__ import annotations

import math

import pytest
import torch
from training_docs import chain

from graph_compiler.document import from_dict
from graph_compiler.training.augment import AUGMENTATIONS, Augmenter, parse_augment
from graph_compiler.training.config import TrainingConfigError, parse_config
from graph_compiler.training.engine import Trainer
from graph_compiler.training.preprocessing import Normalizer


def _aug(specs, shape=(3, 12, 10), task="classification", classes=5, loss=None, seed=0,
         dtype=torch.float32, normalizer=None) -> Augmenter:
    return Augmenter(parse_augment(specs), sample_shape=shape, x_dtype=dtype, task=task,
                     num_classes=classes, loss=loss, seed=seed, normalizer=normalizer, dataset="pics")


def _images(b=8, shape=(3, 12, 10), dtype=torch.float32) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    return {"x": torch.rand(b, *shape, generator=g).to(dtype), "y": torch.arange(b) % 5}


IMAGE_SPECS = [
    {"type": "random_crop", "padding": 2},
    {"type": "hflip"},
    {"type": "affine", "degrees": 15, "translate": 0.1, "scale": [0.9, 1.1]},
    {"type": "color_jitter"},
    {"type": "random_erasing", "p": 1.0},
]


@pytest.mark.parametrize("spec", IMAGE_SPECS, ids=lambda s: s["type"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_image_ops_keep_shape_dtype_and_repeat_under_a_seed(spec, dtype) -> None:
    batch = _images(dtype=dtype)
    a, b = _aug([spec], dtype=dtype), _aug([spec], dtype=dtype)
    out = a(batch)
    assert out["x"].shape == batch["x"].shape and out["x"].dtype == dtype
    assert torch.equal(out["y"], batch["y"]), "labels untouched"
    assert torch.equal(out["x"], b(batch)["x"]), "same seed, epoch and batch: same result"
    assert not torch.equal(out["x"], a(batch)["x"]), "the next batch draws new numbers"
    other = _aug([spec], seed=7, dtype=dtype)(batch)["x"]
    assert not torch.equal(out["x"], other), "another seed: another result"
    a.start_epoch(1)
    b.start_epoch(1)
    assert torch.equal(a(batch)["x"], b(batch)["x"]), "epochs restart the stream"


def test_identity_settings_leave_images_alone() -> None:
    batch = _images()
    same = _aug([{"type": "random_crop", "padding": 0}, {"type": "hflip", "p": 0.0},
                 {"type": "affine", "degrees": 0}, {"type": "random_erasing", "p": 0.0},
                 {"type": "color_jitter", "brightness": 0, "contrast": 0, "saturation": 0}])(batch)
    assert torch.allclose(same["x"], batch["x"], atol=1e-6)
    flipped = _aug([{"type": "hflip", "p": 1.0}])(batch)
    assert torch.equal(flipped["x"], batch["x"].flip(-1))


def test_random_crop_is_a_window_of_the_padded_image() -> None:
    batch = _images(b=6)
    out = _aug([{"type": "random_crop", "padding": 3, "size": [8, 7]}])(batch)["x"]
    assert out.shape == (6, 3, 8, 7)
    padded = torch.nn.functional.pad(batch["x"], (3, 3, 3, 3))
    for i in range(6):  # checking each sample here; the op itself is batched
        windows = padded[i].unfold(1, 8, 1).unfold(2, 7, 1)  # [C, oy, ox, 8, 7]
        assert (windows == out[i][:, None, None]).flatten(3).all(-1).all(0).any()


def test_random_erasing_fills_a_box_of_the_asked_area() -> None:
    x = torch.ones(64, 1, 20, 20)
    out = _aug([{"type": "random_erasing", "p": 1.0, "scale": [0.1, 0.2], "value": -1.0}],
               shape=(1, 20, 20))({"x": x, "y": torch.zeros(64, dtype=torch.long)})["x"]
    erased = (out == -1).float().mean(dim=(1, 2, 3))
    assert set(out.unique().tolist()) == {-1.0, 1.0}
    assert 0.03 < float(erased.mean()) < 0.2 and float(erased.max()) <= 0.21


def test_color_jitter_works_on_pixels_even_when_normalised() -> None:
    batch = _images()
    norm = Normalizer([0.5, 0.4, 0.3], [0.2, 0.25, 0.3], [3, 1, 1])
    normalised = {"x": norm.apply(batch["x"]), "y": batch["y"]}
    spec = [{"type": "color_jitter", "brightness": 0.5}]
    plain = _aug(spec)(batch)["x"]
    via_norm = _aug(spec, normalizer=norm)(normalised)["x"]
    assert torch.allclose(norm.apply(plain), via_norm, atol=1e-5)
    assert plain.min() >= 0 and plain.max() <= 1


def test_mixup_mixes_images_and_targets_alike() -> None:
    x = torch.arange(8.0).view(8, 1, 1, 1).expand(8, 1, 4, 4).contiguous()
    y = torch.arange(8) % 4
    out = _aug([{"type": "mixup", "alpha": 0.4}], shape=(1, 4, 4), classes=4)({"x": x, "y": y})
    soft = out["y"]
    assert soft.shape == (8, 4) and soft.dtype == torch.float32
    assert torch.allclose(soft.sum(1), torch.ones(8))
    lam = soft[torch.arange(8), y]  # own class share (other sample may share the class)
    assert ((lam >= 0) & (lam <= 1 + 1e-6)).all()
    assert out["x"].shape == x.shape and torch.allclose(out["x"].amin((1, 2, 3)), out["x"].amax((1, 2, 3)))


def test_cutmix_targets_follow_the_pasted_area() -> None:
    x = torch.arange(8.0).view(8, 1, 1, 1).expand(8, 1, 16, 16).contiguous()
    y = torch.arange(8)
    out = _aug([{"type": "cutmix"}], shape=(1, 16, 16), classes=8)({"x": x, "y": y})
    for i in range(8):
        own = float((out["x"][i] == i).float().mean())
        assert math.isclose(float(out["y"][i, i]), own, abs_tol=1e-6) or own == 0.0
        assert math.isclose(float(out["y"][i].sum()), 1.0, abs_tol=1e-6)


@pytest.mark.parametrize("specs, shape, task, message", [
    ([{"type": "hflip"}], (4,), "classification", r"augment\[0\] \(hflip\) needs images"),
    ([{"type": "random_crop", "size": [40, 40]}], (3, 12, 10), "classification",
     r"random_crop.*crop size \[40, 40\] is larger than the padded image \[20, 18\]"),
    ([{"type": "mixup"}], (4,), "regression", r"mixup.*needs a classification dataset"),
    ([{"type": "cutmix"}], (4,), "classification", r"cutmix.*needs images"),
])
def test_misfits_name_the_augmentation(specs, shape, task, message) -> None:
    with pytest.raises(TrainingConfigError, match=message):
        _aug(specs, shape=shape, task=task)


def test_mixup_needs_cross_entropy() -> None:
    with pytest.raises(TrainingConfigError, match="cross_entropy"):
        _aug([{"type": "mixup"}], loss="mse")


@pytest.mark.parametrize("value, message", [
    ({"type": "hflip"}, "must be a list"),
    ([{"type": "blur"}], r"unknown type 'blur'; types: " + ", ".join(AUGMENTATIONS)),
    ([{"type": "hflip", "prob": 0.5}], r"augment\[0\] \(hflip\): unknown parameter 'prob'"),
    ([{"type": "hflip", "p": 2}], r"'p' must be a number in \[0, 1\]"),
    ([{"type": "affine", "scale": [1.2, 0.8]}], "low <= high"),
    ([{"type": "random_crop", "padding": -1}], "'padding' must be an integer"),
    ([3], r"augment\[0\] must be an object"),
])
def test_config_errors_name_entry_and_parameter(value, message) -> None:
    with pytest.raises(TrainingConfigError, match=message):
        parse_config({"augment": value})


def test_config_round_trips_with_defaults_filled_in() -> None:
    cfg = parse_config({"augment": ["hflip", {"type": "random_crop", "padding": 2}]})
    assert cfg.augment == [{"type": "hflip", "p": 0.5},
                           {"type": "random_crop", "padding": 2, "size": None, "padding_mode": "zeros"}]
    assert parse_config(cfg.to_dict()).augment == cfg.augment


def _cnn_doc(augment: list) -> object:
    net = chain("Small", [
        ("x", "Input", {"shape": [1, 8, 8]}),
        ("conv", "Conv2d", {"out_channels": 4, "kernel_size": 3, "padding": 1}),
        ("act", "ReLU", {}),
        ("flat", "Flatten", {}),
        ("fc", "Linear", {"out_features": 10}),
        ("out", "Output", {}),
    ])
    training = {"dataset": {"name": "digits", "n": 200}, "epochs": 2, "batch_size": 32,
                "device": "cpu", "augment": augment, "options": {"train_accuracy": True}}
    return from_dict({"format": "netwright-graph", "version": 1, "networks": [net], "training": training})


def _train(doc) -> tuple[dict, dict]:
    trainer = Trainer(doc)
    done = next(e.data for e in trainer.run() if e.kind == "done")
    return done, trainer.weights()["Small"]


def test_training_with_augmentation_runs_and_repeats() -> None:
    torch.set_num_threads(1)
    augment = [{"type": "random_crop", "padding": 1}, {"type": "hflip"}, {"type": "cutmix", "p": 0.5}]
    (done, first), (_, second) = _train(_cnn_doc(augment)), _train(_cnn_doc(augment))
    assert done["reason"] == "completed" and math.isfinite(done["metrics"]["train_loss"])
    assert all(torch.equal(first[k], second[k]) for k in first), "same seed: same weights"
    _, plain = _train(_cnn_doc([]))
    assert not all(torch.equal(first[k], plain[k]) for k in first), "augmentation changed training"


def test_training_reports_a_misfit_before_it_starts() -> None:
    events = list(Trainer(_cnn_doc([{"type": "random_crop", "size": [30, 30]}])).run())
    error = next(e.data for e in events if e.kind == "error")
    assert "random_crop" in error["message"] and "[30, 30]" in error["message"]


def test_exported_script_augments_exactly_like_the_engine(tmp_path, monkeypatch, capsys) -> None:
    """The script carries the same operations: same batches, same draws, same numbers."""
    import re
    import runpy
    import subprocess
    import sys
    from pathlib import Path

    from graph_compiler.interop.script_export import generate_script

    torch.set_num_threads(1)
    augment = [{"type": "random_crop", "padding": 1}, {"type": "hflip"}, {"type": "affine"},
               {"type": "color_jitter"}, {"type": "random_erasing"}, {"type": "mixup"}, {"type": "cutmix"}]
    doc = _cnn_doc(augment)
    engine = [e.data for e in Trainer(doc).run() if e.kind == "epoch"]
    script = tmp_path / "train.py"
    script.write_text(generate_script(doc))
    ruff = Path(sys.executable).parent / "ruff"
    check = subprocess.run([str(ruff), "check", "--isolated", str(script)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout
    fmt = subprocess.run([str(ruff), "format", "--isolated", "--check", "--diff", str(script)],
                         capture_output=True, text=True)
    assert fmt.returncode == 0, fmt.stdout
    assert "import graph_compiler" not in script.read_text() and "def aug_cutmix(" in script.read_text()
    monkeypatch.setattr(sys, "argv", [str(script), "--out", str(tmp_path / "out")])
    runpy.run_path(str(script), run_name="__main__")
    rows = [dict(zip(m.group(1).split()[::2], map(float, m.group(1).split()[1::2])))
            for m in re.finditer(r"^epoch \d+ (.*)$", capsys.readouterr().out, re.M)]
    assert len(rows) == len(engine) == 2
    for ours, theirs in zip(rows, engine):
        assert ours["val_loss"] == pytest.approx(theirs["val_loss"], abs=2e-4)


def test_scripts_without_augmentation_carry_none_of_it() -> None:
    from graph_compiler.interop.script_export import generate_script

    text = generate_script(_cnn_doc([]))
    assert "augment_batch" not in text and "for batch in batches:" in text


def test_documented_misfit_message_for_tabular_data() -> None:
    from training_docs import mlp_doc

    doc = mlp_doc({"dataset": "iris", "epochs": 1, "augment": ["hflip"]}, inputs=4)
    message = next(e.data["message"] for e in Trainer(doc).run() if e.kind == "error")
    assert "training.augment[0] (hflip) needs images [N, C, H, W]; dataset 'iris' has samples [4]" in message
