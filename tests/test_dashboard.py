"""The training dashboard, driven like a user would: Run, watch curves fill, Pause, Stop,
edit during a run (stale badge), errors as messages, and each live view fed directly."""
import os

os.environ["QT_QPA_PLATFORM"] = "offscreen"

import itertools
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PySide6.QtCore import Qt

from designer.model import DocumentModel
from designer.training.activations import ActivationView
from designer.training.dashboard import (
    PAGE_EVALUATION,
    PAGE_HEALTH,
    PAGE_SAMPLES,
    TrainingDashboard,
)
from designer.training.evaluation import ConfusionView, PredictionsView
from designer.training.plots import CurveBoard
from designer.training.run_history import RunHistory, RunRecord
from designer.training.samples_view import KINDS, SamplesView
from graph_compiler.document import from_dict

ROOT = Path(__file__).resolve().parent.parent
RUN_TIMEOUT_MS = 60_000  # the first run in a process imports sklearn / torch._dynamo (~6 s)


def tiny_doc(epochs: int = 2) -> Any:
    names = [("x", "Input", {"shape": [2]}), ("fc1", "Linear", {"out_features": 16}), ("act", "ReLU", {}),
             ("fc2", "Linear", {"out_features": 2}), ("out", "Output", {})]
    nodes = [{"id": i, "type": t, "params": p, "pos": [k * 100, 0]} for k, (i, t, p) in enumerate(names)]
    edges = [{"src": a[0], "dst": b[0]} for a, b in itertools.pairwise(names)]
    return from_dict({
        "format": "netwright-graph", "version": 1,
        "networks": [{"name": "Tiny", "nodes": nodes, "edges": edges}],
        "training": {"recipe": "classification", "dataset": {"name": "moons", "n": 400},
                     "epochs": epochs, "batch_size": 32},
    })


@pytest.fixture
def dash(qtbot, tmp_path):
    model = DocumentModel(tiny_doc(), path=str(tmp_path / "tiny.json"))
    d = TrainingDashboard(model, RunHistory(tmp_path / "runs"))
    qtbot.addWidget(d)
    d.resize(900, 600)
    d.show()
    yield d
    assert d.shutdown(10_000)  # never leave a training thread behind


def click(qtbot, dash, button) -> None:
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


# ---------------------------------------------------------------- runs from the UI


def test_run_button_trains_and_feeds_every_view(qtbot, dash, tmp_path):
    dash.show_activations("fc1")  # selected before the run: captured while training
    with qtbot.waitSignal(dash.runFinished, timeout=RUN_TIMEOUT_MS) as done:
        click(qtbot, dash, dash.run_button)
        assert not dash.run_action.isEnabled() and dash.stop_action.isEnabled()
    assert done.args == ["completed"]
    # (step points come every ~50 ms of training; this run may be shorter than that)
    assert dash.curves.data_length("train/loss/epoch") == 2
    assert dash.curves.data_length("val/loss/epoch") == 2
    assert dash.curves.data_length("val/accuracy/epoch") == 2
    assert "epoch 2/2" in dash.stats_label.text() and "cpu" in dash.stats_label.text()
    assert dash.evaluation.confusion.matrix is None  # hidden tabs are fed when shown, not before
    dash.tabs.setCurrentIndex(PAGE_EVALUATION)
    assert dash.evaluation.confusion.matrix.shape == (2, 2) and dash.evaluation.predictions.count > 0
    dash.tabs.setCurrentIndex(PAGE_SAMPLES)
    assert dash.samples.kind == "scatter"  # 2-D classification: decision regions
    dash.tabs.setCurrentIndex(PAGE_HEALTH)
    assert dash.health.layers == ["fc1", "fc2"] and dash.health.weights["fc1"].n > 0
    assert dash.activations.node_id == "fc1" and dash.activations.hist_counts.sum() == 32 * 16
    assert dash.run_action.isEnabled() and dash.save_action.isEnabled()

    result = dash.model.trained  # the document model owns the trained weights
    assert result is dash.result and set(result.weights()) == {"Tiny"}
    folder = dash.save_weights(str(tmp_path / "saved-run"))
    assert folder and (Path(folder) / "weights.safetensors").is_file()

    runs = RunHistory(tmp_path / "runs").runs(os.path.abspath(dash.model.path))  # read back from disk
    assert len(runs) == 1 and "val/loss/epoch" in runs[0].curves

    dash.show_activations("fc2")  # after the run: computed at once from the trained weights
    assert dash.activations.node_id == "fc2" and dash.activations.kind == "heatmap"


