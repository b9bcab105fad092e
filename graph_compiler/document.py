"""The Netwright file format: plain dataclasses, JSON load/save, version migration.

A document holds one or more networks; each network is a DAG of nodes joined by edges
between numbered ports. Fields this version does not know are kept in ``extra`` and
written back, so a load -> save round trip never loses data written by newer tools or
by hand.
"""
from __future__ import annotations

import copy
import json
import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from graph_compiler.atomic import atomic_write
from graph_compiler.errors import DocumentError

if TYPE_CHECKING:
    import networkx as nx

FORMAT = "netwright-graph"
VERSION = 2
MAX_FILE_BYTES = 64 * 1024 * 1024
MAX_NAME = 1000  # characters in an id or a network name
MAX_PARAM_DEPTH = 8  # nesting of lists / objects inside one param value

_NODE_KEYS = ("id", "type", "params", "pos", "label")
_EDGE_KEYS = ("src", "dst", "src_port", "dst_port")
_NET_KEYS = ("name", "params", "nodes", "edges", "ties")
PARAM_REF = "param"  # {"param": NAME}: a node param value that is a block parameter
_TIE_KEYS = ("node", "param", "to_node", "to_param")
_DOC_KEYS = ("format", "version", "networks", "training", "meta")


@dataclass
class Node:
    id: str
    type: str
    params: dict[str, Any] = field(default_factory=dict)
    pos: tuple[float, float] = (0.0, 0.0)
    label: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Edge:
    src: str
    dst: str
    src_port: int = 0
    dst_port: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, int, str, int]:
        return (self.src, self.src_port, self.dst, self.dst_port)


@dataclass
class Tie:
    """A parameter of one node that is the very tensor of another node's parameter: GPT-2's
    ``lm_head.weight`` is ``wte.weight``. Counted and saved once, shared in the code."""

    node: str
    param: str
    to_node: str
    to_param: str
    extra: dict[str, Any] = field(default_factory=dict)

    def text(self) -> str:
        return f"{self.node}.{self.param} -> {self.to_node}.{self.to_param}"


@dataclass
class Network:
    name: str
    nodes: list[Node] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    ties: list[Tie] = field(default_factory=list)  # shared parameters between nodes
    # Block parameters (name -> default): node params inside may be {"param": name}, and
    # each block node using this network sets them, like a module's constructor arguments.
    params: dict[str, Any] = field(default_factory=dict)

    # Nodes are a list, not a dict keyed by id, so that a file with duplicate ids
    # loads and validation can report every duplicate instead of silently keeping one.
    def node(self, node_id: str) -> Node | None:
        for n in self.nodes:
            if n.id == node_id:
                return n
        return None

    def node_map(self) -> dict[str, Node]:
        return {n.id: n for n in self.nodes}

    def graph(self) -> nx.MultiDiGraph:
        """The network as a networkx multigraph (node id -> Node, one edge per wire)."""
        import networkx as nx  # lazily: analysis does not need it, start-up stays fast

        g = nx.MultiDiGraph(name=self.name)
        for n in self.nodes:
            g.add_node(n.id, node=n)
        for e in self.edges:
            g.add_edge(e.src, e.dst, key=(e.src_port, e.dst_port), edge=e)
        return g

    def in_edges(self, node_id: str) -> list[Edge]:
        return [e for e in self.edges if e.dst == node_id]

    def out_edges(self, node_id: str) -> list[Edge]:
        return [e for e in self.edges if e.src == node_id]

    def unique_id(self, base: str) -> str:
        taken = {n.id for n in self.nodes}
        if base not in taken:
            return base
        stem = base.rstrip("0123456789") or base
        i = 1
        while f"{stem}{i}" in taken:
            i += 1
        return f"{stem}{i}"


