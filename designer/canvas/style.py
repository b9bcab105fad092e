"""Canvas colours: one palette keyed by catalog category, in light and dark variants, plus
the colours the canvas paints with. The palette widget and thumbnails reuse
``category_color`` so a Conv2d is the same green everywhere."""
from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtGui import QColor

from designer import theme

# Base hues (light theme). Dark variants are lifted so they read on a dark canvas.
CATEGORY_COLORS: dict[str, str] = {
    "Input & shape": "#6e7781", "Dense": "#2f6feb", "Activation": "#d4940a",
    "Convolution": "#1a7f37", "Pooling": "#2da44e", "Normalization": "#8250df",
    "Recurrent": "#bf3989", "Attention": "#d1242f", "Merge & split": "#0e8a8a",
    "Generative": "#bc4c00", "Blocks": "#57606a",
}
CATEGORY_COLORS_DARK: dict[str, str] = {
    "Input & shape": "#8b949e", "Dense": "#58a6ff", "Activation": "#e3b341",
    "Convolution": "#3fb950", "Pooling": "#56d364", "Normalization": "#a371f7",
    "Recurrent": "#db61a2", "Attention": "#ff7b72", "Merge & split": "#39c5cf",
    "Generative": "#f0883e", "Blocks": "#8b949e",
}
UNKNOWN_COLOR = "#999999"


@dataclass(frozen=True)
class CanvasColors:
    background: str
    grid: str
    grid_major: str
    node: str
    node_border: str
    text: str
    muted: str
    wire: str
    wire_label_bg: str
    selection: str
    accept: str  # a port that can take the wire being dragged
    refuse: str
    error: str
    hint_bg: str
    hint_text: str


LIGHT = CanvasColors(
    background="#f7f8fa", grid="#e9ecf0", grid_major="#dde1e6", node="#ffffff",
    node_border="#c5cbd3", text="#1f2328", muted="#656d76", wire="#7d8590",
    wire_label_bg="#f7f8fa", selection="#2f6feb", accept="#1a7f37", refuse="#cf222e",
    error="#cf222e", hint_bg="#fff8c5", hint_text="#1f2328",
)
DARK = CanvasColors(
    background="#16181d", grid="#1f232a", grid_major="#272c34", node="#23272e",
    node_border="#3d444d", text="#e6e8eb", muted="#9aa3ad", wire="#8b949e",
    wire_label_bg="#16181d", selection="#4c8dff", accept="#3fb950", refuse="#ff6b6b",
    error="#ff6b6b", hint_bg="#3b3218", hint_text="#e6e8eb",
)

_dark_override: bool | None = None
_qcolor_cache: dict[str, QColor] = {}


def set_dark(dark: bool | None) -> None:
    """Force a variant (None: follow designer.theme)."""
    global _dark_override
    _dark_override = dark


def is_dark() -> bool:
    """The forced variant, else the app theme's (called from every paint(): cheap)."""
    if _dark_override is not None:
        return _dark_override
    return theme.current_name() == "dark"


def colors() -> CanvasColors:
    return DARK if is_dark() else LIGHT


def qcolor(hex_text: str) -> QColor:
    """QColor from '#rrggbb', cached (paint() asks for the same few colours a lot). The
    colour is shared: never change it (``tint`` gives a see-through copy)."""
    c = _qcolor_cache.get(hex_text)
    if c is None:
        c = _qcolor_cache[hex_text] = QColor(hex_text)
    return c


def tint(hex_text: str, alpha: int) -> QColor:
    """A new QColor of ``hex_text`` with ``alpha``: setting the alpha of the shared
    ``qcolor`` once faded every block header drawn after an expanded frame."""
    c = QColor(qcolor(hex_text))
    c.setAlpha(alpha)
    return c


def category_hex(category: str, dark: bool | None = None) -> str:
    table = CATEGORY_COLORS_DARK if (is_dark() if dark is None else dark) else CATEGORY_COLORS
    return table.get(category, UNKNOWN_COLOR)


_header_cache: dict[tuple[str, bool], tuple[QColor, QColor]] = {}


def header_colors(category: str) -> tuple[QColor, QColor]:
    """(header colour, title colour) of a node of ``category`` in the current variant:
    one lookup for what every node paint needs (a zoom paints hundreds of nodes a frame).
    Shared colours: never change them."""
    dark = is_dark()
    hit = _header_cache.get((category, dark))
    if hit is None:
        head = category_hex(category, dark)
        hit = _header_cache[(category, dark)] = (qcolor(head), qcolor(text_on(head)))
    return hit


def category_color(category: str, dark: bool | None = None) -> QColor:
    return QColor(category_hex(category, dark))


def _luminance(hex_text: str) -> float:
    """WCAG relative luminance of '#rrggbb'."""
    def lin(c: int) -> float:
        v = c / 255.0
        return v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4
    r, g, b = (int(hex_text[i:i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b)


_on_cache: dict[str, str] = {}
ON_LIGHT, ON_DARK = "#ffffff", "#15181d"


def text_on(hex_text: str) -> str:
    """The title colour for a node header of colour ``hex_text``. Light theme: white
    wherever it reaches 3:1 (bold header text), so only the amber needs dark text. Dark
    theme: the lifted hues all read better with dark text, so all of them get it."""
    dark = is_dark()
    out = _on_cache.get(f"{hex_text}{dark}")
    if out is None:
        lum = _luminance(hex_text)
        white = 1.05 / (lum + 0.05)
        black = (lum + 0.05) / (_luminance(ON_DARK) + 0.05)
        ok_white = white >= black or (not dark and white >= 3.0)
        out = _on_cache[f"{hex_text}{dark}"] = ON_LIGHT if ok_white else ON_DARK
    return out
