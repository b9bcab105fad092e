"""The training dock's data dialog: pick a dataset (undoable), download a standard one from
a local server with progress and Cancel, the offline message, and the augmented-sample
grid."""
import os

os.environ["QT_QPA_PLATFORM"] = "offscreen"

import dataclasses
import itertools
from pathlib import Path

import numpy as np
import pytest
from fetch_server import FileServer, Route, mnist_like, sha256
from PySide6.QtCore import Qt

from designer.model import DocumentModel
from designer.training.dashboard import TrainingDashboard
from designer.training.data_dialog import DataDialog
from designer.training.run_history import RunHistory
from graph_compiler.data import fetch, standard
from graph_compiler.document import from_dict
from graph_compiler.training.augment import parse_augment, preview_grid

TIMEOUT_MS = 30_000


def conv_doc(training: dict) -> object:
    names = [("x", "Input", {"shape": [1, 8, 8]}), ("flat", "Flatten", {}),
             ("fc", "Linear", {"out_features": 10}), ("out", "Output", {})]
    nodes = [{"id": i, "type": t, "params": p, "pos": [k * 100, 0]} for k, (i, t, p) in enumerate(names)]
    edges = [{"src": a[0], "dst": b[0]} for a, b in itertools.pairwise(names)]
    return from_dict({"format": "netwright-graph", "version": 1,
                      "networks": [{"name": "Net", "nodes": nodes, "edges": edges}], "training": training})


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv(fetch.DATA_DIR_ENV, str(tmp_path / "cache"))
    monkeypatch.setattr(fetch, "RETRIES", 0)
    server = FileServer().start()
    monkeypatch.setenv(fetch.MIRROR_ENV, server.url)
    files = {k: v for k, (_, v) in mnist_like(30, 10).items()}
    for name, data in files.items():
        server.routes[f"/mnist/{name}"] = Route(data)
    info = standard.STANDARD["mnist"]
    pinned = {role: dataclasses.replace(f, sha256=sha256(files[f.name])) for role, f in info.files.items()}
    monkeypatch.setitem(standard.STANDARD, "mnist", dataclasses.replace(info, files=pinned))
    yield server
    server.stop()


@pytest.fixture
def dialog(qtbot, tmp_path):
    model = DocumentModel(conv_doc({"dataset": "digits", "epochs": 1,
                                    "augment": [{"type": "hflip", "p": 1.0}]}), path=str(tmp_path / "n.json"))
    d = DataDialog(model)
    qtbot.addWidget(d)
    d.show()
    yield d
    qtbot.waitUntil(lambda: not d.is_busy(), timeout=TIMEOUT_MS)


def _select(dialog: DataDialog, name: str) -> None:
    item = next(dialog.tree.topLevelItem(i) for i in range(dialog.tree.topLevelItemCount())
                if dialog.tree.topLevelItem(i).text(0) == name)
    dialog.tree.setCurrentItem(item)


def test_lists_datasets_with_download_size_and_cache_state(dialog) -> None:
    rows = {dialog.tree.topLevelItem(i).text(0): dialog.tree.topLevelItem(i)
            for i in range(dialog.tree.topLevelItemCount())}
    assert {"digits", "mnist", "cifar10", "tiny_shakespeare"} <= set(rows)
    assert rows["mnist"].text(2) == "11.6 MB" and rows["digits"].text(2) == "built in"
    assert rows["cifar10"].text(3) in ("yes", "no") and "Licence" in rows["mnist"].toolTip(4)
    assert dialog.selected() == "digits", "the document's dataset is selected"
    _select(dialog, "digits")
    assert not dialog.download_button.isEnabled(), "nothing to download for a built-in set"


def test_use_for_training_is_one_undoable_edit(dialog) -> None:
    model = dialog.model
    _select(dialog, "mnist")
    dialog.use_button.click()
    assert model.doc.training["dataset"] == "mnist" and model.is_dirty()
    model.undo_stack.undo()
    assert model.doc.training["dataset"] == "digits"
    model.undo_stack.redo()
    assert model.doc.training["dataset"] == "mnist"


