"""Live samples from generative (and other) recipes: one page per payload kind.

Payloads come from ``Recipe.live_samples()`` through "sample" events (see
graph_compiler/training/events.py). Accepted forms, leniently (extra keys are ignored):

    {"kind": "scatter", "points": [N, 2], "real": [M, 2]?, "labels": [N]?}
    {"kind": "images", "images": [N, H, W] | [N, C, H, W], "real" | "originals": same?, "titles"?}
    {"kind": "text", "text": str | list[str], "prompt": str?}
    {"kind": "latent", "points": [N, 2], "labels": [N]?}
    {"kind": "chain", "steps": list of [N, 2] points or image batches, "t": list?}
    {"kind": "attention", "weights": [T, T] | [heads, T, T], "tokens": list[str]?}
    {"kind": "curve", "x": [n], "y": [n], "real_x": [m]?, "real_y": [m]?}

Pages are built on first use and then reused, so a payload per epoch only calls
setData / setImage / setPlainText on existing items.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QLabel,
    QPlainTextEdit,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from designer.training.imaging import ImagePane, as_images, tile
from designer.training.plots import PALETTE

PageT = TypeVar("PageT", bound=QWidget)
KINDS = ("scatter", "images", "text", "latent", "chain", "attention", "curve")
MAX_CHAIN = 8  # panels in a denoising chain
MAX_PANELS = 3  # extra payloads shown beside the main one
REAL_BRUSH = (150, 150, 150, 90)


def _arr(payload: dict[str, Any], key: str, ndim: int | None = None) -> np.ndarray | None:
    v = payload.get(key)
    if v is None:
        return None
    if hasattr(v, "detach"):
        v = v.detach().cpu().numpy()
    a = np.asarray(v)
    if ndim is not None and a.ndim != ndim:
        raise ValueError(f"'{key}' should have {ndim} dimensions, got shape {list(a.shape)}")
    return a


def class_brushes(labels: np.ndarray) -> list[Any]:
    cache: dict[Any, Any] = {}
    out = []
    for lab in labels.tolist():
        b = cache.get(lab)
        if b is None:
            b = cache[lab] = pg.mkBrush(PALETTE[len(cache) % len(PALETTE)])
        out.append(b)
    return out


class _ScatterPage(pg.PlotWidget):
    def __init__(self, legend: bool = True) -> None:
        super().__init__()
        self.real = pg.ScatterPlotItem(size=4, pen=None, brush=REAL_BRUSH, name="real data")
        self.fake = pg.ScatterPlotItem(size=4, pen=None, brush=pg.mkBrush(PALETTE[0]), name="generated")
        if legend:  # latent codes are coloured by class: "real / generated" would mislead
            self.getPlotItem().addLegend(offset=(-10, 10))
        self.addItem(self.real)
        self.addItem(self.fake)
        self.getPlotItem().setAspectLocked(True)

    def show_points(self, points: np.ndarray, real: np.ndarray | None, labels: np.ndarray | None) -> None:
        if points.ndim != 2 or points.shape[1] < 2:
            raise ValueError(f"'points' should be [N, 2], got shape {list(points.shape)}")
        if real is not None and len(real):
            self.real.setData(real[:, 0], real[:, 1])
        else:
            self.real.setData([], [])
        brush = class_brushes(labels) if labels is not None and len(labels) == len(points) \
            else pg.mkBrush(PALETTE[0])
        self.fake.setData(points[:, 0], points[:, 1], brush=brush)


class _CurvePage(pg.PlotWidget):
    """A regression model's output over the input range, over the real data."""

    def __init__(self) -> None:
        super().__init__()
        self.real_item = self.plot(pen=pg.mkPen((150, 150, 150), width=1), name="real")
        self.fit_item = self.plot(pen=pg.mkPen(PALETTE[0], width=1), name="model")


