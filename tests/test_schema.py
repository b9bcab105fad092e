"""The JSON Schema of the file format accepts every example and rejects broken documents,
and agrees with document.py's loader on both."""
from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import tomllib

from graph_compiler.document import from_dict
from graph_compiler.errors import DocumentError
from graph_compiler.examples import list_examples
from graph_compiler.schema_check import load_schema, schema_errors, schema_path

jsonschema = pytest.importorskip("jsonschema")

ROOT = Path(__file__).resolve().parent.parent

MINIMAL = {
    "format": "netwright-graph",
    "version": 1,
    "networks": [{
        "name": "Model",
        "nodes": [
            {"id": "x", "type": "Input", "params": {"shape": [4]}, "pos": [0, 0]},
            {"id": "fc", "type": "Linear", "params": {"out_features": 2}, "pos": [180, 0]},
            {"id": "y", "type": "Output", "pos": [360, 0]},
        ],
        "edges": [{"src": "x", "dst": "fc"}, {"src": "fc", "dst": "y", "src_port": 0, "dst_port": 0}],
    }],
}


def _with(path: str, value: object) -> dict:
    """MINIMAL with the value at a slash-separated path replaced (value DELETE removes it)."""
    doc = copy.deepcopy(MINIMAL)
    *parents, last = path.split("/")
    target = doc
    for key in parents:
        target = target[int(key)] if isinstance(target, list) else target[key]
    key = int(last) if isinstance(target, list) else last
    if value is DELETE:
        del target[key]
    else:
        target[key] = value
    return doc


DELETE = object()


def test_schema_is_valid_draft_2020_12() -> None:
    schema = load_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)


def test_schema_ships_as_package_data() -> None:
    path = schema_path()
    assert path.is_file() and path.parent.name == "schema" and path.parent.parent.name == "graph_compiler"
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "schema/*.json" in pyproject["tool"]["setuptools"]["package-data"]["graph_compiler"]


@pytest.mark.parametrize("example", list_examples(), ids=lambda e: e.name)
def test_schema_accepts_every_example(example) -> None:
    assert schema_errors(json.loads(example.path.read_text(encoding="utf-8"))) == []


GOOD = {
    "minimal": MINIMAL,
    "no edges or nodes lists": _with("networks/0", {"name": "Empty"}),
    "training null": _with("training", None),
    "training object": _with("training", {
        "recipe": "gan", "dataset": {"name": "moons", "n": 10}, "epochs": 3, "batch_size": 8,
        "optimizer": "sgd", "lr": 0.1, "options": {"latent_dim": 4}}),
    "meta with extra keys": _with("meta", {"title": "t", "description": "d", "author": "me"}),
    "unknown top-level field": _with("x_future", {"anything": [1, 2]}),
    "unknown network field": _with("networks/0/collapsed", True),
    "unknown node field": _with("networks/0/nodes/0/color", "#ff0000"),
    "unknown edge field": _with("networks/0/edges/0/waypoints", [[1, 2]]),
    "label null": _with("networks/0/nodes/1/label", None),
    "label text": _with("networks/0/nodes/1/label", "classifier"),
    "pos floats": _with("networks/0/nodes/0/pos", [-12.5, 3.25]),
    "no pos or params": _with("networks/0/nodes/2", {"id": "y", "type": "Output"}),
    "params null": _with("networks/0/nodes/2/params", None),
    "long id": _with("networks/0/nodes/2/id", "y" * 1000),
    "block node type": _with("networks/0/nodes/1/type", "SomeOtherNetwork"),
}


@pytest.mark.parametrize("doc", list(GOOD.values()), ids=list(GOOD))
def test_schema_and_loader_accept_well_formed_documents(doc: dict) -> None:
    assert schema_errors(doc) == []
    from_dict(doc)


