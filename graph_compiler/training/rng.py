"""Seeding and the random-number state a run folder carries.

A resumed run restores torch's, numpy's, Python's and (on CUDA) the device's generator
states, so its next epochs draw the same numbers as an uninterrupted run.
"""
from __future__ import annotations

import random
from typing import Any

import numpy as np
import torch


def seed_everything(seed: int) -> None:
    """Seed torch (CPU and CUDA), numpy and Python's random."""
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)
    random.seed(seed)


def capture_rng(device: torch.device | None) -> dict[str, Any]:
    """Every generator's state, as tensors and JSON-able values (see checkpoints.save_run)."""
    py = random.getstate()
    np_state: Any = np.random.get_state()  # legacy form: ("MT19937", keys, pos, ...)
    rng: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "python": [py[0], list(py[1]), py[2]],
        "numpy": torch.from_numpy(np.asarray(np_state[1], dtype=np.int64)),
        "numpy_pos": int(np_state[2]),
    }
    if device is not None and device.type == "cuda":
        rng["cuda"] = torch.cuda.get_rng_state(device)
    return rng


def restore_rng(rng: dict[str, Any], device: torch.device | None) -> None:
    """Put back what ``capture_rng`` returned (keys that are missing are left alone)."""
    if "torch" in rng:
        torch.set_rng_state(rng["torch"].to(torch.uint8))
    if "cuda" in rng and device is not None and device.type == "cuda":
        torch.cuda.set_rng_state(rng["cuda"].to(torch.uint8), device)
    if "numpy" in rng:
        keys = rng["numpy"].numpy().astype(np.uint32)
        np.random.set_state(("MT19937", keys, int(rng.get("numpy_pos", 0)), 0, 0.0))
    if "python" in rng:
        version, state, gauss = rng["python"]
        random.setstate((version, tuple(state), gauss))


__all__ = ["capture_rng", "restore_rng", "seed_everything"]
