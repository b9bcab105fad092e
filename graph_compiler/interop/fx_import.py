"""``netwright import MODULE:ATTR``: a PyTorch nn.Module traced with torch.fx into a
Netwright document.

torch.fx records the model's forward pass symbolically: catalog layers (nn.Linear,
nn.Conv2d, nn.LSTM, ...) stay whole, everything else is traced through, and each call
becomes a catalog node (fx_convert walks the graph, fx_ops maps each call). Node ids
keep the module's attribute paths ("features.0" -> "features_0"), so the generated
code's state-dict keys are the original ones, renamed where a dot had to go;
``meta.import.key_map`` records those renamings and
``interop.weights.convert_state_dict`` applies them. With ``blocks``, each custom
sub-module class used at least twice becomes a block network.

Every operation the catalog cannot express is collected and reported together, with
its source line, in one UnsupportedModelError. A finished import is checked: the
original weights load into the module built from the document, and both give the same
outputs on a random batch.
"""
from __future__ import annotations

import contextlib
import importlib
import importlib.util
import inspect
import os
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from graph_compiler.catalog import REGISTRY
from graph_compiler.document import Document, Network, Tie
from graph_compiler.layout import DEFAULT_VIEW, NODE_W, layered_layout, node_height
from graph_compiler.interop.fx_blocks import BlockGrouper, Instance, placeholder
from graph_compiler.interop.fx_convert import (
    BlockCall,
    Converted,
    Converter,
    NotABlock,
    Problem,
    UnsupportedModelError,
)
from graph_compiler.interop.fx_model_ops import ALL_MODULES as MODULES
from graph_compiler.interop.fx_ops import special_module
from graph_compiler.interop.fx_trace import ModelImportError, on_meta, trace, traceback_location

# ---------------------------------------------------------------- entry points


def import_module(spec: str, input_shape: Sequence[int] | Sequence[Sequence[int]], dtype: str | Sequence[str] = "float32",
                  blocks: bool = False, name: str | None = None) -> Document:
    """Import ``MODULE:ATTR``: MODULE is a dotted module importable from the current
    directory or a path to a .py file; ATTR names an nn.Module instance, an nn.Module
    class (built with no arguments) or a zero-argument factory returning one."""
    model, label = load_model(spec)
    doc = import_model(model, input_shape, name=name or label, dtype=dtype, blocks=blocks)
    doc.meta["import"]["source"] = spec
    return doc


def load_model(spec: str) -> tuple[nn.Module, str]:
    """The nn.Module that ``MODULE:ATTR`` names (see import_module) and its class name."""
    module_name, sep, attr = spec.rpartition(":")
    if not sep or not module_name or not attr:
        raise ModelImportError(f"{spec!r}: expected MODULE:ATTR, e.g. mymodels.py:Net or mypkg.models:build")
    obj = _resolve(_load(module_name), module_name, attr, spec)
    if isinstance(obj, nn.Module):
        return obj, type(obj).__name__
    if isinstance(obj, type) and issubclass(obj, nn.Module):
        model = _call_user(obj, spec, f"class {obj.__name__}")
        return model, obj.__name__
    if callable(obj):
        model = _call_user(obj, spec, f"the factory {attr}")
        if not isinstance(model, nn.Module):
            raise ModelImportError(f"{spec}: the factory returned {type(model).__name__}, not an nn.Module")
        return model, type(model).__name__
    raise ModelImportError(f"{spec}: {attr} is a {type(obj).__name__}, not an nn.Module, class or factory")


