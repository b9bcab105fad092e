"""Training from the stream cache: an image folder past NETWRIGHT_STREAM_THRESHOLD_MB
trains through the Trainer with the same split, statistics, batches, augmentation and
losses as the in-memory path; unreadable images are skipped and reported."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image
from training_docs import chain

from graph_compiler.data import fetch, streaming
from graph_compiler.document import from_dict
from graph_compiler.training.config import TrainingConfigError
from graph_compiler.training.engine import Trainer


@pytest.fixture(autouse=True)
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(fetch.DATA_DIR_ENV, str(tmp_path / "cache"))
    torch.set_num_threads(1)
    return tmp_path / "cache"


def _folder(root: Path, per_class: int = 12) -> Path:
    rng = np.random.default_rng(0)
    for label in ("ants", "bees", "cats"):
        (root / label).mkdir(parents=True)
        for i in range(per_class):
            pixels = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(root / label / f"{i:03d}.png")
    return root


def _doc(folder: Path, augment: list[Any], **training: Any) -> Any:
    net = chain("Small", [
        ("x", "Input", {"shape": [3, 8, 8]}),
        ("conv", "Conv2d", {"out_channels": 4, "kernel_size": 3, "padding": 1}),
        ("act", "ReLU", {}),
        ("flat", "Flatten", {}),
        ("fc", "Linear", {"out_features": 3}),
        ("out", "Output", {}),
    ])
    spec = {"dataset": {"image_folder": str(folder)}, "epochs": 3, "batch_size": 8, "device": "cpu",
            "val_split": 0.25, "augment": augment, **training}
    return from_dict({"format": "netwright-graph", "version": 1, "networks": [net], "training": spec})


def _run(doc: Any) -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, torch.Tensor], Trainer]:
    trainer = Trainer(doc)
    events = list(trainer.run())
    errors = [e.data["message"] for e in events if e.kind == "error"]
    assert not errors, errors
    start = next(e.data for e in events if e.kind == "start")
    epochs = [e.data for e in events if e.kind == "epoch"]
    return start, epochs, trainer.weights()["Small"], trainer


@pytest.mark.parametrize("augment", [[], [{"type": "random_crop", "padding": 1}, {"type": "hflip"}]])
def test_streamed_training_matches_in_memory(tmp_path, cache, monkeypatch, augment) -> None:
    folder = _folder(tmp_path / "pics")
    start_mem, epochs_mem, weights_mem, mem = _run(_doc(folder, augment))
    assert start_mem["streaming"] is None and mem.streamed is None
    monkeypatch.setenv(streaming.THRESHOLD_ENV, "0")
    start, epochs, weights, streamed = _run(_doc(folder, augment))
    assert streamed.streamed is not None
    assert Path(start["streaming"]["cache"]).parent == cache / "streams" and start["streaming"]["skipped"] == 0
    assert any("streaming the training data from the cache" in note for note in start["notes"])
    assert start["in_memory"] is False
    assert (start["n_train"], start["n_val"]) == (start_mem["n_train"], start_mem["n_val"]) == (27, 9)
    assert start["normalizer"]["mean"] == pytest.approx(start_mem["normalizer"]["mean"], abs=1e-9)
    assert start["normalizer"]["std"] == pytest.approx(start_mem["normalizer"]["std"], abs=1e-9)
    assert len(epochs) == len(epochs_mem) == 3
    for got, want in zip(epochs, epochs_mem):
        for key in ("train_loss", "val_loss", "val_accuracy"):
            assert math.isfinite(got[key])
            assert got[key] == pytest.approx(want[key], rel=1e-5, abs=1e-6), key
    for name, tensor in weights.items():
        torch.testing.assert_close(tensor, weights_mem[name], rtol=1e-5, atol=1e-6)


def test_in_memory_true_never_streams(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv(streaming.THRESHOLD_ENV, "0")
    start, _, _, trainer = _run(_doc(_folder(tmp_path / "pics", per_class=3), [], epochs=1, in_memory=True))
    assert start["streaming"] is None and trainer.streamed is None


def test_streamed_training_skips_and_reports_a_corrupt_image(tmp_path, monkeypatch) -> None:
    folder = _folder(tmp_path / "pics", per_class=4)
    (folder / "bees" / "broken.png").write_bytes(b"not a png at all")
    monkeypatch.setenv(streaming.THRESHOLD_ENV, "0")
    start, epochs, _, _ = _run(_doc(folder, [], epochs=1))
    assert start["streaming"]["skipped"] == 1
    assert "broken.png" in start["streaming"]["skipped_files"][0]
    assert any("skipped 1 unreadable image(s)" in note and "broken.png" in note for note in start["notes"])
    assert start["n_train"] + start["n_val"] == 12
    assert math.isfinite(epochs[0]["train_loss"])
    # The in-memory loader refuses the same folder, naming the file.
    monkeypatch.setenv(streaming.THRESHOLD_ENV, "1000")
    events = list(Trainer(_doc(folder, [], epochs=1)).run())
    error = next(e.data for e in events if e.kind == "error")
    assert "broken.png" in error["message"]


def _csv(path: Path, n: int = 40) -> Path:
    rng = np.random.default_rng(1)
    features = rng.normal(size=(n, 3)) * [1.0, 10.0, 0.1] + [0.0, 5.0, -2.0]
    label = (features[:, 0] + features[:, 2] > -2).astype(int) + (features[:, 1] > 5)
    value = features @ [0.5, -0.25, 2.0]
    lines = ["a,b,c,label,value"] + [f"{r[0]:.6f},{r[1]:.6f},{r[2]:.6f},{k},{v:.6f}"
                                     for r, k, v in zip(features, label, value)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _mlp_doc(csv: Path, target: str, outputs: int, ignore_other: bool,
             option: dict[str, Any] | None = None) -> Any:
    net = chain("Small", [
        ("x", "Input", {"shape": [4 if not ignore_other else 3]}),
        ("fc1", "Linear", {"out_features": 8}),
        ("act", "Tanh", {}),
        ("fc2", "Linear", {"out_features": outputs}),
        ("out", "Output", {}),
    ])
    spec = {"csv": str(csv), "target": target}
    spec = {**spec, "ignore": ["value" if target == "label" else "label"]} if ignore_other else spec
    spec = {**spec, **(option or {})}
    training = {"dataset": spec, "epochs": 3, "batch_size": 8, "device": "cpu", "val_split": 0.2}
    return from_dict({"format": "netwright-graph", "version": 1, "networks": [net], "training": training})


@pytest.mark.parametrize(("target", "outputs"), [("label", 3), ("value", 1)])
def test_streamed_csv_training_matches_in_memory(tmp_path, cache, monkeypatch, target, outputs) -> None:
    csv = _csv(tmp_path / "table.csv")
    start_mem, epochs_mem, weights_mem, _ = _run(_mlp_doc(csv, target, outputs, ignore_other=False))
    assert start_mem["streaming"] is None
    assert start_mem["task"] == ("classification" if target == "label" else "regression")
    monkeypatch.setenv(streaming.THRESHOLD_ENV, "0")
    start, epochs, weights, _ = _run(_mlp_doc(csv, target, outputs, ignore_other=False))
    assert start["streaming"]["cache"].startswith(str(cache)) and start["task"] == start_mem["task"]
    assert (start["n_train"], start["n_val"]) == (start_mem["n_train"], start_mem["n_val"]) == (32, 8)
    assert start["normalizer"]["mean"] == pytest.approx(start_mem["normalizer"]["mean"], abs=1e-9)
    assert start["normalizer"]["std"] == pytest.approx(start_mem["normalizer"]["std"], abs=1e-9)
    for got, want in zip(epochs, epochs_mem, strict=True):
        assert got["train_loss"] == pytest.approx(want["train_loss"], rel=1e-5, abs=1e-6)
        assert got["val_loss"] == pytest.approx(want["val_loss"], rel=1e-5, abs=1e-6)
    for name, tensor in weights.items():
        torch.testing.assert_close(tensor, weights_mem[name], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("option", [{"categorical": ["label"]}, {"missing": "drop"}, {"header": True}, {}])
def test_streamed_csv_refuses_in_memory_only_options_by_name(tmp_path, monkeypatch, option) -> None:
    monkeypatch.setenv(streaming.THRESHOLD_ENV, "0")
    doc = _mlp_doc(_csv(tmp_path / "table.csv"), "label", 3, ignore_other=not option, option=option)
    events = list(Trainer(doc).run())
    error = next(e.data for e in events if e.kind == "error")
    name = next(iter(option), "ignore")
    assert f"option {name!r} needs the in-memory loader" in error["message"] and "in_memory" in error["message"]
    assert "table.csv" in error["message"]


def test_stream_threshold_mb_in_the_file_overrides_the_setting(tmp_path, monkeypatch) -> None:
    folder = _folder(tmp_path / "pics", per_class=3)
    start, _, _, _ = _run(_doc(folder, [], epochs=1, stream_threshold_mb=0))
    assert start["streaming"] is not None and start["config"]["stream_threshold_mb"] == 0
    monkeypatch.setenv(streaming.THRESHOLD_ENV, "0")
    start, _, _, _ = _run(_doc(folder, [], epochs=1, stream_threshold_mb=1000))
    assert start["streaming"] is None
    with pytest.raises(TrainingConfigError, match="stream_threshold_mb must be a number >= 0"):
        Trainer(_doc(folder, [], epochs=1, stream_threshold_mb=-1))


def test_cli_train_says_it_streams_and_where_the_cache_is(tmp_path, cache, monkeypatch, capsys) -> None:
    from graph_compiler.cli import main
    from graph_compiler.document import save

    path = tmp_path / "small.json"
    save(_doc(_folder(tmp_path / "pics", per_class=3), [], epochs=1), path)
    monkeypatch.setenv(streaming.THRESHOLD_ENV, "0")
    assert main(["train", str(path)]) == 0
    captured = capsys.readouterr()
    assert f"streaming the training data from the cache {cache}" in captured.out + captured.err


def test_the_cache_is_reused_and_rebuilt_when_the_folder_changes(tmp_path, monkeypatch) -> None:
    folder = _folder(tmp_path / "pics", per_class=3)
    monkeypatch.setenv(streaming.THRESHOLD_ENV, "0")
    first = _run(_doc(folder, [], epochs=1))[0]["streaming"]["cache"]
    assert _run(_doc(folder, [], epochs=1))[0]["streaming"]["cache"] == first
    Image.fromarray(np.zeros((8, 8, 3), dtype=np.uint8)).save(folder / "ants" / "new.png")
    start = _run(_doc(folder, [], epochs=1))[0]
    assert start["streaming"]["cache"] != first and start["n_train"] + start["n_val"] == 10


def test_a_streamed_run_resumes_like_an_uninterrupted_one(tmp_path, monkeypatch) -> None:
    folder = _folder(tmp_path / "pics", per_class=4)
    monkeypatch.setenv(streaming.THRESHOLD_ENV, "0")
    _, whole, weights_whole, _ = _run(_doc(folder, [], epochs=2))
    list(Trainer(_doc(folder, [], epochs=1), save=tmp_path / "run").run())
    trainer = Trainer(_doc(folder, [], epochs=2), resume=tmp_path / "run")
    events = list(trainer.run())
    assert next(e.data for e in events if e.kind == "start")["resumed"] is True
    last = [e.data for e in events if e.kind == "epoch"][-1]
    assert last["train_loss"] == pytest.approx(whole[-1]["train_loss"], rel=1e-5, abs=1e-6)
    for name, tensor in trainer.weights()["Small"].items():
        torch.testing.assert_close(tensor, weights_whole[name], rtol=1e-5, atol=1e-6)


def test_a_recipe_that_batches_a_copy_of_x_is_told_to_load_in_memory(tmp_path, monkeypatch) -> None:
    from graph_compiler.training.recipes.supervised import Classification

    monkeypatch.setattr(Classification, "batch_tensors",
                        lambda self, ds: {"x": ds.x, "y": ds.y, "again": ds.x[:, :1]}, raising=False)
    monkeypatch.setenv(streaming.THRESHOLD_ENV, "0")
    events = list(Trainer(_doc(_folder(tmp_path / "pics", per_class=3), [], epochs=1)).run())
    error = next(e.data for e in events if e.kind == "error")
    assert "transforms the samples before batching" in error["message"] and "in_memory" in error["message"]
    assert not [e for e in events if e.kind == "epoch"]