def test_pause_edit_and_stop_a_long_run(qtbot, dash):
    dash.epochs_spin.setValue(100_000)
    click(qtbot, dash, dash.run_button)
    # Epoch curves, not step ones: the engine reports steps only within epochs > 50 ms.
    qtbot.waitUntil(lambda: dash.curves.data_length("val/loss/epoch") > 2, timeout=RUN_TIMEOUT_MS)

    click(qtbot, dash, dash.pause_button)
    assert dash.state == "paused" and dash.resume_action.isEnabled()
    click(qtbot, dash, dash.resume_button)
    assert dash.state == "running"

    dash.model.move_nodes("Tiny", {"fc1": (500.0, 80.0)})  # layout is not training-relevant
    assert not dash.stale
    dash.model.set_param("Tiny", "fc1", "out_features", 8)  # editing during a run is allowed
    assert dash.stale and not dash.stale_badge.isHidden()
    dash.model.undo_stack.undo()  # back to the graph being trained
    assert not dash.stale and dash.stale_badge.isHidden()
    dash.model.set_param("Tiny", "fc1", "out_features", 8)

    with qtbot.waitSignal(dash.runFinished, timeout=5000) as done:
        click(qtbot, dash, dash.stop_button)
    assert done.args == ["stopped"]
    assert dash.run_thread is None and dash.state == "finished"
    assert dash.result is not None and dash.result.stale  # a stopped run's weights are kept


def test_an_exception_in_the_model_is_a_message_and_the_app_lives_on(qtbot, dash, monkeypatch):
    from graph_compiler.training.recipes.supervised import Classification

    def explode(self, batch):
        raise RuntimeError("forward exploded")

    monkeypatch.setattr(Classification, "train_step", explode)
    with qtbot.waitSignal(dash.runFinished, timeout=RUN_TIMEOUT_MS) as done:
        click(qtbot, dash, dash.run_button)
    assert done.args == ["error"]
    assert not dash.error_label.isHidden() and "forward exploded" in dash.error_label.text()
    assert dash.state == "error" and dash.run_action.isEnabled() and dash.result is None


def test_a_crashing_engine_or_bad_settings_are_messages(qtbot, dash):
    from graph_compiler.training.config import TrainingConfigError

    class Crashing:
        ctx = recipe = None

        def run(self):
            yield from ()
            raise MemoryError("the engine fell over")

        def stop(self):
            pass

    dash.trainer_factory = lambda doc, overrides: Crashing()
    threads: list[bool] = []
    dash.runFinished.connect(lambda _r: threads.append(threading.current_thread() is threading.main_thread()))
    with qtbot.waitSignal(dash.runFinished, timeout=5000):
        click(qtbot, dash, dash.run_button)
    assert "the engine fell over" in dash.error_label.text()
    assert threads == [True]  # the run's end is handled in the GUI thread, not the worker's

    def refuse(doc, overrides):
        raise TrainingConfigError("training.lr must be > 0")

    dash.trainer_factory = refuse
    assert not dash.start_run()
    assert "training.lr" in dash.error_label.text() and dash.run_thread is None


def test_overrides_come_from_the_controls(dash):
    assert dash.overrides() == {"epochs": None, "batch_size": None, "lr": None, "device": "auto"}
    dash.epochs_spin.setValue(3)
    dash.batch_spin.setValue(16)
    dash.lr_edit.setText("0.01")
    dash.device_combo.setCurrentText("cpu")
    assert dash.overrides() == {"epochs": 3, "batch_size": 16, "lr": 0.01, "device": "cpu"}


# ---------------------------------------------------------------- views fed directly


