"""Files and safety: save / reopen, recent files, unsaved-changes prompts, autosave and
crash recovery, broken and hostile files."""
import os

os.environ["QT_QPA_PLATFORM"] = "offscreen"

import json
from pathlib import Path

import pytest
import shiboken6
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from designer.files import SUFFIX, Autosaver, RecentFiles, find_recoverable
from designer.main_window import MainWindow
from designer.model import DocumentModel
from graph_compiler.document import load, to_dict
from graph_compiler.examples import example_path

CNN = str(example_path("cnn_digits"))


class Answers:
    """Stands in for the dialogs: records errors, answers questions."""

    def __init__(self) -> None:
        self.errors: list[tuple[str, str]] = []
        self.unsaved = "discard"
        self.restore = True
        self.asked_restore = 0
        self.asked_unsaved = 0

    def install(self, window: MainWindow) -> None:
        p = window.prompts
        p.error = lambda title, text: self.errors.append((title, text))
        p.info = lambda title, text: self.errors.append((title, text))
        p.unsaved = self._unsaved
        p.restore = self._restore

    def _unsaved(self, _name: str) -> str:
        self.asked_unsaved += 1
        return self.unsaved

    def _restore(self, _rec) -> bool:
        self.asked_restore += 1
        return self.restore


@pytest.fixture
def qtbot(qtbot):
    """pytest-qt's qtbot, plus: windows made by make_window are deleted after the test."""
    qtbot.nw_windows = []
    yield qtbot
    for w in qtbot.nw_windows:
        if shiboken6.isValid(w):
            w.prompts.unsaved = lambda _name: "discard"
            w.close()
            shiboken6.delete(w)


def make_window(qtbot, answers: Answers) -> MainWindow:
    w = MainWindow()
    qtbot.nw_windows.append(w)
    answers.install(w)
    return w


def test_save_reopen_roundtrip(env, qtbot):
    answers = Answers()
    w = make_window(qtbot, answers)
    assert w.file_actions.open(CNN)
    w.model.set_param("DigitsCNN", "conv1", "out_channels", 12)
    w.model.set_label("DigitsCNN", "conv1", "first conv")
    target = env / "saved.json"
    assert w.file_actions._save_to(str(target))
    assert not w.model.is_dirty() and not w.isWindowModified()
    assert w.windowTitle() == "Netwright — saved.json[*]"
    before = to_dict(w.model.doc)
    w.model.new()
    assert w.file_actions.open(str(target))
    assert to_dict(w.model.doc) == before
    assert to_dict(load(target)) == before
    assert RecentFiles().paths()[0] == str(target)
    assert answers.errors == []


def test_save_on_bundled_example_goes_to_save_as(env, qtbot, monkeypatch):
    answers = Answers()
    w = make_window(qtbot, answers)
    w.file_actions.open(CNN)
    w.model.set_param("DigitsCNN", "conv1", "out_channels", 12)
    target = env / "mine.json"
    from designer import file_actions

    monkeypatch.setattr(file_actions.QFileDialog, "getSaveFileName",
                        staticmethod(lambda *a, **k: (str(target), "")))
    original = Path(CNN).read_bytes()
    assert w.file_actions.save()
    assert Path(CNN).read_bytes() == original  # the example itself is never overwritten
    assert w.model.path == str(target) and target.exists()


def test_unsaved_changes_prompt_on_open(env, qtbot):
    answers = Answers()
    w = make_window(qtbot, answers)
    w.file_actions.open(CNN)
    w.model.set_param("DigitsCNN", "conv1", "out_channels", 12)
    edited = to_dict(w.model.doc)
    answers.unsaved = "cancel"
    assert not w.file_actions.open(str(example_path("mlp_digits")))
    assert answers.asked_unsaved == 1 and to_dict(w.model.doc) == edited
    answers.unsaved = "discard"
    assert w.file_actions.open(str(example_path("mlp_digits")))
    assert w.model.doc.main.name == "DigitsMLP"


def test_close_with_unsaved_changes_can_be_cancelled(env, qtbot):
    answers = Answers()
    w = make_window(qtbot, answers)
    w.show()
    w.file_actions.open(CNN)
    w.model.set_param("DigitsCNN", "conv1", "out_channels", 12)
    answers.unsaved = "cancel"
    assert not w.close()
    assert w.isVisible()
    answers.unsaved = "discard"
    assert w.close()


