"""The application: launcher dispatch, start page, opening every example, menus, themes,
and the start-up rule (no torch before the first paint)."""
import os

os.environ["QT_QPA_PLATFORM"] = "offscreen"

import json
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtGui import QKeySequence

from designer import launcher, theme
from conftest import dispose

from designer.app import build, create_app
from graph_compiler.examples import example_path, list_examples

ROOT = Path(__file__).resolve().parent.parent
CNN = str(example_path("cnn_digits"))


def _child_env() -> dict:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT))
    return env


# ---------------------------------------------------------------- launcher


def test_launcher_validate_does_not_import_qt():
    code = (
        "import sys\n"
        "from designer.launcher import main\n"
        f"rc = main(['netwright', 'validate', {CNN!r}])\n"
        "print('QT_LOADED', any(m.startswith(('PySide6', 'shiboken6')) for m in sys.modules))\n"
        "sys.exit(rc)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, cwd=ROOT,
                         env=_child_env(), timeout=120)
    assert out.returncode == 0, out.stderr
    assert "QT_LOADED False" in out.stdout


def test_launcher_routing(monkeypatch, tmp_path):
    assert launcher.is_headless(["validate", "f.json"])
    assert launcher.is_headless(["--debug", "summary", "f.json"])
    assert launcher.is_headless(["--version"]) and launcher.is_headless(["-h"])
    assert not launcher.is_headless([]) and not launcher.is_headless(["model.json"])
    calls = []
    import designer.app

    monkeypatch.setattr(designer.app, "main", lambda argv: calls.append(argv) or 0)
    model = tmp_path / "model.json"
    model.write_text("{}")
    assert launcher.main(["netwright", str(model)]) == 0
    assert calls == [["netwright", str(model)]]


def test_launcher_version(capsys):
    assert launcher.main(["netwright", "--version"]) == 0
    assert "netwright" in capsys.readouterr().out


# ---------------------------------------------------------------- start-up


def test_window_paints_without_importing_torch(tmp_path):
    """The first paint happens before torch is imported (it costs seconds)."""
    code = (
        "import sys, time\n"
        "from designer.app import build, after_first_paint\n"
        "app, w = build(['netwright', '--no-recovery'])\n"
        "def done():\n"
        "    print('TORCH', 'torch' in sys.modules, 'TITLE', w.windowTitle())\n"
        "    app.quit()\n"
        "after_first_paint(w.stack, done)\n"
        "app.exec()\n"
    )
    env = _child_env()
    env["NETWRIGHT_RECOVERY_DIR"] = str(tmp_path / "recovery")
    env["NETWRIGHT_NO_THUMBNAIL_CACHE"] = "1"
    env["XDG_CONFIG_HOME"] = str(tmp_path / "config")  # QSettings: not the user's
    out = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, cwd=ROOT,
                         env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "TORCH False TITLE Netwright" in out.stdout


def test_build_opens_file_from_command_line(env, qtbot):
    _app, w = build(["netwright", CNN, "--no-recovery"])
    try:
        assert not w.ready  # the shell paints first; the model comes after
        qtbot.waitUntil(lambda: w.ready and w.model.path == CNN, timeout=5000)
        assert w.windowTitle() == "Netwright — cnn_digits.json[*]"
        assert not w.on_start_page()
    finally:
        dispose(w)


# ---------------------------------------------------------------- start page and examples


def test_start_page_lists_examples(window):
    assert window.on_start_page() and window.windowTitle() == "Netwright"
    window.start_page.populate()
    examples = list_examples()
    assert len(examples) >= 5
    assert window.start_page.example_paths() == [str(e.path) for e in examples]
    gallery = window.start_page.gallery
    assert all(not gallery.item(i).icon().isNull() for i in range(gallery.count()))  # thumbnails
    assert not any(d.isVisible() for d in window.docks.values())


def test_start_page_opens_example_and_recent(window):
    window.start_page.populate()
    window.start_page.openRequested.emit(str(example_path("mlp_digits")))
    assert window.model.doc.main.name == "DigitsMLP" and not window.on_start_page()
    assert window.docks["palette"].isVisible()
    window.show_start_page()
    assert window.on_start_page() and not window.docks["palette"].isVisible()


@pytest.mark.parametrize("example", list_examples(), ids=lambda e: e.name)
def test_open_each_example(window, example):
    assert window.file_actions.open(str(example.path))
    raw = json.loads(Path(example.path).read_text())
    window.model.analyze_now()
    assert window.tabs.count() == len(raw["networks"])
    for i, net in enumerate(raw["networks"]):
        assert window.tabs.tabText(i) == net["name"]
        scene = window.views[net["name"]].scene()
        assert scene.built == (i == window.tabs.currentIndex())  # other tabs: built when shown
        scene.ensure_built()
        assert len(scene.nodes) == len(net["nodes"])
        assert len(scene.edges) == len(net["edges"])
    assert window.diagnostics.count() == 0, window.diagnostics.entries()
    assert window.windowTitle() == f"Netwright — {Path(example.path).name}[*]"
    assert not window.isWindowModified()


