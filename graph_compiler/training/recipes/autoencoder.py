"""Autoencoder: the network rebuilds its input; the loss compares the two.

Network (``options.network``, default the main one): one Input taking the dataset's x,
first Output shaped like x (more Outputs are ignored). Loss (``training.loss``): "mse"
(default), "l1", or "bce" for data in 0..1: when the Output is fed by a Sigmoid the
output is read as probabilities, otherwise as logits. Metrics: val_loss and val_mse
(mean squared error in data space, comparable across losses).

Live samples: reconstructions beside their originals (images, or a scatter over the data
for 2-D sets), plus a scatter of the latent codes coloured by class when the dataset has
labels. The latent code is the output of ``options.latent`` (a node id), by default the
narrowest node of the network (the bottleneck), projected on 2 principal axes if wider.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch.nn import functional as F

from graph_compiler.training.recipes.base import Recipe, batch_shape, first_output
from graph_compiler.training.recipes.generative_base import (
    GenerativeMixin,
    image_shape,
    images_payload,
    latent_payload,
    scatter_payload,
)
from graph_compiler.training.recipes.registry import register

N_SHOW = 16  # reconstructions shown
N_LATENT = 1000  # latent points shown


def reconstruction_loss(kind: str, out: torch.Tensor, target: torch.Tensor, probabilities: bool,
                        reduction: str = "mean") -> torch.Tensor:
    """"mse" / "l1" / "bce" between an output and its target (elementwise ``reduction``:
    "mean" over everything, or "sum" per sample then mean over the batch)."""
    out, target = out.float(), target.float()
    if kind == "bce":
        if probabilities:
            elem = F.binary_cross_entropy(out.clamp(1e-6, 1 - 1e-6), target.clamp(0, 1), reduction="none")
        else:
            elem = F.binary_cross_entropy_with_logits(out, target.clamp(0, 1), reduction="none")
    elif kind == "l1":
        elem = (out - target).abs()
    else:
        elem = (out - target) ** 2
    if reduction == "sum":
        return elem.reshape(len(elem), -1).sum(1).mean()
    return elem.mean()


class ReconstructionMixin(GenerativeMixin):
    """What the autoencoder and the VAE share: loss choice, display, latent capture."""

    net: str
    recon_kind: str

    def pick_loss(self, default: str = "mse") -> str:
        from graph_compiler.training.config import TrainingConfigError

        kind = self.ctx.config.loss or default
        if kind not in ("mse", "l1", "bce"):
            raise TrainingConfigError(
                f"training.loss: {kind!r} does not fit a reconstruction; use mse, l1 or bce")
        return kind

    @property
    def probabilities(self) -> bool:
        """True when the reconstruction comes out of a Sigmoid (pixels in 0..1)."""
        return self.output_source_type(self.net) == "Sigmoid"

    def to_data(self, out: torch.Tensor) -> torch.Tensor:
        """Network output -> data space (logits through a sigmoid for bce without Sigmoid)."""
        if self.recon_kind == "bce" and not self.probabilities:
            return torch.sigmoid(out.float())
        return out.float()

    def check_reconstruction(self, dataset: Any) -> list[str]:
        problems = self.check_input(self.net, dataset)
        info = self.ctx.analysis.networks[self.net]
        if not info.outputs:
            return problems + [f"network {self.net!r} has no Output; its first Output must rebuild the input"]
        out = self.sample_shape(self.net)
        if out is not None and out != tuple(dataset.x.shape[1:]):
            problems.append(f"the reconstruction {self.describe_output(self.net)} does not match the "
                            f"dataset's samples {batch_shape(dataset.x)}")
        if not torch.is_floating_point(dataset.x):
            problems.append(f"dataset {dataset.name!r} holds int64 tokens; an autoencoder rebuilds float features")
        elif self.recon_kind == "bce" and (float(dataset.x.min()) < 0 or float(dataset.x.max()) > 1):
            problems.append(f"training.loss 'bce' needs data in 0..1, but dataset {dataset.name!r} spans "
                            f"{float(dataset.x.min()):.3g}..{float(dataset.x.max()):.3g}; use mse or "
                            "normalize: none on data already in 0..1")
        return problems

    def reconstruction_payload(self, originals: torch.Tensor, recon: torch.Tensor) -> dict[str, Any]:
        shape = image_shape(self.ctx.train, originals.shape[1:])
        if shape is not None:
            return images_payload(recon[:N_SHOW], shape, originals[:N_SHOW],
                                  titles=["reconstruction"] * min(N_SHOW, len(recon)))
        return scatter_payload(recon, originals)


@register("autoencoder", aliases=("ae",))
class Autoencoder(ReconstructionMixin, Recipe):
    tasks = ()  # labels, if any, only colour the latent plot
    normalize = "none"  # reconstructions are shown and scored in the data's own units
    generative = False
    monitor = "val_loss"

    OPTIONS = ("network", "latent")

    def __init__(self, ctx: Any) -> None:
        super().__init__(ctx)
        ctx.check_options(self.OPTIONS)
        self.net = self.pick_network("network", (), 0, "autoencoder")
        self.recon_kind = self.pick_loss("mse")
        self.latent_option = ctx.option("latent", None, str)

    def networks(self) -> list[str]:
        return [self.net]

    def check(self, analysis: Any, dataset: Any) -> list[str]:
        problems = self.check_reconstruction(dataset)
        if self.latent_option is not None and self.latent_option not in analysis.networks[self.net].nodes:
            problems.append(f"training.options.latent: node {self.latent_option!r} is not in {self.net!r}")
        return problems

    def setup(self) -> None:
        self.model = self.build(self.net)
        self.opt = self.ctx.make_optimizer(self.model.parameters())
        self._latent_node = self.latent_option or self._bottleneck()
        self._probe = self.probe_batch(N_LATENT)

    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        return first_output(self.model(x))

    def train_step(self, batch: dict[str, torch.Tensor]) -> dict[str, Any]:
        x = batch["x"]
        with self.ctx.amp.autocast():
            loss = reconstruction_loss(self.recon_kind, self._forward(x), x, self.probabilities)
        self.ctx.amp.step(loss, self.opt)
        return {"loss": loss.detach()}

    def evaluate(self, val: Any) -> dict[str, Any]:
        total = mse = 0.0
        n = 0
        for b in self.ctx.batches({"x": val.x}):
            x = b["x"]
            with self.ctx.amp.autocast():
                out = self._forward(x)
            total += float(reconstruction_loss(self.recon_kind, out, x, self.probabilities)) * len(x)
            mse += float(F.mse_loss(self.ctx.denormalize(self.to_data(out)), self.ctx.denormalize(x.float()))) * len(x)
            n += len(x)
        n = max(n, 1)
        return {"val_loss": total / n, "val_mse": mse / n}

    # -- the latent code
    def _bottleneck(self) -> str | None:
        """The node with the fewest output values per sample that owns a module (so a hook
        can read it), outside the first and last quarter of the graph's order."""
        info = self.ctx.analysis.networks[self.net]
        attrs = self.ctx.compiled.generated.attrs.get(self.net, {})
        order = [nid for nid in info.order if nid in attrs and info.nodes[nid].outputs]
        if len(order) < 3:
            return None
        best, best_size = None, None
        for nid in order[1:-1]:
            outputs = info.nodes[nid].outputs
            assert outputs  # order keeps only nodes with outputs
            size = int(np.prod(outputs[0].shape[1:]))
            if best_size is None or size < best_size:
                best, best_size = nid, size
        return best

    def latent_codes(self, x: torch.Tensor) -> torch.Tensor | None:
        if self._latent_node is None:
            return None
        mod = self.node_module(self.model, self.net, self._latent_node)
        if mod is None:
            return None
        captured: list[torch.Tensor] = []
        handle = mod.register_forward_hook(lambda m, i, o: captured.append(o[0] if isinstance(o, tuple) else o))
        try:
            self._forward(x)
        finally:
            handle.remove()
        return captured[0].reshape(len(x), -1) if captured else None

    def live_samples(self) -> dict[str, Any] | None:
        x, y = self._probe
        recon = self.to_data(self._forward(x[:N_SHOW]))
        payload = self.reconstruction_payload(self.ctx.denormalize(x[:N_SHOW]),
                                              self.ctx.denormalize(recon))
        z = self.latent_codes(x)
        if z is not None:
            labels = y if y is not None and y.ndim == 1 and not torch.is_floating_point(y) else None
            payload["panels"] = [latent_payload(z, labels, f"latent ({self._latent_node})")]
        return payload


__all__ = ["Autoencoder", "ReconstructionMixin", "reconstruction_loss"]