@pytest.mark.parametrize("content, needle", [
    (b"{ not json", "invalid JSON"),
    (b"", "empty"),
    (b'{"format": "netwright-graph", "version": 99, "networks": []}', "newer"),
    (b"[" * 100_000 + b"]" * 100_000, "nested"),
    (json.dumps({"format": "netwright-graph", "version": 1,
                 "networks": [{"name": "N", "nodes": [{"id": "a", "type": "Linear",
                                                       "pos": [1e400, 0]}]}]}).encode(), ""),
    (b"\xff\xfe\x00garbage", "UTF-8"),
])
def test_broken_file_shows_error_and_keeps_document(env, qtbot, monkeypatch, content, needle):
    answers = Answers()
    w = make_window(qtbot, answers)
    w.file_actions.open(CNN)
    w.model.set_param("DigitsCNN", "conv1", "out_channels", 12)
    before = to_dict(w.model.doc)
    bad = env / "broken.json"
    bad.write_bytes(content)
    answers.unsaved = "discard"  # even after "discard", a failed open must lose nothing
    assert not w.file_actions.open(str(bad))
    assert len(answers.errors) == 1
    _title, text = answers.errors[0]
    assert "broken.json" in text and needle in text
    assert to_dict(w.model.doc) == before and w.model.path == CNN and w.model.is_dirty()


def test_hostile_but_parseable_file_opens_with_diagnostics(env, qtbot):
    """Unknown types, wrong param types, duplicate ids, self-loops, dangling edges, extreme
    positions: the file opens, every problem is listed, and every panel copes."""
    doc = {"format": "netwright-graph", "version": 1, "networks": [{"name": "N", "nodes": [
        {"id": "a", "type": "Input", "params": {"shape": [1e9, -3, "x"]}, "pos": [1e300, -1e300]},
        {"id": "b", "type": "NoSuchLayer", "params": {"x": {"deep": [[[1]]]}}, "pos": [0, 0]},
        {"id": "c", "type": "Linear", "params": {"out_features": "many"}, "pos": [5, 5]},
        {"id": "c", "type": "N", "params": {}, "pos": [3, 3]},
        {"id": "o", "type": "Output", "pos": [10, 10]}],
        "edges": [{"src": "a", "dst": "c"}, {"src": "c", "dst": "c"},
                  {"src": "zz", "dst": "o", "dst_port": 1000}]}]}
    bad = env / "hostile.json"
    bad.write_text(json.dumps(doc))
    answers = Answers()
    w = make_window(qtbot, answers)
    w.show()
    assert w.file_actions.open(str(bad)), answers.errors
    w.model.analyze_now()
    for nid in ("a", "b", "c", "o"):
        w.current_view().select_ids([nid])
    w.code.refresh()
    w.summary.refresh()
    w.start_page.populate()
    assert w.diagnostics.count() >= 6 and w.code.stale
    assert {node for _net, node, _msg in w.diagnostics.entries()} >= {"a", "b", "c", "o"}


def test_special_files_are_refused_without_reading(env, qtbot):
    answers = Answers()
    w = make_window(qtbot, answers)
    fifo = env / "pipe.json"
    os.mkfifo(fifo)  # reading it would block forever
    assert not w.file_actions.open(str(fifo))
    assert not w.file_actions.open(str(env))  # a directory
    assert len(answers.errors) == 2 and "not a regular file" in answers.errors[0][1]


def test_broken_file_dialog_is_a_message_box(env, qtbot, monkeypatch):
    """The default prompt really is a QMessageBox (its exec patched here, so no modal
    loop), and it shows the file name as typed, never as markup."""
    shown = []
    monkeypatch.setattr(QMessageBox, "exec", lambda box: shown.append((box.text(), box.textFormat())) or 0)
    w = MainWindow()
    qtbot.nw_windows.append(w)
    (env / "<b>x.json").write_text("nope")
    assert not w.file_actions.open(str(env / "<b>x.json"))
    assert shown and "<b>x.json" in shown[0][0] and shown[0][1] == Qt.TextFormat.PlainText


def test_autosave_writes_and_clean_save_clears(env, qtbot):
    model = DocumentModel()
    model.load(CNN)
    saver = Autosaver(model, directory=env / "rec", debounce_ms=10)
    assert not saver.write_now()  # clean: nothing to recover
    model.set_param("DigitsCNN", "conv1", "out_channels", 12)
    qtbot.waitUntil(lambda: saver.file.exists(), timeout=2000)  # the debounce fired
    data = json.loads(saver.file.read_text())
    assert data["document"]["networks"][0]["nodes"][1]["params"]["out_channels"] == 12
    assert data["path"] == CNN
    model.save(str(env / "clean.json"))
    assert not saver.file.exists()
    saver.close_session()


def test_recovery_after_crash(env, qtbot):
    answers = Answers()
    w = MainWindow()  # not handed to qtbot: it will not get a clean close
    answers.install(w)
    w.file_actions.open(CNN)
    w.model.set_param("DigitsCNN", "conv1", "out_channels", 12)
    w.model.set_label("DigitsCNN", "relu1", "after crash")
    edited = to_dict(w.model.doc)
    assert w.autosaver.write_now()
    rec_file = w.autosaver.file
    # A crash: the window goes away without closeEvent (no prompt, no clean-up).
    shiboken6.delete(w)
    assert rec_file.exists()
    assert [r.file for r in find_recoverable(env / "recovery")] == [rec_file]

    answers2 = Answers()
    w2 = make_window(qtbot, answers2)
    assert w2.file_actions.offer_recovery()
    assert answers2.asked_restore == 1
    assert to_dict(w2.model.doc) == edited
    assert w2.model.is_dirty() and w2.model.path == CNN
    assert not rec_file.exists()  # adopted: w2's own autosave now holds the work
    assert find_recoverable(env / "recovery") == []