def test_download_with_progress_then_cached(qtbot, dialog, served) -> None:
    _select(dialog, "mnist")
    seen: list[tuple[int, int]] = []
    dialog.download_button.click()
    assert dialog.is_busy() and dialog.cancel_button.isEnabled() and dialog.progress.isVisible()
    dialog._job.progress.connect(lambda done, total: seen.append((done, total)))
    qtbot.waitUntil(lambda: not dialog.is_busy(), timeout=TIMEOUT_MS)
    assert dialog.message.text() == "Downloaded and verified."
    assert standard.STANDARD["mnist"].cached()
    _select(dialog, "mnist")
    assert dialog.tree.currentItem().text(3) == "yes"


def test_offline_message_in_the_dialog(qtbot, dialog, served) -> None:
    served.stop()
    _select(dialog, "mnist")
    dialog.download_button.click()
    qtbot.waitUntil(lambda: not dialog.is_busy(), timeout=TIMEOUT_MS)
    text = dialog.message.text()
    assert "'mnist'" in text and fetch.MIRROR_ENV in text and "cache" in text.lower()
    assert not standard.STANDARD["mnist"].cached()


def test_cancel_stops_the_download_and_keeps_nothing(qtbot, dialog, served, tmp_path) -> None:
    big = b"\x1f\x8b" + os.urandom(8 << 20)  # slow enough to cancel mid-way
    served.routes["/mnist/train-images-idx3-ubyte.gz"] = Route(big)
    info = standard.STANDARD["mnist"]
    files = dict(info.files)
    files["train_images"] = dataclasses.replace(files["train_images"], sha256=sha256(big))
    standard.STANDARD["mnist"] = dataclasses.replace(info, files=files)
    _select(dialog, "mnist")
    dialog.download_button.click()
    dialog.cancel_button.click()
    qtbot.waitUntil(lambda: not dialog.is_busy(), timeout=TIMEOUT_MS)
    # Cancel lands before the first chunk arrives (the click is immediate).
    assert dialog.message.text() == "Cancelled; nothing was kept."
    folder = tmp_path / "cache" / "mnist"
    assert not (folder / "train-images-idx3-ubyte.gz").exists()
    assert not folder.exists() or [p.name for p in folder.iterdir()] == []


def test_augmented_samples_grid(qtbot, dialog) -> None:
    dialog.preview_button.click()
    qtbot.waitUntil(lambda: not dialog.is_busy(), timeout=TIMEOUT_MS)
    pixmap = dialog.preview.pixmap()
    assert pixmap is not None and not pixmap.isNull()
    assert "digits: hflip" in dialog.message.text()


def test_preview_grid_layout_and_content() -> None:
    import torch

    x = torch.rand(4, 1, 8, 6)
    grid = preview_grid(x, parse_augment([{"type": "hflip", "p": 1.0}]), variants=2)
    assert grid.shape == (4 * 9 - 1, 3 * 7 - 1, 3) and grid.dtype == np.uint8
    original = grid[0:8, 0:6, 0]
    flipped = grid[0:8, 7:13, 0]
    assert np.array_equal(flipped, original[:, ::-1]), "column 2 is the mirrored original"
    assert np.array_equal(original, (x[0, 0] * 255).round().to(torch.uint8).numpy())


def test_preview_of_tabular_data_says_why(qtbot, tmp_path) -> None:
    model = DocumentModel(conv_doc({"dataset": "iris"}), path=str(tmp_path / "n.json"))
    d = DataDialog(model)
    qtbot.addWidget(d)
    d.preview_button.click()
    qtbot.waitUntil(lambda: not d.is_busy(), timeout=TIMEOUT_MS)
    assert "not images" in d.message.text()


def test_dashboard_opens_the_dialog(qtbot, tmp_path) -> None:
    model = DocumentModel(conv_doc({"dataset": "digits"}), path=str(tmp_path / "n.json"))
    dash = TrainingDashboard(model, RunHistory(tmp_path / "runs"))
    qtbot.addWidget(dash)
    qtbot.mouseClick(dash.controls.data_button, Qt.MouseButton.LeftButton)
    dialog = dash.data_dialog()
    assert dialog.isVisible() and dialog.selected() == "digits"
    dialog.close()
    assert dash.shutdown(10_000)
