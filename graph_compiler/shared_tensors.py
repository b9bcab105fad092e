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


def shared_names(state: Mapping[str, torch.Tensor]) -> dict[str, str]:
    """name -> the first name holding the very same tensor, for every later name of one."""
    seen: dict[tuple[object, ...], str] = {}
    aliases: dict[str, str] = {}
    for key, value in state.items():
        v = value.detach()
        if v.numel() == 0 or v.device.type == "meta":
            continue
        sig = (str(v.device), v.untyped_storage().data_ptr(), v.storage_offset(), tuple(v.shape),
               tuple(v.stride()), v.dtype)
        if sig in seen:
            aliases[key] = seen[sig]
        else:
            seen[sig] = key
    return aliases


def split_shared(state: Mapping[str, torch.Tensor]) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """(tensors to write, each storage once, as contiguous CPU copies; alias -> kept name)."""
    aliases = shared_names(state)
    tensors = {k: v.detach().to("cpu", copy=True).contiguous() for k, v in state.items() if k not in aliases}
    return tensors, aliases


def fill_shared(module_state: Mapping[str, torch.Tensor], state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """``state`` plus the names a module shares that ``state`` leaves out while holding
    another name of the same tensor: a checkpoint saved with ``safetensors.torch.save_model``,
    or a GPT-2 checkpoint without its tied ``lm_head.weight``, loads strictly."""
    out = dict(state)
    groups: dict[str, list[str]] = {}
    for alias, kept in shared_names(module_state).items():
        groups.setdefault(kept, [kept]).append(alias)
    for names in groups.values():
        present = [n for n in names if n in out]
        if present:
            for name in names:
                out.setdefault(name, out[present[0]])
    return out


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


__all__ = ["TIED_KEY", "fill_shared", "join_shared", "shared_names", "split_shared", "tied_metadata"]
