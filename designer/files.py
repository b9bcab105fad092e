"""Recent files (QSettings) and crash recovery (autosave to a recovery file).

Each window session writes its own recovery file, ``<session>.nwrecovery.json``, holding
the document, the path it belongs to and the writer's pid. A clean save or close deletes
it. At start-up, a recovery file whose writer is gone (its process is dead, or, in this
process, its window was destroyed without a clean close) is offered for restore. That
rule lets two Netwright windows or processes run side by side without offering each
other's live work for "recovery".
"""
from __future__ import annotations

import json
import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QSettings, QStandardPaths, QTimer, Signal

from graph_compiler.atomic import atomic_write
from graph_compiler.document import Document, from_dict, to_dict
from graph_compiler.errors import DocumentError

if TYPE_CHECKING:
    from designer.model import DocumentModel

RECOVERY_ENV = "NETWRIGHT_RECOVERY_DIR"
SUFFIX = ".nwrecovery.json"
MAX_RECENT = 10
_LIVE_SESSIONS: set[str] = set()  # sessions of this process whose window still exists


# ---------------------------------------------------------------- recent files


class RecentFiles(QObject):
    """Most-recent-first list of opened/saved files, persisted in QSettings."""

    changed = Signal()
    KEY = "files/recent"

    def paths(self) -> list[str]:
        raw = QSettings().value(self.KEY, [])
        if isinstance(raw, str):  # QSettings returns a bare string for a 1-item list
            raw = [raw]
        items = raw if isinstance(raw, list) else []
        return [str(p) for p in items if p][:MAX_RECENT]

    def add(self, path: str) -> None:
        path = os.path.abspath(path)
        items = [path] + [p for p in self.paths() if p != path]
        self._store(items[:MAX_RECENT])

    def remove(self, path: str) -> None:
        self._store([p for p in self.paths() if p != os.path.abspath(path)])

    def clear(self) -> None:
        self._store([])

    def _store(self, items: list[str]) -> None:
        QSettings().setValue(self.KEY, items)
        self.changed.emit()


# ---------------------------------------------------------------- recovery


def recovery_dir() -> Path:
    override = os.environ.get(RECOVERY_ENV)
    if override:
        return Path(override)
    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)
    return Path(base or Path.home() / ".netwright") / "recovery"


@dataclass
class RecoveryRecord:
    file: Path
    session: str
    pid: int
    path: str | None  # the document's own file, None if it was never saved
    saved_at: float
    data: dict[str, Any]

    @property
    def display_name(self) -> str:
        return Path(self.path).name if self.path else "untitled"

    def document(self) -> Document:
        return from_dict(self.data, source=self.path)

    def discard(self) -> None:
        try:
            self.file.unlink()
        except OSError:
            pass


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    except OSError:
        return False
    return True


def find_recoverable(directory: Path | None = None) -> list[RecoveryRecord]:
    """Recovery files left by sessions that ended without a clean close, newest first."""
    directory = directory or recovery_dir()
    if not directory.is_dir():
        return []
    out: list[RecoveryRecord] = []
    for f in directory.glob(f"*{SUFFIX}"):
        try:
            raw = json.loads(f.read_text(encoding="utf-8"))
            rec = RecoveryRecord(f, str(raw["session"]), int(raw["pid"]), raw.get("path"),
                                 float(raw.get("saved_at", 0)), raw["document"])
        except (OSError, ValueError, KeyError, TypeError, RecursionError):
            continue  # a half-written or foreign file: not ours to offer
        if not isinstance(rec.data, dict):
            continue
        mine = rec.pid == os.getpid()
        if (mine and rec.session in _LIVE_SESSIONS) or (not mine and _pid_alive(rec.pid)):
            continue
        out.append(rec)
    out.sort(key=lambda r: r.saved_at, reverse=True)
    return out


class Autosaver(QObject):
    """Writes the model's document to this session's recovery file while it is dirty.

    Writes ~2 s after the last edit (debounced, so a drag is one write) and every 30 s as
    a safety net; deletes the file when the document becomes clean (saved) or the window
    closes cleanly. ``model`` is a DocumentModel (designer/model.py)."""

    written = Signal(str)

    def __init__(self, model: DocumentModel, parent: QObject | None = None, directory: Path | None = None,
                 interval_ms: int = 30_000, debounce_ms: int = 2_000) -> None:
        super().__init__(parent)
        self.model = model
        self.directory = directory or recovery_dir()
        self.session = f"{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:8]}"
        self.file = self.directory / f"{self.session}{SUFFIX}"
        self._pending = False
        _LIVE_SESSIONS.add(self.session)
        session = self.session
        # When the window is destroyed without a clean close, the file stays and becomes
        # recoverable; a plain function, since this object is half-gone by then.
        self.destroyed.connect(lambda *_: _LIVE_SESSIONS.discard(session))
        self.debounce = QTimer(self, singleShot=True, interval=debounce_ms)
        self.debounce.timeout.connect(self.write_now)
        self.periodic = QTimer(self, interval=interval_ms)
        self.periodic.timeout.connect(self._periodic)
        self.periodic.start()
        for signal in (model.documentReset, model.networksChanged, model.nodesChanged, model.edgesChanged):
            signal.connect(self.schedule)
        model.dirtyChanged.connect(self._on_dirty)

    def schedule(self, *_args: Any) -> None:
        self._pending = True
        self.debounce.start()

    def _periodic(self) -> None:
        if self._pending:
            self.write_now()

    def _on_dirty(self, dirty: bool) -> None:
        if not dirty:
            self.clear()

    def write_now(self) -> bool:
        """Write the recovery file now if there is unsaved work; True if written."""
        self.debounce.stop()
        self._pending = False
        if not self.model.is_dirty():
            self.clear()
            return False
        payload = {
            "format": "netwright-recovery", "session": self.session, "pid": os.getpid(),
            "path": self.model.path, "saved_at": time.time(), "document": to_dict(self.model.doc),
        }
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            atomic_write(self.file, json.dumps(payload).encode("utf-8"))
        except (OSError, TypeError, ValueError) as exc:
            # Recovery is best-effort: never interrupt editing because of it.
            self.written.emit(f"autosave failed: {exc}")
            return False
        self.written.emit(str(self.file))
        return True

    def clear(self) -> None:
        self._pending = False
        self.debounce.stop()
        try:
            self.file.unlink()
        except FileNotFoundError:
            pass
        except OSError:
            pass

    def close_session(self) -> None:
        """A clean close: no recovery needed."""
        self.periodic.stop()
        self.clear()
        _LIVE_SESSIONS.discard(self.session)


def load_recovery(rec: RecoveryRecord) -> Document:
    try:
        return rec.document()
    except DocumentError as exc:
        raise DocumentError(f"recovery file {rec.file.name}: {exc}") from None