def test_activation_view_histogram_for_linear_and_tiles_for_conv(qtbot):
    import torch

    from graph_compiler.analysis import Analyzer
    from graph_compiler.compile import CompiledDocument
    from graph_compiler.examples import load_example
    from graph_compiler.training.probe import ModelProbe

    view = ActivationView()
    qtbot.addWidget(view)
    doc = load_example("cnn_digits")
    analysis = Analyzer().analyze(doc)
    compiled = CompiledDocument(doc, analysis)
    probe = ModelProbe({"DigitsCNN": compiled.build()}, compiled.generated, doc, analysis,
                       torch.rand(40, 1, 8, 8), compiled.namespace)
    view.set_activation(probe.activation("classifier"))  # Linear
    assert view.kind == "heatmap" and view.hist_counts.sum() == 32 * 10
    assert len(view.hist.xData) == len(view.hist.yData) + 1  # stepMode="center": bin edges
    view.set_activation(probe.activation("conv1"))  # Conv2d
    assert view.kind == "tiles"
    assert view.picture.item.image.shape == (4 * 9 - 1, 4 * 9 - 1)  # 16 maps of 8x8 in a 4x4 grid
    assert "conv1" in view.info.text()


def test_confusion_matrix_and_predictions(qtbot):
    cm = ConfusionView()
    qtbot.addWidget(cm)
    cm.set_matrix([[5, 1, 0], [0, 6, 2], [1, 0, 7]], ["a", "b", "c"], epoch=3)
    assert cm.matrix.shape == (3, 3) and cm.image.image.shape == (3, 3)
    assert "accuracy 81.8%" in cm.caption.text()
    assert sorted(t.text() for t in cm._texts if t.isVisible()) == sorted("510062107")
    preds = PredictionsView()
    qtbot.addWidget(preds)
    preds.set_predictions([{"index": 0, "true": "3", "pred": "3", "confidence": 0.9},
                           {"index": 1, "true": "5", "pred": "6", "confidence": 0.4}],
                          images=np.random.rand(2, 1, 8, 8))
    assert preds.count == 2 and not preds.images.isHidden()



def test_confusion_counts_stay_inside_their_cells(qtbot):
    """In the 1366x768 dock the plot is small: the counts shrink to fit their cells, and
    hide when even a small font would spill over (the colours still tell)."""
    from PySide6.QtCore import QRectF

    cm = ConfusionView()
    qtbot.addWidget(cm)
    cm.resize(900, 700)
    cm.show()
    qtbot.waitExposed(cm)
    rng = np.random.default_rng(0)
    m = rng.integers(0, 40, (10, 10)) + np.diag(rng.integers(900, 1800, 10))

    def spill() -> list[str]:
        view = cm.widget
        out = []
        for i, t in enumerate(cm._texts[:100]):
            if not t.isVisible():
                continue
            r, c = divmod(i, 10)
            text = t.deviceTransform(view.viewportTransform()).mapRect(t.boundingRect())
            cell = cm.plot.vb.mapViewToDevice(QRectF(c, r, 1, 1)).boundingRect()
            if not cell.contains(text):
                out.append(t.text())
        return out

    cm.set_matrix(m, epoch=1)
    qtbot.waitUntil(lambda: sum(t.isVisible() for t in cm._texts) == 100)
    assert spill() == []
    big = cm._texts[0].font().pixelSize()
    cm.resize(420, 330)  # a cramped dock: smaller counts, still inside their cells
    qtbot.waitUntil(lambda: cm._texts[0].font().pixelSize() < big or not cm._texts[0].isVisible())
    assert spill() == []
    cm.resize(220, 170)  # too small for readable numbers: none drawn
    qtbot.waitUntil(lambda: not any(t.isVisible() for t in cm._texts))
    cm.resize(900, 700)
    qtbot.waitUntil(lambda: sum(t.isVisible() for t in cm._texts) == 100)
    assert spill() == []


PAYLOADS = {
    "scatter": {"kind": "scatter", "points": np.random.randn(100, 2), "real": np.random.randn(50, 2)},
    "images": {"kind": "images", "images": np.random.rand(6, 1, 8, 8), "originals": np.random.rand(6, 8, 8)},
    "text": {"kind": "text", "text": "to be or not to be"},
    "latent": {"kind": "latent", "points": np.random.randn(60, 2), "labels": np.arange(60) % 3},
    "chain": {"kind": "chain", "steps": [np.random.randn(40, 2) for _ in range(20)]},
    "attention": {"kind": "attention", "weights": np.random.rand(2, 12, 12)},
    "curve": {"kind": "curve", "x": np.linspace(0, 1, 30), "y": np.random.rand(30),
              "real_x": np.random.rand(40), "real_y": np.random.rand(40)},
}


