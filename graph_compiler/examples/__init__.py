"""The example graphs shipped inside this package (graph_compiler/examples/*.json): listing
and loading by name.

The start page's gallery and the tests read them through here,
so the app never needs to know where the files live.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from graph_compiler.document import Document, load
from graph_compiler.errors import DocumentError

# The JSON files are package data next to this module, so a wheel install finds them too.
_HERE = Path(__file__).resolve().parent

# Gallery order, simplest first; examples not listed here follow, sorted by name.
GALLERY_ORDER = (
    "mlp_digits", "cnn_digits", "mobilenet_digits", "resnet_small", "lstm_sequence",
    "transformer_chars", "autoencoder_digits", "vae_digits", "gan_2d", "diffusion_2d",
    # Real size: they download their dataset on first use.
    "cnn_mnist", "resnet_cifar10", "char_transformer_shakespeare",
)


@dataclass(frozen=True)
class ExampleInfo:
    name: str  # file stem, e.g. "cnn_digits"
    path: Path
    title: str  # meta.title, or the name when the file has none
    description: str  # meta.description, or ""


def examples_dir() -> Path:
    """The folder that holds the bundled example files (this package's own folder)."""
    return _HERE


def _paths() -> list[Path]:
    folder = examples_dir()
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob("*.json") if p.is_file())


def _info(path: Path) -> ExampleInfo:
    # Only meta is needed for the gallery: read it without building the whole document,
    # and never let one damaged file hide the others.
    title, description = path.stem, ""
    try:
        raw = json.loads(path.read_text(encoding="utf-8-sig"))
        meta = raw.get("meta") if isinstance(raw, dict) else None
    except (OSError, ValueError):
        meta = None
    if isinstance(meta, dict):
        if isinstance(meta.get("title"), str) and meta["title"].strip():
            title = meta["title"].strip()
        if isinstance(meta.get("description"), str):
            description = meta["description"].strip()
    return ExampleInfo(path.stem, path, title, description)


def list_examples() -> list[ExampleInfo]:
    """Every example, in gallery order (simplest first)."""
    rank = {name: i for i, name in enumerate(GALLERY_ORDER)}
    paths = sorted(_paths(), key=lambda p: (rank.get(p.stem, len(rank)), p.stem))
    return [_info(p) for p in paths]


def example_names() -> list[str]:
    return [p.stem for p in _paths()]


def example_path(name: str) -> Path:
    """The file of example `name` ("cnn_digits" or "cnn_digits.json"); a DocumentError
    listing the valid names if there is none."""
    if isinstance(name, str) and name.endswith(".json"):
        name = name[: -len(".json")]
    for path in _paths():
        if path.stem == name:
            return path
    names = example_names()
    listed = ", ".join(names) if names else f"none found in {examples_dir()}"
    raise DocumentError(f"unknown example {name!r}; examples are: {listed}")


def load_example(name: str) -> Document:
    """Load an example by name (the file stem, e.g. "cnn_digits")."""
    return load(example_path(name))


__all__ = [
    "GALLERY_ORDER", "ExampleInfo", "example_names", "example_path", "examples_dir",
    "list_examples", "load_example",
]
