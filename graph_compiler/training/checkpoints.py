"""Run folders: trained weights, optimizer state and run metadata, never pickle.

A run folder holds::

    weights.safetensors        the main network's state_dict (keys = the exported module's)
    <network>.safetensors      one per other trained network (e.g. a GAN's discriminator)
    optimizer.safetensors      optimizer tensors + RNG states; the non-tensor parts
                               (param groups, scalar state) as JSON in its metadata
    run.json                   config, history, epoch, normaliser, versions, recipe, seed,
                               dataset, the document snapshot; written last

Every file is written through ``graph_compiler.atomic`` (a temporary name, then moved into
place), so a crash never leaves a truncated file. ``torch.save`` / ``torch.load`` are never used.
"""
from __future__ import annotations

import json
import os
import platform
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from graph_compiler.atomic import atomic_write, atomic_write_with
from graph_compiler.errors import NetwrightError
from graph_compiler.shared_tensors import join_shared, split_shared, tied_metadata

RUN_FORMAT = "netwright-run"
RUN_VERSION = 1
WEIGHTS = "weights.safetensors"
OPTIMIZER = "optimizer.safetensors"
RUN_JSON = "run.json"
_RESERVED = {"weights", "optimizer", "run"}


class CheckpointError(NetwrightError):
    """A run folder cannot be written or read (missing files, wrong format, mismatch)."""


@dataclass
class SavedRun:
    """What ``load_run`` returns."""

    path: Path
    info: dict[str, Any]  # run.json
    weights: dict[str, dict[str, torch.Tensor]]  # network -> state_dict
    optimizers: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> optimizer state_dict
    rng: dict[str, Any] = field(default_factory=dict)

    @property
    def main(self) -> str:
        return str(self.info["main"])

    @property
    def epoch(self) -> int:
        return int(self.info.get("epoch", 0))


def versions() -> dict[str, str]:
    import numpy

    from graph_compiler import __version__

    return {"netwright": __version__, "torch": torch.__version__, "python": platform.python_version(),
            "numpy": numpy.__version__, "cuda": str(torch.version.cuda)}


def network_filename(network: str, main: str) -> str:
    """weights.safetensors for the main network, <safe name>.safetensors for the others."""
    if network == main:
        return WEIGHTS
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", network).strip("._") or "network"
    if stem.lower() in _RESERVED:
        stem = f"net_{stem}"
    return f"{stem}.safetensors"