def import_model(model: nn.Module, input_shape: Sequence[int] | Sequence[Sequence[int]], name: str | None = None,
                 dtype: str | Sequence[str] = "float32", blocks: bool = False, verify: bool = True) -> Document:
    """Trace ``model`` (one Input per forward argument; ``input_shape`` excludes the batch,
    a list of shapes for several inputs) into a Document. ``dtype`` is float32 or int64
    (token ids), one per input, or "auto": int64 when the model has an nn.Embedding and
    float inputs do not run. The import is checked: the
    model's weights load into the graph's module and give the same outputs; a model
    built on the meta device (too big to materialise) is imported from its structure
    alone, unchecked."""
    shapes = _shape_list(input_shape)
    if dtype == "auto":  # the app's import: token ids when float inputs do not run
        try:
            return import_model(model, shapes, name, "float32", blocks, verify)
        except ModelImportError as exc:
            if "does not run on inputs" not in str(exc) or \
                    not any(isinstance(m, nn.Embedding) for m in model.modules()):
                raise
        return import_model(model, shapes, name, "int64", blocks, verify)
    dtypes = _dtype_list(dtype, len(shapes))
    label = name or type(model).__name__
    was_training = model.training
    model.eval()
    try:
        doc, results = _import(model, shapes, dtypes, _network_name(label), blocks)
        _tie_shared_weights(doc, results, model)
        _attach_key_map(doc, results, model)
        _keep_computed_buffers(doc, model)
        if verify and not on_meta(model):
            _verify(model, doc, results[doc.main.name], label)
    finally:
        model.train(was_training)
    return doc


# ---------------------------------------------------------------- loading user code


def _required_params(fn: Any) -> list[str]:
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return []
    return [p.name for p in params if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
            and p.name != "self"]


def _call_user(fn: Any, spec: str, what: str) -> Any:
    """Build the model with no arguments; whatever the user's code raises becomes one message."""
    needed = _required_params(fn)
    if needed:
        raise ModelImportError(f"{spec}: {what} needs arguments ({', '.join(needed)}); point at an "
                               "instance or a zero-argument factory instead")
    try:
        return fn()
    except Exception as exc:  # noqa: BLE001 - the user's constructor may raise anything
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise ModelImportError(f"{spec}: {what} raised {type(exc).__name__}{traceback_location(exc)}"
                               + (f": {text}" if text else "")) from None


def _load(module_name: str) -> Any:
    looks_like_path = module_name.endswith(".py") or "/" in module_name or os.sep in module_name
    try:
        if looks_like_path:
            path = Path(module_name).expanduser().resolve()
            if not path.is_file():
                raise ModelImportError(f"{module_name}: no such file")
            stem = re.sub(r"\W", "_", path.stem)
            unique = f"netwright_import_{stem}_{abs(hash(str(path)))}"
            spec = importlib.util.spec_from_file_location(unique, path)
            if spec is None or spec.loader is None:
                raise ModelImportError(f"{module_name}: cannot be imported as Python")
            module = importlib.util.module_from_spec(spec)
            sys.modules[unique] = module  # dataclasses and typing look modules up by name
            with _on_path(str(path.parent)):
                spec.loader.exec_module(module)
            return module
        with _on_path(os.getcwd()):
            return importlib.import_module(module_name)
    except ModelImportError:
        raise
    except BaseException as exc:  # the user's module may raise anything at import time
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise
        raise ModelImportError(f"cannot import {module_name}: {type(exc).__name__}: {exc}") from None


@contextlib.contextmanager
def _on_path(folder: str) -> Iterator[None]:
    """The user's module can import its neighbours while it loads."""
    sys.path.insert(0, folder)
    try:
        yield
    finally:
        if folder in sys.path:
            sys.path.remove(folder)


def _resolve(module: Any, module_name: str, attr: str, spec: str) -> Any:
    obj, where = module, module_name
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise ModelImportError(f"{spec}: {where} has no attribute {part!r}")
        obj, where = getattr(obj, part), f"{where}:{part}"
    return obj


def _shape_list(input_shape: Any) -> list[tuple[int, ...]]:
    shapes = list(input_shape)
    if shapes and all(isinstance(s, int) for s in shapes):
        shapes = [tuple(shapes)]
    out = []
    for s in shapes:
        if not isinstance(s, (list, tuple)) or not all(isinstance(d, int) and d > 0 for d in s):
            raise ModelImportError(f"input shape {s!r} must be positive integers (without the batch)")
        out.append(tuple(s))
    if not out:
        raise ModelImportError("give the input shape (without the batch), e.g. 1,28,28")
    return out


