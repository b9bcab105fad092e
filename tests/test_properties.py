"""Property-based tests over random documents.

* Random valid graphs (every layer kind, blocks, several outputs) with hostile names
  (quotes, line breaks, U+2028, keywords, dunders, 'self', 'torch', 'forward', pragmas,
  unicode) generate code that compiles, defines nothing else, runs, gives the inferred
  shapes and parameter counts, and whose state-dict keys follow the sanitized ids.
* The closed-form rules agree with the meta device on whole random graphs.
* Random corruptions of those documents raise only Netwright's own typed errors, and
  whatever passes analysis also builds and runs.
"""
from __future__ import annotations

import ast
import json
import random
import re
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from graph_compiler.analysis import Analysis, Analyzer
from graph_compiler.catalog import REGISTRY
from graph_compiler.codegen import example_inputs_code, generate
from graph_compiler.compile import CompiledDocument, exec_source
from graph_compiler.document import Document, from_dict, loads, to_dict
from graph_compiler.errors import GraphError, NetwrightError
from graph_compiler.naming import module_path

NASTY = ['"', "'", '"""', "'''", "\n", "\r\n", "\u2028", "\u2029", "\x00", "\t", "\\", "\\n", "#", "# noqa",
         "noqa: F401", "fmt: off", "# fmt: off", "type: ignore", "ruff: noqa", "class", "def", "None", "True",
         "lambda", "match", "_", "__", "__init__", "__class__", "__dict__", "self", "torch", "nn", "forward",
         "x", "h", "l", "O", "I", "print", "build_model", "NETWORKS", "model", "outputs", "causal_mask",
         "training", "to", "cuda", "state_dict", "register_buffer", "0", "1x", "a b", "a.b", "a[0]", "é", "ß",
         "😀", "名前", "ﬁ", "exec('1')", "__import__('os').system('x')", "x" * 300, "-", "a-b", "Linear_",
         "x\nimport os", "');import os;('"]
_REGISTRY_NAMES = set(REGISTRY.specs)


# ---------------------------------------------------------------- a random graph builder


class Draw:
    """Choices from hypothesis (shrinkable) or from a seeded Random (for a fixed corpus)."""

    def __init__(self, data: st.DataObject | None = None, rng: random.Random | None = None) -> None:
        self.data, self.rng = data, rng

    def int(self, lo: int, hi: int) -> int:
        return self.data.draw(st.integers(lo, hi)) if self.data else self.rng.randint(lo, hi)  # type: ignore[union-attr]

    def choice(self, options: Sequence[Any]) -> Any:
        return options[self.int(0, len(options) - 1)]

    def bool(self) -> bool:
        return self.int(0, 1) == 1

    def name(self) -> str:
        if self.data:
            return self.data.draw(st.one_of(st.sampled_from(NASTY), st.text(min_size=1, max_size=12)))
        return self.choice(NASTY) if self.int(0, 2) else "".join(chr(self.int(32, 0x2FFF)) for _ in range(self.int(1, 8)))


def _divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


