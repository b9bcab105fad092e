"""Fresh-machine start: the launcher finds missing X11 (xcb) libraries before Qt would
abort, and prints the command that installs them (designer/xcb_check.py)."""
from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

from designer import launcher, xcb_check
from designer.xcb_check import XCB_LIBRARIES, install_hint, missing_xcb_libraries, will_use_xcb

ROOT = Path(__file__).resolve().parent.parent
X11 = {"DISPLAY": ":0"}


def test_only_an_x11_session_on_linux_uses_xcb() -> None:
    assert will_use_xcb(X11, "linux")
    assert not will_use_xcb({}, "linux")  # no display at all: Qt says so itself
    assert not will_use_xcb({"DISPLAY": ":0", "WAYLAND_DISPLAY": "wayland-0"}, "linux")
    assert not will_use_xcb({"DISPLAY": ":0", "QT_QPA_PLATFORM": "offscreen"}, "linux")
    assert not will_use_xcb({"DISPLAY": ":0", "QT_QPA_PLATFORM": "wayland"}, "linux")
    assert will_use_xcb({"QT_QPA_PLATFORM": "xcb", "WAYLAND_DISPLAY": "w"}, "linux")
    assert will_use_xcb({"QT_QPA_PLATFORM": "xcb:nograb"}, "linux")
    assert not will_use_xcb(X11, "darwin") and not will_use_xcb(X11, "win32")


def test_missing_libraries_are_found_with_the_loader_asked() -> None:
    asked: list[str] = []

    def fake(name: str) -> bool:
        asked.append(name)
        return name not in ("libxcb-cursor.so.0", "libxkbcommon-x11.so.0")

    assert missing_xcb_libraries(X11, fake, "linux") == ["libxcb-cursor.so.0", "libxkbcommon-x11.so.0"]
    assert set(asked) == set(XCB_LIBRARIES)
    assert missing_xcb_libraries(X11, lambda _n: True, "linux") == []
    asked.clear()
    assert missing_xcb_libraries({"QT_QPA_PLATFORM": "offscreen"}, fake, "linux") == []
    assert asked == []  # nothing is looked up when Qt will not use xcb


def test_the_hint_gives_the_exact_install_commands() -> None:
    text = install_hint(["libxcb-cursor.so.0", "libxcb-icccm.so.4", "libxcb-shape.so.0"])
    assert "sudo apt-get install libxcb-cursor0 libxcb-icccm4 libxcb-shape0" in text
    assert "sudo dnf install libxcb xcb-util-cursor xcb-util-wm" in text
    assert "libxcb-cursor.so.0" in text


def test_the_launcher_exits_2_with_the_hint_before_loading_qt(monkeypatch) -> None:
    monkeypatch.setattr(xcb_check, "missing_xcb_libraries", lambda: ["libxcb-cursor.so.0"])
    err = io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    assert launcher.main(["netwright"]) == 2
    assert "sudo apt-get install libxcb-cursor0" in err.getvalue()


def test_a_real_loader_check_runs_without_importing_qt() -> None:
    code = ("import sys\nfrom designer.xcb_check import missing_xcb_libraries, can_load\n"
            "assert can_load('libc.so.6') and not can_load('libnot-a-real-lib.so.7')\n"
            "missing_xcb_libraries({'DISPLAY': ':0'}, platform='linux')\n"
            "assert not [m for m in sys.modules if m.startswith('PySide6')]\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert out.returncode == 0, out.stderr


def test_readme_troubleshooting_gives_the_full_commands() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    hint = install_hint(list(XCB_LIBRARIES)).splitlines()
    apt = next(line.strip() for line in hint if "apt-get install" in line)
    dnf = next(line for line in hint if "dnf install" in line).split(": ", 1)[1].rstrip(")")
    assert f"\n{apt}\n" in readme and f"`{dnf}`" in readme
    assert "Could not load the Qt platform plugin xcb" in readme
