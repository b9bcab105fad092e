"""The one atomic writer of the Qt-free side: crash safety and its permission rule."""
from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from graph_compiler.atomic import atomic_write, atomic_write_with, current_umask

posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")


@pytest.fixture
def umask_027() -> Iterator[None]:
    before = os.umask(0o027)
    try:
        yield
    finally:
        os.umask(before)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_writes_the_bytes_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    target = tmp_path / "out.bin"
    atomic_write(target, b"first")
    atomic_write(target, b"second")
    assert target.read_bytes() == b"second"
    assert [p.name for p in tmp_path.iterdir()] == ["out.bin"]


def test_a_failing_writer_leaves_the_old_file_and_no_debris(tmp_path: Path) -> None:
    target = tmp_path / "weights.safetensors"
    target.write_bytes(b"old contents")

    def half_then_fail(tmp: str) -> None:
        Path(tmp).write_bytes(b"half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        atomic_write_with(target, half_then_fail)
    assert target.read_bytes() == b"old contents"
    assert [p.name for p in tmp_path.iterdir()] == ["weights.safetensors"]


def test_a_missing_folder_is_an_os_error(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        atomic_write(tmp_path / "missing" / "f.json", b"{}")


@posix_only
def test_current_umask_reads_without_changing_it(umask_027: None) -> None:
    assert current_umask() == 0o027
    assert current_umask() == 0o027


@posix_only
def test_a_new_file_gets_0666_minus_the_umask(tmp_path: Path, umask_027: None) -> None:
    target = tmp_path / "new.json"
    atomic_write(target, b"{}")
    assert _mode(target) == 0o640
    # The same as a plain open() would give.
    plain = tmp_path / "plain.json"
    plain.write_bytes(b"{}")
    assert _mode(target) == _mode(plain)


@posix_only
@pytest.mark.parametrize("mode", [0o600, 0o644, 0o755])
def test_an_existing_file_keeps_its_mode(tmp_path: Path, mode: int, umask_027: None) -> None:
    target = tmp_path / "doc.json"
    target.write_bytes(b"old")
    os.chmod(target, mode)
    atomic_write(target, b"new")
    assert target.read_bytes() == b"new" and _mode(target) == mode


@posix_only
def test_run_folders_follow_the_same_rule(tmp_path: Path, umask_027: None) -> None:
    import torch

    from graph_compiler.training.checkpoints import save_run

    run = tmp_path / "run"
    save_run(run, main="Net", weights={"Net": {"w": torch.ones(2)}}, info={"epoch": 1},
             optimizers={"main": {"state": {}, "param_groups": [{"lr": 0.1, "params": [0]}]}})
    names = sorted(p.name for p in run.iterdir())
    assert names == ["optimizer.safetensors", "run.json", "weights.safetensors"]
    assert {_mode(run / n) for n in names} == {0o640}


def test_only_the_atomic_module_replaces_files() -> None:
    """One atomic writer: no other Qt-free module moves temporary files into place."""
    root = Path(__file__).resolve().parents[1] / "graph_compiler"
    # The export templates are copied into standalone scripts, which cannot import us.
    # Path.replace / Path.rename / os.rename / shutil.move move files into place just the same.
    moves = re.compile(r"\bos\.(replace|rename)\(|\bshutil\.move\(|\.rename\(|\w*(tmp|temp|partial)\w*\.replace\(")
    offenders = [str(p.relative_to(root)) for p in root.rglob("*.py")
                 if moves.search(p.read_text("utf-8")) and p.name != "atomic.py"
                 and "script_templates" not in p.parts]
    assert offenders == []
