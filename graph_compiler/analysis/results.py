"""What analysis reports: diagnostics, tensor types, per-node and per-network results."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from graph_compiler.catalog import Shape, fmt_shape

ERROR = "error"
WARNING = "warning"

# Sanity limits: beyond these a size is a typo, and building the module would exhaust
# memory (or take minutes) instead of failing with a message.
MAX_VALUES = 1 << 31  # values in one sample of one tensor
MAX_NODE_PARAMS = 1 << 32  # parameters of one node (16 GiB as float32)
_MAX_CYCLE_REPORTS = 20


def one_line(text: str) -> str:
    """Names are user text: a line break (or other control character) in one would split a
    `FILE:network/node: message` line in two, so those are written as escapes."""
    return "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text)


@dataclass(frozen=True)
class Diagnostic:
    severity: str  # ERROR or WARNING
    network: str
    node: str | None
    message: str
    param: str | None = None

    def format(self, file: str | None = None) -> str:
        where = self.network + (f"/{self.node}" if self.node else "")
        prefix = f"{file}:" if file else ""
        tag = "" if self.severity == ERROR else "warning: "
        return one_line(f"{prefix}{where}: {tag}{self.message}")

    def __str__(self) -> str:
        return self.format()

    def to_dict(self) -> dict[str, Any]:
        return {"severity": self.severity, "network": self.network, "node": self.node,
                "param": self.param, "message": self.message}


@dataclass(frozen=True)
class TensorType:
    shape: Shape
    dtype: str = "float"  # "float" or "long"

    def __str__(self) -> str:
        return fmt_shape(self.shape)


@dataclass
class NodeInfo:
    id: str
    type: str
    params: dict[str, Any]  # resolved: defaults and inferred sizes filled in
    inputs: list[TensorType | None]
    outputs: list[TensorType] | None  # None when the node could not be inferred
    n_params: int = 0
    flops: int = 0
    notes: list[str] = field(default_factory=list)  # facts worth showing, e.g. a tied weight
    use: NetworkInfo | None = None  # a parameterised block node: its network as this use makes it

    @property
    def output_shapes(self) -> list[Shape] | None:
        return None if self.outputs is None else [t.shape for t in self.outputs]

    @property
    def output_shape(self) -> Shape | None:
        return self.outputs[0].shape if self.outputs else None


@dataclass
class NetworkInfo:
    name: str
    order: list[str]  # topological, document order breaking ties
    nodes: dict[str, NodeInfo]
    inputs: list[str]  # Input node ids, in document order
    outputs: list[str]  # Output node ids, in document order
    ok: bool = True

    @property
    def total_params(self) -> int:
        return sum(n.n_params for n in self.nodes.values())

    @property
    def flops(self) -> int:
        return sum(n.flops for n in self.nodes.values())

    def input_types(self) -> list[TensorType | None]:
        return [outs[0] if outs else None for outs in (self.nodes[i].outputs for i in self.inputs if i in self.nodes)]

    def output_types(self) -> list[TensorType | None]:
        out: list[TensorType | None] = []
        for o in self.outputs:
            info = self.nodes.get(o)
            out.append(info.outputs[0] if info and info.outputs else None)
        return out


@dataclass
class Analysis:
    diagnostics: list[Diagnostic]
    networks: dict[str, NetworkInfo]
    main: str | None
    # Per network, the nodes whose results or diagnostics may differ from the previous
    # analysis by the same Analyzer (networks not listed are unchanged); None: anything may.
    changed: dict[str, set[str]] | None = None

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == ERROR]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == WARNING]

    @property
    def ok(self) -> bool:
        return not self.errors

    def node(self, network: str, node_id: str) -> NodeInfo | None:
        net = self.networks.get(network)
        return net.nodes.get(node_id) if net else None

    def for_node(self, network: str, node_id: str) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.network == network and d.node == node_id]
