"""Small documents shared by the training tests (tests/test_training_*.py)."""
from __future__ import annotations

from typing import Any

from graph_compiler.document import Document, from_dict


def chain(name: str, layers: list[tuple[str, str, dict[str, Any]]]) -> dict[str, Any]:
    """A network dict whose nodes are wired one after another."""
    nodes = [{"id": nid, "type": t, "params": p, "pos": [i * 100, 0]} for i, (nid, t, p) in enumerate(layers)]
    edges = [{"src": a["id"], "dst": b["id"]} for a, b in zip(nodes, nodes[1:])]
    return {"name": name, "nodes": nodes, "edges": edges}


def mlp_doc(training: dict[str, Any] | None, inputs: int = 2, hidden: int = 16, outputs: int = 3,
            name: str = "Net") -> Document:
    net = chain(name, [
        ("x", "Input", {"shape": [inputs]}),
        ("fc1", "Linear", {"out_features": hidden}),
        ("act", "ReLU", {}),
        ("fc2", "Linear", {"out_features": outputs}),
        ("out", "Output", {}),
    ])
    return from_dict({"format": "netwright-graph", "version": 1, "networks": [net], "training": training})


def token_doc(training: dict[str, Any] | None, length: int = 8, vocab: int = 2, classes: int = 2) -> Document:
    net = chain("Tokens", [
        ("bits", "Input", {"shape": [length], "dtype": "int64"}),
        ("embed", "Embedding", {"num_embeddings": vocab, "embedding_dim": 8}),
        ("flat", "Flatten", {}),
        ("fc1", "Linear", {"out_features": 32}),
        ("act", "ReLU", {}),
        ("fc2", "Linear", {"out_features": classes}),
        ("out", "Output", {}),
    ])
    return from_dict({"format": "netwright-graph", "version": 1, "networks": [net], "training": training})
