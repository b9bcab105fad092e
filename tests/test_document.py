"""The file format: round trips keep everything, saving is atomic, old versions migrate,
and every kind of bad input gives a DocumentError with a clear message, never another
exception."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from graph_compiler import document
from graph_compiler.document import (
    FORMAT,
    VERSION,
    Document,
    Network,
    Node,
    dumps,
    from_dict,
    load,
    loads,
    save,
    to_dict,
)
from graph_compiler.errors import DocumentError, NetwrightError

GOLDEN = Path(__file__).parent / "golden"


def minimal(**extra: Any) -> dict[str, Any]:
    return {"format": FORMAT, "version": VERSION,
            "networks": [{"name": "Net", "nodes": [{"id": "x", "type": "Input", "params": {"shape": [2]}},
                                                   {"id": "out", "type": "Output"}],
                          "edges": [{"src": "x", "dst": "out"}]}], **extra}


def text(raw: Any) -> str:
    return json.dumps(raw)


# ---------------------------------------------------------------- round trips


@pytest.mark.parametrize("path", sorted(GOLDEN.glob("*.json")), ids=lambda p: p.stem)
def test_round_trip(path: Path) -> None:
    doc = load(path)
    assert doc.source == str(path) and doc.display_name == path.name
    again = loads(dumps(doc))
    assert to_dict(again) == to_dict(doc)
    assert json.loads(dumps(doc)) == json.loads(path.read_text())


def test_unknown_fields_survive_a_round_trip() -> None:
    raw = minimal(future={"x": 1})
    raw["networks"][0]["color"] = "red"
    raw["networks"][0]["nodes"][0]["note"] = [1, 2]
    raw["networks"][0]["edges"][0]["style"] = "dashed"
    doc = loads(text(raw))
    out = json.loads(dumps(doc))
    assert out["future"] == {"x": 1} and out["networks"][0]["color"] == "red"
    assert out["networks"][0]["nodes"][0]["note"] == [1, 2]
    assert out["networks"][0]["edges"][0]["style"] == "dashed"


def test_save_is_atomic_and_reports_failures(tmp_path: Path) -> None:
    doc = loads(text(minimal()))
    path = tmp_path / "g.json"
    save(doc, path)
    assert doc.source == str(path) and load(path).networks[0].name == "Net"
    assert [p.name for p in tmp_path.iterdir()] == ["g.json"]  # no temp file left behind
    with pytest.raises(DocumentError, match="cannot save"):
        save(doc, tmp_path / "missing" / "g.json")
    doc.networks[0].nodes[0].params["bad"] = float("nan")
    with pytest.raises(DocumentError, match="cannot save"):
        dumps(doc)


def test_version_0_migrates() -> None:
    raw = {"format": FORMAT, "version": 0, "name": "Old",
           "nodes": [{"id": "x", "type": "Input", "params": {"shape": [2]}}], "edges": []}
    doc = loads(text(raw))
    assert doc.networks[0].name == "Old" and json.loads(dumps(doc))["version"] == VERSION


def test_networkx_view_is_available_but_lazy() -> None:
    doc = load(GOLDEN / "residual.json")
    g = doc.main.graph()
    assert g.number_of_nodes() == len(doc.main.nodes) and g.number_of_edges() == len(doc.main.edges)


def test_model_helpers() -> None:
    net = Network("N", [Node("a", "ReLU"), Node("a1", "ReLU")])
    assert net.unique_id("a") == "a2" and net.unique_id("b") == "b"
    assert net.node("a1") is net.nodes[1] and net.node("zz") is None
    with pytest.raises(DocumentError):
        _ = Document([]).main


# ---------------------------------------------------------------- bad input


BAD: list[tuple[Any, str]] = [
    (b"", "the file is empty"),
    ("   \n", "the file is empty"),
    ("{", "invalid JSON at line 1, column 2"),
    ("{'format': 1}", "invalid JSON"),
    ("[1, 2]", "the top level must be an object, got a list"),
    ('"text"', "the top level must be an object, got a string"),
    ("null", "the top level must be an object, got null"),
    (text({"version": 1}), "not a Netwright graph: 'format' is None"),
    (text({"format": "other", "version": 1}), "'format' is 'other', expected 'netwright-graph'"),
    (text({"format": FORMAT}), "missing 'version'"),
    (text({"format": FORMAT, "version": "1"}), "'version' must be an integer, got '1'"),
    (text({"format": FORMAT, "version": True}), "'version' must be an integer"),
    (text({"format": FORMAT, "version": 1.5}), "'version' must be an integer"),
    (text({"format": FORMAT, "version": 99, "networks": []}), "format version 99, newer than this Netwright"),
    (text({"format": FORMAT, "version": -1}), "'version' -1 is not a valid version"),
    (text({"format": FORMAT, "version": 1}), "missing 'networks'"),
    (text({"format": FORMAT, "version": 1, "networks": []}), "'networks' is empty"),
    (text({"format": FORMAT, "version": 1, "networks": {}}), "networks: expected a list of networks, got an object"),
    (text({"format": FORMAT, "version": 1, "networks": [3]}), "networks[0]: expected a network object, got an integer"),
    (text({"format": FORMAT, "version": 1, "networks": [{}]}), "network has no 'name'"),
    (text({"format": FORMAT, "version": 1, "networks": [{"name": ""}]}), "network name must not be empty"),
    (text({"format": FORMAT, "version": 1, "networks": [{"name": 7}]}), "networks[0].name: expected a string, got an integer"),
    (text({"format": FORMAT, "version": 1, "networks": [{"name": "N", "nodes": "x"}]}), "nodes: expected a list"),
    (text({"format": FORMAT, "version": 1, "networks": [{"name": "N", "nodes": [{"type": "ReLU"}]}]}), "node has no 'id'"),
    (text({"format": FORMAT, "version": 1, "networks": [{"name": "N", "nodes": [{"id": "a"}]}]}), "node has no 'type'"),
    (text({"format": FORMAT, "version": 1, "networks": [{"name": "N", "nodes": [{"id": 1, "type": "ReLU"}]}]}),
     ".id: expected a string, got an integer"),
    (text({"format": FORMAT, "version": 1, "networks": [{"name": "N", "nodes": [{"id": "a", "type": "ReLU", "params": [1]}]}]}),
     ".params: expected an object, got a list"),
    (text({"format": FORMAT, "version": 1, "networks": [{"name": "N", "nodes": [{"id": "a", "type": "ReLU", "pos": [1]}]}]}),
     "expected [x, y], got 1 values"),
    (text({"format": FORMAT, "version": 1, "networks": [{"name": "N", "nodes": [{"id": "a", "type": "ReLU", "pos": ["a", 1]}]}]}),
     "pos: expected numbers, got a string"),
    (text({"format": FORMAT, "version": 1, "networks": [{"name": "N", "nodes": [{"id": "a", "type": "ReLU", "label": 5}]}]}),
     "label: expected a string, got an integer"),
    (text({"format": FORMAT, "version": 1, "networks": [{"name": "N", "nodes": [{"id": "x" * 5000, "type": "ReLU"}]}]}),
     "at most 1000 are allowed"),
    (text({"format": FORMAT, "version": 1, "networks": [{"name": "N", "edges": [{"src": "a"}]}]}), "edge has no 'dst'"),
    (text({"format": FORMAT, "version": 1, "networks": [{"name": "N", "edges": [{"src": "a", "dst": "b", "src_port": -1}]}]}),
     "port -1 is out of range 0..1024"),
    (text({"format": FORMAT, "version": 1, "networks": [{"name": "N", "edges": [{"src": "a", "dst": "b", "dst_port": 10**9}]}]}),
     "is out of range 0..1024"),
    (text({"format": FORMAT, "version": 1, "networks": [{"name": "N", "edges": [{"src": "a", "dst": "b", "dst_port": True}]}]}),
     "expected a port number, got a boolean"),
    (text({"format": FORMAT, "version": 1, "networks": [{"name": "N"}], "training": 3}), "training: expected an object"),
    (text({"format": FORMAT, "version": 1, "networks": [{"name": "N"}], "meta": []}), "meta: expected an object"),
    (text(minimal()).replace('"shape": [2]', '"shape": NaN'), "NaN is not allowed"),
    ('{"a": 1e999}', "the number 1e999 is too large"),
    ('{"a": ' + "9" * 5000 + "}", "invalid JSON"),
    ('{"format": "netwright-graph", "format": "netwright-graph"}', "appears twice"),
    ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    (text(minimal() | {"networks": [{"name": "N", "nodes": [{"id": "a", "type": "ReLU",
                                                             "params": {"p": [[[[[[[[[[1]]]]]]]]]]}}]}]}),
     "nested more than 8 levels deep"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not a text file"),
    (b"\xff\xfe{\x00}\x00", "not a text file"),
    (b"{\"a\": \"\xc3\x28\"}", "invalid UTF-8 at byte 7"),
    (bytes(range(256)), "not a text file"),
    (12, "expected JSON text, got an integer"),
    (None, "expected JSON text, got null"),
]


@pytest.mark.parametrize("data,needle", BAD, ids=[f"bad{i}" for i in range(len(BAD))])
def test_bad_input_gives_a_clear_document_error(data: Any, needle: str) -> None:
    with pytest.raises(DocumentError) as exc:
        loads(data, source="g.json")
    assert needle in str(exc.value)
    assert str(exc.value).startswith("g.json: ")
    assert len(str(exc.value)) < 400


def test_unreadable_paths(tmp_path: Path) -> None:
    with pytest.raises(DocumentError, match="no such file"):
        load(tmp_path / "nope.json")
    with pytest.raises(DocumentError, match="is a directory"):
        load(tmp_path)
    with pytest.raises(DocumentError, match="not a valid path"):
        load("bad\x00name.json")
    big = tmp_path / "big.json"
    with open(big, "wb") as f:
        f.truncate(document.MAX_FILE_BYTES + 1)
    with pytest.raises(DocumentError, match="larger than 64 MiB"):
        load(big)


# ---------------------------------------------------------------- fuzzing

json_leaf = st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70),
                      st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=12))
json_value = st.recursive(json_leaf, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)), max_leaves=20)
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(st.binary(max_size=300))
def test_random_bytes_only_raise_document_error(data: bytes) -> None:
    try:
        loads(data)
    except DocumentError:
        pass


@FUZZ
@given(json_value)
def test_random_json_only_raises_document_error(value: Any) -> None:
    try:
        loads(json.dumps(value))
    except DocumentError:
        pass


def _paths(raw: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(raw, dict):
        for k, v in raw.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(raw, list):
        for i, v in enumerate(raw):
            out += _paths(v, (*prefix, i))
    return out


@FUZZ
@given(st.data())
def test_mutated_documents_only_raise_document_error(data: st.DataObject) -> None:
    """Replace or delete any part of a real document with random JSON: loading either
    works or raises DocumentError, and a loaded document analyses without exceptions."""
    from graph_compiler.analysis import Analyzer

    raw = json.loads((GOLDEN / data.draw(st.sampled_from(["mlp", "residual", "lstm"])) ).with_suffix(".json").read_text())
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(_paths(raw)[1:]))
        parent = raw
        for key in path[:-1]:
            parent = parent[key]
        if data.draw(st.booleans()):
            parent[path[-1]] = data.draw(json_value)
        elif isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent.pop(path[-1])
    try:
        doc = from_dict(raw)
    except DocumentError:
        return
    try:
        Analyzer().analyze(doc)
    except NetwrightError:
        pass


def test_error_messages_name_the_place() -> None:
    raw = minimal()
    raw["networks"][0]["nodes"][1]["pos"] = [0, "left"]
    with pytest.raises(DocumentError) as exc:
        from_dict(raw)
    assert str(exc.value) == "network 'Net'.nodes[1] ('out').pos: expected numbers, got a string"
