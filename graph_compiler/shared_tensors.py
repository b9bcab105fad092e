"""Tied weights in weight files: a tensor that several state-dict keys share is stored once.

``model.state_dict()`` lists a tied weight under every name (``lm_head.weight`` and
``transformer.wte.weight``), all one tensor. safetensors refuses to write shared storage,
and cloning would store the tensor twice. Instead the file holds it under its first name,
and its metadata maps the other names to that one (``netwright.tied``); reading puts the
aliases back, so ``load_state_dict(strict=True)`` works. Other tools can read the file
with ``safetensors.torch.load_model``, which restores shared names the same way.
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

TIED_KEY = "netwright.tied"


def split_shared(state: Mapping[str, torch.Tensor]) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """(tensors to write, each storage once, as contiguous CPU copies; alias -> kept name)."""
    seen: dict[tuple[object, ...], str] = {}
    tensors: dict[str, torch.Tensor] = {}
    aliases: dict[str, str] = {}
    for key, value in state.items():
        v = value.detach()
        sig = (str(v.device), v.untyped_storage().data_ptr(), v.storage_offset(), tuple(v.shape),
               tuple(v.stride()), v.dtype)
        if v.numel() and sig in seen:
            aliases[key] = seen[sig]
            continue
        seen[sig] = key
        tensors[key] = v.to("cpu", copy=True).contiguous()
    return tensors, aliases


def tied_metadata(aliases: Mapping[str, str]) -> dict[str, str]:
    """The file metadata recording the aliases ({} when nothing is shared)."""
    return {TIED_KEY: json.dumps(dict(aliases), sort_keys=True)} if aliases else {}


def join_shared(tensors: dict[str, torch.Tensor], metadata: Mapping[str, str] | None,
                where: str) -> dict[str, torch.Tensor]:
    """``tensors`` with every alias from the metadata added (the very same tensor object).
    Raises ValueError naming ``where`` for metadata that does not fit the tensors."""
    text = (metadata or {}).get(TIED_KEY)
    if not text:
        return tensors
    try:
        aliases = json.loads(text)
    except ValueError:
        raise ValueError(f"{where}: the {TIED_KEY} metadata is not valid JSON") from None
    if not isinstance(aliases, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                                for k, v in aliases.items()):
        raise ValueError(f"{where}: the {TIED_KEY} metadata must map names to names")
    out = dict(tensors)
    for alias, kept in aliases.items():
        if kept not in tensors:
            raise ValueError(f"{where}: {alias} is said to share {kept}, which the file does not hold")
        if alias in tensors:
            raise ValueError(f"{where}: {alias} is stored and also said to share {kept}")
        out[alias] = tensors[kept]
    return out


__all__ = ["TIED_KEY", "join_shared", "split_shared", "tied_metadata"]