# ---------------------------------------------------------------- menus and edits


def test_standard_shortcuts(window):
    a = window.acts
    assert a.new.shortcut() == QKeySequence(QKeySequence.StandardKey.New)
    assert a.open.shortcut() == QKeySequence(QKeySequence.StandardKey.Open)
    assert a.save.shortcut() == QKeySequence(QKeySequence.StandardKey.Save)
    assert a.save_as.shortcut() == QKeySequence("Ctrl+Shift+S")
    assert a.undo.shortcut() == QKeySequence(QKeySequence.StandardKey.Undo)
    menus = [m.title().replace("&", "") for m in window.menuBar().findChildren(type(window.recent_menu))
             if m.parent() is window.menuBar()]
    for title in ("File", "Edit", "View", "Network"):
        assert title in menus


def test_edit_actions_and_title(window):
    window.file_actions.open(CNN)
    view, model = window.current_view(), window.model
    n = len(model.doc.main.nodes)
    view.select_ids(["conv1"])
    window.acts.copy.trigger()
    window.acts.paste.trigger()
    assert len(model.doc.main.nodes) == n + 1
    assert window.isWindowModified() and window.windowTitle().endswith("[*]")
    window.acts.duplicate.trigger()
    assert len(model.doc.main.nodes) == n + 2
    window.acts.delete.trigger()
    assert len(model.doc.main.nodes) == n + 1
    window.acts.undo.trigger()
    window.acts.undo.trigger()
    window.acts.undo.trigger()
    assert len(model.doc.main.nodes) == n and not window.isWindowModified()
    window.acts.select_all.trigger()
    assert len(view.selected_ids()) == n


def test_network_menu(window, monkeypatch):
    window.file_actions.open(CNN)
    from designer import edit_commands

    monkeypatch.setattr(edit_commands.QInputDialog, "getText", staticmethod(lambda *a, **k: ("Head", True)))
    window.acts.add_network.trigger()
    assert window.tabs.count() == 2 and window.current_network() == "Head"
    monkeypatch.setattr(edit_commands.QInputDialog, "getText", staticmethod(lambda *a, **k: ("Tail", True)))
    head = window.views["Head"]
    window.acts.rename_network.trigger()
    assert window.tabs.tabText(1) == "Tail" and "Tail" in window.views
    # The tab is re-keyed, not deleted and recreated: same canvas, still current.
    assert window.views["Tail"] is head and window.tabs.currentWidget() is head and "Head" not in window.views
    window.acts.undo.trigger()
    assert window.views["Head"] is head and window.tabs.tabText(1) == "Head"
    window.acts.redo.trigger()
    assert window.views["Tail"] is head and window.tabs.tabText(1) == "Tail"
    window.tabs.setCurrentIndex(0)
    assert "Tail" in window.palette_panel.visible_types()  # usable as a block
    window.current_view().select_ids(["relu1", "pool1"])
    window.acts.group.trigger()
    assert window.tabs.count() == 3


@pytest.mark.slow  # traces and verifies with torch: ~10 s on 2 cores
def test_import_from_pytorch(window, monkeypatch, tmp_path, qtbot):
    (tmp_path / "tiny_model.py").write_text(
        "from torch import nn\n"
        "def build():\n"
        "    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))\n")
    answers = iter([(f"{tmp_path / 'tiny_model.py'}:build", True), ("4", True)])
    from designer import file_actions

    monkeypatch.setattr(file_actions.QInputDialog, "getText", staticmethod(lambda *a, **k: next(answers)))
    window.acts.import_pytorch.trigger()
    importer = window.file_actions.importer
    assert importer.is_running() and importer.bar.isVisible()  # traced off the GUI thread
    qtbot.waitUntil(lambda: not importer.is_running(), timeout=120_000)
    types = [n.type for n in window.model.doc.main.nodes]
    assert "Linear" in types and "ReLU" in types
    assert window.model.path is None and window.isWindowModified()  # unsaved until saved
    assert not window.on_start_page()


def test_import_from_pytorch_error_names_the_problem(window, monkeypatch, tmp_path, qtbot):
    errors: list[str] = []
    window.prompts.error = lambda title, text: errors.append(text)
    answers = iter([(f"{tmp_path / 'missing_model.py'}:Net", True), ("4", True)])
    from designer import file_actions

    monkeypatch.setattr(file_actions.QInputDialog, "getText", staticmethod(lambda *a, **k: next(answers)))
    window.acts.import_pytorch.trigger()
    qtbot.waitUntil(lambda: bool(errors), timeout=60_000)
    assert "missing_model.py" in errors[0] and "no such file" in errors[0]
    assert window.acts.import_pytorch.isEnabled() and not window.file_actions.importer.bar.isVisible()


