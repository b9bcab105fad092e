"""Arrays -> pictures: tile grids and a reusable image pane.

Many views here show "a few small images" (digits, feature maps, reconstructions,
denoising chains). Each is drawn as ONE mosaic in ONE long-lived ImageItem, instead of a
widget per image: a single setImage per update, and nothing to create or leak.
"""
from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QVBoxLayout, QWidget


def as_images(arr: np.ndarray) -> np.ndarray:
    """[N, H, W] or [N, C, H, W] (C = 1 or 3) -> [N, H, W] or [N, H, W, 3] float32.
    Anything else with >= 2 dims is read as [..., H, W] greyscale."""
    a = np.asarray(arr, dtype=np.float32)
    if a.ndim == 2:
        return a[None]
    if a.ndim == 3:
        return a
    if a.ndim == 4 and a.shape[1] == 1:
        return a[:, 0]
    if a.ndim == 4 and a.shape[1] == 3:
        return np.transpose(a, (0, 2, 3, 1))
    if a.ndim == 4 and a.shape[-1] in (1, 3):  # already channels-last
        return a[..., 0] if a.shape[-1] == 1 else a
    return a.reshape(-1, a.shape[-2], a.shape[-1])


def tile(images: np.ndarray, cols: int | None = None, pad: int = 1,
         normalize: str = "global") -> np.ndarray:
    """A mosaic of images [N, H, W] or [N, H, W, 3] -> [rows*(H+pad), cols*(W+pad)(, 3)].

    ``normalize``: "global" scales all tiles together to 0..1 (brightness comparable
    between tiles, right for data), "each" scales every tile on its own (right for feature
    maps, whose channels have unrelated ranges), "none" leaves values alone. Padding is NaN
    so it draws as background, not as a value.
    """
    imgs = np.asarray(images, dtype=np.float32)
    n = len(imgs)
    if n == 0:
        return np.zeros((1, 1), dtype=np.float32)
    imgs = _normalized(imgs, normalize)
    cols = cols or max(1, math.ceil(math.sqrt(n)))
    rows = math.ceil(n / cols)
    h, w = imgs.shape[1], imgs.shape[2]
    shape = (rows * (h + pad) - pad, cols * (w + pad) - pad, *imgs.shape[3:])
    out = np.full(shape, np.nan, dtype=np.float32)
    for i in range(n):
        r, c = divmod(i, cols)
        out[r * (h + pad): r * (h + pad) + h, c * (w + pad): c * (w + pad) + w] = imgs[i]
    return out


def _normalized(imgs: np.ndarray, mode: str) -> np.ndarray:
    if mode == "none":
        return imgs
    finite = np.where(np.isfinite(imgs), imgs, np.nan)
    if mode == "each":
        axes = tuple(range(1, imgs.ndim))
        lo = np.nanmin(finite, axis=axes, keepdims=True)
        hi = np.nanmax(finite, axis=axes, keepdims=True)
    else:
        lo, hi = np.nanmin(finite), np.nanmax(finite)
    span = np.where(hi - lo > 1e-12, hi - lo, 1.0)
    return (imgs - lo) / span


class ImagePane(QWidget):
    """One ImageItem in an aspect-locked, y-down view, with a title line above."""

    def __init__(self, title: str = "", colormap: str | None = "viridis",
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.view = pg.GraphicsLayoutWidget()
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.view)
        self.label = self.view.addLabel(title, row=0, col=0)
        self.box = self.view.addViewBox(row=1, col=0, lockAspect=True, invertY=True, enableMenu=False)
        self.item = pg.ImageItem(axisOrder="row-major")
        self.colormap = colormap
        if colormap:
            self.item.setColorMap(pg.colormap.get(colormap))
        self.box.addItem(self.item)
        self.shape: tuple[int, ...] = ()

    def set_title(self, text: str) -> None:
        self.label.setText(text)

    def set_image(self, image: np.ndarray, levels: tuple[float, float] | None = (0.0, 1.0)) -> None:
        img = np.nan_to_num(np.asarray(image, dtype=np.float32), nan=0.0)
        if img.ndim == 3:  # RGB: a colour map would be wrong
            self.item.setLookupTable(None)
        elif self.colormap:
            self.item.setColorMap(pg.colormap.get(self.colormap))
        self.item.setImage(img, levels=levels, autoLevels=levels is None)
        if img.shape != self.shape:  # re-frame only when the layout changed, not every update
            self.shape = img.shape
            self.box.enableAutoRange()  # fits now and on every resize, until the user zooms


__all__ = ["ImagePane", "as_images", "tile"]