@dataclass
class Document:
    networks: list[Network] = field(default_factory=list)
    training: dict[str, Any] | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    source: str | None = None  # where it was loaded from; not saved

    @property
    def main(self) -> Network:
        if not self.networks:
            raise DocumentError("the document has no networks")
        return self.networks[0]

    def network(self, name: str) -> Network | None:
        for net in self.networks:
            if net.name == name:
                return net
        return None

    def network_names(self) -> list[str]:
        return [n.name for n in self.networks]

    def copy(self) -> Document:
        return copy.deepcopy(self)

    @property
    def display_name(self) -> str:
        return Path(self.source).name if self.source else "untitled"


def param_ref(value: Any) -> str | None:
    """The block parameter a node param value refers to ({"param": NAME}), else None.
    No catalog parameter takes an object, so the form is unambiguous."""
    if type(value) is dict and len(value) == 1:
        name = value.get(PARAM_REF)
        if isinstance(name, str):
            return name
    return None


def make_ref(name: str) -> dict[str, str]:
    return {PARAM_REF: name}


def refs_in(value: Any) -> list[str]:
    """The block parameters a node param value refers to: the value itself
    ({"param": NAME}) or elements of a list value ([{"param": "dim"}, 1, 1])."""
    if isinstance(value, list):
        return [r for v in value if (r := param_ref(v)) is not None]
    r = param_ref(value)
    return [] if r is None else [r]


def map_refs(value: Any, replace: Callable[[str], Any]) -> Any:
    """``value`` with each reference in it (itself or a list element) replaced by
    ``replace(name)``; the rest is shared, not copied."""
    if isinstance(value, list) and any(param_ref(v) is not None for v in value):
        return [v if (r := param_ref(v)) is None else replace(r) for v in value]
    r = param_ref(value)
    return value if r is None else replace(r)


# ---------------------------------------------------------------- parsing helpers


def _fail(where: str, message: str) -> DocumentError:
    return DocumentError(f"{where}: {message}" if where else message)


def _expect(value: Any, kind: type | tuple[type, ...], where: str, what: str) -> Any:
    # bool is an int subclass in Python; a flag where a number belongs is a mistake.
    if isinstance(value, bool) and kind in (int, float, (int, float)):
        raise _fail(where, f"expected {what}, got a boolean")
    if not isinstance(value, kind):
        raise _fail(where, f"expected {what}, got {_type_name(value)}")
    return value


def _type_name(value: Any) -> str:
    return {
        dict: "an object",
        list: "a list",
        str: "a string",
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        type(None): "null",
    }.get(type(value), type(value).__name__)


def _extras(obj: dict[str, Any], known: tuple[str, ...]) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if k not in known}


def _short(value: Any, limit: int = 60) -> str:
    """repr() cut short: a message must stay readable whatever the file holds."""
    try:
        text = repr(value)
    except RecursionError:
        text = "<deeply nested value>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _name(value: Any, where: str, what: str) -> str:
    """An id or a name: a non-empty string of reasonable length."""
    text = _expect(value, str, where, "a string")
    if not text:
        raise _fail(where, f"{what} must not be empty")
    if len(text) > MAX_NAME:
        raise _fail(where, f"{what} is {len(text)} characters long; at most {MAX_NAME} are allowed")
    return str(text)


def _check_value(value: Any, where: str, depth: int = 0) -> None:
    """Param values are plain JSON of modest depth (deep nesting would only be an attack
    on the recursion limit of everything that reads them later)."""
    if depth > MAX_PARAM_DEPTH:
        raise _fail(where, f"nested more than {MAX_PARAM_DEPTH} levels deep")
    if isinstance(value, float) and not math.isfinite(value):
        raise _fail(where, "numbers must be finite")
    if isinstance(value, list):
        for v in value:
            _check_value(v, where, depth + 1)
    elif isinstance(value, dict):
        for v in value.values():
            _check_value(v, where, depth + 1)
    elif value is not None and not isinstance(value, (str, int, float, bool)):
        raise _fail(where, f"unsupported value {_type_name(value)}")


