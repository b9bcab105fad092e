"""Looking inside a network while (or after) it trains: activations on a fixed probe batch
and per-layer weight / gradient norms.

Qt-free on purpose: the designer's training worker calls these between engine steps (the
engine's generator is suspended then, so nothing else touches the modules), and tests or
notebooks can call them on any generated module.

Node ids map to module attributes through ``graph_compiler.codegen.Generated.attrs``
(network -> node id -> attribute). Nodes that are plain expressions in ``forward`` (Add,
Concat, ...) own no module; their value is captured as the input of a downstream node that
does, and Input nodes show the probe batch itself.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from graph_compiler.analysis import NetworkInfo
from graph_compiler.document import Network

# Enough samples for a meaningful histogram; small enough that a forward pass of any
# example network takes a few milliseconds between training steps.
PROBE_SIZE = 32
# Cap on values kept per captured activation so a huge feature map never travels whole.
MAX_VALUES = 2_000_000


@dataclass
class Activation:
    """What one node produced on the probe batch (first sample-major tensor only)."""

    node_id: str
    values: np.ndarray  # float32, shape [N, ...] as the node emitted it (N = probe samples)
    source: str  # how it was captured: "output", "input of <node>", "probe batch"


class ProbeError(Exception):
    """The node cannot be probed; the message says why in words a user understands."""


# ---------------------------------------------------------------- probe batch


def probe_inputs(info: NetworkInfo, data_x: torch.Tensor | None, n: int = PROBE_SIZE,
                 seed: int = 0, vocab: int = 2) -> list[torch.Tensor]:
    """A fixed batch for every Input of a network (CPU tensors).

    An Input whose per-sample shape equals the dataset's takes the first ``n`` samples (the
    same every time, so activations are comparable across epochs); others (a generator's
    latent, a diffusion timestep) get seeded noise of the right shape and dtype.
    """
    gen = torch.Generator().manual_seed(seed)
    out: list[torch.Tensor] = []
    for nid in info.inputs:
        types = info.nodes[nid].outputs or []
        if not types:
            raise ProbeError(f"input {nid!r} has no known shape")
        t = types[0]
        shape = tuple(int(d) for d in t.shape[1:])
        if data_x is not None and tuple(data_x.shape[1:]) == shape:
            out.append(data_x[:n].detach().to("cpu"))
        elif t.dtype == "long":
            out.append(torch.randint(0, max(2, vocab), (n, *shape), generator=gen))
        else:
            out.append(torch.randn((n, *shape), generator=gen))
    return out


# ---------------------------------------------------------------- activations


def _first_tensor(value: Any) -> torch.Tensor | None:
    if isinstance(value, torch.Tensor):
        return value
    if isinstance(value, (tuple, list)):
        for v in value:
            t = _first_tensor(v)
            if t is not None:
                return t
    return None


def _to_numpy(t: torch.Tensor) -> np.ndarray:
    t = t.detach()
    if t.numel() > MAX_VALUES:  # keep whole samples: views tile per sample
        per = max(1, t[0].numel())
        t = t[: max(1, MAX_VALUES // per)]
    return t.float().cpu().numpy()


def _source_of(net: Network, attrs: Mapping[str, str], node_id: str,
               seen: set[str] | None = None, probe_ok: bool = True) -> tuple[str, str, int] | None:
    """(mode, node, port) telling where ``node_id``'s value can be seen:
    ("output", node, 0) its own module; ("input", consumer, port) a consumer module's
    input; ("probe", input_id, index) the probe batch. None if nowhere."""
    seen = seen or set()
    if node_id in seen:
        return None
    seen.add(node_id)
    node = net.node(node_id)
    if node is None:
        return None
    if node_id in attrs:
        return ("output", node_id, 0)
    if node.type == "Input" and probe_ok:
        inputs = [n.id for n in net.nodes if n.type == "Input"]
        return ("probe", node_id, inputs.index(node_id))
    if node.type == "Output":  # an Output shows what feeds it
        feeding = net.in_edges(node_id)
        return _source_of(net, attrs, feeding[0].src, seen, probe_ok) if feeding else None
    for e in net.out_edges(node_id):
        if e.src_port == 0 and e.dst in attrs:
            return ("input", e.dst, e.dst_port)
    return None


def capture_activations(model: nn.Module, net: Network, attrs: Mapping[str, str],
                        node_ids: Sequence[str], inputs: Sequence[torch.Tensor],
                        scope: nn.Module | None = None) -> dict[str, Activation]:
    """Run ``model`` once on ``inputs`` with forward hooks and return each node's value.

    ``net`` / ``attrs`` describe the module ``scope`` (default: ``model`` itself); pass the
    instance of a block network inside ``model`` to look into the block.

    The model is put in eval mode under ``no_grad`` (so dropout / batch-norm statistics
    are left alone) and its previous mode is restored. Nodes that cannot be seen raise
    nothing; they are simply absent (``describe_unprobeable`` explains why).
    """
    device = next((p.device for p in model.parameters()), torch.device("cpu"))
    plan: dict[str, tuple[str, str, int]] = {}
    probe_ok = scope is None or scope is model  # a block's Inputs are fed by its parent
    for nid in node_ids:
        src = _source_of(net, attrs, nid, probe_ok=probe_ok)
        if src is not None:
            plan[nid] = src
    found: dict[str, Activation] = {}
    handles = []
    for nid, (mode, owner, port) in plan.items():
        if mode == "probe":
            found[nid] = Activation(nid, _to_numpy(inputs[port]), "probe batch")
            continue
        module = (scope or model).get_submodule(attrs[owner])

        def hook(_m: nn.Module, args: Any, output: Any, nid: str = nid, mode: str = mode,
                 owner: str = owner, port: int = port) -> None:
            value = _first_tensor(output) if mode == "output" else (
                args[port] if port < len(args) and isinstance(args[port], torch.Tensor) else None)
            if value is not None and nid not in found:  # first call only
                how = "output" if mode == "output" else f"input of {owner}"
                found[nid] = Activation(nid, _to_numpy(value), how)

        handles.append(module.register_forward_hook(hook))
    if not handles:
        return found
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(*[t.to(device) for t in inputs])
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    return found


def describe_unprobeable(net: Network, attrs: Mapping[str, str], node_id: str) -> str | None:
    """Why a node's activations cannot be shown, or None when they can."""
    if net.node(node_id) is None:
        return f"node {node_id!r} is not in network {net.name!r} of the trained snapshot"
    if _source_of(net, attrs, node_id) is None:
        return f"node {node_id!r} has no module and no consumer with one, so its value cannot be captured"
    return None


