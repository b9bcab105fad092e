"""Data larger than memory: decoded caches, streamed batches equal to the in-memory
path's, corrupt images skipped and counted, CSV errors named, nothing half-written."""
from __future__ import annotations

import errno
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from graph_compiler.data import fetch, streaming
from graph_compiler.training import batching
from graph_compiler.training.datasets import DatasetError
from graph_compiler.training.loaders import load_image_folder


@pytest.fixture(autouse=True)
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(fetch.DATA_DIR_ENV, str(tmp_path / "cache"))
    return tmp_path / "cache"


def _folder(root: Path, per_class: int = 7, size: tuple[int, int] = (6, 5)) -> Path:
    rng = np.random.default_rng(0)
    for label in ("ants", "bees", "cats"):
        (root / label).mkdir(parents=True)
        for i in range(per_class):
            pixels = rng.integers(0, 256, (*size, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(root / label / f"{i:03d}.png")
    return root


def test_image_folder_cache_matches_the_in_memory_loader(tmp_path, cache) -> None:
    folder = _folder(tmp_path / "pics")
    built = streaming.image_folder_cache(folder)
    x, y = built.load("x"), built.load("y")
    want = load_image_folder(folder)
    assert x.dtype == np.uint8 and x.shape == (21, 3, 6, 5)
    assert torch.equal(torch.from_numpy(x).float() / 255, want.x) and torch.equal(torch.from_numpy(y), want.y)
    assert built.meta["classes"] == ["ants", "bees", "cats"] and built.meta["skipped"] == []
    again = streaming.image_folder_cache(folder)
    assert again.folder == built.folder, "decoded once, then reused"
    assert not [p for p in (cache / "streams").iterdir() if p.name.startswith(".building")]


def test_streamed_batches_equal_in_memory_batches(tmp_path) -> None:
    folder = _folder(tmp_path / "pics", per_class=30)
    built = streaming.image_folder_cache(folder)
    x = torch.from_numpy(built.load("x")).float() / 255
    y = torch.from_numpy(built.load("y"))
    steps = batching.steps_per_epoch(len(x), 16)
    for epoch in (1, 2):
        memory = list(batching.epoch_batches({"x": x, "y": y}, seed=4, epoch=epoch, batch_size=16,
                                             steps=steps, in_memory=True, device=torch.device("cpu")))
        streamed = list(streaming.stream_batches(built, seed=4, epoch=epoch, batch_size=16, steps=steps,
                                                 device=torch.device("cpu"), divide={"x": 255}))
        assert len(memory) == len(streamed) == steps
        for a, b in zip(memory, streamed):
            assert torch.equal(a["x"], b["x"]) and torch.equal(a["y"], b["y"])
            assert b["x"].dtype == torch.float32 and b["y"].dtype == torch.int64


def test_stopping_early_ends_the_prefetch_thread(tmp_path) -> None:
    import threading

    built = streaming.image_folder_cache(_folder(tmp_path / "pics", per_class=20))
    batches = streaming.stream_batches(built, seed=0, epoch=1, batch_size=4, steps=15,
                                       device=torch.device("cpu"), prefetch=2)
    next(batches)
    batches.close()
    assert not [t for t in threading.enumerate() if t.name == "netwright-prefetch"]


def test_corrupt_images_are_skipped_and_counted(tmp_path) -> None:
    folder = _folder(tmp_path / "pics", per_class=4)
    (folder / "bees" / "broken.png").write_bytes(b"\x89PNG not really")
    (folder / "cats" / "empty.jpg").write_bytes(b"")
    with pytest.warns(UserWarning, match=r"skipped 2 unreadable image\(s\).*broken.png"):
        built = streaming.image_folder_cache(folder)
    assert len(built.arrays["x"]) == 12 and built.load("y").tolist() == [0] * 4 + [1] * 4 + [2] * 4
    assert len(built.meta["skipped"]) == 2


def test_full_disk_leaves_nothing_half_written(tmp_path, cache, monkeypatch) -> None:
    folder = _folder(tmp_path / "pics", per_class=2)

    def no_space(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(streaming.np, "save", no_space)
    with pytest.raises(DatasetError) as err:
        streaming.image_folder_cache(folder)
    text = str(err.value)
    assert "No space left on device" in text and "nothing was kept" in text and fetch.DATA_DIR_ENV in text
    assert str(folder) in text
    assert list((cache / "streams").iterdir()) == [], "the temporary folder is gone"


def test_csv_columns_and_their_errors(tmp_path) -> None:
    good = tmp_path / "table.csv"
    good.write_text("a,b,label\n1,2.5,0\n3,4,1\n\n5,6,1\n")
    built = streaming.csv_columns_cache(good, "label")
    assert built.load("x").tolist() == [[1, 2.5], [3, 4], [5, 6]] and built.load("y").tolist() == [0, 1, 1]
    assert built.meta["feature_names"] == ["a", "b"]
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("a,b,label\n1,2,0\n3,1\n")
    with pytest.raises(DatasetError, match=r"row 3 has 2 cells, the header has 3"):
        streaming.csv_columns_cache(ragged, "label")
    text = tmp_path / "text.csv"
    text.write_text("a,b,label\n1,2,0\n3,x7,1\n")
    with pytest.raises(DatasetError, match=r"row 3, column 'b': 'x7' is not a number"):
        streaming.csv_columns_cache(text, "label")
    with pytest.raises(DatasetError, match=r"no label column 'target'; its columns: a, b, label"):
        streaming.csv_columns_cache(good, "target")


def test_threshold_setting(monkeypatch) -> None:
    assert streaming.stream_threshold_bytes() == streaming.DEFAULT_THRESHOLD_BYTES
    monkeypatch.setenv(streaming.THRESHOLD_ENV, "1.5")
    assert streaming.stream_threshold_bytes() == int(1.5 * 2**20)
    monkeypatch.setenv(streaming.THRESHOLD_ENV, "lots")
    with pytest.raises(DatasetError, match=streaming.THRESHOLD_ENV):
        streaming.stream_threshold_bytes()
