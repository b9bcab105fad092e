"""Pages of a stack or tab widget that only count toward its minimum height while shown.

A QStackedWidget (and so a QTabWidget) asks for the largest minimum of all its pages,
shown or not: the Insight tab's plots made the Training dock demand room that the curves
page on show did not need, and on a 1366x768 screen the window grew taller than the
screen when the dock opened. A hidden page gets the Ignored vertical size policy, which
Qt's layouts read as "no minimum height"; the page on show gets its own policy back.
Widths are left alone: the start page's minimum width is what keeps the canvas from being
squeezed by the side docks on a narrow window.
"""
from __future__ import annotations

from PySide6.QtWidgets import QSizePolicy, QStackedWidget, QTabWidget, QWidget


def size_to_current_page(pages: QStackedWidget | QTabWidget) -> None:
    """From now on, only ``pages``' current page counts toward its minimum height."""
    own: dict[int, QSizePolicy] = {}

    def apply(_index: int = -1) -> None:
        current = pages.currentWidget()
        for i in range(pages.count()):
            page: QWidget | None = pages.widget(i)
            if page is None:
                continue
            key = id(page)
            if key not in own:
                own[key] = QSizePolicy(page.sizePolicy())
            if page is current:
                page.setSizePolicy(own[key])
            else:
                hidden = QSizePolicy(own[key])
                hidden.setVerticalPolicy(QSizePolicy.Policy.Ignored)
                page.setSizePolicy(hidden)
        pages.updateGeometry()

    pages.currentChanged.connect(apply)
    apply()
