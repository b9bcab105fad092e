"""Generated source -> nn.Module, by executing that same source.

Training builds its modules here, so what is trained is exactly what is exported, and
state-dict keys are the exported file's keys.
"""
from __future__ import annotations

from typing import Any

from graph_compiler.analysis import Analysis
from graph_compiler.codegen import Generated, generate
from graph_compiler.document import Document


def exec_source(source: str, filename: str = "<netwright generated>") -> dict[str, Any]:
    namespace: dict[str, Any] = {"__name__": "netwright_generated"}
    exec(compile(source, filename, "exec"), namespace)  # noqa: S102 - our own generated code
    return namespace


class CompiledDocument:
    """The generated source of a document and the classes it defines."""

    def __init__(self, doc: Document, analysis: Analysis | None = None) -> None:
        self.generated: Generated = generate(doc, analysis)
        self.namespace = exec_source(self.generated.source)
        self.main = doc.networks[0].name

    @property
    def source(self) -> str:
        return self.generated.source

    def build(self, network: str | None = None) -> Any:
        """A fresh nn.Module for a network (the main one by default)."""
        name = network or self.main
        return self.namespace["NETWORKS"][name]()


def build_model(doc: Document, network: str | None = None) -> Any:
    return CompiledDocument(doc).build(network)
