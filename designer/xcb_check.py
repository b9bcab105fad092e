"""Before Qt starts on X11: are the system libraries its xcb platform plugin needs there?

Qt 6.5+ (PySide6 wheels) loads ``libqxcb.so``, which links against a dozen X11/xcb
libraries that a fresh Debian or Ubuntu desktop may lack (``libxcb-cursor0`` on most, more
on minimal installs). Without them Qt prints "Could not load the Qt platform plugin xcb"
and aborts the process. This module finds that out first and says what to install.

Imports nothing from Qt, so it can run before the decision to load it.
"""
from __future__ import annotations

import ctypes
import os
import sys
from collections.abc import Callable, Mapping
from typing import TextIO

# What PySide6's libQt6XcbQpa.so.6 links against (its DT_NEEDED entries, X11 side), with
# the package that ships each library: (Debian / Ubuntu, Fedora / RHEL).
XCB_LIBRARIES: dict[str, tuple[str, str]] = {
    "libxcb.so.1": ("libxcb1", "libxcb"),
    "libX11.so.6": ("libx11-6", "libX11"),
    "libX11-xcb.so.1": ("libx11-xcb1", "libX11-xcb"),
    "libxcb-cursor.so.0": ("libxcb-cursor0", "xcb-util-cursor"),
    "libxcb-icccm.so.4": ("libxcb-icccm4", "xcb-util-wm"),
    "libxcb-image.so.0": ("libxcb-image0", "xcb-util-image"),
    "libxcb-keysyms.so.1": ("libxcb-keysyms1", "xcb-util-keysyms"),
    "libxcb-render-util.so.0": ("libxcb-render-util0", "xcb-util-renderutil"),
    "libxcb-util.so.1": ("libxcb-util1", "xcb-util"),
    "libxcb-randr.so.0": ("libxcb-randr0", "libxcb"),
    "libxcb-render.so.0": ("libxcb-render0", "libxcb"),
    "libxcb-shape.so.0": ("libxcb-shape0", "libxcb"),
    "libxcb-shm.so.0": ("libxcb-shm0", "libxcb"),
    "libxcb-sync.so.1": ("libxcb-sync1", "libxcb"),
    "libxcb-xfixes.so.0": ("libxcb-xfixes0", "libxcb"),
    "libxcb-xkb.so.1": ("libxcb-xkb1", "libxcb"),
    "libxkbcommon.so.0": ("libxkbcommon0", "libxkbcommon"),
    "libxkbcommon-x11.so.0": ("libxkbcommon-x11-0", "libxkbcommon-x11"),
}


def will_use_xcb(env: Mapping[str, str], platform: str = sys.platform) -> bool:
    """Whether Qt is going to pick its X11 (xcb) platform plugin: Linux, an X display, and
    neither a Wayland session nor a QT_QPA_PLATFORM choice of something else."""
    if not platform.startswith("linux"):
        return False
    chosen = env.get("QT_QPA_PLATFORM", "").strip()
    if chosen:
        return chosen.split(";")[0].split(":")[0] == "xcb"  # "xcb", "xcb:option", "xcb;wayland"
    if env.get("WAYLAND_DISPLAY"):
        return False
    return bool(env.get("DISPLAY"))


def can_load(soname: str) -> bool:
    """Asks the dynamic loader itself, so LD_LIBRARY_PATH, the ldconfig cache and the
    default directories all count, as they will for Qt."""
    try:
        ctypes.CDLL(soname)
    except OSError:
        return False
    return True


def missing_xcb_libraries(env: Mapping[str, str] | None = None,
                          loadable: Callable[[str], bool] = can_load,
                          platform: str = sys.platform) -> list[str]:
    """The libraries the xcb plugin needs and cannot load ([] when Qt will not use xcb)."""
    if not will_use_xcb(os.environ if env is None else env, platform):
        return []
    return [name for name in XCB_LIBRARIES if not loadable(name)]


def install_hint(missing: list[str]) -> str:
    """The message for a user whose system lacks ``missing``: what, and the command."""
    apt = sorted({XCB_LIBRARIES[m][0] for m in missing})
    dnf = sorted({XCB_LIBRARIES[m][1] for m in missing})
    return "\n".join([
        "netwright: cannot open the designer: Qt's X11 (xcb) platform plugin needs system",
        "libraries that are not installed: " + ", ".join(missing),
        "",
        "On Debian or Ubuntu, install them with:",
        "    sudo apt-get install " + " ".join(apt),
        "(Fedora / RHEL: sudo dnf install " + " ".join(dnf) + ")",
        "",
        "Then run netwright again. The command-line tools (netwright validate, summary,",
        "export, train, diff, ...) do not need them.",
    ])


def check_display_libraries(stream: TextIO | None = None) -> bool:
    """True when the designer can start; otherwise prints the install command and returns
    False (the launcher exits with status 2 before Qt aborts the process)."""
    missing = missing_xcb_libraries()
    if not missing:
        return True
    print(install_hint(missing), file=stream or sys.stderr)
    return False
