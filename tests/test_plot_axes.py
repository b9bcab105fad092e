"""Short plots keep readable axes: few tick labels that never overlap, and a title that
fits (the Layer health tab in the 1366x768 training dock is ~120 px high a plot)."""
import os

os.environ["QT_QPA_PLATFORM"] = "offscreen"

import numpy as np
import pytest
from PySide6.QtGui import QImage, QPainter

from designer.training.health import HealthView
from designer.training.plots import CurveBoard


def drawn_labels(axis) -> list:
    img = QImage(10, 10, QImage.Format.Format_ARGB32)
    p = QPainter(img)
    try:
        _axis, _ticks, texts = axis.generateDrawSpecs(p)
    finally:
        p.end()
    return [(rect, text) for rect, _flags, text in texts]


def assert_readable(axis) -> None:
    labels = drawn_labels(axis)
    assert len(labels) >= 2, [t for _r, t in labels]
    rects = [r for r, _t in labels]
    for i, a in enumerate(rects):
        for b in rects[i + 1:]:
            assert not a.intersects(b), [t for _r, t in labels]
    # the axis title fits along the axis (it is drawn rotated on a left axis)
    assert axis.label.boundingRect().width() <= axis.size().height() + 1, axis.labelText


@pytest.mark.parametrize("weights, grads", [
    ((2.0, 12.0), (0.01, 0.3)),  # less than two decades: every 1..9 x 10^k used to be labelled
    ((0.5, 0.9), (1e-4, 1e-3)),  # within one decade
    ((1e-3, 1e3), (1e-8, 1.0)),  # many decades
])
def test_short_log_plots_show_few_readable_ticks(qtbot, weights, grads) -> None:
    view = HealthView()
    qtbot.addWidget(view)
    view.resize(760, 300)  # ~120 px a plot, as in the 1366x768 dock
    view.show()
    qtbot.waitExposed(view)
    names = ["fc1", "fc2"]
    for step in range(40):
        t = step / 39
        w = np.array([weights[0] + (weights[1] - weights[0]) * t, weights[1]])
        g = np.array([grads[1] + (grads[0] - grads[1]) * t, grads[0]])
        view.add(float(step), names, w, g)
    view.refresh(force=True)
    for plot in (view.weight_plot, view.grad_plot):
        plot.enableAutoRange()
        plot.autoRange()
        assert plot.getAxis("left").size().height() < 130
        assert_readable(plot.getAxis("left"))
    assert_readable(view.grad_plot.getAxis("bottom"))


def test_short_curve_plots_show_readable_ticks_in_log_mode(qtbot) -> None:
    board = CurveBoard()
    qtbot.addWidget(board)
    board.resize(760, 280)
    board.show()
    qtbot.waitExposed(board)
    xs = np.arange(200, dtype=np.float64)
    board.add_points("train/loss/step", xs, 2.3 * np.exp(-xs / 40) + 0.02)
    board.set_log(True)
    board.refresh(force=True)
    plot = board.loss_plot
    plot.enableAutoRange()
    plot.autoRange()
    assert_readable(plot.getAxis("left"))
