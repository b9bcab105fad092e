"""One typed editor per catalog Param kind, for the inspector.

An editor shows a value and emits ``committed(value)`` when the user finishes an edit
with a usable value (``None`` means "remove the key": back to the default, or "auto"
for inferred params). Text that cannot be used is flagged on the field (red border and
a message under it) and nothing is emitted, so bad input never reaches the document.

Spin boxes, combo boxes and check boxes only represent valid values, so a value from the
file that they cannot show (out of range, wrong type, missing but required) is shown in
a text field instead, where it can be read and corrected.
"""
from __future__ import annotations

import json
import math
import re
from typing import Any

from PySide6.QtCore import QSignalBlocker, Signal
from PySide6.QtGui import QValidator
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from graph_compiler.catalog import Param
from graph_compiler.catalog.spec import REQUIRED
from graph_compiler.document import make_ref, param_ref

_INT32 = 2**31 - 1
MISSING: Any = object()  # the key is absent from the node's params


# ---------------------------------------------------------------- text <-> value


def format_value(value: Any) -> str:
    """How a param value reads in a text field: 3, 3, 3 for lists (a block parameter in
    one by its name: dim, 1, 1), plain words for strings."""
    if isinstance(value, (list, tuple)):
        return ", ".join(ref if (ref := param_ref(v)) is not None else format_value(v) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.10g}"
    if value is None:
        return ""
    return str(value)


def _parse_ints(text: str) -> list[int] | None:
    inner = text.strip().strip("[]()").strip()
    if not inner:
        return None
    parts = [p for p in re.split(r"[,\s]+", inner) if p]
    try:
        return [int(p) for p in parts]
    except ValueError:
        return None


def _ref_list(param: Param, text: str, refs: tuple[str, ...]) -> tuple[Any, str | None] | None:
    """A list naming block parameters among its numbers (dim, 1, 1), or None when it
    names none. The numbers are checked with each name standing for a valid size; the
    names' values are checked by analysis, per use."""
    parts = [p for p in re.split(r"[,\s]+", text.strip().strip("[]()").strip()) if p]
    if not any(p.isidentifier() for p in parts):
        return None
    value: list[Any] = []
    for part in parts:
        if part.isidentifier():
            if part not in refs:
                return None, f"'{part}' is not a number or a block parameter of this network ({', '.join(refs)})"
            value.append(make_ref(part))
            continue
        try:
            value.append(int(part))
        except ValueError:
            return None, f"'{part}' is not a whole number or a block parameter"
    message = param.check([1 if param_ref(v) is not None else v for v in value])[1]
    return (None, message) if message else (value, None)


def parse_text(param: Param, text: str, refs: tuple[str, ...] = ()) -> tuple[Any, str | None]:
    """Parse what the user typed. Returns (value, None), (None, None) for an empty field that
    may be empty (default / auto), or (None, message). ``refs``: the block parameters of the
    node's network, which ``{"param": NAME}`` may name."""
    t = text.strip()
    if not t:
        if param.inferred or param.default is not REQUIRED or param.nullable:
            return None, None
        return None, f"{param.name} is required"
    if refs and t.startswith("{"):
        try:
            name = param_ref(json.loads(t))
        except ValueError:
            name = None
        if name is None or name not in refs:
            return None, f'write a block parameter as {{"param": NAME}}, NAME one of {", ".join(refs)}'
        return make_ref(name), None
    kind = param.kind
    if refs and kind in ("ints", "shape", "padding"):
        listed = _ref_list(param, t, refs)
        if listed is not None:
            return listed
    value: Any
    if kind == "int":
        try:
            value = int(t)
        except ValueError:
            return None, f"'{t}' is not a whole number"
    elif kind == "float":
        try:
            value = float(t)
        except ValueError:
            return None, f"'{t}' is not a number"
        if not math.isfinite(value):
            return None, "use a finite number"
    elif kind == "bool":
        low = t.lower()
        if low not in ("true", "false", "yes", "no", "1", "0", "on", "off"):
            return None, "use true or false"
        value = low in ("true", "yes", "1", "on")
    elif kind == "choice":
        matches = [c for c in param.choices if format_value(c) == t or str(c) == t.strip("'\"")]
        if not matches:
            return None, f"choose one of {', '.join(format_value(c) for c in param.choices)}"
        value = matches[0]
    elif kind in ("ints", "padding", "shape"):
        if kind == "padding" and t.strip("'\"").lower() in ("same", "valid"):
            value = t.strip("'\"").lower()
        else:
            ints = _parse_ints(t)
            if ints is None:
                what = "a list of whole numbers" if kind == "shape" else "a whole number or a list like 3, 3"
                return None, f"'{t}' is not {what}"
            value = ints if kind == "shape" or len(ints) > 1 else ints[0]
    else:  # str and anything newer: keep the text
        value = text
    checked, message = param.check(value)
    if message:
        return None, message
    # The document stores JSON: tuples become lists.
    return (list(checked) if isinstance(checked, tuple) else checked), None


