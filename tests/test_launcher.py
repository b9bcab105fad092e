"""The `netwright` launcher refuses a mistyped command instead of opening the designer,
without importing Qt; files and bare `netwright` still open the designer."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from designer import launcher
from graph_compiler import cli

ROOT = Path(__file__).resolve().parent.parent


def _launch(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    code = (
        "import sys\n"
        "from designer.launcher import main\n"
        f"rc = main(['netwright', *{list(args)!r}])\n"
        "print('QT_LOADED', any(m.startswith(('PySide6', 'shiboken6')) for m in sys.modules))\n"
        "sys.exit(rc)\n"
    )
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=cwd,
                          env=env, timeout=120, check=False)


def test_a_typo_names_the_command_meant_and_never_loads_qt(tmp_path: Path) -> None:
    out = _launch("trian", "x.json", cwd=tmp_path)
    assert out.returncode == 2
    assert out.stderr.strip() == "netwright: unknown command 'trian'; did you mean 'train'?"
    assert "QT_LOADED False" in out.stdout


def test_a_word_like_no_command_lists_the_commands(tmp_path: Path) -> None:
    out = _launch("xyzzy", "--help", cwd=tmp_path)
    assert out.returncode == 2
    assert out.stderr.startswith("netwright: unknown command 'xyzzy'; commands are ")
    for name in cli.COMMANDS:
        assert name in out.stderr
    assert "QT_LOADED False" in out.stdout


@pytest.mark.parametrize("typo, meant", [("valdiate", "validate"), ("sumary", "summary"),
                                         ("exprot", "export"), ("--debug trian", "train")])
def test_did_you_mean(typo: str, meant: str, monkeypatch: pytest.MonkeyPatch,
                      tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    words = typo.split()
    assert launcher.main(["netwright", *words]) == 2
    assert capsys.readouterr().err.strip() == (
        f"netwright: unknown command '{words[-1]}'; did you mean '{meant}'?")


def test_a_missing_file_is_named_not_opened(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    assert launcher.main(["netwright", "missing.json"]) == 2
    assert capsys.readouterr().err.strip() == "netwright: no such file: 'missing.json'"


def test_known_commands_come_from_the_cli(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A command added to graph_compiler.cli.COMMANDS is routed without touching the launcher."""
    monkeypatch.chdir(tmp_path)
    assert launcher.launch_error(["frobnicate"]) is not None
    monkeypatch.setitem(cli.COMMANDS, "frobnicate", "a command added later")
    assert launcher.is_headless(["frobnicate", "--help"])
    assert launcher.launch_error(["frobnicate"]) is None
    assert launcher.launch_error(["frobnicat"]) == (
        "netwright: unknown command 'frobnicat'; did you mean 'frobnicate'?")


def test_files_flags_and_nothing_still_open_the_designer(monkeypatch: pytest.MonkeyPatch,
                                                       tmp_path: Path) -> None:
    import designer.app

    calls: list[list[str]] = []
    monkeypatch.setattr(designer.app, "main", lambda argv: calls.append(list(argv)) or 0)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "net.json").write_text("{}")
    (tmp_path / "trian").write_text("{}")  # an existing file is opened, whatever its name
    for args in ([], ["net.json"], ["trian"], ["--theme", "dark"], ["-platform", "offscreen"]):
        assert launcher.main(["netwright", *args]) == 0
    assert calls == [["netwright"], ["netwright", "net.json"], ["netwright", "trian"],
                     ["netwright", "--theme", "dark"], ["netwright", "-platform", "offscreen"]]


def test_no_display_is_a_clear_refusal_not_a_qt_abort(tmp_path: Path) -> None:
    (tmp_path / "net.json").write_text("{}")
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    code = "import sys\nfrom designer.launcher import main\nsys.exit(main(['netwright', 'net.json']))\n"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path,
                         env={**env, "PYTHONPATH": str(ROOT)}, timeout=120, check=False)
    assert out.returncode == 2  # Qt itself aborts with SIGABRT (-6)
    assert out.stderr.startswith("netwright: no display to open the designer on")
    assert "validate" in out.stderr and "xcb" not in out.stderr


def test_no_display_only_on_linux_without_any_display_or_platform() -> None:
    assert launcher.no_display([], {}, "linux")
    assert not launcher.no_display([], {"DISPLAY": ":0"}, "linux")
    assert not launcher.no_display([], {"WAYLAND_DISPLAY": "wayland-0"}, "linux")
    assert not launcher.no_display([], {"QT_QPA_PLATFORM": "offscreen"}, "linux")
    assert not launcher.no_display(["-platform", "offscreen"], {}, "linux")
    assert not launcher.no_display([], {}, "darwin") and not launcher.no_display([], {}, "win32")