# ---------------------------------------------------------------- per-layer norms


@dataclass
class LayerGroups:
    """Parameters grouped by the node that owns them (one row per node with weights)."""

    names: list[str]
    params: list[torch.Tensor]  # flat
    owner: np.ndarray  # owner[i] = row of params[i]


def layer_groups(model: nn.Module, attrs: Mapping[str, str]) -> LayerGroups:
    names: list[str] = []
    params: list[torch.Tensor] = []
    owner: list[int] = []
    for nid, attr in attrs.items():
        try:
            sub = model.get_submodule(attr)
        except AttributeError:
            continue
        ps = [p for p in sub.parameters() if p.requires_grad]
        if not ps:
            continue
        names.append(nid)
        params.extend(ps)
        owner.extend([len(names) - 1] * len(ps))
    return LayerGroups(names, params, np.asarray(owner, dtype=np.int64))


def _norms(tensors: list[torch.Tensor]) -> np.ndarray:
    if not tensors:
        return np.zeros(0)
    # One device->host copy for all parameters instead of one sync per tensor.
    return torch.stack([torch.linalg.vector_norm(t.detach().float()) for t in tensors]).cpu().double().numpy()


def layer_norms(groups: LayerGroups) -> tuple[np.ndarray, np.ndarray]:
    """(weight norms, grad norms) per row of ``groups``: the L2 norm over all of a node's
    parameters. A node whose gradients are absent (not yet computed, frozen) gets NaN.

    Gradients are read as the optimizer left them: recipes zero them at the start of the
    next step (``set_to_none``), so between engine events they hold the last step's.
    """
    rows = len(groups.names)
    w2 = np.zeros(rows)
    np.add.at(w2, groups.owner, _norms(groups.params) ** 2)
    with_grad = [i for i, p in enumerate(groups.params) if p.grad is not None]
    g2 = np.zeros(rows)
    has = np.zeros(rows, dtype=bool)
    if with_grad:
        gn = _norms([g for g in (groups.params[i].grad for i in with_grad) if g is not None])
        idx = groups.owner[with_grad]
        np.add.at(g2, idx, gn ** 2)
        has[idx] = True
    g = np.sqrt(g2)
    g[~has] = np.nan
    return np.sqrt(w2), g


