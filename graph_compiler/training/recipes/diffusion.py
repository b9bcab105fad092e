"""Diffusion (DDPM): a denoiser learns to predict the noise added to the data.

The network (``options.network``, default the main one) has two Inputs: the noisy sample
x_t, shaped like the dataset's x, and the timestep t, shape [1] (a float tensor [B, 1]
holding the raw integer step 0..T-1, which is what TimestepEmbedding expects). Which
Input is t: ``options.time_input`` (a node id), else an Input with id t / time /
timestep, else the one of shape [1]. Its one Output is the predicted noise, shaped like x.

Training (Ho et al. 2020): x_t = sqrt(ab_t) x_0 + sqrt(1 - ab_t) eps for a random t per
sample, loss = MSE(eps_pred, eps). Sampling runs ``sample_steps`` evenly strided steps of
the reverse process (all T gives DDPM; fewer is DDIM's generalisation, with ``eta`` = 1
keeping DDPM-like noise and 0 deterministic). See graph_compiler.training.sampling.
"""
from __future__ import annotations

from typing import Any

import torch
from torch.nn import functional as F

from graph_compiler.training.recipes.base import Recipe, batch_shape, first_output
from graph_compiler.training.recipes.generative_base import (
    MAX_POINTS,
    GenerativeMixin,
    chain_payload,
    image_shape,
)
from graph_compiler.training.recipes.registry import register
from graph_compiler.training.sampling import SCHEDULES, NoiseSchedule, diffusion_sample

_TIME_IDS = ("t", "time", "timestep", "timesteps")