class _ChainPage(QWidget):
    """Denoising steps left to right: scatter panels for 2-D points, a mosaic for images."""

    def __init__(self) -> None:
        super().__init__()
        self.layout_widget = pg.GraphicsLayoutWidget()
        self.images = ImagePane("", colormap="CET-L1")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.layout_widget)
        lay.addWidget(self.images)
        self.plots: list[pg.PlotItem] = []
        self.items: list[pg.ScatterPlotItem] = []

    def show_steps(self, steps: list[np.ndarray], labels: list[str]) -> None:
        if not steps:
            raise ValueError("'steps' is empty")
        pick = np.unique(np.linspace(0, len(steps) - 1, min(MAX_CHAIN, len(steps))).round().astype(int))
        chosen = [np.asarray(steps[i], dtype=np.float32) for i in pick]
        if chosen[0].ndim == 2 and chosen[0].shape[1] == 2:
            self.layout_widget.setVisible(True)
            self.images.setVisible(False)
            while len(self.plots) < len(chosen):
                p = self.layout_widget.addPlot(row=0, col=len(self.plots))
                p.setAspectLocked(True)
                p.hideAxis("left")
                item = pg.ScatterPlotItem(size=3, pen=None, brush=pg.mkBrush(PALETTE[0]))
                p.addItem(item)
                self.plots.append(p)
                self.items.append(item)
            for i, (p, item) in enumerate(zip(self.plots, self.items)):
                visible = i < len(chosen)
                p.setVisible(visible)
                if visible:
                    item.setData(chosen[i][:, 0], chosen[i][:, 1])
                    p.setTitle(labels[pick[i]] if pick[i] < len(labels) else f"step {pick[i]}", size="8pt")
            return
        self.layout_widget.setVisible(False)
        self.images.setVisible(True)
        batches = [as_images(s)[:8] for s in chosen]
        k = min(len(b) for b in batches)
        grid = np.stack([b[:k] for b in batches], axis=1)  # [samples, steps, H, W(, 3)]
        flat = grid.reshape(-1, *grid.shape[2:])
        self.images.set_title("each row: one sample, noisy (left) to clean (right)")
        self.images.set_image(tile(flat, cols=len(batches), normalize="global"))