def _parse_node(raw: Any, where: str) -> Node:
    _expect(raw, dict, where, "a node object")
    if "id" not in raw:
        raise _fail(where, "node has no 'id'")
    node_id = _name(raw["id"], f"{where}.id", "node id")
    where = f"{where} ({_short(node_id)})"
    if "type" not in raw:
        raise _fail(where, "node has no 'type'")
    node_type = _name(raw["type"], f"{where}.type", "node type")
    params_raw = raw.get("params")
    params = {} if params_raw is None else _expect(params_raw, dict, f"{where}.params", "an object")
    for key, value in params.items():
        _check_value(value, f"{where}.params.{key}")
    pos_raw = raw.get("pos", [0, 0])
    _expect(pos_raw, list, f"{where}.pos", "a list [x, y]")
    if len(pos_raw) != 2:
        raise _fail(f"{where}.pos", f"expected [x, y], got {len(pos_raw)} values")
    pos: list[float] = []
    for v in pos_raw:
        _expect(v, (int, float), f"{where}.pos", "numbers")
        if not math.isfinite(v):
            raise _fail(f"{where}.pos", "coordinates must be finite numbers")
        pos.append(float(v))
    label = raw.get("label", "")
    label = "" if label is None else _expect(label, str, f"{where}.label", "a string")
    if len(label) > 10 * MAX_NAME:
        raise _fail(f"{where}.label", f"label is {len(label)} characters long; at most {10 * MAX_NAME}")
    return Node(node_id, node_type, dict(params), (pos[0], pos[1]), label, _extras(raw, _NODE_KEYS))


def _parse_edge(raw: Any, where: str) -> Edge:
    _expect(raw, dict, where, "an edge object")
    for key in ("src", "dst"):
        if key not in raw:
            raise _fail(where, f"edge has no '{key}'")
        _name(raw[key], f"{where}.{key}", "a node id")
    ports = []
    for key in ("src_port", "dst_port"):
        port = raw.get(key, 0)
        _expect(port, int, f"{where}.{key}", "a port number")
        if port < 0 or port > 1024:
            raise _fail(f"{where}.{key}", f"port {port} is out of range 0..1024")
        ports.append(port)
    return Edge(raw["src"], raw["dst"], ports[0], ports[1], _extras(raw, _EDGE_KEYS))


def _parse_network(raw: Any, where: str) -> Network:
    _expect(raw, dict, where, "a network object")
    if "name" not in raw:
        raise _fail(where, "network has no 'name'")
    name = _name(raw["name"], f"{where}.name", "network name")
    where = f"network {_short(name)}"
    nodes_raw = _expect(raw.get("nodes", []), list, f"{where}.nodes", "a list")
    edges_raw = _expect(raw.get("edges", []), list, f"{where}.edges", "a list")
    nodes = [_parse_node(n, f"{where}.nodes[{i}]") for i, n in enumerate(nodes_raw)]
    edges = [_parse_edge(e, f"{where}.edges[{i}]") for i, e in enumerate(edges_raw)]
    ties_raw = _expect(raw.get("ties", []), list, f"{where}.ties", "a list")
    ties = [_parse_tie(t, f"{where}.ties[{i}]") for i, t in enumerate(ties_raw)]
    params_raw = raw.get("params")
    params = {} if params_raw is None else _expect(params_raw, dict, f"{where}.params", "an object")
    for key, value in params.items():
        _name(key, f"{where}.params", "a block parameter name")
        _check_value(value, f"{where}.params.{key}")
    return Network(name, nodes, edges, _extras(raw, _NET_KEYS), ties, dict(params))


def _parse_tie(raw: Any, where: str) -> Tie:
    _expect(raw, dict, where, "a tie object {node, param, to_node, to_param}")
    for key in _TIE_KEYS:
        if key not in raw:
            raise _fail(where, f"tie has no '{key}'")
    node, param, to_node, to_param = (_name(raw[k], f"{where}.{k}", k) for k in _TIE_KEYS)
    return Tie(node, param, to_node, to_param, _extras(raw, _TIE_KEYS))


# ---------------------------------------------------------------- migrations


def _migrate_0_to_1(raw: dict[str, Any]) -> dict[str, Any]:
    """Version 0 (pre-release) held a single network at the top level."""
    out = {k: v for k, v in raw.items() if k not in ("nodes", "edges", "name")}
    out["networks"] = [
        {"name": raw.get("name", "Model"), "nodes": raw.get("nodes", []), "edges": raw.get("edges", [])}
    ]
    out["version"] = 1
    return out


