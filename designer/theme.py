"""Light and dark themes: a QPalette plus one QSS template, and crisp SVG icons.

Both themes share resources/styles/base.qss; ``@token`` placeholders in it are replaced
by the theme's colours, so the two themes differ only in colour, never in layout.
Icons are SVGs drawn with ``currentColor``; they are re-tinted for the current theme and
rendered at several sizes and device pixel ratios, so they stay sharp on high-DPI screens.
"""
from __future__ import annotations

import hashlib
import inspect
import os
import re
import tempfile
import weakref
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from PySide6.QtCore import QSettings, QSize
from PySide6.QtGui import QColor, QIcon, QPalette
from PySide6.QtWidgets import QApplication

RESOURCES = Path(__file__).resolve().parent / "resources"
STYLES = RESOURCES / "styles"
ICONS = RESOURCES / "icons"


@dataclass(frozen=True)
class Colors:
    window: str
    base: str
    alt: str
    raised: str
    hover: str
    selection: str
    border: str
    scroll: str
    text: str
    muted: str
    accent: str
    on_accent: str
    error: str
    error_bg: str
    warning: str
    icon: str
    # syntax highlighting (code tab)
    keyword: str
    string: str
    comment: str
    number: str
    builtin: str
    defname: str


LIGHT = Colors(
    window="#f5f6f8", base="#ffffff", alt="#f7f8fa", raised="#ffffff", hover="#eaeef2",
    selection="#dbe7ff", border="#d5dae0", scroll="#c3c9d1", text="#1f2328", muted="#656d76",
    accent="#2f6feb", on_accent="#ffffff", error="#cf222e", error_bg="#ffebe9", warning="#9a6700",
    icon="#3d444d", keyword="#cf222e", string="#0a3069", comment="#6e7781", number="#0550ae",
    builtin="#8250df", defname="#6639ba",
)
DARK = Colors(
    window="#1d2026", base="#16181d", alt="#1b1e23", raised="#23272e", hover="#2b3038",
    selection="#233a63", border="#343a43", scroll="#454c57", text="#e6e8eb", muted="#9aa3ad",
    accent="#4c8dff", on_accent="#ffffff", error="#ff6b6b", error_bg="#3b1d20", warning="#e3b341",
    icon="#c9d1d9", keyword="#ff7b72", string="#a5d6ff", comment="#8b949e", number="#79c0ff",
    builtin="#d2a8ff", defname="#d2a8ff",
)
THEMES: dict[str, Colors] = {"light": LIGHT, "dark": DARK}

# Fallback category colours, used only until / unless designer/canvas/style.py provides
# them, so the palette and thumbnails can be built independently of the canvas.
class _Listeners:
    """A signal-like list of callbacks, for a process-wide object that outlives widgets.

    A Qt signal connected to a lambda keeps calling it after the widget the lambda uses
    is deleted ("Internal C++ object already deleted"). Here such a listener is dropped
    at the first call that hits a deleted object, and bound methods are held weakly, so
    listeners never keep dead widgets alive or make a theme switch raise."""

    def __init__(self) -> None:
        self._items: list[Callable[[], Callable[[str], object] | None]] = []

    def connect(self, fn: Callable[[str], object]) -> None:
        if inspect.ismethod(fn):
            self._items.append(weakref.WeakMethod(fn))
        else:
            def strong(fn: Callable[[str], object] = fn) -> Callable[[str], object]:
                return fn

            self._items.append(strong)

    def disconnect(self, fn: Callable[[str], object]) -> None:
        self._items = [ref for ref in self._items if ref() != fn]

    def emit(self, name: str) -> None:
        for ref in list(self._items):
            fn = ref()
            if fn is None:
                self._items.remove(ref)
                continue
            try:
                fn(name)
            except RuntimeError as exc:
                if "already deleted" not in str(exc):
                    raise
                self._items.remove(ref)

    def __len__(self) -> int:
        return len(self._items)


class ThemeManager:
    """``changed(name)`` fires after a theme is applied, for painter-drawn widgets
    (highlighter, thumbnails, canvas) that cannot follow a style sheet."""

    def __init__(self) -> None:
        self.name = "light"
        self.changed = _Listeners()


_manager: ThemeManager | None = None
_icon_cache: dict[tuple[str, str], QIcon] = {}


def manager() -> ThemeManager:
    global _manager
    if _manager is None:
        _manager = ThemeManager()
    return _manager


def current_name() -> str:
    return manager().name


def colors() -> Colors:
    return THEMES[current_name()]


def saved_theme() -> str:
    name = str(QSettings().value("ui/theme", "light"))
    return name if name in THEMES else "light"