def same_value(a: Any, b: Any) -> bool:
    """Equal as JSON values (so 3 == 3 but True != 1, and [3, 3] == (3, 3))."""
    try:
        return json.dumps(_jsonable(a), sort_keys=True) == json.dumps(_jsonable(b), sort_keys=True)
    except (TypeError, ValueError):
        return a == b


def _jsonable(v: Any) -> Any:
    if isinstance(v, tuple):
        return [_jsonable(x) for x in v]
    if isinstance(v, list):
        return [_jsonable(x) for x in v]
    return v


# ---------------------------------------------------------------- widgets


class _FloatSpin(QDoubleSpinBox):
    """A double spin box that shows 1e-05 as 1e-05, not 0.00 (eps, learning rates)."""

    def textFromValue(self, value: float) -> str:
        return f"{value:.10g}"

    def valueFromText(self, text: str) -> float:
        try:
            return float(text)
        except ValueError:
            return self.value()

    def validate(self, text: str, pos: int) -> tuple[QValidator.State, str, int]:
        t = text.strip()
        try:
            float(t)
            return QValidator.State.Acceptable, text, pos
        except ValueError:
            partial = t in ("", "-", "+", ".", "-.") or re.fullmatch(r"[-+]?\d*\.?\d*e[-+]?", t.lower())
            state = QValidator.State.Intermediate if partial else QValidator.State.Invalid
            return state, text, pos