def _migrate_1_to_2(raw: dict[str, Any]) -> dict[str, Any]:
    """Version 2 added a network's ``ties`` (shared parameters). A version 1 file has none,
    and its networks stay as they are; the bump keeps older Netwright from opening a file
    with ties and silently training two separate weights."""
    return {**raw, "version": 2}


MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {0: _migrate_0_to_1, 1: _migrate_1_to_2}


def from_dict(raw: Any, source: str | None = None) -> Document:
    """Build a Document from parsed JSON, migrating old versions.

    Raises DocumentError, and nothing else, for anything that is not a valid document."""
    try:
        return _from_dict(raw, source)
    except DocumentError:
        raise
    except RecursionError:
        raise DocumentError("the document is nested too deeply") from None
    except Exception as exc:  # noqa: BLE001 - a shape of input no check above foresaw
        raise DocumentError(f"not a valid Netwright document ({type(exc).__name__}: {exc})") from None


def _from_dict(raw: Any, source: str | None) -> Document:
    if not isinstance(raw, dict):
        raise DocumentError(f"the top level must be an object, got {_type_name(raw)}")
    fmt = raw.get("format")
    if fmt != FORMAT:
        raise DocumentError(
            f"not a Netwright graph: 'format' is {_short(fmt)}, expected {FORMAT!r}"
        )
    if "version" not in raw:
        raise DocumentError("missing 'version': a Netwright file says which format version it uses")
    version = raw.get("version")
    if isinstance(version, bool) or not isinstance(version, int):
        raise DocumentError(f"'version' must be an integer, got {_short(version)}")
    if version > VERSION:
        raise DocumentError(
            f"this file is format version {version}, newer than this Netwright "
            f"understands ({VERSION}); please upgrade Netwright"
        )
    if version < 0:
        raise DocumentError(f"'version' {version} is not a valid version")
    while version < VERSION:
        raw = MIGRATIONS[version](raw)
        version = raw["version"]
        if not isinstance(raw, dict):
            raise DocumentError(f"cannot migrate this version {version} file")
    nets_raw = raw.get("networks")
    if nets_raw is None:
        raise DocumentError("missing 'networks': a document needs at least one network")
    _expect(nets_raw, list, "networks", "a list of networks")
    if not nets_raw:
        raise DocumentError("'networks' is empty: a document needs at least one network")
    networks = [_parse_network(n, f"networks[{i}]") for i, n in enumerate(nets_raw)]
    training = raw.get("training")
    if training is not None:
        _expect(training, dict, "training", "an object")
    meta = _expect(raw.get("meta", {}), dict, "meta", "an object")
    return Document(networks, training, meta, _extras(raw, _DOC_KEYS), source)


def loads(text: str | bytes, source: str | None = None) -> Document:
    """Parse a document from JSON text. Raises DocumentError for anything malformed."""
    prefix = f"{source}: " if source else ""
    if isinstance(text, (bytearray, memoryview)):
        text = bytes(text)
    if isinstance(text, bytes):
        if len(text) > MAX_FILE_BYTES:
            raise DocumentError(f"{prefix}file is larger than {MAX_FILE_BYTES >> 20} MiB")
        if b"\x00" in text[:4096]:
            raise DocumentError(f"{prefix}not a text file (it contains NUL bytes; "
                                "Netwright files are UTF-8 JSON)")
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise DocumentError(
                f"{prefix}not a text file (invalid UTF-8 at byte {exc.start})"
            ) from None
    if not isinstance(text, str):
        raise DocumentError(f"{prefix}expected JSON text, got {_type_name(text)}")
    if len(text) > MAX_FILE_BYTES:
        raise DocumentError(f"{prefix}file is larger than {MAX_FILE_BYTES >> 20} MiB")
    text = text.removeprefix("\ufeff")
    if not text.strip():
        raise DocumentError(f"{prefix}the file is empty")
    try:
        raw = json.loads(text, parse_constant=_reject_constant, parse_float=_parse_float,
                         object_pairs_hook=_no_duplicate_keys)
    except json.JSONDecodeError as exc:
        raise DocumentError(
            f"{prefix}invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from None
    except RecursionError:
        raise DocumentError(f"{prefix}JSON is nested too deeply") from None
    except ValueError as exc:
        raise DocumentError(f"{prefix}invalid JSON: {exc}") from None
    try:
        return from_dict(raw, source)
    except DocumentError as exc:
        raise DocumentError(f"{prefix}{exc}") from None
    except RecursionError:
        raise DocumentError(f"{prefix}the document is nested too deeply") from None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed in a Netwright file")


def _parse_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {text[:40]} is too large")
    return value


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"the key {key[:80]!r} appears twice in one object")
        out[key] = value
    return out


