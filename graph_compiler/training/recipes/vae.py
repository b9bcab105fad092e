"""Variational autoencoder: reconstruction plus a KL term that shapes the latent space.

Network (``options.network``, default the main one): one Input taking the dataset's x and
three Outputs in this order: the reconstruction (shaped like x), mu and logvar (both
[B, latent]); a Reparameterize node usually draws z between them. The decoder
(``options.decoder``, default "Decoder") is a separate network of the file, used inside
the main network as a block node, with one Input [latent] and one Output shaped like x;
sampling draws z ~ N(0, I) and runs that block with the trained weights.

Loss per sample (the negative ELBO, summed over features, averaged over the batch):
recon + kl_weight * w * KL(q(z|x) || N(0, I)), KL = -1/2 sum(1 + logvar - mu^2 - exp(logvar)),
with w rising linearly from 0 to 1 over the first ``warmup_epochs`` (per step; 0 = no
warm-up). Reconstruction: "bce" (default when the reconstruction comes out of a Sigmoid)
or "mse" / "l1" (``training.loss``). val_loss uses the full weight, so it is comparable
across epochs. Keys: recon, kl, kl_weight (step / train_), val_recon, val_kl.
"""
from __future__ import annotations

from typing import Any

import torch

from graph_compiler.training.recipes.autoencoder import (
    N_LATENT,
    N_SHOW,
    ReconstructionMixin,
    reconstruction_loss,
)
from graph_compiler.training.recipes.base import Recipe
from graph_compiler.training.recipes.generative_base import MAX_IMAGES, latent_payload
from graph_compiler.training.recipes.registry import register
from graph_compiler.training.sampling import latent_sample


def kl_divergence(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, exp(logvar)) || N(0, I)) per sample, summed over latent dims: [B], >= 0."""
    mu, logvar = mu.float().reshape(len(mu), -1), logvar.float().reshape(len(logvar), -1)
    return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum(1)


@register("vae")
class Vae(ReconstructionMixin, Recipe):
    tasks = ()  # labels, if any, only colour the latent plot
    normalize = "none"
    generative = True
    monitor = "val_loss"

    OPTIONS = ("network", "decoder", "kl_weight", "warmup_epochs")

    def __init__(self, ctx: Any) -> None:
        super().__init__(ctx)
        ctx.check_options(self.OPTIONS)
        self.net = self.pick_network("network", (), 0, "VAE")
        self.decoder_name = ctx.option("decoder", "Decoder", str)
        self.beta = ctx.option("kl_weight", 1.0, float, min=0.0)
        self.warmup_epochs = ctx.option("warmup_epochs", 0.0, float, min=0.0)
        self.recon_kind = self.pick_loss("bce" if self.probabilities else "mse")

    def networks(self) -> list[str]:
        return [self.net]

    # -- checks
    def check(self, analysis: Any, dataset: Any) -> list[str]:
        problems = self.check_reconstruction(dataset)
        info = analysis.networks[self.net]
        if len(info.outputs) < 3:
            problems.append(f"network {self.net!r} has {len(info.outputs)} Output(s); a VAE needs three, in "
                            "order: reconstruction, mu, logvar")
            return problems
        mu, logvar = self.sample_shape(self.net, 1), self.sample_shape(self.net, 2)
        if mu != logvar:
            problems.append(f"mu {self.describe_output(self.net, 1)} and logvar "
                            f"{self.describe_output(self.net, 2)} (Outputs 2 and 3) must have the same shape")
        if self.decoder_name not in analysis.networks:
            problems.append(f"the decoder network {self.decoder_name!r} is not in this file; sampling needs "
                            "it (set training.options.decoder to the network that maps z to a sample)")
            return problems
        if not self.block_nodes(self.net, self.decoder_name):
            problems.append(f"network {self.net!r} does not use {self.decoder_name!r} as a block, so the "
                            "decoder would never be trained; wire z -> a Decoder block node -> the "
                            "reconstruction Output")
        z = self.input_shape(self.decoder_name)
        if z is not None and mu is not None and z != mu:
            problems.append(f"the decoder's Input [B, {', '.join(map(str, z))}] does not match mu "
                            f"{self.describe_output(self.net, 1)}")
        return problems

    # -- training
    def setup(self) -> None:
        self.model = self.build(self.net)
        self.opt = self.ctx.make_optimizer(self.model.parameters())
        self._probe = self.probe_batch(N_LATENT)

    def kl_scale(self) -> float:
        """The warm-up factor w in 0..1 for the current step."""
        if self.warmup_epochs <= 0:
            return 1.0
        done = self.ctx.global_step / max(1, self.ctx.steps_per_epoch)
        return min(1.0, done / float(self.warmup_epochs))

    def _terms(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        with self.ctx.amp.autocast():
            recon, mu, logvar = self.model(x)[:3]
        rec = reconstruction_loss(self.recon_kind, recon, x, self.probabilities, reduction="sum")
        return recon, rec, kl_divergence(mu, logvar).mean()

    def train_step(self, batch: dict[str, torch.Tensor]) -> dict[str, Any]:
        _, rec, kl = self._terms(batch["x"])
        weight = self.beta * self.kl_scale()
        loss = rec + weight * kl
        self.ctx.amp.step(loss, self.opt)
        return {"loss": loss.detach(), "recon": rec.detach(), "kl": kl.detach(), "kl_weight": weight}

    def evaluate(self, val: Any) -> dict[str, Any]:
        rec_sum = kl_sum = 0.0
        n = 0
        for b in self.ctx.batches({"x": val.x}):
            _, rec, kl = self._terms(b["x"])
            rec_sum += float(rec) * len(b["x"])
            kl_sum += float(kl) * len(b["x"])
            n += len(b["x"])
        n = max(n, 1)
        return {"val_loss": (rec_sum + self.beta * kl_sum) / n, "val_recon": rec_sum / n, "val_kl": kl_sum / n}

    # -- samples
    def decoder(self) -> Any:
        """The trained decoder: the block inside the main network."""
        nodes = self.block_nodes(self.net, self.decoder_name)
        return self.node_module(self.model, self.net, nodes[0]) if nodes else None

    def latent_shape(self) -> tuple[int, ...]:
        return self.input_shape(self.decoder_name) or self.sample_shape(self.net, 1) or (2,)

    def live_samples(self) -> dict[str, Any] | None:
        x, y = self._probe
        recon = self.to_data(self.model(x[:N_SHOW])[0])
        payload = self.reconstruction_payload(self.ctx.denormalize(x[:N_SHOW]), self.ctx.denormalize(recon))
        mu = self.model(x)[1]
        labels = y if y is not None and y.ndim == 1 and not torch.is_floating_point(y) else None
        panels = [latent_payload(mu, labels, "latent mu")]
        dec = self.decoder()
        if dec is not None:
            gen = latent_sample(dec, MAX_IMAGES // 2, self.latent_shape(), generator=self.generator(4),
                                device=self.ctx.device)
            panels.append({**self.display(self.ctx.denormalize(self.to_data(gen))), "title": "samples z ~ N(0, I)"})
        payload["panels"] = panels
        return payload

    def sample(self, n: int) -> dict[str, Any]:
        dec = self.decoder()
        if dec is None:
            raise RuntimeError(f"network {self.net!r} has no {self.decoder_name!r} block to sample from")
        out = latent_sample(dec, n, self.latent_shape(), device=self.ctx.device)
        return self.sample_payload(self.ctx.denormalize(self.to_data(out)))


__all__ = ["Vae", "kl_divergence"]
