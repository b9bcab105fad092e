"""File operations of DocumentModel (a mixin, to keep model.py readable): new, load,
save (atomic, through QSaveFile), and the generated code."""
from __future__ import annotations

import gc
from typing import TYPE_CHECKING, cast

from PySide6.QtCore import QIODevice, QSaveFile

from designer.ops import starting_params
from graph_compiler import codegen, document
from graph_compiler.analysis import Analysis
from graph_compiler.catalog import REGISTRY
from graph_compiler.document import Document, Edge, Network, Node
from graph_compiler.errors import DocumentError, GraphError

if TYPE_CHECKING:
    from designer.model import DocumentModel


def default_document() -> Document:
    """What File > New shows: an Input wired to an Output, valid from the start."""
    spec = REGISTRY.get("Input")
    assert spec is not None
    nodes = [Node("input1", "Input", starting_params(spec), (0.0, 0.0)),
             Node("output1", "Output", {}, (300.0, 0.0))]
    return Document([Network("Model", nodes, [Edge("input1", "output1")])])


class FileOps:
    """Needs the DocumentModel attributes: doc, path, undo_stack, signals."""

    @property
    def _m(self) -> DocumentModel:
        return cast("DocumentModel", self)  # FileOps is mixed into DocumentModel only

    def new(self) -> None:
        self._m.load_document(default_document(), None, dirty=False)

    def load(self, path: str) -> None:
        """Raises DocumentError for a bad file; the current document stays as it was."""
        doc = document.load(path)
        analysis = self._m._run_analysis(doc)  # before the swap: a crash here leaves us untouched
        self._m.load_document(doc, str(path), analysis=analysis)
        # `pos` is optional and defaults to [0, 0]: a hand-written file without it would open as
        # one heap of nodes. Lay such a network out as Auto-layout would; part of opening, not an edit.
        heaped = [n.name for n in doc.networks if len(n.nodes) > 1 and len({node.pos for node in n.nodes}) == 1]
        for name in heaped:
            self._m.auto_layout(name)
        if heaped:
            self._m.undo_stack.clear()
            self._m._check_dirty()

    def load_document(self, doc: Document, path: str | None = None, dirty: bool | None = None,
                      analysis: Analysis | None = None) -> None:
        """An imported document (no path) counts as unsaved unless ``dirty`` says otherwise."""
        if not doc.networks:
            raise DocumentError("the document has no networks")
        self._m.undo_stack.clear()
        gc.unfreeze()  # the previous document may go now
        self._m.doc = doc
        self._m.trained = None  # trained weights belong to the document they were trained on
        self._m._indexes.clear()
        self._m._analysis = analysis
        self._m._pending = None if analysis is None else {}
        self._m._unannounced = None
        self._m._unsaved_load = path is None if dirty is None else dirty
        self._m._set_path(path)
        self._m.documentReset.emit()
        self._m.networksChanged.emit()
        self._m._check_dirty()
        self._m._emit_timer.start()
        # The document, its analysis and its items live as long as it is open: out of the
        # collector's sight, a full collection no longer walks them (75 ms on 10,000 nodes,
        # landing inside whichever edit triggers it; 4 ms after this).
        gc.freeze()

    def save(self, path: str | None = None) -> None:
        """Atomic save through QSaveFile; raises DocumentError when it cannot write."""
        target = path or self._m.path
        if not target:
            raise DocumentError("no file name to save to")
        data = document.dumps(self._m.doc).encode("utf-8")
        f = QSaveFile(target)
        if not f.open(QIODevice.OpenModeFlag.WriteOnly):
            raise DocumentError(f"{target}: cannot write ({f.errorString()})")
        if f.write(data) != len(data) or not f.commit():
            err = f.errorString()
            f.cancelWriting()
            raise DocumentError(f"{target}: saving failed ({err})")
        self._m.doc.source = str(target)
        self._m._unsaved_load = False
        self._m._set_path(str(target))
        self._m.undo_stack.setClean()
        self._m._check_dirty()

    def _set_path(self, path: str | None) -> None:
        if path != self._m.path:
            self._m.path = path
            self._m.pathChanged.emit(path or "")

    def generated_code(self) -> tuple[str, str | None]:
        try:
            return codegen.generate(self._m.doc, self._m.analysis).source, None
        except GraphError as exc:
            return "", str(exc)
        except Exception as exc:  # noqa: BLE001 - shown in the code tab, not a crash
            return "", f"internal code generation error: {type(exc).__name__}: {exc}"