class ParamEditor(QWidget):
    """A field for one param: the typed editor plus an inline error line under it."""

    committed = Signal(object)  # the new value, or None to remove the key
    editorBuilt = Signal(QWidget)  # the field, each time the editor is (re)made

    def __init__(self, param: Param, parent: QWidget | None = None, refs: tuple[str, ...] = ()) -> None:
        super().__init__(parent)
        self.param = param
        self.refs = refs  # the network's block parameters: then a text field, which can name one
        self.raw: Any = MISSING  # what the document holds now
        self.local_error: str | None = None  # text the user typed that could not be used
        self.doc_error: str | None = None  # the analysis's complaint about this param
        self.editor: QWidget | None = None
        self.kind_shown = ""  # "typed" or "text"
        self._shown_text = ""  # what the line edit showed from the document
        self._box = QHBoxLayout()
        self._box.setContentsMargins(0, 0, 0, 0)
        self.error_label = QLabel(self)
        self.error_label.setObjectName("fieldError")
        self.error_label.setWordWrap(True)
        self.error_label.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(self._box)
        layout.addWidget(self.error_label)
        self.setToolTip(_tooltip(param))

    # ------------------------------------------------------------ showing values

    def set_value(self, raw: Any, resolved: Any = MISSING) -> None:
        """Show the document's value ``raw`` (MISSING if absent); ``resolved`` is the
        analysis's value (the default or the inferred size) for placeholders."""
        if self.editor is not None and same_value_or_missing(raw, self.raw) and self.local_error:
            self._update_placeholder(resolved)  # keep the user's bad text on screen until fixed
            return
        self.raw = raw
        self.local_error = None
        want = "typed" if self._typed_can_show(raw) else "text"
        if want != self.kind_shown:
            self._build(want)
        assert self.editor is not None  # _build made one
        blocker = QSignalBlocker(self.editor)
        self._show(raw, resolved)
        del blocker
        self._refresh_error()

    def set_doc_error(self, message: str | None) -> None:
        self.doc_error = message
        self._refresh_error()

    def _typed_can_show(self, raw: Any) -> bool:
        p = self.param
        if p.inferred or p.kind not in ("int", "float", "bool", "choice") or self.refs:
            return False  # line edits: they can show "auto" and anything the file holds
        if raw is MISSING:
            return p.default is not REQUIRED and p.default is not None
        _value, message = p.check(raw)
        if message or raw is None:
            return False
        if p.kind == "int":
            return abs(raw) <= _INT32
        return True

    def _build(self, kind: str) -> None:
        if self.editor is not None:
            self._box.removeWidget(self.editor)
            self.editor.deleteLater()
        p = self.param
        editor: QWidget
        if kind == "typed" and p.kind == "int":
            spin = QSpinBox(self)
            spin.setRange(int(max(p.min, -_INT32)) if p.min is not None else -_INT32,
                          int(min(p.max, _INT32)) if p.max is not None else _INT32)
            spin.setKeyboardTracking(False)  # commit on Enter / focus out / arrows, not per key
            spin.valueChanged.connect(lambda v: self._commit(int(v)))
            editor = spin
        elif kind == "typed" and p.kind == "float":
            fspin = _FloatSpin(self)
            fspin.setDecimals(12)
            fspin.setRange(p.min if p.min is not None else -1e12, p.max if p.max is not None else 1e12)
            fspin.setStepType(QDoubleSpinBox.StepType.AdaptiveDecimalStepType)
            fspin.setKeyboardTracking(False)
            fspin.valueChanged.connect(lambda v: self._commit(float(v)))
            editor = fspin
        elif kind == "typed" and p.kind == "bool":
            check = QCheckBox(self)
            check.toggled.connect(lambda on: self._commit(bool(on)))
            editor = check
        elif kind == "typed" and p.kind == "choice":
            combo = QComboBox(self)
            for c in p.choices:
                combo.addItem(format_value(c), c)
            combo.activated.connect(lambda i: self._commit(combo.itemData(i)))
            editor = combo
        else:
            line = QLineEdit(self)
            line.editingFinished.connect(self._commit_text)
            line.textEdited.connect(self._on_text_edited)
            if p.inferred or p.default is not REQUIRED:
                line.setClearButtonEnabled(True)
            editor = line
        self.editor = editor
        self.kind_shown = kind
        self._box.addWidget(editor)
        self.editorBuilt.emit(editor)

    def _show(self, raw: Any, resolved: Any) -> None:
        p, e = self.param, self.editor
        value = raw if raw is not MISSING else p.default
        if isinstance(e, QSpinBox):
            e.setValue(int(value))
        elif isinstance(e, QDoubleSpinBox):
            e.setValue(float(value))
        elif isinstance(e, QCheckBox):
            e.setChecked(bool(value))
        elif isinstance(e, QComboBox):
            idx = next((i for i, c in enumerate(p.choices) if same_value(c, value)), -1)
            e.setCurrentIndex(idx)
        elif isinstance(e, QLineEdit):
            e.setText("" if raw is MISSING else format_value(raw) if _is_plain(raw) else json.dumps(raw))
            self._shown_text = e.text()
            self._update_placeholder(resolved)

    def _update_placeholder(self, resolved: Any) -> None:
        e, p = self.editor, self.param
        if not isinstance(e, QLineEdit):
            return
        if p.inferred:
            shown = format_value(resolved) if resolved is not MISSING and resolved is not None else "?"
            e.setPlaceholderText(f"auto ({shown})")
        elif p.default is not REQUIRED:
            e.setPlaceholderText(f"default ({format_value(p.default)})" if p.default is not None else "none")
        else:
            e.setPlaceholderText("required")
        auto = p.inferred and not e.text().strip()
        if e.property("auto") != auto:
            e.setProperty("auto", auto)
            _repolish(e)

    # ------------------------------------------------------------ edits

    def _on_text_edited(self, text: str) -> None:
        if not text and isinstance(self.editor, QLineEdit) and not self.editor.hasFocus():
            self._commit_text()  # the clear button: back to default / auto at once

    def _commit_text(self) -> None:
        if not isinstance(self.editor, QLineEdit):
            return
        value, message = parse_text(self.param, self.editor.text(), self.refs)
        if message:
            self.local_error = message
            self._refresh_error()
            return
        self.local_error = None
        self._refresh_error()
        self._commit(value)

    def _commit(self, value: Any) -> None:
        current = None if self.raw is MISSING else self.raw
        if value is None and self.raw is MISSING:
            return
        if value is not None and same_value(value, current) and self.raw is not MISSING:
            return
        if value is not None and self.raw is MISSING and same_value(value, self.param.default) \
                and self.kind_shown == "typed":
            return  # showing the default already; writing it would be a no-op edit
        self.committed.emit(value)

    def pending(self) -> bool:
        """Whether the field holds typed text not yet committed to the document."""
        e = self.editor
        if isinstance(e, QLineEdit):
            return e.text() != self._shown_text
        if isinstance(e, QSpinBox):
            return e.text() != e.textFromValue(e.value())
        if isinstance(e, QDoubleSpinBox):
            return e.text() != e.textFromValue(e.value())
        return False

    def text(self) -> str:
        e = self.editor
        if isinstance(e, QLineEdit):
            return e.text()
        if isinstance(e, (QSpinBox, QDoubleSpinBox)):
            return e.text()
        if isinstance(e, QComboBox):
            return e.currentText()
        if isinstance(e, QCheckBox):
            return "true" if e.isChecked() else "false"
        return ""

    def _refresh_error(self) -> None:
        message = self.local_error or self.doc_error
        self.error_label.setText(message or "")
        self.error_label.setVisible(bool(message))
        if self.editor is not None and bool(self.editor.property("invalid")) != bool(message):
            self.editor.setProperty("invalid", bool(message))
            _repolish(self.editor)

    @property
    def invalid(self) -> bool:
        return bool(self.local_error or self.doc_error)


def same_value_or_missing(a: Any, b: Any) -> bool:
    if a is MISSING or b is MISSING:
        return a is b
    return same_value(a, b)


def _is_plain(raw: Any) -> bool:
    if isinstance(raw, (list, tuple)):  # numbers, and block parameters shown by name
        return all((isinstance(x, (int, float)) and not isinstance(x, bool)) or param_ref(x) is not None
                   for x in raw)
    return isinstance(raw, (int, float, str, bool)) or raw is None


def _repolish(w: QWidget) -> None:
    # Dynamic-property selectors in QSS only re-match after an unpolish/polish.
    w.style().unpolish(w)
    w.style().polish(w)
    w.update()


def _tooltip(p: Param) -> str:
    bits = [p.doc] if p.doc else []
    if p.inferred:
        bits.append("inferred from the input when left empty")
    elif p.default is not REQUIRED:
        bits.append(f"default: {format_value(p.default) or 'none'}")
    else:
        bits.append("required")
    if p.bounds_text():
        bits.append(f"allowed: {p.bounds_text()}")
    if p.kind in ("ints", "padding") and p.length:
        bits.append(f"one number or {p.length}, e.g. 3 or 3, 3")
    return "\n".join(bits)