def test_parse_shapes():
    from designer.file_actions import parse_shapes

    assert parse_shapes("3, 32, 32") == [(3, 32, 32)]
    assert parse_shapes("(16,); [4]") == [(16,), (4,)]
    assert parse_shapes("3, x") is None and parse_shapes("") is None and parse_shapes("0") is None


def test_themes(window):
    app = create_app()
    for name in ("dark", "light"):
        window.acts.all[f"theme_{name}"].trigger()
        assert theme.current_name() == name
        assert "@" not in app.styleSheet()  # every token was replaced
        assert app.palette().window().color().name() == theme.THEMES[name].window
    assert not theme.icon("save").isNull()


def test_minimap_follows_a_live_theme_switch(window, qtbot):
    from designer.canvas import style

    window.file_actions.open(CNN)
    minimap = window.current_view().minimap
    for name in ("dark", "light"):
        window.acts.all[f"theme_{name}"].trigger()
        want = style.qcolor(style.colors().node)

        def redrawn() -> bool:  # the frame's fill, just inside its rounded border (drawn at alpha 230)
            pix = minimap._pixmap
            if pix is None:
                return False
            got = pix.toImage().pixelColor(int(3 * pix.devicePixelRatio()), int(30 * pix.devicePixelRatio()))
            return max(abs(got.red() - want.red()), abs(got.green() - want.green()),
                       abs(got.blue() - want.blue())) <= 3

        qtbot.waitUntil(redrawn)


def test_first_window_fits_the_screen(window):
    from PySide6.QtGui import QGuiApplication

    room = QGuiApplication.primaryScreen().availableGeometry()  # 800x800 offscreen: smaller than 1400x900
    assert window.width() <= room.width() and window.height() <= room.height()


def _crashed_session_left_mlp(env: Path) -> Path:
    """The recovery file a crashed session leaves with unsaved mlp_digits work; its path."""
    from designer.files import SUFFIX

    rec_dir = env / "recovery"
    rec_dir.mkdir()
    payload = {"session": "old", "pid": 2**22 + 12345, "path": None, "saved_at": 1.0,
               "document": json.loads(Path(str(example_path("mlp_digits"))).read_text())}
    (rec_dir / f"old{SUFFIX}").write_text(json.dumps(payload))
    return rec_dir / f"old{SUFFIX}"


def test_a_file_on_the_command_line_opens_before_the_recovery_question(env, qtbot):
    """With unsaved work left by a crash, `netwright FILE` used to ask about it over an
    empty start page and open FILE only after the answer."""
    left = _crashed_session_left_mlp(env)
    _app, w = build(["netwright", CNN])
    seen: list[tuple[str | None, bool, bool]] = []

    def restore(_rec) -> bool:
        seen.append((w.model.path, w.on_start_page(), w.current_view() is not None and w.current_view().isVisible()))
        return False

    w.prompts.restore = restore
    try:
        qtbot.waitUntil(lambda: bool(seen), timeout=10_000)
        assert seen == [(CNN, False, True)]  # the editor with FILE is up behind the question
        assert w.model.path == CNN and not left.exists()  # declined
    finally:
        dispose(w)


def test_restoring_over_a_file_on_the_command_line_says_where_it_went(env, qtbot):
    _crashed_session_left_mlp(env)
    _app, w = build(["netwright", CNN])
    w.prompts.restore = lambda _rec: True
    try:
        qtbot.waitUntil(lambda: "Restored" in w.statusBar().currentMessage(), timeout=10_000)
        assert w.model.path != CNN and w.model.doc.main.name == "DigitsMLP" and not w.on_start_page()
        message = w.statusBar().currentMessage()
        assert "Restored your unsaved work" in message and "cnn_digits.json was closed" in message
        assert "File > Open" in message
    finally:
        dispose(w)


@pytest.mark.parametrize("size", [(1366, 768), (1600, 1000)])
@pytest.mark.parametrize("name", ["mlp_digits", "cnn_digits"])
def test_an_opened_example_shows_its_wrapping_wires_whole(window, qtbot, size, name):
    """The auto-layout wraps long chains into bands; the wire from one band's end back to
    the next band's start bulges past the nodes and was cut at the view's left and right."""
    window.resize(*size)
    qtbot.waitUntil(lambda: window.width() == size[0])
    assert window.file_actions.open(str(example_path(name)))
    view = window.current_view()
    qtbot.waitUntil(lambda: view.isVisible() and view.scene().built)
    shown = view.mapToScene(view.viewport().rect()).boundingRect()
    scene = view.scene()
    assert all(shown.contains(it.sceneBoundingRect()) for it in scene.nodes.values())
    cut = [key for key, it in scene.edges.items() if not shown.contains(it.sceneBoundingRect())]
    assert cut == []
    backward = [key for key in scene.edges if scene.nodes[key[2]].x() < scene.nodes[key[0]].x()]
    assert backward, "the example wraps into bands (else this test shows nothing)"