def _dtype_list(dtype: str | Sequence[str], n: int) -> list[torch.dtype]:
    names = [dtype] * n if isinstance(dtype, str) else list(dtype)
    table = {"float32": torch.float32, "int64": torch.int64}
    if len(names) != n or any(d not in table for d in names):
        raise ModelImportError(f"dtype must be float32 or int64 (one per input), got {dtype!r}")
    return [table[d] for d in names]


def _network_name(label: str) -> str:
    name = re.sub(r"\W", "_", label) or "Imported"
    return f"{name}Net" if name in REGISTRY else name


# ---------------------------------------------------------------- documents


def _import(model: nn.Module, shapes: list[tuple[int, ...]], dtypes: list[torch.dtype], name: str,
            blocks: bool) -> tuple[Document, dict[str, Converted]]:
    """The main network, plus with ``blocks`` block networks for each sub-module class
    used at least twice: one per structure, the values that differ between its instances
    as block parameters (fx_blocks)."""
    leaves = _block_candidates(model) if blocks else set()
    while True:
        try:
            return _import_with(model, shapes, dtypes, name, leaves)
        except NotABlock as exc:
            leaves.discard(exc.cls)


def _import_with(model: nn.Module, shapes: list[tuple[int, ...]], dtypes: list[torch.dtype], name: str,
                 leaves: set[type]) -> tuple[Document, dict[str, Converted]]:
    instances: list[Instance] = []
    problems: list[Problem | str] = []

    def block_name(call: BlockCall) -> str:
        result, found = _convert(call.module, call.shapes, call.dtypes, leaves - {call.cls}, block_name,
                                 _network_name(call.cls.__name__))
        problems.extend(p.within(call.qual) if isinstance(p, Problem) else f"{call.qual}: {p}" for p in found)
        token = placeholder(len(instances))
        result.network.name = token
        instances.append(Instance(call, result, token))
        return token

    main, found = _convert(model, shapes, dtypes, leaves, block_name, name)
    if problems or found:
        raise UnsupportedModelError(name, found + problems)
    grouper = BlockGrouper(instances, {name})
    grouper.run()
    grouper.finish(main.network)
    results = {name: main, **grouper.networks}
    networks = [r.network for r in results.values()]
    for net in networks:
        _layout(net)
    meta = {"import": {"input_shape": [list(s) for s in shapes],
                       "dtype": ["int64" if d == torch.int64 else "float32" for d in dtypes],
                       "blocks": [n for n in results if n != name],
                       "notes": sorted({note for r in [main, *(i.result for i in instances)] for note in r.notes})}}
    return Document(networks, meta={"title": name, **meta}), results


def _block_candidates(model: nn.Module) -> set[type]:
    """Custom module classes used at least twice: each becomes block networks. A module
    without children is a layer, not structure: its forward's ops go inline, so one
    written with functions on its own weights (nanoGPT's LayerNorm) still maps to a layer."""
    counts: dict[type, int] = {}
    for sub in model.modules():
        cls = type(sub)
        if sub is model or cls.__module__.startswith("torch.") or cls in MODULES or special_module(sub) \
                or not any(True for _ in sub.children()):
            continue
        counts[cls] = counts.get(cls, 0) + 1
    return {cls for cls, n in counts.items() if n >= 2}


def _convert(module: nn.Module, shapes: list[tuple[int, ...]], dtypes: list[torch.dtype], leaves: set[type],
             block_name: Callable[[BlockCall], str], net_name: str) -> tuple[Converted, list[Problem | str]]:
    """One module as one network; classes in ``leaves`` become block nodes."""
    traced = trace(module, shapes, dtypes, leaves, net_name)
    conv = Converter(traced.gm, net_name, leaves, block_name, module)
    result = conv.run(shapes, dtypes)
    result.notes = traced.notes + result.notes
    result.example, result.expected = traced.example, traced.output
    return result, conv.problems


