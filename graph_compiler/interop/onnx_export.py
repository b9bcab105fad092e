"""``netwright export FILE --onnx OUT.onnx [--weights DIR]``: a network as ONNX.

The module is the one the generated code builds (so ONNX, the .py export and training
agree), exported with torch.onnx's dynamo exporter and a dynamic batch dimension; the
legacy TorchScript exporter is the fallback. When onnxruntime is installed the file is
checked against torch on batches of 1 and 5 before it is reported as written.
"""
from __future__ import annotations

import contextlib
import io
import logging
import os
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from graph_compiler.analysis import Analyzer
from graph_compiler.codegen import example_inputs_code
from graph_compiler.compile import CompiledDocument
from graph_compiler.document import Document
from graph_compiler.errors import GraphError
from graph_compiler.interop import InteropError, MissingExtraError
from graph_compiler.naming import Namespace, identifier

DEFAULT_OPSET = 18
CHECK_BATCHES = (1, 5)


class OnnxExportError(InteropError):
    """The network cannot be expressed in ONNX (or the file does not match torch)."""


def require_onnx() -> None:
    """Raise MissingExtraError naming the install command unless onnx + onnxscript import."""
    for module in ("onnx", "onnxscript"):
        try:
            __import__(module)
        except ImportError:
            raise MissingExtraError("ONNX export", "onnx", module) from None


def export_onnx(doc: Document, out: str | os.PathLike[str], weights: str | os.PathLike[str] | None = None,
                network: str | None = None, opset: int = DEFAULT_OPSET, check: bool = True) -> Path:
    """Write ``network`` (default: the main one) of ``doc`` to ``out`` as ONNX."""
    require_onnx()

    name = network or doc.main.name
    analysis = Analyzer().analyze(doc)
    if name not in analysis.networks:
        raise OnnxExportError(f"no network named {name!r}; networks: {', '.join(doc.network_names())}")
    if not analysis.ok:
        raise GraphError("cannot export to ONNX: the graph has errors; run `netwright validate`",
                         analysis.errors)
    compiled = CompiledDocument(doc, analysis)
    model = compiled.build(name)
    if weights is not None:
        from graph_compiler.interop.weights import load_weights

        load_weights(model, weights, doc, name)
    model.eval()
    net, info = doc.network(name), analysis.networks[name]
    assert net is not None
    inputs = _example_inputs(net, info, batch=2)
    names = Namespace()
    input_names = [names.create(identifier(i, "input")) for i in info.inputs]
    output_names = [names.create(identifier(o, "output")) for o in info.outputs]
    out = Path(out)
    errors = []
    for exporter in (_export_dynamo, _export_legacy):
        try:
            with _quiet():
                exporter(model, inputs, out, input_names, output_names, opset)
            break
        except Exception as exc:  # noqa: BLE001 - torch.onnx raises anything; reported below
            errors.append(_first_line(exc))
    else:
        raise OnnxExportError(
            f"network {name!r} cannot be exported to ONNX: {errors[0]}"
            + (f" (the legacy exporter also failed: {errors[1]})" if len(errors) > 1 else ""))
    if check:
        check_onnx(out, model, net, info)
    return out


def _example_inputs(net: Any, info: Any, batch: int) -> tuple[Any, ...]:
    import torch

    # The codegen's own example expressions: random data of each Input's shape and dtype
    # (token ids within the vocabulary of the Embedding they feed).
    return tuple(eval(expr, {"torch": torch}) for expr in example_inputs_code(net, info, batch))


def _export_dynamo(model: Any, inputs: tuple[Any, ...], out: Path, input_names: list[str],
                   output_names: list[str], opset: int) -> None:
    import torch

    # One Dim shared by every input: they all carry the same batch.
    batch = torch.export.Dim("batch", min=1, max=1 << 20)
    torch.onnx.export(model, inputs, str(out), dynamo=True, external_data=False, opset_version=opset,
                      input_names=input_names, output_names=output_names,
                      dynamic_shapes=tuple({0: batch} for _ in inputs), verbose=False)


def _export_legacy(model: Any, inputs: tuple[Any, ...], out: Path, input_names: list[str],
                   output_names: list[str], opset: int) -> None:
    import torch

    axes = {n: {0: "batch"} for n in (*input_names, *output_names)}
    torch.onnx.export(model, inputs, str(out), dynamo=False, opset_version=min(opset, 17),
                      input_names=input_names, output_names=output_names, dynamic_axes=axes)


def check_onnx(path: Path, model: Any, net: Any, info: Any, atol: float = 1e-4) -> None:
    """Compare onnxruntime with torch at batch sizes 1 and 5 (skipped without onnxruntime)."""
    try:
        import onnxruntime
    except ImportError:
        return
    import numpy as np
    import torch

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    feeds = [i.name for i in session.get_inputs()]
    for batch in CHECK_BATCHES:
        inputs = _example_inputs(net, info, batch)
        with torch.no_grad():
            expected = model(*inputs)
        expected = expected if isinstance(expected, tuple) else (expected,)
        got = session.run(None, {n: t.numpy() for n, t in zip(feeds, inputs)})
        for k, (e, g) in enumerate(zip(expected, got)):
            e = e.numpy()
            if e.shape != g.shape or not np.allclose(e, g, atol=atol, rtol=1e-3):
                diff = float(np.abs(e - g).max()) if e.shape == g.shape else float("nan")
                raise OnnxExportError(
                    f"{path}: onnxruntime disagrees with torch on output {k} at batch {batch} "
                    f"(shapes {list(e.shape)} vs {list(g.shape)}, max difference {diff:.3g})")


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """torch.onnx prints progress and warnings (e.g. about torchvision); keep the CLI clean."""
    loggers = [logging.getLogger(n) for n in ("torch.onnx", "torch.export", "torch._dynamo", "onnxscript")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            yield
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    return f"{type(exc).__name__}: {line}" if line else type(exc).__name__


__all__ = ["DEFAULT_OPSET", "OnnxExportError", "check_onnx", "export_onnx", "require_onnx"]
