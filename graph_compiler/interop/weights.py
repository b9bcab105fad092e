"""Trained weights for exported code: finding, checking, saving and renaming state dicts.

A training run directory holds ``weights.safetensors`` (the main network's state dict,
keys exactly the exported module's keys) and ``<network>.safetensors`` for the other
networks it trained. Files are read and written by ``training.checkpoints``
(``load_weights`` / ``save_weights``): safetensors, or ``.pt`` files loaded with
``torch.load(weights_only=True)``; never unpickled.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from graph_compiler.document import Document
from graph_compiler.interop import InteropError
from graph_compiler.shared_tensors import fill_shared

if TYPE_CHECKING:
    import torch
    from torch import nn

MAIN_WEIGHTS = "weights.safetensors"


class WeightsError(InteropError):
    """Weights cannot be found, read, or do not fit the network."""


def weights_file(path: str | os.PathLike[str], doc: Document, network: str | None = None) -> Path:
    """The safetensors (or .pt) file holding ``network``'s weights.

    ``path`` is a run directory (``weights.safetensors`` for the main network,
    ``<network>.safetensors`` for others) or a weights file used as it is.
    """
    p = Path(path)
    if p.is_file():
        return p
    if not p.exists():
        raise WeightsError(f"weights {p}: no such file or directory")
    name = network or doc.main.name
    candidates = [p / f"{name}.safetensors"]
    if name == doc.main.name:
        candidates.insert(0, p / MAIN_WEIGHTS)
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    listed = ", ".join(c.name for c in candidates)
    raise WeightsError(f"weights directory {p} has no {listed} for network {name!r}")


def check_state_dict(module: nn.Module, state: Mapping[str, Any], where: str) -> None:
    """Every key and shape must match, or one WeightsError lists the differences."""
    from graph_compiler.training.checkpoints import state_dict_mismatches

    problems = state_dict_mismatches(module.state_dict(), state)
    if problems:
        raise WeightsError(f"{where} do not fit the network: " + "; ".join(problems))


def load_weights(module: nn.Module, path: str | os.PathLike[str], doc: Document,
                 network: str | None = None) -> dict[str, torch.Tensor]:
    """Load ``network``'s weights (a run dir or a file) into ``module``, strictly; returns them."""
    from graph_compiler.training.checkpoints import CheckpointError
    from graph_compiler.training.checkpoints import load_weights as read_weights

    file = weights_file(path, doc, network)
    try:
        state = fill_shared(module.state_dict(), read_weights(file))
    except CheckpointError as exc:
        raise WeightsError(str(exc)) from None
    check_state_dict(module, state, f"weights {file}")
    module.load_state_dict(state, strict=True)
    return state


# ---------------------------------------------------------------- imported models

def key_map(doc: Document) -> dict[str, str | None]:
    """``meta.import.key_map`` of an imported document: original module path -> attribute
    path in the exported code (only entries that differ; None for unused modules)."""
    info = doc.meta.get("import") if isinstance(doc.meta, dict) else None
    mapping = info.get("key_map") if isinstance(info, dict) else None
    return dict(mapping) if isinstance(mapping, dict) else {}


def rename_key(key: str, mapping: Mapping[str, str | None]) -> str | None:
    """Replace the longest mapped module-path prefix of a state-dict key, or the key
    itself (None: a module or tensor the imported graph does not use, dropped)."""
    parts = key.split(".")
    for cut in range(len(parts), 0, -1):
        prefix = ".".join(parts[:cut])
        if prefix in mapping:
            target = mapping[prefix]
            return None if target is None else ".".join([target, *parts[cut:]])
    return key


def convert_state_dict(original: Mapping[str, Any], doc: Document) -> dict[str, Any]:
    """The original model's state dict with keys renamed for the imported document's code,
    so ``CompiledDocument(doc).build().load_state_dict(convert_state_dict(sd, doc))`` works."""
    mapping = key_map(doc)
    renamed = ((rename_key(k, mapping), v) for k, v in original.items())
    return {k: v for k, v in renamed if k is not None}


__all__ = [
    "MAIN_WEIGHTS", "WeightsError", "check_state_dict", "convert_state_dict", "key_map",
    "load_weights", "rename_key", "weights_file",
]