def cpu_copy(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """A state dict copied to the CPU; a tied weight stays one tensor under all its names,
    so saving the copy stores it once, as saving the module's own state dict does."""
    copies, aliases = split_shared(state)
    return {k: copies[aliases.get(k, k)] for k in state}


def save_weights(path: str | os.PathLike[str], state: Mapping[str, torch.Tensor],
                 metadata: Mapping[str, str] | None = None) -> None:
    """Write a state dict as safetensors, atomically: the one writer of weight files.
    A tied weight (one tensor under several names) is stored once; its other names go
    in the metadata (shared_tensors.py) and come back on loading."""
    p = Path(path)
    tensors, aliases = split_shared(state)
    meta = {"format": "pt", **(metadata or {}), **tied_metadata(aliases)}
    atomic_write_with(p, lambda tmp: save_file(tensors, tmp, metadata=meta))


def load_weights(path: str | os.PathLike[str], device: str | torch.device = "cpu") -> dict[str, torch.Tensor]:
    """The tensors of a weights file: the one reader of weight files in Netwright.

    ``path`` is a .safetensors file, a run folder (its weights.safetensors), or a
    .pt / .pth / .bin state dict, read with ``torch.load(weights_only=True)`` so nothing
    in it is executed. CheckpointError names the file when it is missing or unreadable."""
    p = Path(path)
    if p.is_dir():
        p = p / WEIGHTS
    if not p.is_file():
        raise CheckpointError(f"{p}: no such weights file")
    try:
        if p.suffix.lower() in (".pt", ".pth", ".bin"):
            state = torch.load(p, map_location=device, weights_only=True)
        else:
            with safe_open(str(p), framework="pt", device=str(device)) as f:
                stored = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 - safe_open has no __iter__
                state = join_shared(stored, f.metadata(), str(p))
    except Exception as exc:  # noqa: BLE001 - safetensors / torch raise many types for damaged files
        raise CheckpointError(f"{p}: cannot read weights ({type(exc).__name__}: {exc})") from None
    if not isinstance(state, dict):
        raise CheckpointError(f"{p}: expected a state dict, found {type(state).__name__}")
    return {str(k): v for k, v in state.items() if isinstance(v, torch.Tensor)}


def state_dict_mismatches(expected: Mapping[str, torch.Tensor], state: Mapping[str, Any],
                          limit: int = 8) -> list[str]:
    """Why ``state`` does not load strictly where ``expected`` is (a module's state_dict):
    missing and unexpected keys, and every tensor of the wrong shape with both shapes
    (``fc1.weight [7, 4] (network wants [8, 4])``); empty when it loads."""
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    wrong = [f"{k} {list(state[k].shape)} (network wants {list(v.shape)})"
             for k, v in expected.items() if k in state and tuple(state[k].shape) != tuple(v.shape)]
    problems = []
    for label, items in (("missing", missing), ("unexpected", unexpected), ("wrong shape", wrong)):
        if items:
            more = f" and {len(items) - limit} more" if len(items) > limit else ""
            problems.append(f"{label}: {', '.join(items[:limit])}{more}")
    return problems


def small_meta(meta: Mapping[str, Any]) -> dict[str, Any]:
    """The parts of a dataset's ``meta`` worth keeping in run.json: scalars, short
    strings and short lists (vocabularies, column names), never big arrays."""
    out: dict[str, Any] = {}
    for k, v in meta.items():
        if isinstance(v, (str, int, float, bool)) or v is None:
            if not isinstance(v, str) or len(v) <= 10_000:
                out[k] = v
        elif isinstance(v, (list, tuple)) and len(v) <= 256 and all(isinstance(x, (str, int, float)) for x in v):
            out[k] = list(v)
    return out


# ---------------------------------------------------------------- optimizer state


def _optimizer_tensors(optimizers: Mapping[str, Mapping[str, Any]],
                       rng: Mapping[str, Any] | None) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    tensors: dict[str, torch.Tensor] = {}
    meta: dict[str, Any] = {"optimizers": {}, "rng": {}}
    for name, state_dict in optimizers.items():
        scalars: dict[str, dict[str, Any]] = {}
        for pid, pstate in state_dict.get("state", {}).items():
            for key, value in pstate.items():
                if isinstance(value, torch.Tensor):
                    tensors[f"optim.{name}.{pid}.{key}"] = value.detach().to("cpu", copy=True).contiguous()
                else:
                    scalars.setdefault(str(pid), {})[key] = value
        meta["optimizers"][name] = {
            "param_groups": [_json_safe(g) for g in state_dict.get("param_groups", [])],
            "scalars": scalars,
            "state_ids": [str(pid) for pid in state_dict.get("state", {})],
        }
    for key, value in (rng or {}).items():
        if isinstance(value, torch.Tensor):
            tensors[f"rng.{key}"] = value.detach().cpu().contiguous()
        else:
            meta["rng"][key] = value
    return tensors, meta


def _json_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, torch.Tensor):
        return value.item() if value.numel() == 1 else value.tolist()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return repr(value)


