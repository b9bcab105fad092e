"""Docks and themes: the training dock never squeezes the palette below its category
names, dock layouts persist and View ▸ Reset Layout restores them, and the training plots
follow a live switch between the light and dark themes."""
import os

os.environ["QT_QPA_PLATFORM"] = "offscreen"

import pyqtgraph as pg
import pytest
import shiboken6
from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QFont, QFontMetrics
from PySide6.QtWidgets import QApplication

from designer import theme
from designer.main_window import MainWindow
from graph_compiler.examples import example_path

MLP = str(example_path("mlp_digits"))
CNN = str(example_path("cnn_digits"))


@pytest.fixture
def env(env):
    """conftest's env, back to the light theme afterwards."""
    yield env
    theme.apply_theme(QApplication.instance(), "light", remember=False)


def make_window(qtbot, size=(1366, 768)) -> MainWindow:
    w = MainWindow()
    w.prompts.unsaved = lambda _name: "discard"
    w.resize(*size)
    w.show()
    qtbot.waitExposed(w)
    return w


def dispose(w: MainWindow) -> None:
    w.close()
    shiboken6.delete(w)


def category_names_fit(w: MainWindow) -> list[str]:
    """The category headings the palette has to cut ([] when all show in full)."""
    tree = w.palette_panel.tree
    bold = QFont(tree.font())
    bold.setBold(True)
    fm = QFontMetrics(bold)
    cut = []
    for i in range(tree.topLevelItemCount()):
        item = tree.topLevelItem(i)
        if item.isHidden():  # "Blocks" without other networks
            continue
        rect = tree.visualItemRect(item)
        text_room = min(rect.right(), tree.viewport().width()) - rect.left() - tree.iconSize().width() - 6
        if fm.horizontalAdvance(item.text(0)) > text_room:
            cut.append(item.text(0))
    return cut


@pytest.mark.parametrize("size", [(1366, 768), (1600, 1000)])
def test_the_training_dock_never_squeezes_the_palette(qtbot, env, size) -> None:
    w = make_window(qtbot, size)
    try:
        assert w.file_actions.open(MLP)
        palette = w.docks["palette"]
        w.training.show()
        w.training.raise_()  # the tab in front, as Run shows it
        assert w.training.dashboard is not None
        qtbot.waitUntil(lambda: w.training.isVisible() and w.training.is_built())
        QApplication.processEvents()
        assert palette.width() >= w.palette_min_width()
        assert category_names_fit(w) == []
        # Even dragged as narrow as it goes, it stops at the names.
        w.resizeDocks([palette], [1], Qt.Orientation.Horizontal)
        QApplication.processEvents()
        assert palette.width() >= w.palette_min_width()
        assert category_names_fit(w) == []
        # The dashboard's one-row controls scroll sideways instead of widening the bottom
        # area, so the side panels keep their room and the window fits the screen.
        assert w.training.minimumSizeHint().width() <= 400
        assert w.docks["inspector"].width() >= 300
        assert w.minimumSizeHint().width() <= size[0]
    finally:
        dispose(w)


def test_the_training_dock_never_makes_a_laptop_window_taller_than_its_screen(qtbot, env) -> None:
    """Only the dashboard page on show counts toward the window's minimum height: the
    Insight page's plots, behind the Curves tab, grew a 1366x768 window to 793 px."""
    w = make_window(qtbot, (1366, 740))  # a 768 px screen less the desktop's panel
    try:
        assert w.file_actions.open(CNN)
        w.training.show()
        w.training.raise_()
        qtbot.waitUntil(lambda: w.training.isVisible() and w.training.is_built())
        QApplication.processEvents()
        tabs, insight = w.training.dashboard.tabs, w.training.dashboard.insight.tabs
        for pages in (tabs, insight):
            for i in range(pages.count()):
                pages.setCurrentIndex(i)
                if pages is insight:
                    tabs.setCurrentWidget(w.training.dashboard.insight)
                QApplication.processEvents()
                assert w.height() == 740, (pages.tabText(i), w.height())
                assert w.minimumSizeHint().height() <= 740
        w.show_start_page()
        QApplication.processEvents()
        assert w.height() == 740
    finally:
        dispose(w)


