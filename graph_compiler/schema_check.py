"""The JSON Schema of the file format, for tools outside Netwright and for tests.

Netwright itself never needs it to load a file (document.py checks structure and gives
better messages); the schema is the published contract in machine-readable form. Checking
against it needs the optional `jsonschema` package.
"""
from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

SCHEMA_FILE = "netwright-graph.schema.json"


def schema_path() -> Path:
    """Where the schema file lives in the source tree / installed package."""
    return Path(str(resources.files("graph_compiler") / "schema" / SCHEMA_FILE))


def load_schema() -> dict[str, Any]:
    text = (resources.files("graph_compiler") / "schema" / SCHEMA_FILE).read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def schema_errors(raw: Any) -> list[str]:
    """Every way a parsed document breaks the schema, as 'path: message' lines ([] if none).

    Raises ImportError with a hint when jsonschema is not installed.
    """
    try:
        import jsonschema
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("checking against the schema needs the 'jsonschema' package "
                          "(pip install jsonschema)") from exc
    validator = jsonschema.Draft202012Validator(load_schema())
    errors = sorted(validator.iter_errors(raw), key=lambda e: [str(p) for p in e.absolute_path])
    out = []
    for e in errors:
        where = "/".join(str(p) for p in e.absolute_path) or "(top level)"
        out.append(f"{where}: {e.message}")
    return out


__all__ = ["SCHEMA_FILE", "load_schema", "schema_errors", "schema_path"]
