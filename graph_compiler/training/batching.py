"""Batches for one epoch: where the data lives, the seeded order, slicing.

Small datasets go to the device once and are batched by slicing (a DataLoader over
in-memory tensors is hundreds of times slower); larger ones stay on the CPU and a
DataLoader assembles pinned batches. The order of epoch ``e`` depends only on
(seed, e), so a resumed run sees the same batches as an uninterrupted one.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping

import torch

from graph_compiler.training.datasets import Dataset

# Datasets larger than this stay on the CPU and are fed batch by batch (pinned memory).
IN_MEMORY_LIMIT_BYTES = 2 << 30
# Above this, batches index a permutation instead of materialising a shuffled copy.
SHUFFLE_COPY_LIMIT_BYTES = 512 << 20


def epoch_seed(seed: int, epoch: int) -> int:
    """The seed of epoch ``epoch``'s batch order."""
    return (seed * 0x9E3779B1 + epoch * 0x85EBCA77 + 0x165667B1) % (2**63 - 1)


def rows(tensors: Mapping[str, torch.Tensor]) -> int:
    """The common length of ``tensors``; ValueError when they differ."""
    lengths = {len(t) for t in tensors.values()}
    if len(lengths) != 1:
        raise ValueError(f"batch_tensors returned tensors of different lengths: {sorted(lengths)}")
    return lengths.pop()


def steps_per_epoch(n: int, batch_size: int) -> int:
    # A trailing batch of one sample is dropped: BatchNorm cannot train on it.
    return max(1, n // batch_size + (1 if n % batch_size > 1 else 0))


def fits_in_memory(choice: bool | str, train: Dataset, val: Dataset | None, device: torch.device) -> bool:
    """Whether the splits go to ``device`` whole: ``training.in_memory`` when it is a
    bool, else by size (a quarter of the free GPU memory at most)."""
    if isinstance(choice, bool):
        return choice
    if train.meta.get("large") or train.meta.get("in_memory") is False:
        return False
    size = sum(t.numel() * t.element_size() for d in (train, val) if d is not None
               for t in (d.x, d.y) if t is not None)
    limit = IN_MEMORY_LIMIT_BYTES
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        limit = min(limit, free // 4)
    return size <= limit


def to_device(ds: Dataset, device: torch.device) -> Dataset:
    if device.type == "cpu":
        return ds
    return dataclasses.replace(ds, x=ds.x.to(device), y=None if ds.y is None else ds.y.to(device))


class _BatchSlices(torch.utils.data.Dataset[dict[str, torch.Tensor]]):
    """Batch i of a permutation, for the DataLoader path (datasets too large for the device)."""

    def __init__(self, tensors: Mapping[str, torch.Tensor], perm: torch.Tensor, bs: int, steps: int) -> None:
        self.tensors, self.perm, self.bs, self.steps = tensors, perm, bs, steps

    def __len__(self) -> int:
        return self.steps

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        idx = self.perm[i * self.bs:(i + 1) * self.bs]
        return {k: t.index_select(0, idx) for k, t in self.tensors.items()}


def epoch_batches(tensors: Mapping[str, torch.Tensor], *, seed: int, epoch: int, batch_size: int,
                  steps: int, in_memory: bool, device: torch.device) -> Iterator[dict[str, torch.Tensor]]:
    """The ``steps`` batches of one epoch, on ``device``."""
    bs = batch_size
    perm = torch.randperm(rows(tensors), generator=torch.Generator().manual_seed(epoch_seed(seed, epoch)))
    if in_memory:
        perm = perm.to(device)
        nbytes = sum(t.numel() * t.element_size() for t in tensors.values())
        if nbytes <= SHUFFLE_COPY_LIMIT_BYTES:
            shuffled = {k: t.index_select(0, perm) for k, t in tensors.items()}
            for i in range(steps):
                yield {k: t[i * bs:(i + 1) * bs] for k, t in shuffled.items()}
        else:
            for i in range(steps):
                idx = perm[i * bs:(i + 1) * bs]
                yield {k: t.index_select(0, idx) for k, t in tensors.items()}
        return
    loader = torch.utils.data.DataLoader(
        _BatchSlices(tensors, perm, bs, steps), batch_size=None, shuffle=False, num_workers=0,
        pin_memory=device.type == "cuda")
    for batch in loader:
        yield {k: v.to(device, non_blocking=True) for k, v in batch.items()}


__all__ = ["IN_MEMORY_LIMIT_BYTES", "SHUFFLE_COPY_LIMIT_BYTES", "epoch_batches", "epoch_seed",
           "fits_in_memory", "rows", "steps_per_epoch", "to_device"]
