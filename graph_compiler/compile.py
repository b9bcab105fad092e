"""Generated source -> nn.Module, by executing that same source.

Training builds its modules here, so what is trained is exactly what is exported, and
state-dict keys are the exported file's keys (attribute names made from node ids).
"""
from __future__ import annotations

from typing import Any

from graph_compiler.analysis import Analysis
from graph_compiler.codegen import Generated, generate
from graph_compiler.document import Document
from graph_compiler.errors import GraphError


def exec_source(source: str, filename: str = "<netwright generated>") -> dict[str, Any]:
    """Run generated source in a fresh namespace and return it."""
    namespace: dict[str, Any] = {"__name__": "netwright_generated"}
    try:
        code = compile(source, filename, "exec")
    except SyntaxError as exc:  # a codegen bug: document text never reaches code unescaped
        raise GraphError(f"internal error: generated code does not compile "
                         f"(line {exc.lineno}: {exc.msg}); please report this") from None
    exec(code, namespace)  # noqa: S102 - our own generated code
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
        name = self.main if network is None else network
        networks = self.namespace["NETWORKS"]
        if name not in networks:
            raise GraphError(f"no network named {name!r}; networks: {', '.join(map(repr, networks))}")
        try:
            return networks[name]()
        except Exception as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise GraphError(f"network {name!r} cannot be built: {first[:300]}") from exc


def build_model(doc: Document, network: str | None = None) -> Any:
    return CompiledDocument(doc).build(network)
