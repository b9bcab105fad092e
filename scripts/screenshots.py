"""Render docs/screenshot.png: the main window with an example open, offscreen.

    python scripts/screenshots.py [--example resnet_small] [--network ResBlock] [--select conv1]
                                  [--theme light] [--out docs/screenshot.png]

The canvas shows the main network as opening a file shows it (readable, scrolled to
its start where it does not fit whole); the inspector
(selected node) sits over the generated code, the summary along the bottom.

Uses a throw-away settings folder, so the user's saved window layout, theme and recent
files never leak into the picture, and QWidget.grab(), so no display is needed.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SIZE = (1400, 900)


def render(example: str, theme_name: str, out: Path, select: str | None, network: str | None) -> Path:
    from PySide6.QtCore import QEventLoop, Qt, QTimer

    from designer import theme
    from designer.app import create_app
    from designer.main_window import MainWindow
    from graph_compiler.examples import example_path

    app = create_app(["netwright"])
    theme.apply_theme(app, theme_name, remember=False)
    window = MainWindow()
    window.resize(*SIZE)
    window.show()
    if not window.file_actions.open(str(example_path(example))):
        raise SystemExit(f"could not open example {example!r}")
    model = window.model
    # The whole network is in view, so the overview in the corner would only cover part
    # of it (the picture's settings are throw-away: nothing is remembered).
    window.edit.set_minimap(False)
    if network and network in window.views:
        window.tabs.setCurrentWidget(window.views[network])
    view = window.current_view()
    # The picture's layout: palette left; inspector over the code on the right (in the app
    # they share a tab group), so both show; the summary table along the bottom.
    docks = window.docks
    window.removeDockWidget(docks["code"])  # out of the inspector's tab group, then below it
    window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, docks["code"], Qt.Orientation.Vertical)
    docks["code"].show()
    for key in ("inspector", "code"):  # no longer in a tab group that names them
        docks[key].setTitleBarWidget(None)
    window.resizeDocks([docks["palette"], docks["inspector"]], [190, 400], Qt.Orientation.Horizontal)
    window.resizeDocks([docks["summary"]], [340], Qt.Orientation.Vertical)
    window.resizeDocks([docks["inspector"], docks["code"]], [560, 220], Qt.Orientation.Vertical)
    docks["summary"].raise_()
    model.analyze_now()
    window.code.refresh()
    window.summary.refresh()
    _settle(app)

    net = model.doc.network(window.current_network())
    selected = select if select and net.node(select) else net.nodes[min(1, len(net.nodes) - 1)].id
    view.select_ids([selected])
    view.fit_readable()  # as opening a file shows it
    _scroll_code_to(window, window.current_network())
    _show_in_summary(window, window.current_network(), selected)
    window.statusBar().clearMessage()  # "Opened /home/..." would leak a local path
    _settle(app)
    out.parent.mkdir(parents=True, exist_ok=True)
    pixmap = window.grab()
    if not pixmap.save(str(out), "PNG"):
        raise SystemExit(f"could not write {out}")
    window.prompts.unsaved = lambda _name: "discard"
    window.close()
    loop = QEventLoop()
    QTimer.singleShot(0, loop.quit)
    loop.exec()
    return out


def _scroll_code_to(window: object, network: str) -> None:
    """Show the forward() of the network on the canvas: the code the graph turns into."""
    editor = window.code.editor  # type: ignore[attr-defined]
    lines = editor.toPlainText().splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith(f"class {network}(")), 0)
    forward = next((i for i, line in enumerate(lines[start:], start) if "def forward" in line), start)
    bar = editor.verticalScrollBar()
    bar.setValue(min(bar.maximum(), max(0, forward - 1)))


def _show_in_summary(window: object, network: str, node_id: str) -> None:
    """The summary opens at the network on the canvas, its selected node highlighted."""
    from PySide6.QtWidgets import QAbstractItemView

    tree = window.summary.tree  # type: ignore[attr-defined]
    for i in range(tree.topLevelItemCount()):
        top = tree.topLevelItem(i)
        if top.text(0) != network:
            continue
        tree.scrollToItem(top, QAbstractItemView.ScrollHint.PositionAtTop)
        for j in range(top.childCount()):
            if top.child(j).text(0) == node_id:
                tree.setCurrentItem(top.child(j))
        return


def _settle(app: object) -> None:
    """Let timers (debounced code / summary refresh, deferred fits) and paints run."""
    from PySide6.QtCore import QEventLoop, QTimer

    for _ in range(3):
        loop = QEventLoop()
        QTimer.singleShot(260, loop.quit)  # longer than the code tab's 200 ms debounce
        loop.exec()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--example", default="resnet_small")
    # The main network, as opening the file shows it: names, shapes and counts readable.
    parser.add_argument("--network", default="", help="the tab to show ('' for the main network)")
    parser.add_argument("--select", default="stem", help="the node shown in the inspector")
    parser.add_argument("--theme", default="light", choices=["light", "dark"])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshot.png")
    args = parser.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    with tempfile.TemporaryDirectory() as tmp:
        # Fresh settings, cache and recovery folders: a reproducible picture.
        os.environ["XDG_CONFIG_HOME"] = f"{tmp}/config"
        os.environ["XDG_CACHE_HOME"] = f"{tmp}/cache"
        os.environ["NETWRIGHT_RECOVERY_DIR"] = f"{tmp}/recovery"
        sys.path.insert(0, str(ROOT))
        out = render(args.example, args.theme, args.out, args.select, args.network)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