def test_live_session_is_not_offered(env, qtbot):
    answers = Answers()
    w = make_window(qtbot, answers)
    w.file_actions.open(CNN)
    w.model.set_param("DigitsCNN", "conv1", "out_channels", 12)
    assert w.autosaver.write_now()
    w2 = make_window(qtbot, Answers())
    assert not w2.file_actions.offer_recovery()  # w is alive: its work is not "lost"


def test_declined_recovery_is_discarded(env, qtbot):
    rec_dir = env / "recovery"
    rec_dir.mkdir()
    payload = {"session": "old", "pid": 2**22 + 12345, "path": None, "saved_at": 1.0,
               "document": json.loads(Path(CNN).read_text())}
    (rec_dir / f"old{SUFFIX}").write_text(json.dumps(payload))
    (rec_dir / f"junk{SUFFIX}").write_text("{")  # half-written: ignored, not offered
    answers = Answers()
    answers.restore = False
    w = make_window(qtbot, answers)
    assert not w.file_actions.offer_recovery()
    assert answers.asked_restore == 1
    assert not (rec_dir / f"old{SUFFIX}").exists()


def test_clean_close_removes_recovery_file(env, qtbot):
    answers = Answers()
    w = make_window(qtbot, answers)
    w.file_actions.open(CNN)
    w.model.set_param("DigitsCNN", "conv1", "out_channels", 12)
    assert w.autosaver.write_now()
    answers.unsaved = "discard"
    assert w.close()
    assert not w.autosaver.file.exists()


def test_recent_files(env):
    recent = RecentFiles()
    for i in range(12):
        recent.add(str(env / f"f{i}.json"))
    paths = recent.paths()
    assert len(paths) == 10 and paths[0].endswith("f11.json")
    recent.add(str(env / "f5.json"))
    assert recent.paths()[0].endswith("f5.json") and len(recent.paths()) == 10
    recent.remove(str(env / "f5.json"))
    assert not any(p.endswith("f5.json") for p in recent.paths())


def test_export_python(env, qtbot, monkeypatch):
    answers = Answers()
    w = make_window(qtbot, answers)
    w.file_actions.open(CNN)
    target = env / "model.py"
    from designer import file_actions

    monkeypatch.setattr(file_actions.QFileDialog, "getSaveFileName",
                        staticmethod(lambda *a, **k: (str(target), "")))
    assert w.file_actions.export_python()
    text = target.read_text()
    assert "class DigitsCNN(nn.Module)" in text
    w.code.refresh()
    assert text == w.model.generated_code()[0] == w.code.editor.toPlainText()  # the Code tab's text
    compile(text, str(target), "exec")


def test_export_training_script_from_the_menu(env, qtbot, monkeypatch):
    """File > Export Training Script… writes what `netwright export --script` writes."""
    from PySide6.QtWidgets import QMenu

    from graph_compiler.interop.script_export import generate_script

    answers = Answers()
    w = make_window(qtbot, answers)
    w.file_actions.open(CNN)
    target = env / "train_cnn.py"
    from designer import file_actions

    monkeypatch.setattr(file_actions.QFileDialog, "getSaveFileName",
                        staticmethod(lambda *a, **k: (str(target), "")))
    action = w.acts.all["export_script"]
    assert action in w.findChild(QMenu, "menu_file").actions() and action.isEnabled()
    action.trigger()
    text = target.read_text()
    assert text == generate_script(load(CNN), script="train_cnn.py")
    compile(text, str(target), "exec")
    w.show_start_page()
    assert not action.isEnabled()  # nothing open to export


def test_a_file_without_positions_opens_laid_out(env, tmp_path):
    d = to_dict(load(CNN))
    for node in d["networks"][0]["nodes"]:
        del node["pos"]  # optional in the file format: every node would sit at [0, 0]
    path = tmp_path / "nopos.json"
    path.write_text(json.dumps(d), encoding="utf-8")
    model = DocumentModel()
    model.load(str(path))
    net = model.doc.networks[0]
    assert len({n.pos for n in net.nodes}) == len(net.nodes)
    assert not model.is_dirty() and not model.undo_stack.canUndo()
    # A file that places its nodes keeps its own positions.
    model.load(CNN)
    assert [n.pos for n in model.doc.networks[0].nodes] == [n.pos for n in load(CNN).networks[0].nodes]
