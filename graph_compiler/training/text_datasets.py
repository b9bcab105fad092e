"""The built-in character-level text dataset, and encode / decode for its vocabulary."""
from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any

import numpy as np
import torch

from graph_compiler.training.datasets import Dataset, DatasetError, int_option, register_builtin

# ---------------------------------------------------------------------------------------
# Character-level language modelling on text every Python install carries.


@functools.lru_cache(maxsize=4)
def corpus_text(max_chars: int = 300_000) -> str:
    """The stdlib's pydoc topic help joined in key order, printable ASCII and newlines only."""
    try:
        from pydoc_data.topics import topics
    except ImportError as exc:  # some distributions strip pydoc_data
        raise DatasetError(
            "dataset 'chars' needs the standard library's pydoc_data module, which is missing"
        ) from exc
    text = "\n\n".join(topics[key] for key in sorted(topics))
    return "".join(c for c in text if c == "\n" or " " <= c <= "~")[:max_chars]


def encode(text: str, vocab: str) -> list[int]:
    """Token ids of `text`; a character outside `vocab` raises a DatasetError naming it."""
    index = {char: i for i, char in enumerate(vocab)}
    try:
        return [index[char] for char in text]
    except KeyError as exc:
        position = next(i for i, char in enumerate(text) if char not in index)
        raise DatasetError(
            f"character {exc.args[0]!r} at position {position} is not in the vocabulary"
        ) from None


def decode(ids: Iterable[int] | torch.Tensor, vocab: str) -> str:
    values = ids.reshape(-1).tolist() if isinstance(ids, torch.Tensor) else list(ids)
    for value in values:
        if not 0 <= int(value) < len(vocab):
            raise DatasetError(
                f"token id {value} is outside the vocabulary of {len(vocab)} characters"
            )
    return "".join(vocab[int(value)] for value in values)


@register_builtin(
    "chars",
    "language_model",
    "Character windows of Python's own help text; y = next characters",
    (64,),
)
def _chars(n: int | None, seed: int, block_size: int = 64, max_chars: int = 300_000) -> Dataset:
    block_size = int_option("chars", "block_size", block_size, minimum=1, maximum=65536)
    max_chars = int_option("chars", "max_chars", max_chars, minimum=2)
    text = corpus_text(max_chars)
    if len(text) <= block_size:
        raise DatasetError(
            f"dataset 'chars': corpus has {len(text)} characters, too few for block_size {block_size}"
        )
    vocab = "".join(sorted(set(text)))
    lookup = np.zeros(128, dtype=np.int64)
    lookup[[ord(c) for c in vocab]] = np.arange(len(vocab))
    ids = lookup[np.frombuffer(text.encode("ascii"), dtype=np.uint8)]
    return char_windows("chars", ids, vocab, block_size, n or 2000, seed, corpus_chars=len(text))


def char_windows(name: str, ids: np.ndarray, vocab: str, block_size: int, n: int, seed: int,
                 **meta: Any) -> Dataset:
    """``n`` random windows of ``block_size`` character ids, each with the next character
    as its target (a character language model's samples)."""
    starts = np.random.default_rng(seed).integers(0, len(ids) - block_size, size=n)
    window = starts[:, None] + np.arange(block_size)[None, :]
    return Dataset(
        name=name,
        x=torch.from_numpy(ids[window]),
        y=torch.from_numpy(ids[window + 1]),
        task="language_model",
        meta={"vocab": vocab, "vocab_size": len(vocab), "block_size": block_size, **meta},
    )
