"""Validation and shape / parameter / FLOP inference.

``Analyzer.analyze(doc)`` reports every problem at once and infers each node's output
shapes, parameter count and forward FLOPs (batch 1, as torch.utils.flop_counter counts
them). Every catalog layer has closed-form rules, so analysis never imports torch; torch's
meta device (exact, allocates nothing) runs only for specs without rules, and
``Analyzer(use_meta=True)`` runs it for every node: tests check the rules against it.
Results are cached per node on (type, params, input types), so after an edit only nodes
whose params or inputs changed recompute.
"""
from __future__ import annotations

from graph_compiler.analysis.analyzer import Analyzer, analyze, validate
from graph_compiler.analysis.nodes import BlockSpec, check_params, meta_run
from graph_compiler.analysis.results import (
    ERROR,
    WARNING,
    Analysis,
    Diagnostic,
    NetworkInfo,
    NodeInfo,
    TensorType,
)
from graph_compiler.analysis.structure import network_order, topo_nodes

__all__ = [
    "ERROR", "WARNING", "Analysis", "Analyzer", "BlockSpec", "Diagnostic", "NetworkInfo", "NodeInfo",
    "TensorType", "analyze", "check_params", "meta_run", "network_order", "topo_nodes", "validate",
]