@register("diffusion", aliases=("ddpm",))
class Diffusion(GenerativeMixin, Recipe):
    tasks = ()  # labels, if any, are ignored
    normalize = "auto"
    generative = True
    monitor = "val_loss"

    OPTIONS = ("network", "timesteps", "noise_schedule", "sample_steps", "eta", "clip", "snapshots",
               "eval_samples", "preview_every", "time_input")

    def __init__(self, ctx: Any) -> None:
        super().__init__(ctx)
        ctx.check_options(self.OPTIONS)
        self.net = self.pick_network("network", (), 0, "denoiser")
        self.timesteps = ctx.option("timesteps", 1000, int, min=2, max=100_000)
        self.schedule_kind = ctx.option("noise_schedule", "linear", str, choices=SCHEDULES)
        self.sample_steps = ctx.option("sample_steps", 100, int, min=1, max=100_000)
        self.eta = ctx.option("eta", 1.0, float, min=0.0, max=1.0)
        self.clip = ctx.option("clip", None, float, min=0.0)
        self.snapshots = ctx.option("snapshots", 6, int, min=2, max=20)
        self.eval_samples = ctx.option("eval_samples", 500, int, min=0, max=100_000)
        # Sampling runs the network sample_steps times: on a CPU that is worth doing on a
        # schedule, not every epoch (about 20 previews per run, plus the first and last epoch).
        self.preview_every = ctx.option("preview_every", max(1, ctx.config.epochs // 20), int, min=1)
        self.time_option = ctx.option("time_input", None, str)
        self.schedule = NoiseSchedule.create(self.schedule_kind, self.timesteps)

    def networks(self) -> list[str]:
        return [self.net]

    # -- ports
    def time_port(self) -> int | None:
        info = self.ctx.analysis.networks[self.net]
        ids = list(info.inputs)
        if self.time_option is not None:
            return ids.index(self.time_option) if self.time_option in ids else None
        for i, nid in enumerate(ids):
            if nid.lower() in _TIME_IDS:
                return i
        shapes = [self.input_shape(self.net, i) for i in range(len(ids))]
        ones = [i for i, s in enumerate(shapes) if s == (1,)]
        if len(ids) == 2 and len(ones) >= 1:
            return ones[-1]
        return None

    def check(self, analysis: Any, dataset: Any) -> list[str]:
        info = analysis.networks[self.net]
        data = batch_shape(dataset.x)
        problems: list[str] = []
        if not torch.is_floating_point(dataset.x):
            problems.append(f"dataset {dataset.name!r} holds int64 tokens; diffusion needs float samples")
        if len(info.inputs) != 2:
            return problems + [
                f"the denoiser {self.net!r} needs two Inputs, the noisy sample x {data} and the timestep "
                f"t [B, 1]; it has {len(info.inputs)}"]
        if self.time_option is not None and self.time_option not in info.inputs:
            return problems + [f"training.options.time_input: {self.time_option!r} is not an Input of "
                               f"{self.net!r} (its Inputs: {', '.join(info.inputs)})"]
        tp = self.time_port()
        if tp is None:
            return problems + [
                f"cannot tell which Input of {self.net!r} is the timestep: name it 't' or give it shape "
                "[1] (or set training.options.time_input)"]
        xp = 1 - tp
        t_shape = self.input_shape(self.net, tp) or ()
        if t_shape != (1,):
            problems.append(f"the timestep Input {info.inputs[tp]!r} has shape {batch_shape((1, *t_shape))}; "
                            "it must be [1] (the recipe feeds t as [B, 1])")
        x_shape = self.input_shape(self.net, xp) or ()
        if x_shape != tuple(dataset.x.shape[1:]):
            problems.append(f"the denoiser's sample Input {info.inputs[xp]!r} {batch_shape((1, *x_shape))} "
                            f"does not match the dataset's samples {data}")
        for port, t in enumerate(info.input_types()):
            if t is not None and t.dtype == "long":
                problems.append(f"the denoiser's Input {info.inputs[port]!r} must be float32")
        if len(info.outputs) != 1:
            problems.append(f"the denoiser {self.net!r} needs one Output (the predicted noise), "
                            f"it has {len(info.outputs)}")
        elif self.sample_shape(self.net) != tuple(dataset.x.shape[1:]):
            problems.append(f"the denoiser's output {self.describe_output(self.net)} must match the "
                            f"dataset's samples {data}: it predicts the noise added to each sample")
        return problems

    # -- training
    def setup(self) -> None:
        self.model = self.build(self.net)
        self.opt = self.ctx.make_optimizer(self.model.parameters())
        self._tp = self.time_port()
        self._ab = self.schedule.alpha_bar.to(self.ctx.device, torch.float32)

    def predict(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """The denoiser on x_t [B, ...] and timesteps t (float [B, 1]) in port order."""
        args = [x, t] if self._tp == 1 else [t, x]
        return first_output(self.model(*args)).float()

    def _loss(self, x0: torch.Tensor, t: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        ab = self._ab[t].reshape(-1, *[1] * (x0.ndim - 1))
        xt = ab.sqrt() * x0 + (1 - ab).sqrt() * noise
        with self.ctx.amp.autocast():
            pred = self.predict(xt, t.reshape(-1, 1).float())
        return F.mse_loss(pred, noise)

    def train_step(self, batch: dict[str, torch.Tensor]) -> dict[str, Any]:
        x0 = batch["x"].float()
        t = torch.randint(0, self.timesteps, (len(x0),), device=x0.device)
        loss = self._loss(x0, t, torch.randn_like(x0))
        self.ctx.amp.step(loss, self.opt)
        return {"loss": loss.detach()}

    def evaluate(self, val: Any) -> dict[str, Any]:
        from graph_compiler.training.mmd import mmd2

        # Fixed timesteps and noise, so val_loss moves only when the model does.
        gen = self.generator(5)
        total, n = 0.0, 0
        for b in self.ctx.batches({"x": val.x}):
            x0 = b["x"].float()
            t = torch.randint(0, self.timesteps, (len(x0),), generator=gen).to(x0.device)
            noise = torch.randn(x0.shape, generator=gen).to(x0.device)
            total += float(self._loss(x0, t, noise)) * len(x0)
            n += len(x0)
        out: dict[str, Any] = {"val_loss": total / max(n, 1)}
        m = min(self.eval_samples, len(val.x))
        if m >= 2 and self.preview_due():
            x, _ = self._sample(m, generator=self.generator(6))
            if torch.isfinite(x).all():
                out["val_mmd"] = mmd2(x.reshape(m, -1), val.x[:m].reshape(m, -1), max_n=m)
        return out

    # -- sampling
    def preview_due(self) -> bool:
        e = self.ctx.epoch
        return e <= 1 or e >= self.ctx.config.epochs or e % self.preview_every == 0

    def _sample(self, n: int, generator: torch.Generator | None = None,
                snapshots: int = 0) -> tuple[torch.Tensor, list[tuple[int, torch.Tensor]]]:
        shape = (n, *self.ctx.train.x.shape[1:])
        return diffusion_sample(self.predict, self.schedule, shape, steps=self.sample_steps, eta=self.eta,
                                snapshots=snapshots, generator=generator, clip=self.clip,
                                device=self.ctx.device)

    def live_samples(self) -> dict[str, Any] | None:
        if not self.preview_due():
            return None
        shape = image_shape(self.ctx.train, self.ctx.train.x.shape[1:])
        n = 16 if shape is not None else MAX_POINTS // 4
        x, chain = self._sample(n, generator=self.generator(7), snapshots=self.snapshots)
        real, _ = self.real_data(n)
        chain = [(t, self.ctx.denormalize(xt)) for t, xt in chain]
        payload = self.display(self.ctx.denormalize(x), real)
        payload["panels"] = [chain_payload(chain, shape)]
        return payload

    def sample(self, n: int) -> dict[str, Any]:
        x, _ = self._sample(n)
        return self.sample_payload(self.ctx.denormalize(x))


__all__ = ["Diffusion"]
