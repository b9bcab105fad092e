"""Trained weights belong to the document model: a run's result lives while the model
holds the document it was trained on, and goes with it (another file, a closed window)."""
import os

os.environ["QT_QPA_PLATFORM"] = "offscreen"

import gc
import weakref
from typing import Any

from PySide6.QtCore import Qt

from designer.model import DocumentModel
from designer.training.dashboard import TrainingDashboard
from designer.training.results import TrainedResult
from designer.training.run_history import RunHistory
from graph_compiler.document import Document, Edge, Network, Node

RUN_TIMEOUT_MS = 60_000


def tiny_doc(name: str = "Tiny") -> Document:
    nodes = [Node("x", "Input", {"shape": [2]}, (0.0, 0.0)), Node("fc", "Linear", {"out_features": 2}, (100.0, 0.0)),
             Node("out", "Output", {}, (200.0, 0.0))]
    training = {"recipe": "classification", "dataset": {"name": "moons", "n": 200}, "epochs": 1, "batch_size": 32}
    return Document([Network(name, nodes, [Edge("x", "fc"), Edge("fc", "out")])], training=training)


def _train(qtbot: Any, dash: TrainingDashboard) -> TrainedResult:
    with qtbot.waitSignal(dash.runFinished, timeout=RUN_TIMEOUT_MS) as done:
        qtbot.mouseClick(dash.run_button, Qt.MouseButton.LeftButton)
    assert done.args == ["completed"]
    result = dash.result
    assert isinstance(result, TrainedResult)
    return result


def test_the_model_owns_the_result_until_another_document_loads(qtbot, tmp_path) -> None:
    model = DocumentModel(tiny_doc(), path=str(tmp_path / "tiny.json"))
    dash = TrainingDashboard(model, RunHistory(tmp_path / "runs"))
    qtbot.addWidget(dash)
    result = _train(qtbot, dash)
    assert model.trained is result and set(result.weights()) == {"Tiny"}
    model.load_document(tiny_doc("Other"), None)
    assert model.trained is None and dash.result is None
    dash.show_activations("fc")  # nothing trained for this document
    assert dash.activations.info.text() == "Train the network to see what fc outputs."
    assert dash.shutdown(10_000)


def test_a_closed_window_frees_its_trained_modules_even_if_the_document_lives_on(qtbot, tmp_path) -> None:
    """A registry keyed by the document kept every trained network (and its data) alive
    for as long as anything held the Document object."""
    doc = tiny_doc()
    model = DocumentModel(doc, path=str(tmp_path / "tiny.json"))
    dash = TrainingDashboard(model, RunHistory(tmp_path / "runs"))
    result = _train(qtbot, dash)
    trainer = weakref.ref(result.trainer)
    module = weakref.ref(result.modules["Tiny"])
    assert dash.shutdown(10_000)
    del result
    dash.deleteLater()
    model.deleteLater()
    del dash, model
    qtbot.waitUntil(lambda: gc.collect() >= 0 and trainer() is None and module() is None, timeout=10_000)
    assert doc.networks[0].name == "Tiny"  # the document itself is still here


def test_a_run_refused_for_errors_keeps_the_last_run(qtbot, tmp_path) -> None:
    """A design with errors is refused before anything is reset: the last run's curves,
    weights and Save Weights stay (it used to clear them, then fail)."""
    model = DocumentModel(tiny_doc(), path=str(tmp_path / "tiny.json"))
    dash = TrainingDashboard(model, RunHistory(tmp_path / "runs"))
    qtbot.addWidget(dash)
    result = _train(qtbot, dash)
    curves = sorted(dash.curves.curve_names())
    assert curves and dash.save_action.isEnabled()
    model.set_param("Tiny", "fc", "out_features", -3)  # an error
    assert not model.analysis.ok
    assert dash.start_run() is False
    assert "the document has 1 error(s); fix them before training" in dash.error_label.text()
    assert "out_features" in dash.error_label.text() and not dash.error_label.isHidden()
    assert dash.result is result and dash.save_action.isEnabled()
    assert sorted(dash.curves.curve_names()) == curves and dash.run_thread is None
    assert dash.shutdown(10_000)
