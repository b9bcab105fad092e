"""The real-size examples (cnn_mnist, resnet_cifar10, char_transformer_shakespeare) on
small files in the exact formats, served by a local HTTP server started by the test:
each validates, trains a tiny run through the same code paths, and exports a script
that fetches and reads its data as Netwright does."""
from __future__ import annotations

import dataclasses
import runpy
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from fetch_server import FileServer, Route, cifar_binary_tar, mnist_like, sha256

from graph_compiler.analysis import Analyzer
from graph_compiler.data import fetch, standard
from graph_compiler.examples import load_example
from graph_compiler.interop.script_export import generate_script
from graph_compiler.interop.script_templates import standard_data
from graph_compiler.training.datasets import load_dataset
from graph_compiler.training.engine import Trainer

REAL = ("cnn_mnist", "resnet_cifar10", "char_transformer_shakespeare")
TEXT = ("First Citizen:\nBefore we proceed any further, hear me speak.\n\nAll:\nSpeak, speak.\n" * 60)


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """mnist, cifar10 and tiny_shakespeare in their real formats, pinned to their sha256."""
    monkeypatch.setenv(fetch.DATA_DIR_ENV, str(tmp_path / "cache"))
    monkeypatch.setattr(fetch, "RETRIES", 0)
    server = FileServer().start()
    monkeypatch.setenv(fetch.MIRROR_ENV, server.url)
    files: dict[str, dict[str, bytes]] = {"mnist": {k: v for k, (_, v) in mnist_like(40, 12).items()}}
    rng = np.random.default_rng(3)
    members = {f"cifar-10-batches-bin/data_batch_{i}.bin": "train" for i in range(1, 6)}
    members["cifar-10-batches-bin/test_batch.bin"] = "test"
    images = {m: rng.integers(0, 256, (2, 3, 32, 32), dtype=np.uint8) for m in members}
    labels = {m: rng.integers(0, 10, 2, dtype=np.uint8) for m in members}
    names = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
    files["cifar10"] = {"cifar-10-binary.tar.gz": cifar_binary_tar(images, labels, members, names,
                                                                    "cifar-10-batches-bin/batches.meta.txt")}
    files["tiny_shakespeare"] = {"input.txt": TEXT.encode()}
    for name, contents in files.items():
        info = standard.STANDARD[name]
        for file_name, data in contents.items():
            server.routes[f"/{name}/{file_name}"] = Route(data)
        pinned = {role: dataclasses.replace(f, sha256=sha256(contents[f.name])) for role, f in info.files.items()}
        monkeypatch.setitem(standard.STANDARD, name, dataclasses.replace(info, files=pinned))
    yield server
    server.stop()


@pytest.mark.parametrize("name", REAL)
def test_real_examples_validate_and_declare_their_targets(name: str) -> None:
    doc = load_example(name)
    assert Analyzer().analyze(doc).ok
    training = doc.training
    assert training["dataset"]["name"] in standard.STANDARD
    assert training["validation"]["split"] == "test"
    if name != "char_transformer_shakespeare":
        assert "Target" in doc.meta["description"]


SMALL = {
    "cnn_mnist": {"epochs": 1, "batch_size": 16},
    "resnet_cifar10": {"epochs": 1, "batch_size": 4},
    "char_transformer_shakespeare": {
        "epochs": 1, "batch_size": 8,
        "dataset": {"name": "tiny_shakespeare", "block_size": 128, "n": 16},
        "validation": {"name": "tiny_shakespeare", "block_size": 128, "n": 8, "split": "test"}},
}


@pytest.mark.parametrize("name", REAL)
def test_real_examples_train_a_tiny_run_on_local_server_data(name: str, served) -> None:
    torch.set_num_threads(1)
    events = list(Trainer(load_example(name), overrides={**SMALL[name], "device": "cpu"}).run())
    errors = [e.data["message"] for e in events if e.kind == "error"]
    assert not errors, errors
    start = next(e.data for e in events if e.kind == "start")
    done = next(e.data for e in events if e.kind == "done")
    assert done["reason"] == "completed" and np.isfinite(done["metrics"]["val_loss"])
    expected_val = {"cnn_mnist": 12, "resnet_cifar10": 2, "char_transformer_shakespeare": 8}[name]
    assert start["n_val"] == expected_val, "validated on the test split, not a split of the training data"


def test_validation_must_match_the_training_data(served) -> None:
    doc = load_example("cnn_mnist")
    events = list(Trainer(doc, overrides={"epochs": 1, "validation": {"name": "cifar10", "split": "test"}}).run())
    message = next(e.data["message"] for e in events if e.kind == "error")
    assert "training.validation" in message and "cifar10" in message and "[3, 32, 32]" in message


@pytest.mark.parametrize("name, function, options", [
    ("mnist", "load_idx_set", {"split": "test"}),
    ("cifar10", "load_cifar_set", {"split": "train", "n": 6}),
    ("tiny_shakespeare", "load_text_windows", {"split": "test", "n": 5, "block_size": 32}),
])
def test_script_loaders_read_the_files_as_netwright_does(name, function, options, served, monkeypatch) -> None:
    files = {role: [f.name, f.sha256, list(f.urls)] for role, f in standard.STANDARD[name].files.items()}
    monkeypatch.setattr(standard_data, "DATA_FILES", files, raising=False)
    x, y = getattr(standard_data, function)(name, seed=2, **options)
    want = load_dataset(name, seed=2, **options)
    assert torch.equal(x, want.x) and torch.equal(y, want.y)


def test_script_download_refuses_a_wrong_checksum(served, monkeypatch, tmp_path) -> None:
    served.routes["/mnist/t10k-labels-idx1-ubyte.gz"] = Route(b"tampered")
    info = standard.STANDARD["mnist"]
    files = {role: [f.name, f.sha256, list(f.urls)] for role, f in info.files.items()}
    monkeypatch.setattr(standard_data, "DATA_FILES", files, raising=False)
    with pytest.raises(SystemExit, match="t10k-labels-idx1-ubyte.gz.*sha256"):
        standard_data.load_idx_set("mnist", split="test")
    assert not (tmp_path / "cache" / "mnist" / "t10k-labels-idx1-ubyte.gz").exists()
    assert not (tmp_path / "cache" / "mnist" / "t10k-labels-idx1-ubyte.gz.part").exists()


def test_exported_mnist_script_trains_on_the_served_files(served, tmp_path, monkeypatch, capsys) -> None:
    torch.set_num_threads(1)
    script = tmp_path / "train.py"
    script.write_text(generate_script(load_example("cnn_mnist")))
    text = script.read_text()
    assert "load_validation()" in text and standard.STANDARD["mnist"].files["train_images"].sha256 in text
    monkeypatch.setattr(sys, "argv", [str(script), "--epochs", "1", "--batch-size", "16",
                                      "--out", str(tmp_path / "out")])
    runpy.run_path(str(script), run_name="__main__")
    out = capsys.readouterr().out
    assert "epoch 1 " in out and "val_accuracy" in out
    assert (tmp_path / "out" / "weights.safetensors").is_file()