# ---------------------------------------------------------------- a trained model, probed


class ModelProbe:
    """Activations and norms of a run's modules, by node id.

    ``modules``: {network: module} as trained (the recipe's ``modules``); ``generated``:
    the run's ``Generated`` (node id -> attribute); ``doc`` / ``analysis``: the trained
    snapshot; ``data_x``: samples as the networks see them (normalised), for the probe
    batch. A node of a network that is only used as a block is looked up inside the first
    trained module that contains an instance of that block.

    Call from the thread that owns the modules (the worker while training; any thread
    once the run has ended).
    """

    def __init__(self, modules: Mapping[str, nn.Module], generated: Any, doc: Any, analysis: Any,
                 data_x: torch.Tensor | None, namespace: Mapping[str, Any] | None = None) -> None:
        self.modules = dict(modules)
        self.generated = generated
        self.doc = doc
        self.analysis = analysis
        self.data_x = data_x
        self.namespace = namespace or {}
        self._inputs: dict[str, list[torch.Tensor]] = {}
        self._groups: list[tuple[str, LayerGroups]] | None = None

    def find_network(self, node_id: str, network: str | None = None) -> str | None:
        """The network holding ``node_id``: ``network`` if it does, else the first trained
        network that does, else any network that does."""
        names = [network] if network else []
        names += list(self.modules) + [n.name for n in self.doc.networks]
        for name in names:
            net = self.doc.network(name) if name else None
            if net is not None and net.node(node_id) is not None:
                return name
        return None

    def _scope(self, network: str) -> tuple[nn.Module, nn.Module]:
        """(module to run, module holding the network's attributes)."""
        if network in self.modules:
            m = self.modules[network]
            return m, m
        cls = self.namespace.get(self.generated.class_names.get(network, ""))
        for top in self.modules.values():
            for sub in top.modules():
                if cls is not None and isinstance(sub, cls):
                    return top, sub
        raise ProbeError(f"network {network!r} was not trained and is not used as a block by a trained network")

    def _probe_batch(self, top_name: str) -> list[torch.Tensor]:
        if top_name not in self._inputs:
            info = self.analysis.networks[top_name]
            self._inputs[top_name] = probe_inputs(info, self.data_x, vocab=_vocab(info))
        return self._inputs[top_name]

    def activation(self, node_id: str, network: str | None = None) -> Activation:
        name = self.find_network(node_id, network)
        if name is None:
            raise ProbeError(f"node {node_id!r} is not in the trained snapshot (added after the run started?)")
        top, scope = self._scope(name)
        top_name = next(n for n, m in self.modules.items() if m is top)
        net = self.doc.network(name)
        attrs = self.generated.attrs.get(name, {})
        why = describe_unprobeable(net, attrs, node_id)
        if why:
            raise ProbeError(why)
        found = capture_activations(top, net, attrs, [node_id], self._probe_batch(top_name), scope=scope)
        if node_id not in found:
            raise ProbeError(f"node {node_id!r} did not run on the probe batch")
        return found[node_id]

    def norms(self) -> tuple[list[str], np.ndarray, np.ndarray]:
        """(layer names, weight norms, grad norms) over every trained network; names are
        node ids, prefixed with the network when several networks train (GAN)."""
        if self._groups is None:
            self._groups = [(n, layer_groups(m, self.generated.attrs.get(n, {}))) for n, m in self.modules.items()]
        names: list[str] = []
        ws, gs = [], []
        prefix = len(self._groups) > 1
        for net, groups in self._groups:
            w, g = layer_norms(groups)
            names += [f"{net}/{n}" if prefix else n for n in groups.names]
            ws.append(w)
            gs.append(g)
        if not names:
            return [], np.zeros(0), np.zeros(0)
        return names, np.concatenate(ws), np.concatenate(gs)


def _vocab(info: NetworkInfo) -> int:
    sizes = [n.params.get("num_embeddings", 2) for n in info.nodes.values() if n.type == "Embedding"]
    return int(min(sizes)) if sizes else 2


__all__ = [
    "PROBE_SIZE",
    "Activation",
    "LayerGroups",
    "ModelProbe",
    "ProbeError",
    "capture_activations",
    "describe_unprobeable",
    "layer_groups",
    "layer_norms",
    "probe_inputs",
]
