"""The catalog: one registry of node specs. Validation, shape inference, code generation,
the designer's palette and inspector, and docs/nodes.md all read it.

To add a node type, write a NodeSpec in the module of its category and list it in that
module's SPECS; see README "Extending the catalog".
"""
from __future__ import annotations

from graph_compiler.catalog import (
    arith,
    attention,
    attention_ops,
    conv,
    dense,
    generative,
    io_shape,
    learned,
    merge,
    norm,
    recurrent,
    regularize,
    shape_ops,
)
from graph_compiler.catalog.spec import (
    REQUIRED,
    NodeSpec,
    Param,
    Port,
    Registry,
    Shape,
    ShapeError,
    fmt_shape,
)

REGISTRY = Registry()
for _module in (io_shape, shape_ops, learned, dense, conv, norm, regularize, recurrent, attention,
                attention_ops, merge, arith, generative):
    for _spec in _module.SPECS:
        REGISTRY.add(_spec)

CATEGORY_ORDER = [
    "Input & shape", "Dense", "Activation", "Convolution", "Pooling", "Normalization",
    "Recurrent", "Attention", "Merge & split", "Generative", "Blocks",
]


def get_spec(type_name: str) -> NodeSpec | None:
    return REGISTRY.get(type_name)


__all__ = [
    "CATEGORY_ORDER", "REGISTRY", "REQUIRED", "NodeSpec", "Param", "Port", "Registry", "Shape",
    "ShapeError", "fmt_shape", "get_spec",
]
