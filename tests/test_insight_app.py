"""The Insight tab and the canvas health badges, driven through signals."""
import os

os.environ["QT_QPA_PLATFORM"] = "offscreen"

from pathlib import Path

import numpy as np
import pytest
import torch
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QMenu
from test_dashboard import RUN_TIMEOUT_MS, dash, tiny_doc  # noqa: F401 - the dashboard fixture

from designer.canvas.health_badge import HealthBadge, HealthBadges, badge_text
from designer.canvas.scene import CanvasScene
from designer.model import DocumentModel
from designer.training.dashboard import PAGE_INSIGHT
from designer.training.insight import InsightView
from graph_compiler.training.engine import Trainer

EVAL_TIMEOUT_MS = 120_000


@pytest.fixture(scope="module")
def trained():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    trainer = Trainer(tiny_doc(epochs=3))
    for _ in trainer.run():
        pass
    yield trainer
    torch.set_num_threads(before)


@pytest.fixture
def view(qtbot):
    v = InsightView()
    v.auto.setChecked(False)
    qtbot.addWidget(v)
    v.resize(900, 500)
    v.show()
    yield v
    assert v.shutdown()


def test_evaluate_fills_every_view_off_the_gui_thread(qtbot, view, trained, tmp_path):
    assert not view.evaluate_button.isEnabled() and not view.export_button.isEnabled()
    with qtbot.waitSignal(view.unitsReady, timeout=EVAL_TIMEOUT_MS) as units:
        view.set_trainer(trained)
        assert view.evaluate() and view.busy() and not view.evaluate_button.isEnabled()
    report = view.report
    assert report["split"] == "validation" and set(units.args[0]) >= {"fc1", "act", "fc2"}
    qtbot.waitUntil(lambda: not view.busy())
    assert view.evaluate_button.isEnabled() and view.export_button.isEnabled()
    # calibration: 15 bars before and after, heights = the report's per-bin accuracy
    acc, _gap = view.calibration.bars[0]
    assert len(acc.opts["height"]) == 15
    assert np.allclose(acc.opts["height"], [b["accuracy"] or 0 for b in report["calibration"]["before"]["bins"]])
    assert "ECE" in view.calibration.plots[1].titleLabel.text
    xs, ys = view.robustness.pgd.getData()
    assert len(xs) == len(report["robustness"]["curve"]) and ys[0] == pytest.approx(report["accuracy"])
    assert view.units.table.rowCount() == len(report["units"]["nodes"])
    assert view.ood.shift.count() == len(report["ood"]["shifts"]) == 2  # tabular: noise, shuffled features
    assert len(view.ood.familiar.opts["height"]) == 30
    assert "accuracy" in view.status.text()
    # the attribution viewer: another sample, another class, recomputed in a task
    view.attribution.cls.setCurrentIndex(2)  # class "1"
    view.attribution.sample.setValue(5)
    qtbot.waitUntil(lambda: view.attribution.row is not None and view.attribution.row["index"] == 5
                    and view.attribution.row["target"] == 1, timeout=EVAL_TIMEOUT_MS)
    assert "#5" in view.attribution.caption.text() and view.attribution.bars.opts["height"].shape == (2,)
    out = view.export_report(str(tmp_path / "r.html"))
    html = Path(out).read_text()
    for section in ("calibration", "robustness", "attribution", "units", "ood"):
        assert f"id='{section}'" in html


def test_open_run_evaluates_a_saved_folder(qtbot, view, trained, tmp_path):
    folder = trained.save(tmp_path / "run")
    with qtbot.waitSignal(view.evaluated, timeout=EVAL_TIMEOUT_MS) as done:
        assert view.evaluate_run(str(folder))
    assert done.args[0]["network"] == "Tiny" and done.args[0]["split"] == "validation"
    qtbot.waitUntil(lambda: not view.busy(), timeout=EVAL_TIMEOUT_MS)


def test_a_bad_run_folder_is_a_message(qtbot, view, tmp_path):
    assert view.evaluate_run(str(tmp_path / "nothing"))
    qtbot.waitUntil(lambda: not view.busy(), timeout=EVAL_TIMEOUT_MS)
    assert "no such run folder" in view.status.text() and view.report is None


