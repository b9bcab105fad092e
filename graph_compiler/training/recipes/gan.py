"""GAN: a generator and a discriminator trained against each other.

Networks: the generator (``options.generator``, default the network named "Generator",
else the first) maps noise z ~ N(0, I) of its Input's shape to samples shaped like the
dataset's x; the discriminator (``options.discriminator``, default "Discriminator", else
the second network) maps a sample to one logit per sample ([B, 1] or [B]).

Each step: one (or ``d_steps``) discriminator update on real vs generated samples, then a
generator update with the non-saturating loss (Goodfellow et al. 2014): both are BCE with
logits, the generator's maximising log D(G(z)). Step keys: loss (d_loss + g_loss, a
health number only), d_loss, g_loss, d_accuracy. Validation: the same on the validation
split, plus ``val_mmd`` (kernel MMD^2 between generated and validation samples, the
monitored metric: lower is better) and a ``hint`` string when training looks collapsed or
diverging.
"""
from __future__ import annotations

import math
from typing import Any

import torch
from torch.nn import functional as F

from graph_compiler.training.recipes.base import Recipe, batch_shape, first_output
from graph_compiler.training.recipes.generative_base import MAX_POINTS, GenerativeMixin
from graph_compiler.training.recipes.registry import register
from graph_compiler.training.sampling import latent_sample

COLLAPSE_HINT = ("generator collapse: its samples cover only part of the data; try "
                 "options.r1_gamma 1 (a gradient penalty that steadies the discriminator), a lower lr "
                 "or more latent dims")
DIVERGE_HINT = ("training is diverging: the discriminator wins outright (d_loss near 0, "
                "g_loss growing); try a lower discriminator lr (options.d_lr), "
                "label_smoothing 0.1 or a smaller discriminator")
NAN_HINT = "the generator produces NaN or infinite values; lower the lr or set grad_clip"


