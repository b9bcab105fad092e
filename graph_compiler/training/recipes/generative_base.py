"""Shared helpers for the generative and sequence recipes (not a recipe itself).

``GenerativeMixin`` sits beside ``Recipe`` (``class Gan(GenerativeMixin, Recipe)``) and
adds what several recipes need and the base interface does not carry:

- choosing networks by option / conventional name, and finding graph facts (the node that
  feeds an Output, the block instances of a sub-network, the module of a node);
- turning samples into dashboard payloads (scatter over the real data for 2-D sets,
  image grids for image data, a 2-D PCA projection for latent codes);
- seeded generators so live previews use the same noise every epoch (a moving picture
  of one set of samples, not flicker).

Payloads follow events.py and the dashboard (designer/training/samples_view.py): "scatter",
"images", "text", "latent" (codes coloured by class), "chain" (denoising snapshots). Every
``sample(n)`` payload also has ``"samples"``, the full ndarray in data space that
``netwright sample`` writes; a payload may carry ``"panels"``, a list of further payloads
shown beside it (a VAE's latent plot beside its reconstructions, a diffusion chain beside
its samples).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

import numpy as np
import torch
from torch import nn

from graph_compiler.catalog import fmt_shape
from graph_compiler.training.recipes.base import Recipe

if TYPE_CHECKING:
    from graph_compiler.training.datasets import Dataset

MAX_POINTS = 2048  # scatter points per series in a live payload
MAX_IMAGES = 32  # images per grid in a live payload


def to_numpy(t: torch.Tensor) -> np.ndarray:
    return t.detach().float().cpu().numpy()


def pca_2d(x: torch.Tensor) -> torch.Tensor:
    """Rows of x [N, D] projected on their first two principal components ([N, 2]);
    D <= 2 passes through (padded with zeros to 2 columns)."""
    x = x.detach().float().reshape(len(x), -1)
    if x.shape[1] <= 2:
        return torch.nn.functional.pad(x, (0, 2 - x.shape[1]))
    centred = x - x.mean(0, keepdim=True)
    # SVD of the small D x D covariance: deterministic, unlike pca_lowrank's random init.
    _, _, v = torch.linalg.svd(centred.T @ centred)
    proj = centred @ v[:, :2]
    # Fix the sign of each axis so the picture does not flip between epochs.
    peak = proj.abs().argmax(0)
    signs = torch.sign(proj[peak, torch.arange(2, device=proj.device)])
    signs[signs == 0] = 1
    result: torch.Tensor = proj * signs
    return result


def image_shape(dataset: "Dataset | None", sample_shape: Sequence[int]) -> tuple[int, int, int] | None:
    """[C, H, W] to show samples of ``sample_shape`` as images, or None when they are not
    images: [C, H, W] / [H, W] data, or flat data whose dataset says ``meta.image_shape``."""
    shape = tuple(sample_shape)
    meta_shape = (dataset.meta.get("image_shape") if dataset is not None else None) or None
    if meta_shape is not None and int(np.prod(meta_shape)) == int(np.prod(shape)) and len(meta_shape) in (2, 3):
        ms = [int(v) for v in meta_shape]
        return (ms[0], ms[1], ms[2]) if len(ms) == 3 else (1, ms[0], ms[1])
    if len(shape) == 3 and shape[0] in (1, 3):
        return (int(shape[0]), int(shape[1]), int(shape[2]))
    if len(shape) == 2 and min(shape) >= 4:
        return (1, int(shape[0]), int(shape[1]))
    return None


def images_payload(x: torch.Tensor, shape: tuple[int, int, int], real: torch.Tensor | None = None,
                   titles: Sequence[str] | None = None, limit: int = MAX_IMAGES) -> dict[str, Any]:
    """{"kind": "images"}: x reshaped to [n, C, H, W], scaled into 0..1 when outside it."""
    def prep(t: torch.Tensor) -> np.ndarray:
        t = t[:limit].detach().float().reshape(-1, *shape)
        lo, hi = float(t.min()) if t.numel() else 0.0, float(t.max()) if t.numel() else 1.0
        if lo < -0.05 or hi > 1.05:  # not pixel intensities: stretch for display
            t = (t - lo) / max(hi - lo, 1e-8)
        return to_numpy(t.clamp(0, 1))

    out: dict[str, Any] = {"kind": "images", "images": prep(x)}
    if real is not None:
        out["real"] = prep(real)
    if titles is not None:
        out["titles"] = list(titles)[:limit]
    return out


def scatter_payload(points: torch.Tensor, real: torch.Tensor | None = None,
                    labels: torch.Tensor | None = None, limit: int = MAX_POINTS) -> dict[str, Any]:
    """{"kind": "scatter"}: the first two features (or a PCA projection when there are more)."""
    def prep(t: torch.Tensor) -> np.ndarray:
        t = t[:limit].detach().float().reshape(min(len(t), limit), -1)
        return to_numpy(t if t.shape[1] == 2 else pca_2d(t))

    out: dict[str, Any] = {"kind": "scatter", "points": prep(points)}
    if real is not None:
        out["real"] = prep(real)
    if labels is not None:
        out["labels"] = to_numpy(labels[:limit].reshape(-1)).astype(np.int64)
    return out


def latent_payload(z: torch.Tensor, labels: torch.Tensor | None = None, title: str = "latent",
                   limit: int = MAX_POINTS) -> dict[str, Any]:
    """{"kind": "latent"}: codes [N, D] on their first two principal axes (as they are when
    D = 2), coloured by ``labels`` when given."""
    z = z[:limit].detach().float().reshape(min(len(z), limit), -1)
    out: dict[str, Any] = {"kind": "latent", "points": to_numpy(pca_2d(z)), "title": title}
    if labels is not None:
        out["labels"] = to_numpy(labels[:limit].reshape(-1)).astype(np.int64)
    return out


def chain_payload(chain: Sequence[tuple[int, torch.Tensor]], image: tuple[int, int, int] | None = None,
                  limit: int = MAX_POINTS) -> dict[str, Any]:
    """{"kind": "chain"}: snapshots (timestep, x_t) of a denoising run, noise first."""
    steps = []
    for _, x in chain:
        if image is not None:
            steps.append(images_payload(x[:8], image)["images"])
        else:
            x = x[:limit].detach().float().reshape(min(len(x), limit), -1)
            steps.append(to_numpy(x if x.shape[1] == 2 else pca_2d(x)))
    return {"kind": "chain", "steps": steps, "t": [int(t) for t, _ in chain], "title": "denoising chain"}


class GenerativeMixin(Recipe):
    """Helpers for recipes; mix in before Recipe: ``class Vae(GenerativeMixin, Recipe)``."""

    # -- networks and graph facts
    def pick_network(self, option: str, preferred: Sequence[str], index: int, role: str) -> str:
        """The network named by ``training.options.<option>``, else the first existing one of
        ``preferred``, else the document's network number ``index``."""
        from graph_compiler.training.config import TrainingConfigError

        names = self.ctx.document.network_names()
        if option in self.ctx.options:
            name = self.ctx.option(option, kind=str)
            if name not in names:
                raise TrainingConfigError(
                    f"training.options.{option}: the {role} network {name!r} is not in this file; "
                    f"its networks are {', '.join(map(repr, names))}")
            return str(name)
        for name in preferred:
            if name in names:
                return name
        if index < len(names):
            return names[index]
        raise TrainingConfigError(
            f"the {role} network is missing: this file has only {', '.join(map(repr, names))}; "
            f"add a network named {preferred[0]!r} or set training.options.{option}")

    def output_source_type(self, network: str, port: int = 0, _depth: int = 0) -> str | None:
        """Type of the node that feeds the network's ``port``-th Output (e.g. "Sigmoid"),
        looking through Identity nodes and into blocks (a VAE's Decoder block)."""
        info = self.ctx.analysis.networks.get(network)
        net = self.ctx.document.network(network)
        if info is None or net is None or port >= len(info.outputs) or _depth > 16:
            return None
        edges = net.in_edges(info.outputs[port])
        while edges:
            src = net.node(edges[0].src)
            if src is None:
                return None
            if src.type == "Identity":
                edges = net.in_edges(src.id)
                continue
            if src.type in self.ctx.analysis.networks:  # a block: what feeds its Output
                return self.output_source_type(src.type, edges[0].src_port, _depth + 1)
            return src.type
        return None

    def block_nodes(self, network: str, block: str) -> list[str]:
        """Ids of the nodes in ``network`` that use network ``block`` as a block."""
        net = self.ctx.document.network(network)
        return [n.id for n in net.nodes if n.type == block] if net else []

    def node_module(self, module: nn.Module, network: str, node_id: str) -> nn.Module | None:
        """The submodule that generated code made for ``node_id`` of ``network``."""
        attr = self.ctx.compiled.generated.attrs.get(network, {}).get(node_id)
        return getattr(module, attr, None) if attr else None

    def sample_shape(self, network: str, port: int = 0) -> tuple[int, ...] | None:
        """Per-sample shape (no batch) of the network's ``port``-th output."""
        outs = self.ctx.analysis.networks[network].output_types()
        t = outs[port] if port < len(outs) else None
        return tuple(t.shape[1:]) if t is not None else None

    def input_shape(self, network: str, port: int = 0) -> tuple[int, ...] | None:
        ins = self.ctx.analysis.networks[network].input_types()
        t = ins[port] if port < len(ins) else None
        return tuple(t.shape[1:]) if t is not None else None

    def describe_output(self, network: str, port: int = 0) -> str:
        outs = self.ctx.analysis.networks[network].output_types()
        t = outs[port] if port < len(outs) else None
        return fmt_shape(t.shape) if t is not None else "?"

    # -- data and payloads
    def generator(self, offset: int = 1) -> torch.Generator:
        """A CPU generator seeded from the run's seed: the same noise every call."""
        return torch.Generator().manual_seed(int(self.ctx.seed) * 7919 + offset)

    def real_data(self, n: int, split: str = "val") -> tuple[torch.Tensor, torch.Tensor | None]:
        """Up to n (x, y) rows of the val split (train when there is none), in data space."""
        ds = self.ctx.val if split == "val" and self.ctx.val is not None else self.ctx.train
        x = ds.x[:n]
        y = ds.y[:n] if ds.y is not None else None
        return self.ctx.denormalize(x.to(self.ctx.device).float()), y

    def probe_batch(self, n: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Up to n (x, y) rows of the val split (train when there is none) as the network
        sees them (normalised), on the device: a fixed batch for live previews."""
        ds = self.ctx.val if self.ctx.val is not None else self.ctx.train
        y = ds.y[:n].to(self.ctx.device) if ds.y is not None else None
        return ds.x[:n].to(self.ctx.device), y

    def display(self, samples: torch.Tensor, real: torch.Tensor | None = None,
                labels: torch.Tensor | None = None) -> dict[str, Any]:
        """Images when the data are images, else a scatter (PCA beyond 2 features)."""
        shape = image_shape(self.ctx.train, samples.shape[1:])
        if shape is not None:
            return images_payload(samples, shape, real)
        return scatter_payload(samples, real, labels)

    def sample_payload(self, samples: torch.Tensor) -> dict[str, Any]:
        """What ``sample(n)`` returns: a display payload plus ``"samples"`` (all of them)."""
        real, _ = self.real_data(MAX_POINTS)
        payload = self.display(samples, real)
        payload["samples"] = to_numpy(samples)
        return payload


__all__ = [
    "GenerativeMixin", "MAX_IMAGES", "MAX_POINTS", "chain_payload", "image_shape", "images_payload",
    "latent_payload", "pca_2d", "scatter_payload", "to_numpy",
]