def test_run_then_insight_and_badges_follow(qtbot, dash):  # noqa: F811 - the fixture
    rows = []
    dash.nodeHealth.connect(rows.append)
    with qtbot.waitSignal(dash.insight.evaluated, timeout=RUN_TIMEOUT_MS + EVAL_TIMEOUT_MS):
        dash.start_run()  # "after each run" is on by default
    qtbot.waitUntil(lambda: not dash.insight.busy(), timeout=EVAL_TIMEOUT_MS)
    assert rows and "act" in rows[-1] and rows[-1]["act"]["dead_fraction"] is not None
    live = [r for r in rows if r["act"].get("grad_label") == "parameter gradient norm (last step)"]
    assert live, "the worker posts badges while training"
    assert "grad_label" not in rows[-1]["act"]  # the last ones come from the Insight evaluation
    dash.tabs.setCurrentIndex(PAGE_INSIGHT)
    assert dash.tabs.currentWidget() is dash.insight and dash.insight.report["recipe"] == "classification"


def test_badges_sit_on_their_nodes_and_click_through(qtbot):
    model = DocumentModel(tiny_doc())
    scene = CanvasScene(model, "Tiny")
    clicked = []
    badges = HealthBadges(clicked.append)
    rows = {"act": {"node": "act", "type": "ReLU", "dead_fraction": 0.75, "saturated_fraction": None,
                    "grad_norm": 0.02, "level": "red", "mean": 0.1, "std": 0.2},
            "fc1": {"node": "fc1", "type": "Linear", "dead_fraction": None, "saturated_fraction": None,
                    "grad_norm": 0.5, "level": "green"}}
    badges.update(scene, rows)
    act = badges.badges["act"]
    assert isinstance(act, HealthBadge) and act.parentItem() is scene.nodes["act"]
    assert act.text == "dead 75%" and act.color.name() == "#e15759"
    assert "dead units: 75.0%" in act.toolTip() and "0.02" in act.toolTip()
    assert badge_text(rows["fc1"]) == "∇ 0.5" and badges.badges["fc1"].color.name() == "#3bb273"
    # moving the node moves its badge
    before = act.scenePos()
    scene.nodes["act"].setPos(scene.nodes["act"].pos() + QPointF(0, -120))  # on the snap grid, clear of the other nodes
    assert act.scenePos() - before == QPointF(0, -120)
    # a click on the badge asks for the node's activations
    view = _view(scene, qtbot)
    center = view.mapFromScene(act.mapToScene(act.boundingRect().center()))
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=center)
    assert clicked == ["act"]
    # fresh numbers replace the old; a node without numbers loses its badge
    badges.update(scene, {"act": {**rows["act"], "dead_fraction": 0.05, "level": "green"}})
    assert set(badges.badges) == {"act"} and badges.badges["act"].text == "dead 5%"
    assert all(not isinstance(i, HealthBadge) or i is badges.badges["act"] for i in scene.items())
    badges.clear()
    assert not [i for i in scene.items() if isinstance(i, HealthBadge)]


def _view(scene, qtbot):
    from PySide6.QtWidgets import QGraphicsView

    v = QGraphicsView(scene)
    qtbot.addWidget(v)
    v.resize(800, 400)
    v.show()
    qtbot.waitExposed(v)
    v.centerOn(scene.nodes["act"])
    return v


def test_the_dock_puts_badges_on_the_main_canvas_and_a_click_opens_activations(qtbot, cnn_window):
    from designer.training.dashboard import PAGE_ACTIVATIONS

    w = cnn_window
    dock = w.training
    rows = {"relu1": {"node": "relu1", "type": "ReLU", "dead_fraction": 0.6, "saturated_fraction": None,
                      "grad_norm": None, "level": "red"}}
    dock.show_node_health(rows)
    scene = w.views["DigitsCNN"].scene()
    badge = dock.badges.badges["relu1"]
    assert badge.parentItem() is scene.nodes["relu1"] and badge.text == "dead 60%"
    dock.open_node("relu1")
    assert dock.isVisible() and dock.dashboard.tabs.currentIndex() == PAGE_ACTIVATIONS
    assert "relu1" in dock.dashboard.activations.info.text()  # nothing trained yet: it says so
    w.model.documentReset.emit()  # another file: the badges go
    assert not dock.badges.badges


