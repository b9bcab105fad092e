"""File ▸ Compare with…: the model diff drawn over the canvas (designer/compare.py)."""
import os

os.environ["QT_QPA_PLATFORM"] = "offscreen"

import json
from pathlib import Path

import pytest

from designer.compare import DiffMark, GhostItem
from designer.main_window import MainWindow
from graph_compiler.examples import example_path

MLP = example_path("mlp_digits")


@pytest.fixture
def window(window):
    """conftest's window, collecting error dialogs in ``window.errors`` instead of failing."""
    errors: list[tuple[str, str]] = []
    window.prompts.error = lambda title, text: errors.append((title, text))
    window.errors = errors
    return window


def old_version(tmp_path: Path) -> Path:
    """mlp_digits as it was before: fc1 had 64 units, and a Dropout sat after relu1."""
    raw = json.loads(MLP.read_text(encoding="utf-8"))
    net = raw["networks"][0]
    for n in net["nodes"]:
        if n["id"] == "fc1":
            n["params"]["out_features"] = 64
    net["nodes"].insert(3, {"id": "drop", "type": "Dropout", "params": {"p": 0.5}, "pos": [300, 400]})
    net["edges"] = [e for e in net["edges"] if e["src"] != "relu1"] + [
        {"src": "relu1", "dst": "drop"}, {"src": "drop", "dst": "fc2"}]
    p = tmp_path / "old.json"
    p.write_text(json.dumps(raw), encoding="utf-8")
    return p


def overlay_items(w: MainWindow) -> dict[str, str]:
    scene = w.current_view().scene()
    out = {}
    for item in scene.items():
        if isinstance(item, DiffMark):
            out[item.parentItem().node_id] = item.state
        elif isinstance(item, GhostItem):
            out[item.node_id] = item.state
    return out


def test_compare_marks_changed_affected_and_removed_nodes_and_clears(window: MainWindow, tmp_path: Path, qtbot) -> None:
    assert window.file_actions.open(str(MLP))
    window.model.analyze_now()
    assert not window.acts.clear_comparison.isEnabled()
    doc_before = json.dumps(window.model.doc.networks[0].nodes[1].params)
    assert window.compare_with(str(old_version(tmp_path)))
    states = overlay_items(window)
    net = window.current_network()
    assert states["fc1"] == "changed"  # its own parameter
    assert states["fc2"] == "changed"  # its input was rewired (drop -> relu1)
    assert states["relu1"] == "affected"  # only its shape follows
    assert states["drop"] == "removed"  # a ghost of the old node
    assert "pixels" not in states and "logits" not in states
    assert window.compare.state(net, "fc1") == "changed"
    mark = window.compare.marks[(net, "fc1")]
    assert "out_features 64 → 128" in mark.toolTip()
    ghost = window.compare.ghosts[(net, "drop")]
    for item in window.current_view().scene().nodes.values():  # the ghost hides no node
        assert not ghost.sceneBoundingRect().adjusted(2, 2, -2, -2).intersects(item.sceneBoundingRect().adjusted(9, 2, -9, -2))
    assert window.acts.clear_comparison.isEnabled()
    assert json.dumps(window.model.doc.networks[0].nodes[1].params) == doc_before  # the document is untouched
    assert not window.model.is_dirty()

    # An edit after comparing: the overlay follows it.
    window.model.set_param(net, "fc1", "out_features", 64)
    window.model.analyze_now()
    qtbot.waitUntil(lambda: window.compare.state(net, "fc1") != "changed")
    assert window.compare.state(net, "relu1") is None

    window.acts.clear_comparison.trigger()
    assert overlay_items(window) == {}
    assert not window.acts.clear_comparison.isEnabled() and not window.compare.active


def test_compare_added_nodes_are_green_and_bad_files_are_refused(window: MainWindow, tmp_path: Path) -> None:
    assert window.file_actions.open(str(MLP))
    raw = json.loads(MLP.read_text(encoding="utf-8"))
    net = raw["networks"][0]
    net["nodes"] = [n for n in net["nodes"] if n["id"] not in ("fc2", "relu2")]
    net["edges"] = [e for e in net["edges"] if e["src"] not in ("relu1", "fc2", "relu2")] + [
        {"src": "relu1", "dst": "classifier"}]
    old = tmp_path / "smaller.json"
    old.write_text(json.dumps(raw), encoding="utf-8")
    assert window.compare_with(str(old))
    states = overlay_items(window)
    assert states["fc2"] == "added" and states["relu2"] == "added"
    assert states["classifier"] == "changed"  # rewired: its input came from relu1
    junk = tmp_path / "junk.json"
    junk.write_text("{ nope", encoding="utf-8")
    assert not window.compare_with(str(junk))
    assert window.errors and str(junk) in window.errors[-1][1]
    assert window.compare.active  # the earlier comparison stays
    assert not window.compare_with(str(tmp_path))  # a folder
    assert str(tmp_path) in window.errors[-1][1]
    # Opening another file drops the overlay.
    assert window.file_actions.open(str(example_path("cnn_digits")))
    assert not window.compare.active and overlay_items(window) == {}


def test_compare_with_an_invalid_file_says_so_instead_of_a_made_up_delta(window: MainWindow, tmp_path: Path) -> None:
    assert window.file_actions.open(str(MLP))
    window.model.analyze_now()
    raw = json.loads(MLP.read_text(encoding="utf-8"))
    net = raw["networks"][0]
    net["edges"] = [e for e in net["edges"] if e["dst"] != "relu1"]  # relu1 has no input
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(raw), encoding="utf-8")
    assert window.compare_with(str(broken))
    assert window.compare.diff is not None and window.compare.diff.params.delta is None
    message = window.statusBar().currentMessage()
    assert "params unknown: the compared file is invalid" in message, message
    assert "+" not in message