def load(path: str | os.PathLike[str]) -> Document:
    p = Path(path)
    try:
        size = p.stat().st_size
        if size > MAX_FILE_BYTES:
            raise DocumentError(f"{p}: file is larger than {MAX_FILE_BYTES >> 20} MiB")
        data = p.read_bytes()
    except FileNotFoundError:
        raise DocumentError(f"{p}: no such file") from None
    except IsADirectoryError:
        raise DocumentError(f"{p}: is a directory, not a file") from None
    except PermissionError:
        raise DocumentError(f"{p}: permission denied") from None
    except OSError as exc:
        raise DocumentError(f"{p}: cannot read ({exc.strerror or exc})") from None
    except ValueError as exc:  # e.g. a NUL character in the path
        raise DocumentError(f"{p!r}: not a valid path ({exc})") from None
    return loads(data, source=str(p))


# ---------------------------------------------------------------- writing


def _num(v: float) -> float | int:
    return int(v) if float(v).is_integer() else v


def node_to_dict(n: Node) -> dict[str, Any]:
    d: dict[str, Any] = {"id": n.id, "type": n.type, "params": n.params,
                         "pos": [_num(n.pos[0]), _num(n.pos[1])]}
    if n.label:
        d["label"] = n.label
    d.update(n.extra)
    return d


def edge_to_dict(e: Edge) -> dict[str, Any]:
    d: dict[str, Any] = {"src": e.src, "dst": e.dst}
    if e.src_port:
        d["src_port"] = e.src_port
    if e.dst_port:
        d["dst_port"] = e.dst_port
    d.update(e.extra)
    return d


def tie_to_dict(t: Tie) -> dict[str, Any]:
    d: dict[str, Any] = {"node": t.node, "param": t.param, "to_node": t.to_node, "to_param": t.to_param}
    d.update(t.extra)
    return d


def network_to_dict(net: Network) -> dict[str, Any]:
    d: dict[str, Any] = {"name": net.name}
    if net.params:
        d["params"] = net.params
    d["nodes"] = [node_to_dict(n) for n in net.nodes]
    d["edges"] = [edge_to_dict(e) for e in net.edges]
    if net.ties:
        d["ties"] = [tie_to_dict(t) for t in net.ties]
    d.update(net.extra)
    return d


def to_dict(doc: Document) -> dict[str, Any]:
    d: dict[str, Any] = {"format": FORMAT, "version": VERSION,
                         "networks": [network_to_dict(n) for n in doc.networks]}
    if doc.training is not None:
        d["training"] = doc.training
    d["meta"] = doc.meta
    d.update(doc.extra)
    return d


def dumps(doc: Document) -> str:
    try:
        return json.dumps(to_dict(doc), indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    except (TypeError, ValueError) as exc:
        raise DocumentError(f"cannot save: the document holds a value JSON cannot store ({exc})") from None


def save(doc: Document, path: str | os.PathLike[str]) -> None:
    """Write the document atomically; DocumentError (naming the path) if that fails."""
    data = dumps(doc).encode("utf-8")
    try:
        atomic_write(path, data)
    except OSError as exc:
        raise DocumentError(f"{path}: cannot save ({exc.strerror or exc})") from None
    doc.source = str(path)