def test_train_evaluate_action_fills_the_insight_tab(qtbot, window, tmp_path):
    """Train > Evaluate (Ctrl+F5) is the Insight tab's Evaluate button: one action, disabled
    until a run has finished, then evaluating that run."""
    from graph_compiler.document import save

    path = tmp_path / "tiny.json"
    save(tiny_doc(), path)
    assert window.file_actions.open(str(path))
    action = window.acts.evaluate
    assert action.shortcut() == QKeySequence("Ctrl+F5")
    assert not action.isEnabled()  # nothing trained yet
    assert action in window.findChild(QMenu, "menu_train").actions()
    board = window.training.dashboard
    assert not board.insight.evaluate_button.isEnabled()
    board.insight.auto.setChecked(False)  # evaluate on request only
    with qtbot.waitSignal(board.runFinished, timeout=RUN_TIMEOUT_MS):
        window.acts.run.trigger()
    qtbot.waitUntil(action.isEnabled)
    assert board.insight.report is None
    assert board.insight.evaluate_button.isEnabled()
    with qtbot.waitSignal(board.insight.evaluated, timeout=EVAL_TIMEOUT_MS) as done:
        action.trigger()
        assert not action.isEnabled() and not board.insight.evaluate_button.isEnabled()  # one at a time
    assert done.args[0]["network"] == "Tiny" and board.insight.report is done.args[0]
    assert board.insight.calibration.plots[1].titleLabel.text.count("ECE") == 1
    qtbot.waitUntil(lambda: not board.insight.busy(), timeout=EVAL_TIMEOUT_MS)
    assert action.isEnabled() and board.insight.evaluate_button.isEnabled()
    triggered = []
    action.triggered.connect(lambda _c=False: triggered.append(True))
    with qtbot.waitSignal(board.insight.evaluated, timeout=EVAL_TIMEOUT_MS):
        qtbot.mouseClick(board.insight.evaluate_button, Qt.MouseButton.LeftButton)  # the same action
    assert triggered == [True]
    qtbot.waitUntil(lambda: not board.insight.busy(), timeout=EVAL_TIMEOUT_MS)
    assert board.shutdown(10_000)
    assert window.file_actions.open(str(path))  # another document: its model is untrained
    assert not action.isEnabled() and not board.insight.evaluate_button.isEnabled()


def test_badges_cover_no_title(qtbot):
    # Laid out as auto-layout does: columns NODE_W + 100 apart, a node above another in
    # its column 40 apart. A badge above its node covered the title of the node above.
    from graph_compiler.document import Document, Edge, Network, Node
    from graph_compiler.layout import HEADER_H, NODE_W
    step = NODE_W + 100.0
    nodes = [Node("x", "Input", {"shape": [2]}, (0.0, 0.0)), Node("fc1", "Linear", {"out_features": 4}, (step, 0.0)),
             Node("act", "ReLU", {}, (step, 120.0)), Node("fc2", "Linear", {"out_features": 2}, (2 * step, 120.0)),
             Node("out", "Output", {}, (3 * step, 120.0))]
    model = DocumentModel(Document([Network("Tiny", nodes, [Edge("x", "fc1"), Edge("fc1", "act"), Edge("act", "fc2"),
                                                              Edge("fc2", "out")])]))
    model.analyze_now()
    scene = CanvasScene(model, "Tiny")
    view = _view(scene, qtbot)
    view.resetTransform()  # real size: the badge's pixels are scene units
    badges = HealthBadges(lambda _n: None)
    row = {"dead_fraction": 0.5, "saturated_fraction": None, "grad_norm": 0.1, "level": "amber"}
    badges.update(scene, {n: {**row, "node": n, "type": "ReLU"} for n in ("fc1", "act", "fc2")})
    for nid, badge in badges.badges.items():
        box = badge.sceneBoundingRect()
        own = scene.nodes[nid].sceneBoundingRect()
        assert own.top() <= box.top() and box.bottom() <= own.top() + HEADER_H  # level with its header
        for other in scene.nodes.values():
            title = QRectF(other.pos().x(), other.pos().y(), NODE_W, HEADER_H)
            assert not box.intersects(title), (nid, other.node_id)
        for edge in scene.edges.values():  # nor a wire's shape label
            if edge.label_shown():
                assert not box.intersects(edge._label_rect), (nid, edge.key)
