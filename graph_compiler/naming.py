"""Turning free text from documents into safe Python identifiers and comments.

Ids, labels and network names are user text. In generated code they only ever appear as
identifiers made here, as escaped comments, or as repr() strings.
"""
from __future__ import annotations

import builtins
import keyword
import re

# nn.Module's own attributes: a submodule named like one would shadow it.
MODULE_ATTRS = frozenset("""
T_destination add_module apply bfloat16 buffers call_super_init children compile cpu cuda
double dump_patches eval extra_repr float forward get_buffer get_extra_state get_parameter
get_submodule half ipu load_state_dict modules mtia named_buffers named_children
named_modules named_parameters parameters register_backward_hook register_buffer
register_forward_hook register_forward_pre_hook register_full_backward_hook
register_full_backward_pre_hook register_load_state_dict_post_hook
register_load_state_dict_pre_hook register_module register_parameter
register_state_dict_post_hook register_state_dict_pre_hook requires_grad_ set_extra_state
set_submodule share_memory state_dict to to_empty train type xpu zero_grad training
""".split())

BUILTINS = frozenset(dir(builtins))
GLOBALS = frozenset({"torch", "nn", "self", "build_model", "NETWORKS", "model", "causal_mask",
                     "PositionalEncoding", "Reparameterize", "TimestepEmbedding"})


def identifier(text: str, fallback: str = "node") -> str:
    """A lower-case-ish Python identifier that keeps the text readable where it can."""
    name = re.sub(r"\W", "_", text.strip(), flags=re.ASCII)
    name = re.sub(r"_+", "_", name).strip("_") or fallback
    if name[0].isdigit():
        name = f"{fallback}_{name}"
    if keyword.iskeyword(name) or keyword.issoftkeyword(name):
        name += "_"
    return name[:60]


def class_name(text: str) -> str:
    base = identifier(text, "Net")
    parts = [p for p in base.split("_") if p]
    name = "".join(p[:1].upper() + p[1:] for p in parts) or "Net"
    if name[0].isdigit():
        name = "Net" + name
    return name


class Namespace:
    """Hands out unique identifiers, avoiding reserved words (like torch.fx's _Namespace)."""

    def __init__(self, reserved: frozenset[str] | set[str] = frozenset()) -> None:
        self._taken: set[str] = set(reserved)

    def reserve(self, name: str) -> None:
        self._taken.add(name)

    def create(self, base: str) -> str:
        name = base
        i = 2
        while name in self._taken:
            name = f"{base}_{i}"
            i += 1
        self._taken.add(name)
        return name


def comment(text: str) -> str:
    """Text safe to put after '#': no line breaks, no control characters."""
    escaped = text.encode("unicode_escape").decode("ascii")
    return re.sub(r"[^\x20-\x7e]", "?", escaped)[:120]


def doc_text(text: str) -> str:
    """Text safe inside a triple-quoted docstring."""
    return re.sub(r"[^A-Za-z0-9 _.,()+-]", "_", text)[:120]