BAD = {
    "top level a list": [MINIMAL],
    "no format": _with("format", DELETE),
    "wrong format": _with("format", "netwright"),
    "no version": _with("version", DELETE),
    "version a string": _with("version", "1"),
    "version a boolean": _with("version", True),
    "version from the future": _with("version", 3),
    "no networks": _with("networks", DELETE),
    "networks empty": _with("networks", []),
    "networks an object": _with("networks", {"Model": MINIMAL["networks"][0]}),
    "network not an object": _with("networks/0", "Model"),
    "network without name": _with("networks/0/name", DELETE),
    "network name empty": _with("networks/0/name", ""),
    "network name a number": _with("networks/0/name", 7),
    "nodes an object": _with("networks/0/nodes", {"x": {"type": "Input"}}),
    "edges null": _with("networks/0/edges", None),
    "node not an object": _with("networks/0/nodes/0", "x"),
    "node without id": _with("networks/0/nodes/0/id", DELETE),
    "node id empty": _with("networks/0/nodes/0/id", ""),
    "node id a number": _with("networks/0/nodes/0/id", 3),
    "node without type": _with("networks/0/nodes/0/type", DELETE),
    "node type null": _with("networks/0/nodes/0/type", None),
    "node type empty": _with("networks/0/nodes/0/type", ""),
    "node id too long": _with("networks/0/nodes/0/id", "x" * 1001),
    "network name too long": _with("networks/0/name", "M" * 1001),
    "params a list": _with("networks/0/nodes/0/params", [4]),
    "pos three numbers": _with("networks/0/nodes/0/pos", [0, 0, 0]),
    "pos one number": _with("networks/0/nodes/0/pos", [0]),
    "pos strings": _with("networks/0/nodes/0/pos", ["0", "0"]),
    "pos an object": _with("networks/0/nodes/0/pos", {"x": 0, "y": 0}),
    "label a number": _with("networks/0/nodes/0/label", 5),
    "edge without src": _with("networks/0/edges/0/src", DELETE),
    "edge without dst": _with("networks/0/edges/0/dst", DELETE),
    "edge dst a number": _with("networks/0/edges/0/dst", 1),
    "edge src empty": _with("networks/0/edges/0/src", ""),
    "negative port": _with("networks/0/edges/0/src_port", -1),
    "port too large": _with("networks/0/edges/0/dst_port", 1025),
    "port a string": _with("networks/0/edges/0/dst_port", "0"),
    "port a boolean": _with("networks/0/edges/0/src_port", True),
    "port a fraction": _with("networks/0/edges/0/src_port", 0.5),
    "meta null": _with("meta", None),
    "meta a string": _with("meta", "about"),
    "training a list": _with("training", ["classification"]),
}


@pytest.mark.parametrize("doc", list(BAD.values()), ids=list(BAD))
def test_schema_and_loader_reject_broken_documents(doc: object) -> None:
    assert schema_errors(doc), "the schema accepted a broken document"
    with pytest.raises(DocumentError):
        from_dict(doc)


BAD_TRAINING = {
    "epochs zero": {"epochs": 0},
    "epochs a string": {"epochs": "10"},
    "batch size a float": {"batch_size": 3.5},
    "recipe a number": {"recipe": 1},
    "dataset a number": {"dataset": 5},
    "dataset empty object": {"dataset": {}},
    "learning rate zero": {"lr": 0},
    "learning rate a string": {"lr": "1e-3"},
    "optimizer an object": {"optimizer": {"name": "adam", "lr": 0.001}},
    "options a list": {"options": ["latent_dim", 8]},
    "val_split one": {"val_split": 1},
}


@pytest.mark.parametrize("training", list(BAD_TRAINING.values()), ids=list(BAD_TRAINING))
def test_schema_checks_the_types_of_known_training_keys(training: dict) -> None:
    assert schema_errors(_with("training", training))


def test_schema_errors_name_the_place() -> None:
    errors = schema_errors(_with("networks/0/nodes/1/pos", [0]))
    assert errors and errors[0].startswith("networks/0/nodes/1/pos:")


# ---------------------------------------------------------------- docs/file-format.md


def _docs_example() -> str:
    import re

    text = (ROOT / "docs" / "file-format.md").read_text(encoding="utf-8")
    return re.search(r"```json\n(.*?)```", text, re.DOTALL).group(1)


def test_the_file_format_docs_example_is_valid() -> None:
    from graph_compiler.analysis import analyze
    from graph_compiler.document import loads

    text = _docs_example()
    assert schema_errors(json.loads(text)) == []
    doc = loads(text)
    analysis = analyze(doc)
    assert analysis.diagnostics == []
    info = analysis.networks["MoonsMLP"]
    assert info.total_params == 166  # the number the docs quote
    assert analysis.node("MoonsMLP", "join").output_shape == (1, 34)


def test_saving_normalises_as_the_docs_say() -> None:
    from graph_compiler.document import dumps, loads, to_dict

    raw = copy.deepcopy(MINIMAL)
    raw["training"] = None
    raw["x_tool"] = {"kept": True}
    node = raw["networks"][0]["nodes"][1]
    node.update(pos=[180.0, 0.5], label=None, x_note="kept")
    raw["networks"][0]["nodes"][2] = {"type": "Output", "id": "y"}
    saved = to_dict(loads(json.dumps(raw)))
    assert list(saved) == ["format", "version", "networks", "meta", "x_tool"]
    assert saved["meta"] == {} and saved["x_tool"] == {"kept": True}
    fc = saved["networks"][0]["nodes"][1]
    assert fc["pos"] == [180, 0.5] and "label" not in fc and fc["x_note"] == "kept"
    assert saved["networks"][0]["nodes"][2] == {"id": "y", "type": "Output", "params": {}, "pos": [0, 0]}
    assert saved["networks"][0]["edges"][1] == {"src": "fc", "dst": "y"}
    once = dumps(loads(json.dumps(raw)))
    assert dumps(loads(once)) == once