class PayloadView(QWidget):
    """Shows one payload; ``set_payload`` returns the kind it showed."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.caption = QLabel("Samples from the model appear here after each epoch (generative recipes).")
        self.caption.setWordWrap(True)
        self.stack = QStackedWidget()
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.caption)
        lay.addWidget(self.stack, 1)
        self.pages: dict[str, QWidget] = {}
        self.kind: str | None = None
        self._show: dict[str, Callable[[dict[str, Any]], str]] = {
            "scatter": self._scatter, "latent": self._latent, "images": self._images,
            "text": self._text, "chain": self._chain, "attention": self._attention,
            "curve": self._curve,
        }

    def typed_page(self, kind: str, cls: type[PageT]) -> PageT:
        """``page(kind)``, which ``kind``'s factory made a ``cls``."""
        page = self.page(kind)
        assert isinstance(page, cls), f"page {kind!r} is a {type(page).__name__}"
        return page

    def page(self, kind: str) -> QWidget:
        if kind not in self.pages:
            factory: dict[str, Callable[[], QWidget]] = {
                "scatter": _ScatterPage, "latent": lambda: _ScatterPage(legend=False), "chain": _ChainPage,
                "images": lambda: ImagePane("", colormap="CET-L1"),
                "attention": lambda: ImagePane("", colormap="viridis"),
                "text": self._make_text, "curve": self._make_curve,
            }
            w = factory[kind]()
            self.pages[kind] = w
            self.stack.addWidget(w)
        return self.pages[kind]

    def set_payload(self, payload: dict[str, Any], when: str = "") -> str | None:
        """Show a payload; a malformed one leaves the view as it was and says why."""
        kind = payload.get("kind") if isinstance(payload, dict) else None
        if kind not in self._show:
            self.caption.setText(f"Cannot show samples of kind {kind!r}; known kinds: {', '.join(KINDS)}.")
            return None
        try:
            text = self._show[kind](payload)
        except (ValueError, TypeError, IndexError) as exc:
            self.caption.setText(f"Cannot show these {kind} samples: {exc}")
            return None
        self.stack.setCurrentWidget(self.pages[kind])
        self.kind = kind
        title = payload.get("title")
        self.caption.setText(f"{title}: {text}{when}" if isinstance(title, str) and title else f"{text}{when}")
        return kind

    # ---- kinds
    def _scatter(self, p: dict[str, Any]) -> str:
        points = _arr(p, "points", 2)
        if points is None:
            raise ValueError("no 'points'")
        real = _arr(p, "real", 2)
        page = self.typed_page("scatter", _ScatterPage)
        page.show_points(points, real, _arr(p, "labels", 1))
        return f"{len(points)} generated points" + (" over the real data (grey)" if real is not None else "")

    def _latent(self, p: dict[str, Any]) -> str:
        points = _arr(p, "points", 2)
        if points is None:
            raise ValueError("no 'points'")
        labels = _arr(p, "labels", 1)
        page = self.typed_page("latent", _ScatterPage)
        page.show_points(points[:, :2], None, labels)
        return f"latent codes of {len(points)} samples" + (", coloured by class" if labels is not None else "")

    def _images(self, p: dict[str, Any]) -> str:
        images = _arr(p, "images")
        if images is None or images.ndim < 3:
            raise ValueError("'images' should be [N, H, W] or [N, C, H, W]")
        gen = as_images(images)
        real = _arr(p, "originals")
        if real is None:
            real = _arr(p, "real")
        page = self.typed_page("images", ImagePane)
        if real is not None and len(real):
            ref = as_images(real)
            k = min(len(gen), len(ref), 16)
            cols = min(k, 8)
            # Row pairs: originals, then the model's version of each right below it.
            rows = [part for start in range(0, k, cols)
                    for part in (ref[start:start + cols], gen[start:start + cols])]
            mosaic = tile(np.concatenate(rows), cols=cols, normalize="global")
            page.set_title("real (row), model (row below)")
        else:
            mosaic = tile(gen, normalize="global")
            page.set_title("")
        page.set_image(mosaic)
        return f"{len(gen)} images"

    def _make_text(self) -> QWidget:
        w = QPlainTextEdit()
        w.setReadOnly(True)
        w.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        return w

    def _text(self, p: dict[str, Any]) -> str:
        text = p.get("text")
        if isinstance(text, (list, tuple)):
            text = "\n\n----\n\n".join(str(t) for t in text)
        if not isinstance(text, str):
            raise TypeError("'text' should be a string or a list of strings")
        prompt = p.get("prompt")
        page = self.typed_page("text", QPlainTextEdit)
        page.setPlainText((f"[prompt] {prompt}\n\n" if prompt else "") + text)
        return "generated text"

    def _chain(self, p: dict[str, Any]) -> str:
        steps = p.get("steps")
        if not isinstance(steps, (list, tuple)) or not steps:
            raise ValueError("'steps' should be a non-empty list of arrays")
        arrays = [np.asarray(s.detach().cpu().numpy() if hasattr(s, "detach") else s) for s in steps]
        ts = p.get("t") or p.get("labels") or []
        labels = [f"t={t}" for t in ts] if ts else []
        self.typed_page("chain", _ChainPage).show_steps(arrays, labels)
        return f"denoising chain: {len(arrays)} steps from noise to sample"

    def _attention(self, p: dict[str, Any]) -> str:
        w = _arr(p, "weights")
        if w is None or w.ndim not in (2, 3):
            raise ValueError("'weights' should be [T, T] or [heads, T, T]")
        heads = 1 if w.ndim == 2 else w.shape[0]
        if w.ndim == 3:
            w = w.mean(axis=0)  # one picture for all heads: where attention goes on average
        page = self.typed_page("attention", ImagePane)
        page.set_title("query (rows) attends to key (columns)")
        page.set_image(np.asarray(w, dtype=np.float32), levels=None)
        return f"attention weights [{w.shape[0]} x {w.shape[1]}]" + (f", mean of {heads} heads" if heads > 1 else "")

    def _make_curve(self) -> QWidget:
        return _CurvePage()

    def _curve(self, p: dict[str, Any]) -> str:
        x, y = _arr(p, "x", 1), _arr(p, "y", 1)
        if x is None or y is None or len(x) != len(y):
            raise ValueError("'x' and 'y' should be 1-D arrays of equal length")
        page = self.typed_page("curve", _CurvePage)
        order = np.argsort(x)
        page.fit_item.setData(x[order].astype(np.float64), y[order])
        rx, ry = _arr(p, "real_x", 1), _arr(p, "real_y", 1)
        if rx is not None and ry is not None and len(rx) == len(ry):
            page.real_item.setData(rx.astype(np.float64), ry, pen=None, symbol="o", symbolSize=3,
                                   symbolBrush=REAL_BRUSH, symbolPen=None)
        return "model output over the input range" + (" with the real data (grey)" if rx is not None else "")


class SamplesView(QSplitter):
    """The latest payload, plus the further payloads it carries in ``"panels"`` (e.g. a
    VAE's latent scatter beside its reconstructions), side by side."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(Qt.Orientation.Horizontal, parent)
        self.views: list[PayloadView] = [PayloadView()]
        self.addWidget(self.views[0])

    @property
    def kind(self) -> str | None:
        return self.views[0].kind

    @property
    def caption(self) -> QLabel:
        return self.views[0].caption

    def set_payload(self, payload: dict[str, Any], when: str = "") -> str | None:
        panels = payload.get("panels") if isinstance(payload, dict) else None
        panels = [p for p in panels if isinstance(p, dict)][:MAX_PANELS] if isinstance(panels, list) else []
        while len(self.views) < 1 + len(panels):
            view = PayloadView()
            self.views.append(view)
            self.addWidget(view)
        kind = self.views[0].set_payload(payload, when)
        for i, view in enumerate(self.views[1:]):
            view.setVisible(i < len(panels))
            if i < len(panels):
                view.set_payload(panels[i])
        return kind


__all__ = ["KINDS", "PayloadView", "SamplesView"]
