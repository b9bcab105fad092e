"""A training run that has to download its dataset first: "progress" events while the
files arrive, Stop during the download (nothing kept in the cache, the run ends
"stopped"), and the dashboard's status line showing the download, all against a local
HTTP server on 127.0.0.1 serving a small fake MNIST; and the stream cache's build
progress. These check the claim of docs/training.md, "Downloaded data"."""
from __future__ import annotations

import dataclasses
import itertools
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fetch_server import FileServer, Route, mnist_like, sha256

from graph_compiler.data import fetch, standard
from graph_compiler.document import from_dict
from graph_compiler.training.engine import Trainer

IMAGES = "/mnist/train-images-idx3-ubyte.gz"


def mnist_doc(shape: tuple[int, ...] = (1, 28, 28), **training: Any) -> Any:
    names = [("image", "Input", {"shape": list(shape)}), ("flat", "Flatten", {}),
             ("fc", "Linear", {"out_features": 10}), ("out", "Output", {})]
    nodes = [{"id": i, "type": t, "params": p, "pos": [k * 100, 0]} for k, (i, t, p) in enumerate(names)]
    edges = [{"src": a[0], "dst": b[0]} for a, b in itertools.pairwise(names)]
    return from_dict({
        "format": "netwright-graph", "version": 1,
        "networks": [{"name": "Net", "nodes": nodes, "edges": edges}],
        "training": {"recipe": "classification", "dataset": "mnist", "epochs": 1, "batch_size": 8,
                     **training},
    })


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv(fetch.DATA_DIR_ENV, str(folder))
    monkeypatch.setattr(fetch, "RETRIES", 0)
    return folder


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch, cache: Path) -> Iterator[FileServer]:
    srv = FileServer().start()
    monkeypatch.setenv(fetch.MIRROR_ENV, srv.url)
    files = {name: data for name, (_, data) in mnist_like(n_train=80, n_test=16).items()}
    for name, data in files.items():
        srv.routes[f"/mnist/{name}"] = Route(data)
    info = standard.STANDARD["mnist"]
    pinned = {role: dataclasses.replace(f, sha256=sha256(files[f.name]), size=len(files[f.name]))
              for role, f in info.files.items()}
    monkeypatch.setitem(standard.STANDARD, "mnist", dataclasses.replace(info, files=pinned))
    yield srv
    for route in srv.routes.values():  # never leave a handler thread waiting
        if route.gate is not None:
            route.gate.set()
    srv.stop()


def _files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def test_a_run_yields_download_progress_before_it_starts(server: FileServer, cache: Path) -> None:
    events = list(Trainer(mnist_doc()).run())
    kinds = [e.kind for e in events]
    assert kinds[-1] == "done" and events[-1]["reason"] == "completed"
    progress = [e for e in events if e.kind == "progress"]
    assert progress and kinds.index("start") > kinds.index("progress")
    assert all(kind != "progress" for kind in kinds[kinds.index("start"):])
    images = [e for e in progress if e["what"] == "downloading mnist" and e["total"] ==
              len(server.routes[IMAGES].body)]
    assert images[-1]["done"] == images[-1]["total"] and images[-1]["unit"] == "bytes"
    assert [e["done"] for e in images] == sorted(e["done"] for e in images)
    assert images[-1]["text"].startswith("downloading mnist: ") and images[-1]["text"].endswith(" MB")
    assert _files(cache / "mnist") == ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"]
    # Cached now: a second run downloads nothing and reports no progress.
    again = [e.kind for e in Trainer(mnist_doc()).run()]
    assert "progress" not in again and again[-1] == "done"


def test_stop_during_the_download_keeps_nothing_and_ends_stopped(server: FileServer, cache: Path) -> None:
    gate = server.routes[IMAGES].gate = threading.Event()
    trainer = Trainer(mnist_doc())
    events = []
    for event in trainer.run():
        events.append(event)
        if event.kind == "progress" and not trainer.stopping:
            trainer.stop()  # the server holds back the second half until this is set
            gate.set()
    assert events[-1].kind == "done" and events[-1]["reason"] == "stopped"
    assert "start" not in [e.kind for e in events] and "error" not in [e.kind for e in events]
    assert _files(cache) == []  # not the partial download, not a temporary file


def test_dashboard_shows_the_download_and_stop_cancels_it(qtbot: Any, server: FileServer, tmp_path: Path) -> None:
    from PySide6.QtCore import Qt

    from designer.model import DocumentModel
    from designer.training.dashboard import TrainingDashboard
    from designer.training.run_history import RunHistory

    gate = server.routes[IMAGES].gate = threading.Event()
    dash = TrainingDashboard(DocumentModel(mnist_doc(), path=str(tmp_path / "m.json")), RunHistory(tmp_path / "runs"))
    qtbot.addWidget(dash)
    dash.show()
    qtbot.mouseClick(dash.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dash.stats_label.text().startswith("downloading mnist: "), timeout=60_000)
    assert dash.stats_label.text().endswith(" MB") and dash.progress.value() > 0
    with qtbot.waitSignal(dash.runFinished, timeout=30_000) as done:
        qtbot.mouseClick(dash.stop_button, Qt.MouseButton.LeftButton)
        gate.set()
    assert done.args == ["stopped"]
    assert _files(tmp_path / "cache") == []
    assert dash.shutdown(10_000)


def _image_doc(folder: Path) -> Any:
    return mnist_doc((3, 8, 8), dataset={"image_folder": str(folder)}, val_split=0.25)


def _pictures(root: Path, per_class: int = 4) -> Path:
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    for label in ("ants", "bees"):
        (root / label).mkdir(parents=True)
        for i in range(per_class):
            Image.fromarray(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)).save(root / label / f"{i}.png")
    return root


def test_building_the_stream_cache_reports_progress(tmp_path: Path, cache: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from graph_compiler.data import streaming

    monkeypatch.setenv(streaming.THRESHOLD_ENV, "0")
    events = list(Trainer(_image_doc(_pictures(tmp_path / "pics"))).run())
    assert events[-1]["reason"] == "completed"
    caching = [e.data for e in events if e.kind == "progress"]
    assert [e["done"] for e in caching] == list(range(1, 9))
    assert {e["total"] for e in caching} == {8} and caching[-1]["text"] == "caching pics: 8 / 8 images"


def test_a_cancelled_cache_build_leaves_nothing(tmp_path: Path, cache: Path) -> None:
    from graph_compiler.data import progress, streaming

    class Cancelled(Exception):
        pass

    def cancel_at_three(what: str, done: int, total: int, unit: str) -> None:
        if done == 3:
            raise Cancelled()

    with pytest.raises(Cancelled), progress.reporting(progress.Hook(cancel_at_three)):
        streaming.image_folder_cache(_pictures(tmp_path / "pics"))
    assert _files(cache) == []
    assert len(_files(streaming.image_folder_cache(tmp_path / "pics").folder)) >= 3  # unhooked: built
