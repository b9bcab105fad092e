"""Render docs/screenshot.png: the main window with an example open, offscreen.

    python scripts/screenshots.py [--example cnn_digits] [--theme light] [--out docs/screenshot.png]

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


def render(example: str, theme_name: str, out: Path, scale: float) -> Path:
    from PySide6.QtCore import QEventLoop, QTimer

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
    view = window.current_view()
    # Lay the example out with the canvas's real node sizes (the files space nodes for a
    # narrower node), and keep the document "clean": this is a picture, not an edit.
    view.auto_layout()
    model.undo_stack.setClean()
    model.analyze_now()
    window.docks["code"].raise_()
    window.code.refresh()
    window.docks["summary"].raise_()
    window.summary.refresh()
    _settle(app)

    net = model.doc.main
    # A real session works zoomed in enough to read the nodes; fit the first few layers
    # rather than the whole chain at a size where the canvas hides the text.
    focus = [n.id for n in net.nodes][: max(1, min(len(net.nodes), 3))]
    items = view.scene().nodes
    rect = items[focus[0]].sceneBoundingRect()
    for nid in focus[1:]:
        rect = rect.united(items[nid].sceneBoundingRect())
    rect.adjust(-30, -120, 30, 120)
    fit = min(view.viewport().width() / rect.width(), view.viewport().height() / rect.height())
    view.resetTransform()
    view.zoom_by(min(scale, fit))
    view.centerOn(rect.center())
    selected = focus[1] if len(focus) > 1 else focus[0]
    view.select_ids([selected])
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


def _settle(app: object) -> None:
    """Let timers (debounced code / summary refresh, deferred fits) and paints run."""
    from PySide6.QtCore import QEventLoop, QTimer

    for _ in range(3):
        loop = QEventLoop()
        QTimer.singleShot(260, loop.quit)  # longer than the code tab's 200 ms debounce
        loop.exec()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--example", default="cnn_digits")
    parser.add_argument("--theme", default="light", choices=["light", "dark"])
    parser.add_argument("--scale", type=float, default=1.0, help="largest canvas zoom")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshot.png")
    args = parser.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    with tempfile.TemporaryDirectory() as tmp:
        # Fresh settings, cache and recovery folders: a reproducible picture.
        os.environ["XDG_CONFIG_HOME"] = f"{tmp}/config"
        os.environ["XDG_CACHE_HOME"] = f"{tmp}/cache"
        os.environ["NETWRIGHT_RECOVERY_DIR"] = f"{tmp}/recovery"
        sys.path.insert(0, str(ROOT))
        out = render(args.example, args.theme, args.out, args.scale)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