class GraphBuilder:
    """Grows a random valid network op by op, tracking each tensor's per-sample shape."""

    def __init__(self, draw: Draw, name: str) -> None:
        self.d, self.name = draw, name
        self.nodes: list[dict[str, Any]] = []
        self.edges: list[dict[str, Any]] = []
        self.ids: set[str] = set()

    def add(self, type_name: str, params: dict[str, Any] | None = None, ins: Sequence[tuple[str, int]] = ()) -> str:
        nid = self.d.name() if self.d.int(0, 3) == 0 else f"{type_name.lower()}{len(self.nodes)}"
        while nid in self.ids or not nid:
            nid = f"{nid}{len(self.nodes)}"
        self.ids.add(nid)
        node: dict[str, Any] = {"id": nid, "type": type_name, "params": params or {}}
        if self.d.int(0, 4) == 0:
            node["label"] = self.d.name()
        self.nodes.append(node)
        for port, (src, sport) in enumerate(ins):
            self.edges.append({"src": src, "dst": nid, "src_port": sport, "dst_port": port})
        return nid

    # Each step: (node, port, shape without batch) -> the same after one more layer.
    def step(self, t: tuple[str, int, tuple[int, ...]]) -> tuple[str, int, tuple[int, ...]]:
        src, port, shape = t
        d, x = self.d, [(src, port)]
        rank = len(shape)
        if rank == 1:
            f = shape[0]
            k = d.int(0, 9)
            if k == 0:
                out = d.int(1, 16)
                return self.add("Linear", {"out_features": out, "bias": d.bool()}, x), 0, (out,)
            if k == 1:
                act = d.choice(["ReLU", "GELU", "SiLU", "Tanh", "Sigmoid", "ELU", "LeakyReLU", "Mish", "Softplus",
                                "Identity", "Dropout", "LayerNorm", "BatchNorm1d"])
                return self.add(act, {}, x), 0, shape
            if k == 2:
                return self.add(d.choice(["Softmax", "LogSoftmax"]), {"dim": d.choice([1, -1])}, x), 0, shape
            if k == 3:
                return self.add("PReLU", {"num_parameters": d.choice([1, f])}, x), 0, shape
            if k == 4:  # to an image or a sequence
                c, h = d.int(1, 3), d.int(1, 4)
                w = d.int(1, 4)
                lin = self.add("Linear", {"out_features": c * h * w}, x)
                dims = d.choice([[c, h, w], [c * h, w]])
                return self.add("Unflatten", {"dim": 1, "unflattened_size": dims}, [(lin, 0)]), 0, tuple(dims)
            if k == 5 and f % 2 == 0:  # split in halves, then join them again
                chunk = self.add(d.choice(["Chunk", "Split"]), {"chunks": 2} if d.bool() else {}, x)
                node = self.nodes[-1]
                if node["type"] == "Split":
                    node["params"] = {"split_sizes": [f // 2, f // 2]}
                join = d.choice(["Add", "Multiply", "Concat"])
                out = self.add(join, {}, [(chunk, 0), (chunk, 1)])
                return out, 0, (f if join == "Concat" else f // 2,)
            if k == 6:  # a residual branch
                branch = self.add(d.choice(["Tanh", "ReLU"]), {}, x)
                return self.add("Add", {}, [*x, (branch, 0)]), 0, shape
            if k == 7:  # VAE-style sampling (eval: the mean)
                mu = self.add("Linear", {"out_features": 4}, x)
                logvar = self.add("Linear", {"out_features": 4}, x)
                return self.add("Reparameterize", {}, [(mu, 0), (logvar, 0)]), 0, (4,)
            if k == 8:
                return self.add("Reshape", {"shape": [-1]}, x), 0, shape
            return self.add("Dropout", {"p": 0.25}, x), 0, shape
        if rank == 2:
            a, b = shape  # [T, D] as a sequence, or [C, L] as a signal
            k = d.int(0, 11)
            if k == 11:
                heads = d.choice(_divisors(b))
                return self.add("TransformerDecoderLayer", {"nhead": heads, "dim_feedforward": 6, "dropout": 0.0},
                                [*x, *x]), 0, shape
            if k == 0:
                rnn = self.add(d.choice(["LSTM", "GRU", "RNN"]), {"hidden_size": d.int(1, 6), "num_layers": d.int(1, 2),
                                                                 "bidirectional": d.bool()}, x)
                h = self.nodes[-1]["params"]["hidden_size"] * (2 if self.nodes[-1]["params"]["bidirectional"] else 1)
                return (rnn, 0, (a, h)) if d.bool() else (rnn, 1, (h,))
            if k == 1:
                heads = d.choice(_divisors(b))
                return self.add("MultiheadAttention", {"num_heads": heads, "causal": d.bool()}, x), 0, shape
            if k == 2:
                heads = d.choice(_divisors(b))
                return self.add("TransformerEncoderLayer", {"nhead": heads, "dim_feedforward": 8, "dropout": 0.0,
                                                            "causal": d.bool()}, x), 0, shape
            if k == 3:
                return self.add("PositionalEncoding", {"max_len": a + d.int(0, 3),
                                                       "kind": d.choice(["sinusoidal", "learned"])}, x), 0, shape
            if k == 4:
                keep = d.bool()
                return self.add("Mean", {"dim": 1, "keepdim": keep}, x), 0, (1, b) if keep else (b,)
            if k == 5:
                return self.add("Permute", {"dims": [0, 2, 1]}, x), 0, (b, a)
            if k == 6:
                ks = d.int(1, min(3, b))
                pad = d.int(0, ks // 2)
                stride = d.int(1, 2)
                mode = d.choice(["zeros", "reflect", "circular"]) if pad < b else "zeros"
                out_c = d.int(1, 6)
                lb = (b + 2 * pad - ks) // stride + 1
                return self.add("Conv1d", {"out_channels": out_c, "kernel_size": ks, "padding": pad,
                                           "stride": stride, "padding_mode": mode}, x), 0, (out_c, lb)
            if k == 7:
                if b >= 2:
                    ceil = d.bool()
                    lb = -(-b // 2) if ceil else b // 2
                    return self.add("MaxPool1d", {"kernel_size": 2, "ceil_mode": ceil}, x), 0, (a, lb)
                return self.add("AdaptiveAvgPool1d", {"output_size": 2}, x), 0, (a, 2)
            if k == 8:
                return self.add("Linear", {"out_features": 4}, x), 0, (a, 4)
            if k == 9:
                return self.add(d.choice(["LayerNorm", "BatchNorm1d", "GELU"]), {}, x), 0, shape
            return self.add("Flatten", {}, x), 0, (a * b,)
        c, h, w = shape
        k = d.int(0, 8)
        if k == 0:
            ks = d.choice([1, 3])
            stride = d.int(1, 2)
            groups = d.choice(_divisors(c))
            out_c = groups * d.int(1, 3)
            pad = ks // 2
            mode = d.choice(["zeros", "reflect", "replicate", "circular"]) if pad < min(h, w) else "zeros"
            node = self.add("Conv2d", {"out_channels": out_c, "kernel_size": ks, "stride": stride, "padding": pad,
                                       "groups": groups, "padding_mode": mode}, x)
            return node, 0, (out_c, (h - 1) // stride + 1, (w - 1) // stride + 1)
        if k == 1 and max(h, w) <= 6:
            ks, stride = d.int(1, 3), d.int(1, 2)
            out_c = d.int(1, 4)
            node = self.add("ConvTranspose2d", {"out_channels": out_c, "kernel_size": ks, "stride": stride}, x)
            return node, 0, (out_c, (h - 1) * stride + ks, (w - 1) * stride + ks)
        if k == 2:
            kind = d.choice(["MaxPool2d", "AvgPool2d"])
            ceil = d.bool()
            size = [-(-(v - 1) // 2) + 1 if ceil else (v - 1) // 2 + 1 for v in (h, w)]
            size = [s - 1 if ceil and (s - 1) * 2 >= v + 1 else s for s, v in zip(size, (h, w))]
            return self.add(kind, {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": ceil}, x), 0, (c, *size)
        if k == 3:
            out = d.choice([1, [2, 1]])
            oh, ow = (out, out) if isinstance(out, int) else out
            return self.add("AdaptiveAvgPool2d", {"output_size": out}, x), 0, (c, oh, ow)
        if k == 4 and max(h, w) <= 6:
            return self.add("Upsample", {"scale_factor": 2.0, "mode": d.choice(["nearest", "bilinear"])}, x), 0, (c, 2 * h, 2 * w)
        groups = [g for g in _divisors(c) if c // g * h * w > 1]
        if k == 5 and groups:
            return self.add("GroupNorm", {"num_groups": d.choice(groups)}, x), 0, shape
        if k == 6:
            return self.add(d.choice(["BatchNorm2d", "ReLU", "SiLU"]), {}, x), 0, shape
        if k == 7:
            other = self.add("Conv2d", {"out_channels": 2, "kernel_size": 1}, x)
            return self.add("Concat", {"dim": 1}, [*x, (other, 0)]), 0, (c + 2, h, w)
        return self.add("Flatten", {}, x), 0, (c * h * w,)

    def start(self) -> tuple[str, int, tuple[int, ...]]:
        k = self.d.int(0, 4)
        if k == 0:  # token ids
            t = self.d.int(1, 6)
            tokens = self.add("Input", {"shape": [t], "dtype": "int64"})
            dim = self.d.choice([2, 4, 6])
            return self.add("Embedding", {"num_embeddings": 7, "embedding_dim": dim}, [(tokens, 0)]), 0, (t, dim)
        if k == 1:  # diffusion timesteps
            steps = self.add("Input", {"shape": []})
            return self.add("TimestepEmbedding", {"dim": self.d.int(2, 6)}, [(steps, 0)]), 0, (self.nodes[-1]["params"]["dim"],)
        shape = self.d.choice([[self.d.int(1, 8)], [self.d.int(1, 5), self.d.int(1, 6)],
                               [self.d.int(1, 3), self.d.int(1, 6), self.d.int(1, 6)]])
        return self.add("Input", {"shape": shape}), 0, tuple(shape)

    def finish(self, t: tuple[str, int, tuple[int, ...]]) -> dict[str, Any]:
        self.add("Output", {}, [t[:2]])
        return {"name": self.name, "nodes": self.nodes, "edges": self.edges}


def random_document(d: Draw) -> dict[str, Any]:
    names: list[str] = []
    for i in range(2):
        n = d.name()
        while n in names or n in _REGISTRY_NAMES:
            n = f"{n}{i}"
        names.append(n)
    main = GraphBuilder(d, names[0])
    t = main.start()
    extra_out: tuple[str, int, tuple[int, ...]] | None = None
    networks: list[dict[str, Any]] = []
    for _ in range(d.int(1, 7)):
        t = main.step(t)
        if d.int(0, 5) == 0:
            extra_out = t
        if d.int(0, 7) == 0 and not networks and t[2] and t[2] != ():  # wrap a stretch in a block
            block = GraphBuilder(d, names[1])
            inp = block.add("Input", {"shape": list(t[2])})
            bt: tuple[str, int, tuple[int, ...]] = (inp, 0, t[2])
            for _ in range(d.int(1, 3)):
                bt = block.step(bt)
            networks.append(block.finish(bt))
            node = main.add(names[1], {}, [t[:2]])
            t = (node, 0, bt[2])
    if extra_out is not None:
        main.add("Output", {}, [extra_out[:2]])
    return {"format": "netwright-graph", "version": 1, "networks": [main.finish(t), *networks]}


# ---------------------------------------------------------------- checks


def _forward(doc: Document, analysis: Analysis, compiled: CompiledDocument, batch: int = 2) -> None:
    info = analysis.networks[doc.main.name]
    model = compiled.build().eval()
    inputs = [eval(e, {"torch": torch}) for e in example_inputs_code(doc.main, info, batch)]
    with torch.no_grad():
        out = model(*inputs)
    outs = out if isinstance(out, tuple) else (out,)
    want = [(batch, *t.shape[1:]) for t in info.output_types()]  # type: ignore[union-attr]
    assert [tuple(o.shape) for o in outs] == want
    assert sum(p.numel() for p in model.parameters()) == info.total_params


_ALLOWED_GLOBALS = {"__builtins__", "__name__", "__doc__", "torch", "nn", "NETWORKS", "build_model", "causal_mask",
                    "PositionalEncoding", "Reparameterize", "TimestepEmbedding"}


def check_document(raw: dict[str, Any]) -> str:
    doc = from_dict(json.loads(json.dumps(raw)))
    analysis = Analyzer().analyze(doc)
    assert analysis.ok, [d.format() for d in analysis.errors]
    gen = generate(doc, analysis)
    tree = ast.parse(gen.source)
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    assert all(n.isascii() and n.isidentifier() for n in names)
    namespace = exec_source(gen.source)
    defined = set(namespace) - _ALLOWED_GLOBALS
    assert defined == set(gen.class_names.values()), defined
    assert set(namespace["NETWORKS"]) == {n.name for n in doc.networks}
    compiled = CompiledDocument(doc, analysis)
    _forward(doc, analysis, compiled)
    # State-dict keys: <attribute made from the node id>.<torch's own name>, or, for an id
    # that is a module path (``features.0``, ``3``), that path itself.
    attrs = gen.attrs[doc.main.name]
    heads = set(attrs.values())
    paths = [module_path(nid) for nid in attrs]
    heads |= {p[0] for p in paths if p}
    for key in compiled.build().state_dict():
        head = key.split(".")[0]
        assert head in heads, key
        # A plain id becomes an identifier; a module path keeps its owner's names.
        assert re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", head) or head in {p[0] for p in paths if p}, key
    return gen.source


VALID = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                                                  HealthCheck.large_base_example])


@VALID
@given(st.data())
def test_random_valid_documents_generate_code_that_runs(data: st.DataObject) -> None:
    check_document(random_document(Draw(data)))


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                                                  HealthCheck.large_base_example])
@given(st.data())
def test_rules_equal_meta_device_on_random_graphs(data: st.DataObject) -> None:
    doc = from_dict(random_document(Draw(data)))
    fast, ref = Analyzer().analyze(doc), Analyzer(use_meta=True).analyze(doc)
    assert fast.ok and ref.ok, ref.diagnostics
    for name, info in fast.networks.items():
        for nid, n in info.nodes.items():
            r = ref.networks[name].nodes[nid]
            assert (n.output_shapes, n.n_params, n.flops) == (r.output_shapes, r.n_params, r.flops), (nid, n.type)


json_leaf = st.one_of(st.none(), st.booleans(), st.integers(-5, 40), st.sampled_from([0, -1, 2**24, 2**24 + 1, 10**30]),
                      st.floats(-3, 3, allow_nan=False), st.sampled_from(["same", "valid", "int64", "gelu", "", "x"]))
json_value = st.recursive(json_leaf, lambda inner: st.lists(inner, max_size=4), max_leaves=8)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                                                  HealthCheck.large_base_example])
@given(st.data())
def test_corrupted_documents_raise_only_typed_errors(data: st.DataObject) -> None:
    raw = random_document(Draw(data))
    nets = raw["networks"]
    for _ in range(data.draw(st.integers(1, 3))):
        net = data.draw(st.sampled_from(nets))
        kind = data.draw(st.integers(0, 5))
        node = data.draw(st.sampled_from(net["nodes"]))
        if kind == 0:  # a param gets a random value
            spec = REGISTRY.get(node["type"])
            keys = [p.name for p in spec.params] if spec and spec.params else ["bogus"]
            node["params"][data.draw(st.sampled_from(keys))] = data.draw(json_value)
        elif kind == 1:  # a random wire
            other = data.draw(st.sampled_from(net["nodes"]))
            net["edges"].append({"src": node["id"], "dst": other["id"], "src_port": data.draw(st.integers(0, 3)),
                                 "dst_port": data.draw(st.integers(0, 3))})
        elif kind == 2 and net["edges"]:  # a wire goes
            net["edges"].pop(data.draw(st.integers(0, len(net["edges"]) - 1)))
        elif kind == 3:  # a node changes type
            node["type"] = data.draw(st.sampled_from([*sorted(_REGISTRY_NAMES), "Nope", nets[-1]["name"]]))
        elif kind == 4:  # a node goes
            net["nodes"].remove(node)
        else:  # a param is dropped
            node["params"].pop(next(iter(node["params"]), None), None)
    try:
        doc = loads(json.dumps(raw))
        analysis = Analyzer().analyze(doc)
        if not analysis.ok:
            with pytest.raises(GraphError):
                generate(doc, analysis)
            return
        assert all("internal error" not in d.message for d in analysis.diagnostics)
        if analysis.networks[doc.main.name].total_params > 5_000_000:
            generate(doc, analysis)  # too big to build in a unit test
            return
        _forward(doc, analysis, CompiledDocument(doc, analysis))
    except NetwrightError:
        pass


RUFF = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")


def test_hostile_corpus_is_ruff_clean(tmp_path: Path) -> None:
    """A fixed corpus of random documents with hostile names, checked by ruff in one run."""
    if RUFF is None:
        pytest.skip("ruff is not installed")
    rng = random.Random(7)
    for i in range(30):
        source = check_document(random_document(Draw(rng=rng)))
        (tmp_path / f"generated_{i}.py").write_text(source)
    for args in (["check", "--no-cache", "--output-format", "concise"], ["format", "--check", "--diff"]):
        out = subprocess.run([RUFF, *args, "--isolated", str(tmp_path)], check=False, capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]


def test_document_json_round_trip_of_random_graphs() -> None:
    rng = random.Random(11)
    for _ in range(20):
        raw = random_document(Draw(rng=rng))
        doc = from_dict(json.loads(json.dumps(raw)))
        assert to_dict(loads(json.dumps(to_dict(doc)))) == to_dict(doc)


def _summary(a: Analysis) -> Any:
    nets = {name: (info.order, info.inputs, info.outputs, info.ok,
                   {nid: (n.type, repr(n.params), n.inputs, n.outputs, n.n_params, n.flops) for nid, n in info.nodes.items()})
            for name, info in a.networks.items()}
    return a.diagnostics, nets, a.main


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                                                  HealthCheck.large_base_example])
@given(st.data())
def test_a_warm_analyzer_always_agrees_with_a_fresh_one(data: st.DataObject) -> None:
    """Edit a document in place step by step (params, wires, types, ids, nodes, networks):
    the incremental Analyzer, with its caches, reports exactly what a fresh one does."""
    doc = from_dict(random_document(Draw(data)))
    warm = Analyzer()
    assert _summary(warm.analyze(doc)) == _summary(Analyzer().analyze(doc))
    for _ in range(data.draw(st.integers(1, 6))):
        net = data.draw(st.sampled_from(doc.networks))
        if not net.nodes:
            continue
        node = data.draw(st.sampled_from(net.nodes))
        kind = data.draw(st.integers(0, 6))
        if kind == 0:
            spec = REGISTRY.get(node.type)
            keys = [p.name for p in spec.params] if spec and spec.params else ["bogus"]
            node.params[data.draw(st.sampled_from(keys))] = data.draw(json_value)
        elif kind == 1:
            other = data.draw(st.sampled_from(net.nodes))
            from graph_compiler.document import Edge

            net.edges.append(Edge(node.id, other.id, data.draw(st.integers(0, 2)), data.draw(st.integers(0, 2))))
        elif kind == 2 and net.edges:
            net.edges.pop(data.draw(st.integers(0, len(net.edges) - 1)))
        elif kind == 3:
            node.type = data.draw(st.sampled_from([*sorted(_REGISTRY_NAMES), *(n.name for n in doc.networks)]))
        elif kind == 4:
            old, new = node.id, data.draw(st.sampled_from(["renamed", node.id + "2", net.nodes[0].id]))
            node.id = new
            for e in net.edges:
                e.src = new if e.src == old else e.src
                e.dst = new if e.dst == old else e.dst
        elif kind == 5:
            net.nodes.remove(node)
        else:
            net.name = data.draw(st.sampled_from(["Renamed", doc.networks[0].name, net.name + "x"]))
        assert _summary(warm.analyze(doc)) == _summary(Analyzer().analyze(doc))
