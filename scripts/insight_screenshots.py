"""Render the Insight pictures of docs/insight.md: the Insight tab and the canvas badges.

    DISPLAY=:99 python scripts/insight_screenshots.py [--epochs 8] [--out docs]

Opens the cnn_digits example in the main window, trains it from the Training dock, waits
for the Insight evaluation that follows the run, and grabs the Insight tab (Calibration
and Attributions pages side by side in one picture each) and the canvas with its health
badges. Throw-away settings folders keep the user's layout and theme out of the picture.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _wait(app: object, done: object, timeout_s: float = 600) -> None:
    import time

    from PySide6.QtCore import QEventLoop, QTimer

    t0 = time.monotonic()
    while not done():  # type: ignore[operator]
        if time.monotonic() - t0 > timeout_s:
            raise SystemExit("timed out")
        loop = QEventLoop()
        QTimer.singleShot(100, loop.quit)
        loop.exec()


def render(epochs: int, out: Path, size: tuple[int, int] = (1400, 900)) -> list[Path]:
    from PySide6.QtCore import Qt

    from designer import theme
    from designer.app import create_app
    from designer.main_window import MainWindow
    from designer.training.dashboard import PAGE_INSIGHT
    from graph_compiler.examples import example_path

    app = create_app(["netwright"])
    theme.apply_theme(app, "light", remember=False)
    window = MainWindow()
    window.resize(*size)
    window.show()
    if not window.file_actions.open(str(example_path("cnn_digits"))):
        raise SystemExit("could not open cnn_digits")
    dock = window.training
    dock.show()
    dock.raise_()
    dash = dock.dashboard
    window.resizeDocks([dock], [520], Qt.Orientation.Vertical)
    dash.epochs_spin.setValue(epochs)
    finished: list[object] = []
    dash.insight.evaluated.connect(finished.append)
    dash.start_run()
    _wait(app, lambda: finished and not dash.insight.busy())
    dash.tabs.setCurrentIndex(PAGE_INSIGHT)
    window.statusBar().clearMessage()
    paths = []
    view = window.current_view()
    view.fit_all()
    for page, name in ((0, "insight-calibration.png"), (2, "insight-attributions.png")):
        dash.insight.tabs.setCurrentIndex(page)
        _wait(app, lambda: True)
        if page == 2:
            dash.insight.attribution.sample.setValue(3)
            _wait(app, lambda: dash.insight.attribution.row is not None
                  and dash.insight.attribution.row["index"] == 3)
        _wait(app, lambda: True)
        path = out / name
        window.grab().save(str(path), "PNG")
        paths.append(path)
    path = out / "insight-badges.png"
    view.grab().save(str(path), "PNG")
    paths.append(path)
    window.prompts.unsaved = lambda _name: "discard"
    window.close()
    return paths


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--out", type=Path, default=ROOT / "docs")
    parser.add_argument("--size", default="1400x900", help="window size, e.g. 1366x768")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["XDG_CONFIG_HOME"] = f"{tmp}/config"
        os.environ["XDG_CACHE_HOME"] = f"{tmp}/cache"
        os.environ["NETWRIGHT_RECOVERY_DIR"] = f"{tmp}/recovery"
        os.environ["NETWRIGHT_RUNS_DIR"] = f"{tmp}/runs"
        sys.path.insert(0, str(ROOT))
        w, h = (int(v) for v in args.size.split("x"))
        for p in render(args.epochs, args.out, (w, h)):
            print(f"wrote {p}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