def _optimizer_states(tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    optimizers: dict[str, dict[str, Any]] = {}
    for name, info in meta.get("optimizers", {}).items():
        state: dict[int, dict[str, Any]] = {}
        for pid in info.get("state_ids", []):
            state[int(pid)] = dict(info.get("scalars", {}).get(pid, {}))
        prefix = f"optim.{name}."
        for key, value in tensors.items():
            if key.startswith(prefix):
                pid, skey = key[len(prefix):].split(".", 1)
                state.setdefault(int(pid), {})[skey] = value
        groups = []
        for g in info.get("param_groups", []):
            g = dict(g)
            if isinstance(g.get("betas"), list):
                g["betas"] = tuple(g["betas"])
            groups.append(g)
        optimizers[name] = {"state": state, "param_groups": groups}
    rng: dict[str, Any] = dict(meta.get("rng", {}))
    for key, value in tensors.items():
        if key.startswith("rng."):
            rng[key[4:]] = value
    return optimizers, rng


# ---------------------------------------------------------------- run folders


def save_run(directory: str | os.PathLike[str], *, main: str, weights: Mapping[str, Mapping[str, torch.Tensor]],
             info: Mapping[str, Any], optimizers: Mapping[str, Mapping[str, Any]] | None = None,
             rng: Mapping[str, Any] | None = None) -> Path:
    """Write a run folder (created if needed) and return its path.

    ``weights``: network -> state_dict (``main`` must be one of them). ``info``: JSON-able
    run metadata (config, history, epoch, normalizer, recipe, seed, dataset, ...); the
    format, version, main network, file names and versions are added here.
    """
    d = Path(directory)
    if main not in weights:
        raise CheckpointError(f"save_run: no weights for the main network {main!r}")
    try:
        d.mkdir(parents=True, exist_ok=True)
        files: dict[str, str] = {}
        for network, state in weights.items():
            fname = network_filename(network, main)
            if fname in files.values():
                raise CheckpointError(f"networks {network!r} and another both map to file {fname}; rename one")
            files[network] = fname
            save_weights(d / fname, state, {"network": network})
        if optimizers or rng:
            tensors, meta = _optimizer_tensors(optimizers or {}, rng)
            text = json.dumps(meta)
            atomic_write_with(d / OPTIMIZER, lambda tmp: save_file(tensors, tmp, metadata={"netwright": text}))
        run = {"format": RUN_FORMAT, "version": RUN_VERSION, "main": main, "networks": files,
               "optimizer": OPTIMIZER if (optimizers or rng) else None, "versions": versions(), **info}
        atomic_write(d / RUN_JSON, (json.dumps(_json_safe(run), indent=2, allow_nan=False) + "\n").encode("utf-8"))
    except OSError as exc:
        raise CheckpointError(f"{d}: cannot write the run ({exc.strerror or exc})") from None
    return d


def load_run(directory: str | os.PathLike[str], *, with_optimizer: bool = True) -> SavedRun:
    """Read a folder written by ``save_run``; CheckpointError names what is wrong."""
    d = Path(directory)
    if not d.is_dir():
        raise CheckpointError(f"{d}: no such run folder")
    rj = d / RUN_JSON
    if not rj.is_file():
        raise CheckpointError(f"{d}: not a Netwright run folder (no {RUN_JSON})")
    try:
        info = json.loads(rj.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"{rj}: cannot read ({exc})") from None
    if not isinstance(info, dict) or info.get("format") != RUN_FORMAT:
        raise CheckpointError(f"{rj}: not a Netwright run file (format is {info.get('format') if isinstance(info, dict) else None!r})")
    if not isinstance(info.get("version"), int) or info["version"] > RUN_VERSION:
        raise CheckpointError(f"{rj}: run format version {info.get('version')!r} is newer than this Netwright understands")
    weights = {net: load_weights(d / fname) for net, fname in info.get("networks", {}).items()}
    optimizers: dict[str, Any] = {}
    rng: dict[str, Any] = {}
    if with_optimizer and info.get("optimizer"):
        p = d / info["optimizer"]
        if not p.is_file():
            raise CheckpointError(f"{p}: missing; the run cannot be resumed without its optimizer state")
        try:
            with safe_open(str(p), "pt") as f:
                meta = json.loads((f.metadata() or {}).get("netwright", "{}"))
            tensors = load_file(str(p))
        except Exception as exc:  # noqa: BLE001
            raise CheckpointError(f"{p}: not a readable optimizer file ({exc})") from None
        optimizers, rng = _optimizer_states(tensors, meta)
    return SavedRun(d, info, weights, optimizers, rng)


__all__ = [
    "OPTIMIZER",
    "cpu_copy",
    "state_dict_mismatches",
    "RUN_JSON",
    "WEIGHTS",
    "CheckpointError",
    "SavedRun",
    "load_run",
    "load_weights",
    "network_filename",
    "save_run",
    "save_weights",
    "small_meta",
    "versions",
]