def _layout(net: Network) -> None:
    """The designer's auto-layout, for the canvas of the default window: a long model
    wraps into bands that read like lines of text instead of one row to scroll along."""
    n_in: dict[str, int] = {}
    n_out: dict[str, int] = {}
    for e in net.edges:
        n_in[e.dst] = max(n_in.get(e.dst, 1), e.dst_port + 1)
        n_out[e.src] = max(n_out.get(e.src, 1), e.src_port + 1)
    sizes = {n.id: (NODE_W, node_height(n_in.get(n.id, 1), n_out.get(n.id, 1))) for n in net.nodes}
    pos = layered_layout([n.id for n in net.nodes], [(e.src, e.dst, e.src_port, e.dst_port) for e in net.edges],
                         sizes, view=DEFAULT_VIEW)
    for n in net.nodes:
        n.pos = pos[n.id]


def _tie_shared_weights(doc: Document, results: dict[str, Converted], model: nn.Module) -> None:
    """One tensor under several names (GPT-2's ``lm_head.weight`` is ``transformer.wte.weight``)
    becomes a tie: counted once, shared in the generated code, both keys in its state dict."""
    names: dict[int, list[str]] = {}
    for name, tensor in model.named_parameters(remove_duplicate=False):
        names.setdefault(id(tensor), []).append(name)
    main = doc.main
    node_of = {qual: nid for nid, qual in results[main.name].origins.items()}
    problems = []
    for shared in names.values():
        first, *others = shared
        owner, _, param = first.rpartition(".")
        for other in others:
            module, _, other_param = other.rpartition(".")
            if owner not in node_of or module not in node_of:
                problems.append(f"{other} is the same tensor as {first}, and Netwright ties weights only between "
                                "layers of one network (import without --blocks, or untie them)")
                continue
            main.ties.append(Tie(node_of[module], other_param, node_of[owner], param))
    if problems:
        raise UnsupportedModelError(main.name, problems)


def _attach_key_map(doc: Document, results: dict[str, Converted], model: nn.Module) -> None:
    """meta.import.key_map: original module path -> attribute path, where they differ;
    None for modules with weights that forward never uses (their keys are dropped)."""
    from graph_compiler.codegen import generate

    attrs = generate(doc).attrs
    mapping: dict[str, str | None] = {}
    used: set[str] = set()

    def visit(network: str, orig_prefix: str, attr_prefix: str) -> None:
        net = doc.network(network)
        types = {n.id: n.type for n in net.nodes} if net else {}
        for nid, qual in results[network].origins.items():
            attr = attrs.get(network, {}).get(nid)
            if attr is None:
                continue
            orig, new = orig_prefix + qual, attr_prefix + attr
            used.add(orig)
            if new != attr_prefix + qual:  # not already implied by the enclosing block's entry
                mapping[orig] = new
            if types.get(nid) in results:
                visit(types[nid], orig + ".", new + ".")

    visit(doc.main.name, "", "")
    for name, module in model.named_modules():
        own = [n for n, _ in module.named_parameters(recurse=False)] + [n for n, _ in module.named_buffers(recurse=False)]
        parts = name.split(".") if name else []
        if any(".".join(parts[:i]) in used for i in range(1, len(parts) + 1)):
            continue  # the module is a node (or inside one): all its tensors are there
        for tensor in own:
            key = f"{name}.{tensor}" if name else tensor
            if key not in used:  # a tensor forward never reads
                mapping[key] = None
    doc.meta["import"]["key_map"] = mapping
    keys = list(model.state_dict())
    renamed = [f"{k} -> {v}" for k, v in mapping.items()
               if v is not None and any(key.startswith(k + ".") for key in keys)]
    if renamed:
        shown = ", ".join(renamed[:4]) + (f" and {len(renamed) - 4} more" if len(renamed) > 4 else "")
        doc.meta["import"]["notes"].append(
            f"renamed modules {shown} in the generated code, so the "
            "original state_dict loads only through convert_state_dict (meta.import.key_map)")
    unused = [k for k in keys if k in mapping and mapping[k] is None]
    if unused:
        shown = ", ".join(unused[:4]) + (f" and {len(unused) - 4} more" if len(unused) > 4 else "")
        doc.meta["import"]["notes"].append(
            f"forward never uses {shown}: left out of the graph, so the original state_dict loads "
            "only without them (convert_state_dict drops them, or load with strict=False)")