def test_dock_layout_persists_and_reset_layout_restores_it(qtbot, env) -> None:
    w = make_window(qtbot)
    assert w.file_actions.open(MLP)
    code = w.docks["code"]
    w.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, code)  # the user moves a panel
    code.show()
    w.docks["summary"].hide()
    dispose(w)  # closing saves the layout

    w = make_window(qtbot)
    try:
        assert w.file_actions.open(MLP)
        code = w.docks["code"]
        assert w.dockWidgetArea(code) == Qt.DockWidgetArea.LeftDockWidgetArea
        assert not w.docks["summary"].isVisible()
        w.acts.reset_layout.trigger()
        assert w.dockWidgetArea(code) == Qt.DockWidgetArea.RightDockWidgetArea
        assert code in w.tabifiedDockWidgets(w.docks["inspector"])
        for key in ("palette", "inspector", "diagnostics", "summary"):
            assert w.docks[key].isVisibleTo(w), key
        assert not w.training.isVisibleTo(w)  # it opens with Run, as on a first start
        assert QSettings().value("window/state") is None
        assert w.palette_min_width() <= w.docks["palette"].width()
    finally:
        dispose(w)

    w = make_window(qtbot)  # the reset stays after a restart
    try:
        assert w.file_actions.open(MLP)
        assert w.dockWidgetArea(w.docks["code"]) == Qt.DockWidgetArea.RightDockWidgetArea
    finally:
        dispose(w)


def plot_colours(root) -> set[tuple[str, str]]:
    """(what, colour) of every plot background, axis pen and axis text under ``root``."""
    out = set()
    for view in root.findChildren(pg.GraphicsView):
        out.add(("background", view.backgroundBrush().color().name()))
        for item in view.scene().items():
            if isinstance(item, pg.AxisItem):
                out.add(("axis", item.pen().color().name()))
                out.add(("text", item.textPen().color().name()))
    return out


def test_training_plots_follow_a_live_theme_switch(qtbot, env) -> None:
    w = make_window(qtbot)
    try:
        assert w.file_actions.open(MLP)
        w.training.show()
        w.training.raise_()
        dash = w.training.dashboard
        qtbot.waitUntil(dash.isVisible)
        app = QApplication.instance()
        light, dark = theme.THEMES["light"], theme.THEMES["dark"]
        assert plot_colours(dash) == {("background", light.base), ("axis", light.muted), ("text", light.muted)}
        w.acts.theme_dark.trigger()
        assert theme.current_name() == "dark"
        assert plot_colours(dash) == {("background", dark.base), ("axis", dark.muted), ("text", dark.muted)}
        assert pg.getConfigOption("background") == dark.base  # plots made from now on match
        theme.apply_theme(app, "light", remember=False)
        assert plot_colours(dash) == {("background", light.base), ("axis", light.muted), ("text", light.muted)}
    finally:
        dispose(w)


@pytest.mark.parametrize("size", [(1366, 768), (1600, 1000)])
def test_every_run_setting_is_reachable_and_shows_the_files_value(qtbot, env, size) -> None:
    """At 1366x768 the one-row controls were cut after "Batch" (no way to the learning
    rate), and the empty overrides read "file" instead of the number the run would use."""
    from graph_compiler.training.config import parse_config

    w = make_window(qtbot, size)
    try:
        assert w.file_actions.open(MLP)
        w.training.show()
        w.training.raise_()
        dash = w.training.dashboard
        qtbot.waitUntil(lambda: dash.isVisible() and dash.lr_edit.isVisible())
        QApplication.processEvents()
        area = dash.controls_area
        shown = area.viewport().rect()
        for field in (dash.run_button, dash.device_combo, dash.epochs_spin, dash.batch_spin, dash.lr_edit,
                      dash.controls.data_button, dash.save_button):
            at = field.mapTo(area.viewport(), field.rect().topLeft())
            assert shown.contains(field.rect().translated(at)), field
        assert area.horizontalScrollBar().maximum() == 0  # nothing to scroll to
        cfg = parse_config(w.model.doc.training)
        assert dash.epochs_spin.text() == "" and dash.epochs_spin.lineEdit().placeholderText() == str(cfg.epochs)
        assert dash.batch_spin.lineEdit().placeholderText() == str(cfg.batch_size)
        assert dash.lr_edit.text() == "" and float(dash.lr_edit.placeholderText()) == cfg.lr
        assert dash.controls.overrides()["epochs"] is None
        dash.epochs_spin.lineEdit().setText("7")  # typed: an override for the next run
        dash.epochs_spin.interpretText()
        assert dash.controls.overrides()["epochs"] == 7 and dash.epochs_spin.text() == "7"
        dash.epochs_spin.lineEdit().clear()  # emptied: back to the file's value
        dash.epochs_spin.interpretText()
        assert dash.controls.overrides()["epochs"] is None
    finally:
        dispose(w)