@register("gan")
class Gan(GenerativeMixin, Recipe):
    tasks = ()  # labels, if any, are ignored
    normalize = "auto"
    generative = True
    monitor = "val_mmd"

    OPTIONS = ("generator", "discriminator", "latent_dim", "d_steps", "label_smoothing", "r1_gamma", "g_lr",
               "d_lr", "betas", "collapse_coverage", "hint_patience", "eval_samples")

    def __init__(self, ctx: Any) -> None:
        super().__init__(ctx)
        ctx.check_options(self.OPTIONS)
        self.g_name = self.pick_network("generator", ("Generator",), 0, "generator")
        self.d_name = self.pick_network("discriminator", ("Discriminator",), 1, "discriminator")
        if self.g_name == self.d_name:
            from graph_compiler.training.config import TrainingConfigError

            raise TrainingConfigError(
                f"the generator and the discriminator are both {self.g_name!r}; a GAN needs two "
                "networks (set training.options.generator and .discriminator)")
        self.latent_dim = ctx.option("latent_dim", None, int, min=1)
        self.d_steps = ctx.option("d_steps", 1, int, min=1, max=100)
        self.smoothing = ctx.option("label_smoothing", 0.0, float, min=0.0, max=0.5)
        self.r1_gamma = ctx.option("r1_gamma", 0.0, float, min=0.0)
        self.g_lr = ctx.option("g_lr", None, float, min=0.0)
        self.d_lr = ctx.option("d_lr", None, float, min=0.0)
        self.gan_betas = ctx.option("betas", [0.5, 0.999], list)
        self.collapse_coverage = ctx.option("collapse_coverage", 0.3, float, min=0.0, max=1.0)
        self.patience = ctx.option("hint_patience", 4, int, min=1)
        self.eval_samples = ctx.option("eval_samples", 1000, int, min=10, max=100_000)
        self._collapsed = 0
        self._diverging = 0
        self._last_g_loss: float | None = None

    def networks(self) -> list[str]:
        return [self.g_name, self.d_name]

    # -- checks
    def latent_shape(self) -> tuple[int, ...]:
        return self.input_shape(self.g_name) or (self.latent_dim or 1,)

    def check(self, analysis: Any, dataset: Any) -> list[str]:
        problems: list[str] = []
        g, d = analysis.networks[self.g_name], analysis.networks[self.d_name]
        data = batch_shape(dataset.x)
        if not torch.is_floating_point(dataset.x):
            problems.append(f"dataset {dataset.name!r} holds int64 tokens; a GAN needs float samples")
        if len(g.inputs) != 1:
            problems.append(f"the generator {self.g_name!r} needs exactly one Input (the noise z), "
                            f"it has {len(g.inputs)}")
        else:
            shape = self.input_shape(self.g_name) or ()
            if self.latent_dim is not None and shape != (self.latent_dim,):
                problems.append(f"the generator's Input {batch_shape((1, *shape))} does not match "
                                f"training.options.latent_dim = {self.latent_dim}; set the Input's "
                                f"shape to [{self.latent_dim}] or remove the option")
            if g.input_types()[0] is not None and g.input_types()[0].dtype == "long":
                problems.append("the generator's Input must be float32 noise, not int64 tokens")
        if not g.outputs:
            problems.append(f"the generator {self.g_name!r} has no Output")
        else:
            out = self.sample_shape(self.g_name)
            if out is not None and out != tuple(dataset.x.shape[1:]):
                problems.append(f"the generator's output {self.describe_output(self.g_name)} does not "
                                f"match the dataset's samples {data}")
        problems += self.check_input(self.d_name, dataset, what=f"the discriminator {self.d_name!r}")
        if not d.outputs:
            problems.append(f"the discriminator {self.d_name!r} has no Output")
        else:
            out = self.sample_shape(self.d_name)
            if out is not None and out not in ((), (1,)):
                problems.append(f"the discriminator's output {self.describe_output(self.d_name)} must be "
                                "one logit per sample, [B, 1]; end it with Linear(out_features=1) "
                                "and no Sigmoid (the loss applies it)")
            elif self.output_source_type(self.d_name) == "Sigmoid":
                problems.append("the discriminator ends with a Sigmoid, but the GAN loss expects a raw "
                                "logit (it applies the sigmoid itself, stably); remove the Sigmoid")
        return problems

    # -- set-up
    def setup(self) -> None:
        self.G = self.build(self.g_name)
        self.D = self.build(self.d_name)
        extra: dict[str, Any] = {}
        if self.ctx.config.optimizer in ("adam", "adamw"):
            # beta1 = 0.5: the usual GAN setting (Radford et al. 2016); options.betas to change.
            extra["betas"] = tuple(float(b) for b in self.gan_betas)
        self.opt_d = self.ctx.make_optimizer(self.D.parameters(), name="discriminator", lr=self.d_lr, **extra)
        self.opt_g = self.ctx.make_optimizer(self.G.parameters(), name="generator", lr=self.g_lr, **extra)
        self._data_var = float(self.ctx.train.x.float().var(0).sum())
        self._fixed_z = torch.randn(MAX_POINTS // 2, *self.latent_shape(), generator=self.generator())

    def noise(self, n: int) -> torch.Tensor:
        return torch.randn(n, *self.latent_shape(), device=self.ctx.device)

    def _logit(self, x: torch.Tensor) -> torch.Tensor:
        return first_output(self.D(x)).reshape(len(x), -1)[:, 0].float()

    def _generate(self, z: torch.Tensor) -> torch.Tensor:
        return first_output(self.G(z))

    # -- the two updates (separate so tests can check each touches only its network)
    def d_step(self, real: torch.Tensor) -> dict[str, torch.Tensor]:
        amp = self.ctx.amp
        with torch.no_grad(), amp.autocast():
            fake = self._generate(self.noise(len(real)))
        if self.r1_gamma > 0:
            real = real.detach().requires_grad_(True)
        with amp.autocast():
            d_real, d_fake = self._logit(real), self._logit(fake.to(real.dtype))
            loss = (F.binary_cross_entropy_with_logits(d_real, torch.full_like(d_real, 1.0 - self.smoothing))
                    + F.binary_cross_entropy_with_logits(d_fake, torch.zeros_like(d_fake)))
        out = {"d_loss": loss.detach()}
        if self.r1_gamma > 0:
            # R1 (Mescheder et al. 2018): penalise D's gradient on real data, which keeps
            # the game from oscillating (and the generator from hopping between modes).
            grad, = torch.autograd.grad(d_real.sum(), real, create_graph=True)
            penalty = grad.float().pow(2).reshape(len(real), -1).sum(1).mean()
            loss = loss + 0.5 * self.r1_gamma * penalty
            out["r1"] = penalty.detach()
        amp.step(loss, self.opt_d)
        out["d_accuracy"] = (((d_real > 0).float().mean() + (d_fake < 0).float().mean()) / 2).detach()
        return out

    def g_step(self, n: int) -> dict[str, torch.Tensor]:
        amp = self.ctx.amp
        self.D.requires_grad_(False)  # the generator's loss must not leave grads in D
        try:
            with amp.autocast():
                d_fake = self._logit(self._generate(self.noise(n)))
                loss = F.binary_cross_entropy_with_logits(d_fake, torch.ones_like(d_fake))
            amp.step(loss, self.opt_g)
        finally:
            self.D.requires_grad_(True)
        return {"g_loss": loss.detach()}

    def train_step(self, batch: dict[str, torch.Tensor]) -> dict[str, Any]:
        real = batch["x"]
        for _ in range(self.d_steps):
            d = self.d_step(real)
        g = self.g_step(len(real))
        return {"loss": d["d_loss"] + g["g_loss"], **d, **g}

    # -- validation, hints
    def evaluate(self, val: Any) -> dict[str, Any]:
        from graph_compiler.training.mmd import coverage, mmd2

        d_loss = g_loss = acc = 0.0
        n = 0
        gen = self.generator(2)
        for b in self.ctx.batches({"x": val.x}):
            real = b["x"]
            z = torch.randn(len(real), *self.latent_shape(), generator=gen).to(self.ctx.device)
            fake = self._generate(z)
            d_real, d_fake = self._logit(real), self._logit(fake.to(real.dtype))
            k = len(real)
            d_loss += k * float(F.binary_cross_entropy_with_logits(d_real, torch.ones_like(d_real))
                                + F.binary_cross_entropy_with_logits(d_fake, torch.zeros_like(d_fake)))
            g_loss += k * float(F.binary_cross_entropy_with_logits(d_fake, torch.ones_like(d_fake)))
            acc += k * float(((d_real > 0).float().mean() + (d_fake < 0).float().mean()) / 2)
            n += k
        n = max(n, 1)
        out: dict[str, Any] = {"val_loss": (d_loss + g_loss) / n, "val_d_loss": d_loss / n,
                               "val_g_loss": g_loss / n, "val_d_accuracy": acc / n}
        m = min(self.eval_samples, len(val.x))
        samples = latent_sample(self._generate, m, self.latent_shape(), generator=self.generator(3),
                                device=self.ctx.device).reshape(m, -1)
        finite = bool(torch.isfinite(samples).all())
        if finite and m >= 2:
            real = val.x[:m].reshape(m, -1)
            out["val_mmd"] = mmd2(samples, real, max_n=m)
            out["val_coverage"] = coverage(samples, real, max_n=m)
            out["val_sample_var_ratio"] = float(samples.var(0).sum()) / max(self._data_var, 1e-12)
        hint = self._hint(finite, out)
        if hint:
            out["hint"] = hint
        return out

    def _hint(self, finite: bool, m: dict[str, Any]) -> str | None:
        if not finite:
            return NAN_HINT
        collapsed = (m.get("val_coverage", 1.0) < self.collapse_coverage
                     or m.get("val_sample_var_ratio", 1.0) < 0.01)
        self._collapsed = self._collapsed + 1 if collapsed else 0
        g_loss = m["val_g_loss"]
        rising = self._last_g_loss is not None and g_loss > self._last_g_loss
        diverging = (m["val_d_loss"] < 0.05 and g_loss > 5.0 and rising) or not math.isfinite(g_loss)
        self._diverging = self._diverging + 1 if diverging else 0
        self._last_g_loss = g_loss
        if self._diverging >= self.patience:
            return DIVERGE_HINT
        if self._collapsed >= self.patience:
            return COLLAPSE_HINT
        return None

    # -- samples
    def live_samples(self) -> dict[str, Any] | None:
        fake = self._generate(self._fixed_z.to(self.ctx.device)).float()
        real, _ = self.real_data(MAX_POINTS // 2)
        return self.display(self.ctx.denormalize(fake), real)

    def sample(self, n: int) -> dict[str, Any]:
        fake = latent_sample(self._generate, n, self.latent_shape(), device=self.ctx.device)
        return self.sample_payload(self.ctx.denormalize(fake))

    def extra_state(self) -> dict[str, Any]:
        return {"collapsed": self._collapsed, "diverging": self._diverging, "last_g_loss": self._last_g_loss}

    def load_extra_state(self, state: Any) -> None:
        self._collapsed = int(state.get("collapsed", 0))
        self._diverging = int(state.get("diverging", 0))
        self._last_g_loss = state.get("last_g_loss")


__all__ = ["Gan", "COLLAPSE_HINT", "DIVERGE_HINT"]
