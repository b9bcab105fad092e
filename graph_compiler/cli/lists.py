"""Comma-separated options (`--input-shape 1,28,28`, `--samples 0,1,2`, `--eps 0,0.1`).

Every entry must parse: an empty or unreadable one is refused with a message naming it,
never dropped, since dropping `x` from `1,x,28` silently imports a model on [1, 28].
"""
from __future__ import annotations

import math

from graph_compiler.errors import NetwrightError


def _entries(text: str, flag: str, example: str, sep: str = ",") -> list[str]:
    parts = [p.strip() for p in text.split(sep)]
    if not text.strip():
        raise NetwrightError(f"{flag}: empty; expected a comma-separated list, e.g. {example}")
    for i, part in enumerate(parts, 1):
        if not part:
            raise NetwrightError(f"{flag} {text!r}: entry {i} is empty; expected e.g. {example}")
    return parts


def int_list(text: str, flag: str, minimum: int, example: str = "1,28,28", sep: str = ",") -> list[int]:
    """Integers >= ``minimum``; the first entry that is not one is named."""
    out = []
    for i, part in enumerate(_entries(text, flag, example, sep), 1):
        try:
            value = int(part)
        except ValueError:
            raise NetwrightError(f"{flag} {text!r}: entry {i} {part!r} is not an integer; "
                                 f"expected e.g. {example}") from None
        if value < minimum:
            what = "positive" if minimum == 1 else f">= {minimum}"
            raise NetwrightError(f"{flag} {text!r}: entry {i} ({value}) must be {what}")
        out.append(value)
    return out


def float_list(text: str, flag: str, example: str) -> list[float]:
    """Finite numbers; the first entry that is not one is named."""
    out = []
    for i, part in enumerate(_entries(text, flag, example), 1):
        try:
            value = float(part)
        except ValueError:
            value = math.nan
        if not math.isfinite(value):
            raise NetwrightError(f"{flag} {text!r}: entry {i} {part!r} is not a finite number; "
                                 f"expected e.g. {example}")
        out.append(value)
    return out


def shape(text: str, flag: str) -> tuple[int, ...]:
    """A sample's shape: positive sizes separated by commas (``1,28,28``) or, with no
    comma at all, by ``x`` (``1x28x28``)."""
    sep = "x" if "," not in text and "x" in text else ","
    return tuple(int_list(text, flag, minimum=1, sep=sep))
