"""Turning free text from documents into safe Python identifiers, comments and strings.

Ids, labels and network names are user text. In generated code they only ever appear as
identifiers made here (ASCII letters, digits and underscores, never a keyword, a builtin,
a dunder or an nn.Module attribute), as escaped comments, or as escaped string literals.
"""
from __future__ import annotations

import builtins
import keyword
import re

from graph_compiler.catalog.support import SUPPORT
from graph_compiler.pyfmt import str_literal

# Long enough to stay readable, short enough that every generated statement can be laid
# out within 88 columns the way ruff would (see pyfmt.py).
MAX_IDENTIFIER = 32

# nn.Module's own attributes: a submodule named like one would shadow it (tests check this
# list against dir(nn.Module), so a torch upgrade that adds one is caught).
MODULE_ATTRS = frozenset(["T_destination", "add_module", "apply", "bfloat16", "buffers", "call_super_init", "children", "compile", "cpu", "cuda", "double", "dump_patches", "eval", "extra_repr", "float", "forward", "get_buffer", "get_extra_state", "get_parameter", "get_submodule", "half", "ipu", "load_state_dict", "modules", "mtia", "named_buffers", "named_children", "named_modules", "named_parameters", "parameters", "register_backward_hook", "register_buffer", "register_forward_hook", "register_forward_pre_hook", "register_full_backward_hook", "register_full_backward_pre_hook", "register_load_state_dict_post_hook", "register_load_state_dict_pre_hook", "register_module", "register_parameter", "register_state_dict_post_hook", "register_state_dict_pre_hook", "requires_grad_", "set_extra_state", "set_submodule", "share_memory", "state_dict", "to", "to_empty", "train", "type", "xpu", "zero_grad", "training"])

# ruff's E741/E742 reject these as variable and class names (easily misread as 1 and 0).
AMBIGUOUS = frozenset({"l", "O", "I"})
BUILTINS = frozenset(dir(builtins))
# Support definitions (catalog/support.py) are module-level names of the generated file too.
GLOBALS = frozenset({"torch", "nn", "self", "build_model", "NETWORKS", "model", "outputs"}) | frozenset(
    SUPPORT) | AMBIGUOUS


def identifier(text: str, fallback: str = "node") -> str:
    """A Python identifier that keeps the text readable where it can.

    ASCII only (so no Unicode normalisation can make two names one), no leading or
    trailing underscores (so never a dunder or a private name), never a keyword.
    """
    name = re.sub(r"\W", "_", str(text).strip(), flags=re.ASCII)
    name = re.sub(r"_+", "_", name).strip("_")
    if not name:
        name = fallback
    elif name[0].isdigit():
        name = f"{fallback}_{name}"
    name = name[:MAX_IDENTIFIER].rstrip("_") or fallback
    if keyword.iskeyword(name) or keyword.issoftkeyword(name) or name in AMBIGUOUS:
        name += "_"
    return name


def class_name(text: str) -> str:
    """A CamelCase class name for a network."""
    base = identifier(text, "Net")
    parts = [p for p in base.split("_") if p]
    name = "".join(p[:1].upper() + p[1:] for p in parts) or "Net"
    if name[0].isdigit():
        name = "Net" + name
    name = name[:MAX_IDENTIFIER]
    if keyword.iskeyword(name) or keyword.issoftkeyword(name) or name in AMBIGUOUS:
        name += "_"
    return name


class Namespace:
    """Hands out unique identifiers, avoiding reserved words (like torch.fx's _Namespace)."""

    def __init__(self, reserved: frozenset[str] | set[str] = frozenset()) -> None:
        self._taken: set[str] = set(reserved)
        self._next: dict[str, int] = {}

    def reserve(self, name: str) -> None:
        self._taken.add(name)

    def __contains__(self, name: object) -> bool:
        return name in self._taken

    def create(self, base: str) -> str:
        base = base[:MAX_IDENTIFIER]
        name = base
        # Remember the last suffix per base: 1,000 nodes named alike stay linear.
        i = self._next.get(base, 2)
        while name in self._taken:
            suffix = f"_{i}"
            name = base[: MAX_IDENTIFIER - len(suffix)].rstrip("_") + suffix
            i += 1
        self._next[base] = i
        self._taken.add(name)
        return name


def _escape(text: str, keep: str) -> str:
    out: list[str] = []
    for ch in str(text):
        code = ord(ch)
        if ch in keep or (ch.isascii() and (ch.isalnum() or ch == " ")):
            out.append(ch)
        elif code < 0x100:
            out.append(f"\\x{code:02x}")
        elif code < 0x10000:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    return "".join(out)


def comment(text: str, limit: int = 100) -> str:
    """Text safe to put after '#': printable ASCII only, so no line break (\\n, \\r,
    U+2028...) can end the comment, and no '#' can start a pragma such as '# fmt: off'."""
    escaped = _escape(text, "_-.,:;()[]{}<>+*/=!?@$%&|~^'\"`")
    return escaped[:limit] + ("..." if len(escaped) > limit else "")


def doc_text(text: str) -> str:
    """Text safe inside a triple-quoted docstring (no quotes, no backslashes)."""
    return re.sub(r"[^A-Za-z0-9 _.,()+-]", "_", str(text))[:80]


def string(text: str) -> str:
    """A Python string literal of any text (escaped, ASCII-only, double-quoted)."""
    return str_literal(str(text))


def module_path(node_id: str, imported: bool = False) -> list[str] | None:
    """The nested attribute path a node id names, or None for a plain id.

    Imported nodes keep the owning model's module paths as their ids (``layer1.0.conv1``,
    ``features.3``), so that the generated module rebuilds the same hierarchy and the
    original state-dict keys load unchanged. An id is a path when it has a dot or is a
    bare number (a child of a top-level nn.Sequential), and in an ``imported`` document
    always: its key must stay that name, whether it is a plain attribute (``self``,
    ``input``, ``l``, ``_proj``, a long name) or cannot be one (a child added as
    ``"lambda"``, ``"1x1"`` or ``"my-layer"``); every part must be a name
    nn.Module.add_module accepts that shadows none of nn.Module's own attributes.
    """
    text = str(node_id)
    one_part = (text.isdigit() and text.isascii()) or imported
    if "." not in text and not one_part:
        return None
    parts = text.split(".")
    if any(not p or p in MODULE_ATTRS or len(p) > MAX_IDENTIFIER * 4 for p in parts):
        return None
    return parts


def attribute_name(part: str) -> bool:
    """Whether ``part`` can be written as ``obj.part`` in generated code."""
    return part.isascii() and part.isidentifier() and not keyword.iskeyword(part)