def _keep_computed_buffers(doc: Document, model: nn.Module) -> None:
    """meta.import.buffers: the model's non-persistent buffers that the graph saves,
    as no Parameter init recreates their values (a rotary cos / sin table)."""
    from graph_compiler.compile import CompiledDocument
    from graph_compiler.interop.weights import key_map, rename_key

    saved = set(model.state_dict())
    hidden = [k for k, _ in model.named_buffers() if k not in saved]
    if not hidden:
        return
    with torch.device("meta"):
        keys = set(CompiledDocument(doc).build().state_dict())
    mapping = key_map(doc)
    kept = [k for k in hidden if rename_key(k, mapping) in keys]
    if kept:
        doc.meta["import"]["buffers"] = kept
        shown = ", ".join(kept[:4]) + (f" and {len(kept) - 4} more" if len(kept) > 4 else "")
        doc.meta["import"]["notes"].append(
            f"{shown}: buffers the model does not save (persistent=False) and computes in __init__; the graph "
            "saves them, so load the model's state_dict with strict=False, or import_state_dict(model, doc)")


def import_state_dict(model: nn.Module, doc: Document) -> dict[str, Any]:
    """The model's weights for the imported graph's module: its state dict, renamed where
    the import had to (meta.import.key_map), plus the non-persistent buffers the graph
    saves (meta.import.buffers)."""
    from graph_compiler.interop.weights import convert_state_dict

    info = doc.meta.get("import")
    kept = set(info.get("buffers", [])) if isinstance(info, dict) else set()
    state = {**model.state_dict(), **{k: b for k, b in model.named_buffers() if k in kept}}
    return convert_state_dict(state, doc)


def _verify(model: nn.Module, doc: Document, main: Converted, label: str) -> None:
    """The original weights must load and give the original outputs, or the import failed.
    The model's outputs are those of tracing, on the same batch: fx ran the model's own
    layers and functions, op for op."""
    from graph_compiler.compile import CompiledDocument

    compiled = CompiledDocument(doc)
    state = import_state_dict(model, doc)
    # Built on the meta device and given the original tensors themselves: no random
    # initialisation, no copy (the module is only run, under no_grad, then dropped).
    with torch.device("meta"):
        built = compiled.build().eval()
    missing, unexpected = built.load_state_dict(state, strict=False, assign=True)
    if any(t.is_meta for t in [*built.parameters(), *built.buffers()]) and not missing:
        built = compiled.build().eval()  # tensors the state dict does not hold (non-persistent buffers)
        missing, unexpected = built.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise ModelImportError(f"internal error: {label}'s weights do not map onto the imported graph "
                               f"(missing {missing[:5]}, unexpected {unexpected[:5]})")
    with torch.no_grad():
        want, got = main.expected, built(*main.example)
    want = [want] if isinstance(want, torch.Tensor) else list(_flatten_outputs(want))
    got = [got] if isinstance(got, torch.Tensor) else list(got)
    for i, (w, g) in enumerate(zip(want, got)):
        if w.shape != g.shape or not torch.allclose(w.float(), g.float(), rtol=1e-4, atol=1e-5):
            diff = (w.float() - g.float()).abs().max().item() if w.shape == g.shape else float("nan")
            raise ModelImportError(f"the imported graph does not reproduce {label}'s output {i} "
                                   f"(shapes {list(w.shape)} / {list(g.shape)}, max difference {diff:.3g}); "
                                   "please report this model")


def _flatten_outputs(value: Any) -> Iterable[torch.Tensor]:
    if isinstance(value, torch.Tensor):
        yield value
    elif isinstance(value, (tuple, list)):
        for v in value:
            yield from _flatten_outputs(v)
    elif isinstance(value, dict):
        for v in value.values():
            yield from _flatten_outputs(v)


__all__ = ["ModelImportError", "UnsupportedModelError", "import_model", "import_module", "import_state_dict",
           "load_model"]
