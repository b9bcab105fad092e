"""Template: the VAE recipe: reconstruction + KL, with a linear KL warm-up.

The main network returns (reconstruction, mu, logvar). Loss per sample = recon (summed
over features) + kl_weight * w * KL(q(z|x) || N(0, I)), w rising from 0 to 1 over the
first warmup_epochs; validation uses w = 1. As graph_compiler.training.recipes.vae.
"""
# ruff: noqa: F821 - MAIN, OPTIONS, RECON_LOSS, DECODER_ATTR... come from the script.

import torch
from safetensors.torch import save_file


def kl_divergence(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, exp(logvar)) || N(0, I)) per sample, summed over latent dims."""
    mu, logvar = mu.float().flatten(1), logvar.float().flatten(1)
    return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum(1)


def elbo_terms(model, x: torch.Tensor):
    recon, mu, logvar = model(x)[:3]
    rec = reconstruction_loss(RECON_LOSS, recon, x, reduction="sum")
    return rec, kl_divergence(mu, logvar).mean()


def train_step(models, optimizers, batch, progress: float) -> dict:
    rec, kl = elbo_terms(models[MAIN], batch[0])
    warmup = OPTIONS.get("warmup_epochs", 0.0)
    weight = OPTIONS.get("kl_weight", 1.0) * (
        min(1.0, progress / warmup) if warmup else 1
    )
    loss = rec + weight * kl
    optimizer_step(loss, optimizers[MAIN])
    return {"loss": loss, "recon": rec, "kl": kl, "kl_weight": weight}


def eval_step(models, batch, generator: torch.Generator) -> dict:
    rec, kl = elbo_terms(models[MAIN], batch[0])
    loss = rec + OPTIONS.get("kl_weight", 1.0) * kl
    return {"loss": loss, "recon": rec, "kl": kl}


@torch.no_grad()
def finish(networks, normaliser, out, device: torch.device) -> None:
    """New samples: z ~ N(0, I) through the trained decoder block."""
    decoder = getattr(networks[MAIN], DECODER_ATTR).eval()
    samples = first(decoder(torch.randn(1000, *LATENT_SHAPE, device=device))).float()
    if RECON_LOSS == "bce" and not PROBABILITIES:
        samples = torch.sigmoid(samples)
    samples = denormalise(samples, normaliser).cpu().contiguous()
    save_file({"samples": samples}, str(out / "samples.safetensors"))