def apply_theme(app: QApplication, name: str, remember: bool = True) -> None:
    if name not in THEMES:
        raise ValueError(f"unknown theme {name!r}; choose one of {', '.join(THEMES)}")
    c = THEMES[name]
    # Fusion draws the same on every platform and honours both palette and QSS fully.
    app.setStyle("Fusion")
    app.setPalette(_palette(c))
    app.setStyleSheet(stylesheet(c))
    mgr = manager()
    mgr.name = name
    _icon_cache.clear()
    if remember:
        QSettings().setValue("ui/theme", name)
    mgr.changed.emit(name)


def stylesheet(c: Colors) -> str:
    template = (STYLES / "base.qss").read_text(encoding="utf-8")
    values = asdict(c)
    values.update(_qss_images(c))
    # [a-z_]+ is greedy, so @error_bg is never read as @error followed by '_bg'.
    return re.sub(r"@([a-z_]+)\b", lambda m: values.get(m.group(1), m.group(0)), template)


def _palette(c: Colors) -> QPalette:
    p = QPalette()
    roles = {
        QPalette.ColorRole.Window: c.window, QPalette.ColorRole.WindowText: c.text,
        QPalette.ColorRole.Base: c.base, QPalette.ColorRole.AlternateBase: c.alt,
        QPalette.ColorRole.ToolTipBase: c.raised, QPalette.ColorRole.ToolTipText: c.text,
        QPalette.ColorRole.PlaceholderText: c.muted, QPalette.ColorRole.Text: c.text,
        QPalette.ColorRole.Button: c.raised, QPalette.ColorRole.ButtonText: c.text,
        QPalette.ColorRole.BrightText: c.error, QPalette.ColorRole.Highlight: c.accent,
        QPalette.ColorRole.HighlightedText: c.on_accent, QPalette.ColorRole.Link: c.accent,
        QPalette.ColorRole.Light: c.raised, QPalette.ColorRole.Midlight: c.hover,
        QPalette.ColorRole.Mid: c.border, QPalette.ColorRole.Dark: c.scroll,
        QPalette.ColorRole.Shadow: c.scroll,
    }
    for role, value in roles.items():
        p.setColor(role, QColor(value))
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.WindowText, QPalette.ColorRole.ButtonText):
        p.setColor(QPalette.ColorGroup.Disabled, role, QColor(c.muted))
    return p


_assets_root: Path | None = None


def _assets_dir() -> Path:
    """A per-user folder for tinted SVGs: QSS and Qt's SVG icon engine read images from
    files. Files are named by a hash of their content, so processes share them safely
    and nothing needs cleaning up; a folder someone else owns is never used."""
    global _assets_root
    if _assets_root is None:
        uid = os.getuid() if hasattr(os, "getuid") else 0
        root = Path(tempfile.gettempdir()) / f"netwright-{uid}-svg"
        try:
            root.mkdir(mode=0o700, exist_ok=True)
            st = root.lstat()
            if root.is_symlink() or (hasattr(os, "getuid") and st.st_uid != uid):
                raise PermissionError(f"{root} is not ours")
        except OSError:
            root = Path(tempfile.mkdtemp(prefix="netwright-svg-"))
        _assets_root = root
    return _assets_root


def tinted_svg(name: str, color: str) -> Path:
    """resources/icons/<name>.svg with currentColor replaced, as a file."""
    svg = (ICONS / f"{name}.svg").read_text(encoding="utf-8").replace("currentColor", color)
    digest = hashlib.sha1(svg.encode("utf-8")).hexdigest()[:12]
    path = _assets_dir() / f"{name}-{digest}.svg"
    if not path.exists():
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(svg, encoding="utf-8")
        os.replace(tmp, path)  # atomic: a concurrent reader never sees half a file
    return path


def _qss_images(c: Colors) -> dict[str, str]:
    return {"chevron_up": tinted_svg("chevron-up", c.muted).as_posix(),
            "chevron_down": tinted_svg("chevron-down", c.muted).as_posix(),
            "check_mark": tinted_svg("check", c.on_accent).as_posix()}


# ---------------------------------------------------------------- icons

def icon(name: str) -> QIcon:
    """A themed icon from resources/icons/<name>.svg (an empty icon if there is none).

    The SVG, tinted for the theme, is handed to Qt's SVG icon engine, which renders it
    lazily at exactly the size and device pixel ratio asked for (and greys it out for
    disabled actions): sharp on any screen, and nothing is drawn before it is needed."""
    key = (current_name(), name)
    cached = _icon_cache.get(key)
    if cached is not None:
        return cached
    result = QIcon()
    if (ICONS / f"{name}.svg").exists():
        try:
            result = QIcon(str(tinted_svg(name, colors().icon)))
            # Qt's own greying barely dims a light icon on the dark theme: draw the
            # disabled state in a colour that clearly reads as "not now".
            result.addFile(str(tinted_svg(name, colors().scroll)), QSize(), QIcon.Mode.Disabled)
        except OSError:
            result = QIcon(str(ICONS / f"{name}.svg"))  # untinted beats none
    _icon_cache[key] = result
    return result

