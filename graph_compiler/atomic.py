"""Atomic file writes: the one helper every Qt-free writer uses.

A write goes to a temporary file in the target's folder, is flushed to disk, then moved
over the target with ``os.replace``; a crash at any point leaves either the old file or
the new one, never a truncated mix.

Permissions: a file that already exists keeps its permission bits; a new file gets
``0o666`` minus the process umask, exactly what ``open(path, "w")`` would give. (The
temporary file is created ``0o600`` by ``mkstemp``, so the mode is always set
explicitly before the move.)
"""
from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path


def current_umask() -> int:
    """The process umask, read without changing it where the OS allows (Linux's
    /proc), else by the set-and-restore dance (not thread-safe, hence the preference)."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def target_mode(path: Path) -> int:
    """The permission bits ``path`` gets when written: see the module docstring."""
    try:
        return path.stat().st_mode & 0o7777
    except FileNotFoundError:
        return 0o666 & ~current_umask()


def atomic_write_with(path: str | os.PathLike[str], write: Callable[[str], None]) -> None:
    """Atomically replace ``path`` with what ``write(tmp_path)`` writes to the temporary
    file it is given (for writers that want a file name, like safetensors' save_file)."""
    p = Path(path)
    mode = target_mode(p)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent)
    os.close(fd)
    try:
        write(tmp)
        with open(tmp, "rb+") as f:  # the writer may not have synced
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, p)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _sync_folder(p.parent)


def atomic_write(path: str | os.PathLike[str], data: bytes) -> None:
    """Atomically replace ``path`` with ``data``."""

    def write(tmp: str) -> None:
        with open(tmp, "wb") as f:
            f.write(data)

    atomic_write_with(path, write)


def publish_folder(tmp: str | os.PathLike[str], target: str | os.PathLike[str]) -> None:
    """Move a fully written folder into place in one rename (for caches built file by
    file in ``tmp``, beside ``target``); a crash leaves either no folder or the whole one."""
    os.replace(tmp, target)
    _sync_folder(Path(target).parent)


def _sync_folder(folder: Path) -> None:
    # Makes the rename itself durable on POSIX; folders cannot be opened on Windows.
    if os.name != "posix":
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


__all__ = ["atomic_write", "atomic_write_with", "current_umask", "publish_folder", "target_mode"]
