"""Template: the GAN recipe: non-saturating BCE, discriminator and generator alternating.

As graph_compiler.training.recipes.gan: d_steps discriminator updates on real vs
generated samples (optional label smoothing), then one generator update that maximises
log D(G(z)); Adam / AdamW use betas (0.5, 0.999) unless options.betas says otherwise.
"""
# ruff: noqa: F821 - GENERATOR, DISCRIMINATOR, LATENT_SHAPE... come from the script.

import torch
from safetensors.torch import save_file
from torch import nn
from torch.nn import functional as F


def build_networks(device: torch.device) -> dict[str, nn.Module]:
    return {
        GENERATOR: NETWORKS[GENERATOR]().to(device),
        DISCRIMINATOR: NETWORKS[DISCRIMINATOR]().to(device),
    }


def make_optimizers(networks: dict[str, nn.Module], lr: float) -> dict:
    extra = {}
    if CONFIG["optimizer"] in ("adam", "adamw"):
        extra["betas"] = tuple(OPTIONS.get("betas", (0.5, 0.999)))
    g_lr, d_lr = OPTIONS.get("g_lr") or lr, OPTIONS.get("d_lr") or lr
    return {
        GENERATOR: make_optimizer(networks[GENERATOR].parameters(), g_lr, **extra),
        DISCRIMINATOR: make_optimizer(
            networks[DISCRIMINATOR].parameters(), d_lr, **extra
        ),
    }


def logit(out) -> torch.Tensor:
    out = first(out)
    return out.reshape(len(out), -1)[:, 0].float()


def bce(logits: torch.Tensor, target: float) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target))


def train_step(models, optimizers, batch, progress: float) -> dict:
    real = batch[0]
    generator, discriminator = models[GENERATOR], models[DISCRIMINATOR]
    smoothing, r1_gamma = (
        OPTIONS.get("label_smoothing", 0.0),
        OPTIONS.get("r1_gamma", 0.0),
    )
    for _ in range(OPTIONS.get("d_steps", 1)):
        with torch.no_grad():
            z = torch.randn(len(real), *LATENT_SHAPE, device=real.device)
            fake = first(plain(generator)(z)).to(real.dtype)
        real = real.detach().requires_grad_(r1_gamma > 0)
        # Real and fake in one forward pass: DistributedDataParallel needs one forward
        # per backward (two would clash over BatchNorm buffers).
        logits = logit(discriminator(torch.cat([real, fake])))
        d_real, d_fake = logits[: len(real)], logits[len(real) :]
        d_loss = bce(d_real, 1.0 - smoothing) + bce(d_fake, 0.0)
        loss = d_loss
        if r1_gamma > 0:
            # R1 (Mescheder et al. 2018): penalise D's gradient on real data, which keeps
            # the game from oscillating (and the generator from hopping between modes).
            (grad,) = torch.autograd.grad(d_real.sum(), real, create_graph=True)
            loss = d_loss + 0.5 * r1_gamma * grad.pow(2).flatten(1).sum(1).mean()
        optimizer_step(loss, optimizers[DISCRIMINATOR])
    # The generator's loss flows through the discriminator without touching its weights.
    judge = plain(discriminator).requires_grad_(False)
    z = torch.randn(len(real), *LATENT_SHAPE, device=real.device)
    g_loss = bce(logit(judge(first(generator(z)))), 1.0)
    optimizer_step(g_loss, optimizers[GENERATOR])
    judge.requires_grad_(True)
    accuracy = ((d_real > 0).float().mean() + (d_fake < 0).float().mean()) / 2
    return {
        "loss": d_loss + g_loss,
        "d_loss": d_loss,
        "g_loss": g_loss,
        "d_accuracy": accuracy,
    }


def eval_step(models, batch, generator: torch.Generator) -> dict:
    real = batch[0]
    z = torch.randn(len(real), *LATENT_SHAPE, generator=generator).to(real.device)
    fake = first(models[GENERATOR](z)).to(real.dtype)
    d_real, d_fake = (
        logit(models[DISCRIMINATOR](real)),
        logit(models[DISCRIMINATOR](fake)),
    )
    d_loss, g_loss = bce(d_real, 1.0) + bce(d_fake, 0.0), bce(d_fake, 1.0)
    accuracy = ((d_real > 0).float().mean() + (d_fake < 0).float().mean()) / 2
    return {
        "loss": d_loss + g_loss,
        "d_loss": d_loss,
        "g_loss": g_loss,
        "d_accuracy": accuracy,
    }


@torch.no_grad()
def finish(networks, normaliser, out, device: torch.device) -> None:
    """1000 generated samples, in the data's own units, next to the weights."""
    z = torch.randn(1000, *LATENT_SHAPE, device=device)
    samples = first(networks[GENERATOR].eval()(z)).float()
    samples = denormalise(samples, normaliser).cpu().contiguous()
    save_file({"samples": samples}, str(out / "samples.safetensors"))