def test_samples_view_accepts_every_payload_kind(qtbot):
    view = SamplesView()
    qtbot.addWidget(view)
    assert set(PAYLOADS) == set(KINDS)
    for kind, payload in PAYLOADS.items():
        assert view.set_payload(payload) == kind, view.caption.text()
    assert view.set_payload({"kind": "chain", "steps": [np.random.rand(4, 3, 8, 8) for _ in range(5)]}) == "chain"
    assert view.set_payload({"kind": "text", "text": ["one", "two"], "prompt": "o"}) == "text"
    both = dict(PAYLOADS["images"], panels=[PAYLOADS["latent"]])  # e.g. a VAE's two views
    assert view.set_payload(both) == "images" and view.views[1].kind == "latent"
    assert view.set_payload({"kind": "scatter", "points": np.zeros(3)}) is None  # malformed: said, not raised
    assert "Cannot show" in view.caption.text() and view.kind == "images"
    assert view.set_payload({"kind": "hologram"}) is None


def test_curves_overlay_earlier_runs_and_toggle_log(qtbot, tmp_path):
    board = CurveBoard()
    qtbot.addWidget(board)
    board.add_points("train/loss/step", np.arange(1000.0), np.exp(-np.arange(1000.0) / 300))
    board.add_epoch(999.0, {"val/loss/epoch": 0.1, "val/accuracy/epoch": 0.9})
    assert board.refresh() == 3 and board.refresh() == 0  # only changed curves are redrawn
    item = board.items["train/loss/step"]
    assert item.opts["autoDownsample"] and item.opts["downsampleMethod"] == "peak" and item.opts["clipToView"]
    assert item.xData.dtype == np.float64 and item.opts["pen"].width() <= 1
    board.set_log(True)
    assert board.loss_plot.getAxis("left").logMode

    history = RunHistory(tmp_path)
    key = str(tmp_path / "net.json")
    for i in range(3):
        history.add(key, RunRecord(f"run-{i + 1}", 0.0, f"run {i + 1}", curves={
            "val/loss/epoch": ([10.0, 20.0], [1.0, float("nan")]), "train/loss/step": ([1.0], [2.0])}))
    runs = RunHistory(tmp_path).runs(key)
    assert [r.run_id for r in runs] == ["run-1", "run-2", "run-3"] and np.isnan(runs[0].curves["val/loss/epoch"][1][1])
    board.set_overlays([(r.label, r.curves) for r in runs])
    assert board.overlay_count() == 3  # epoch curves only
    board.set_overlays([])
    assert board.overlay_count() == 0


# ---------------------------------------------------------------- the main window hook


def test_install_adds_menu_dock_and_keeps_startup_free_of_torch(tmp_path):
    code = (
        "import sys\n"
        "from PySide6.QtWidgets import QApplication\n"
        "app = QApplication([])\n"
        "from designer.main_window import MainWindow\n"
        "from designer.training.install import install_training_dock\n"
        "w = MainWindow()\n"
        "dock = install_training_dock(w, w.model)\n"
        "menus = [a.text() for a in w.menuBar().actions()]\n"
        "print('TORCH', 'torch' in sys.modules, 'PG', 'pyqtgraph' in sys.modules, 'BUILT', dock.is_built())\n"
        "print('MENUS', menus)\n"
        "dock.dashboard\n"
        "print('AFTER', 'torch' in sys.modules, dock.is_built(), 'training' in w.docks)\n"
    )
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", NETWRIGHT_RECOVERY_DIR=str(tmp_path / "rec"),
               NETWRIGHT_NO_THUMBNAIL_CACHE="1", XDG_CONFIG_HOME=str(tmp_path / "config"),
               NETWRIGHT_RUNS_DIR=str(tmp_path / "runs"))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env,
                         timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    assert "TORCH False PG False BUILT False" in out.stdout
    menus = out.stdout.split("MENUS", 1)[1]
    assert menus.index("Train") < menus.index("Help")
    assert "AFTER False True True" in out.stdout
