"""What a Run needs before it starts: the trainer, whether the design can train at all, and
the key that says when a trained result has gone stale."""
from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from designer.model import DocumentModel
    from graph_compiler.document import Document
    from graph_compiler.training.engine import Trainer


def semantic_key(doc: Any) -> str:
    """What training depends on: node types and params, wiring and the training section;
    not positions or labels, so moving nodes around does not make a run stale."""
    nets = [[net.name, sorted([n.id, n.type, n.params] for n in net.nodes),
             sorted([e.src, e.src_port, e.dst, e.dst_port] for e in net.edges)] for net in doc.networks]
    return json.dumps([nets, doc.training], sort_keys=True, default=str)


def default_trainer_factory(doc: Document, overrides: dict[str, Any]) -> Trainer:
    from graph_compiler.training.engine import Trainer

    return Trainer(doc, overrides)


def refusal(model: DocumentModel) -> str | None:
    """Why the open design cannot train now, or None. Asked before a run starts, so a design
    with errors keeps the last run's curves and weights instead of clearing them first."""
    errors = model.analysis.errors
    if not errors:
        return None
    from graph_compiler.training.failures import graph_errors_text  # torch: a run is starting anyway

    return graph_errors_text(errors, model.doc.display_name, limit=3)
