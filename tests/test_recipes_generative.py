"""Generative recipes through the real engine on tiny data: GAN, diffusion, VAE, autoencoder."""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
import torch

from graph_compiler.document import from_dict
from graph_compiler.training.engine import Trainer
from graph_compiler.training.recipes.gan import COLLAPSE_HINT, DIVERGE_HINT
from graph_compiler.training.recipes.vae import kl_divergence


pytestmark = pytest.mark.usefixtures("one_thread")


# ---------------------------------------------------------------- document builders


def node(nid: str, type_: str, **params: Any) -> dict[str, Any]:
    return {"id": nid, "type": type_, "params": params}


def chain(name: str, *nodes: dict[str, Any], edges: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    wires = [{"src": a["id"], "dst": b["id"]} for a, b in zip(nodes, nodes[1:])]
    return {"name": name, "nodes": list(nodes), "edges": wires + (edges or [])}


def mlp(name: str, inp: int, out: int, hidden: int = 32, act: str = "ReLU", last: str | None = None) -> dict[str, Any]:
    nodes = [node("x", "Input", shape=[inp]), node("fc1", "Linear", out_features=hidden), node("a1", act),
             node("fc2", "Linear", out_features=hidden), node("a2", act), node("fc3", "Linear", out_features=out)]
    if last:
        nodes.append(node("last", last))
    return chain(name, *nodes, node("out", "Output"))


def doc(networks: list[dict[str, Any]], training: dict[str, Any]):  # type: ignore[no-untyped-def]
    return from_dict({"format": "netwright-graph", "version": 1, "networks": networks, "training": training})


def run(d: Any, **kw: Any) -> tuple[Trainer, list[Any]]:
    trainer = Trainer(d, **kw)
    return trainer, list(trainer.run())


def kinds(events: list[Any], kind: str) -> list[Any]:
    return [e for e in events if e.kind == kind]


def errors(events: list[Any]) -> list[dict[str, Any]]:
    return [e.data for e in kinds(events, "error")]


# ---------------------------------------------------------------- GAN

GAN_TRAINING = {"recipe": "gan", "dataset": {"name": "eight_gaussians", "n": 512}, "epochs": 3, "batch_size": 64,
                "lr": 0.002, "options": {"r1_gamma": 1.0}}


def gan_doc(g_out: int = 2, training: dict[str, Any] | None = None):  # type: ignore[no-untyped-def]
    return doc([mlp("Generator", 4, g_out), mlp("Discriminator", 2, 1, act="LeakyReLU")], training or GAN_TRAINING)


def _params(module: torch.nn.Module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in module.parameters()]


def _changed(before: list[torch.Tensor], module: torch.nn.Module) -> bool:
    return any(not torch.equal(a, b) for a, b in zip(before, module.parameters()))


def test_gan_discriminator_step_touches_only_d_and_generator_step_only_g():
    trainer = Trainer(gan_doc())
    gan = trainer.prepare()
    real = trainer.ctx.train.x[:64]
    g0, d0 = _params(gan.G), _params(gan.D)
    out = gan.d_step(real)
    assert {"d_loss", "d_accuracy", "r1"} <= set(out)
    assert _changed(d0, gan.D) and not _changed(g0, gan.G)
    g1, d1 = _params(gan.G), _params(gan.D)
    gan.opt_d.zero_grad(set_to_none=True)
    out = gan.g_step(64)
    assert "g_loss" in out
    assert _changed(g1, gan.G) and not _changed(d1, gan.D)
    assert all(p.grad is None for p in gan.D.parameters()), "the generator step must leave no grads in D"
    assert all(p.requires_grad for p in gan.D.parameters())


def test_gan_trains_reports_its_keys_and_samples():
    trainer, events = run(gan_doc())
    assert not errors(events)
    epoch = kinds(events, "epoch")[-1]
    for key in ("train_loss", "train_d_loss", "train_g_loss", "train_d_accuracy", "val_loss", "val_d_loss",
                "val_g_loss", "val_mmd", "val_coverage"):
        assert key in epoch.data and math.isfinite(epoch[key]), key
    assert kinds(events, "start")[0]["networks"] == ["Generator", "Discriminator"]
    sample = kinds(events, "sample")[-1]
    assert sample["kind"] == "scatter" and sample["points"].shape[1] == 2 and sample["real"].shape[1] == 2
    drawn = trainer.sample(50)
    assert drawn["samples"].shape == (50, 2)
    assert set(trainer.weights()) == {"Generator", "Discriminator"}


def test_gan_check_explains_a_shape_mismatch_in_words():
    _, events = run(gan_doc(g_out=3))
    (err,) = errors(events)
    assert err["cause"] == "shape"
    assert "the generator's output [B, 3] does not match the dataset's samples [B, 2]" in err["message"]


def test_gan_check_rejects_a_sigmoid_discriminator_and_a_wrong_latent_dim():
    training = {**GAN_TRAINING, "options": {"latent_dim": 6}}
    d = doc([mlp("Generator", 4, 2), mlp("Discriminator", 2, 1, last="Sigmoid")], training)
    (err,) = errors(run(d)[1])
    assert "latent_dim = 6" in err["message"] and "remove the Sigmoid" in err["message"]


def test_gan_hints_collapse_and_divergence():
    gan = Trainer(gan_doc()).prepare()
    healthy = {"val_d_loss": 1.3, "val_g_loss": 0.8, "val_coverage": 0.9, "val_sample_var_ratio": 1.0}
    assert all(gan._hint(True, healthy) is None for _ in range(6))
    collapsed = {**healthy, "val_coverage": 0.1}
    hints = [gan._hint(True, collapsed) for _ in range(gan.patience)]
    assert hints[:-1] == [None] * (gan.patience - 1) and hints[-1] == COLLAPSE_HINT
    assert gan._hint(True, healthy) is None  # recovers
    hints = [gan._hint(True, {**healthy, "val_d_loss": 0.01, "val_g_loss": 6.0 + i}) for i in range(gan.patience + 1)]
    assert hints[-1] == DIVERGE_HINT
    assert "NaN" in gan._hint(False, healthy)


# ---------------------------------------------------------------- diffusion


def denoiser(width: int = 32) -> dict[str, Any]:
    return {"name": "Denoiser", "nodes": [
        node("x", "Input", shape=[2]), node("t", "Input", shape=[1]),
        node("proj", "Linear", out_features=width), node("temb", "TimestepEmbedding", dim=width),
        node("add", "Add"), node("a0", "SiLU"), node("fc1", "Linear", out_features=width), node("a1", "SiLU"),
        node("fc_out", "Linear", out_features=2), node("eps", "Output")],
        "edges": [{"src": "x", "dst": "proj"}, {"src": "t", "dst": "temb"}, {"src": "proj", "dst": "add"},
                  {"src": "temb", "dst": "add", "dst_port": 1}, {"src": "add", "dst": "a0"},
                  {"src": "a0", "dst": "fc1"}, {"src": "fc1", "dst": "a1"}, {"src": "a1", "dst": "fc_out"},
                  {"src": "fc_out", "dst": "eps"}]}


DIFFUSION_TRAINING = {"recipe": "diffusion", "dataset": {"name": "moons", "n": 1024}, "epochs": 6, "batch_size": 128,
                      "lr": 0.005, "options": {"timesteps": 100, "noise_schedule": "cosine", "sample_steps": 10,
                                               "eval_samples": 100}}


def test_diffusion_loss_falls_and_samples_have_the_data_shape():
    trainer, events = run(doc([denoiser()], DIFFUSION_TRAINING))
    assert not errors(events)
    epochs = kinds(events, "epoch")
    assert epochs[-1]["train_loss"] < epochs[0]["train_loss"]
    assert epochs[-1]["val_loss"] < 0.9
    assert "val_mmd" in epochs[-1].data
    live = kinds(events, "sample")[-1]
    assert live["kind"] == "scatter" and live["points"].shape[1] == 2
    (chain_panel,) = live["panels"]
    assert chain_panel["kind"] == "chain" and chain_panel["t"][0] == 100 and chain_panel["t"][-1] == -1
    assert len(chain_panel["steps"]) == 6 and chain_panel["steps"][0].shape[1] == 2
    drawn = trainer.sample(64)
    assert drawn["samples"].shape == (64, 2) and np.isfinite(drawn["samples"]).all()


def test_diffusion_sample_steps_may_be_fewer_than_timesteps():
    trainer = Trainer(doc([denoiser(8)], {**DIFFUSION_TRAINING, "epochs": 1}))
    recipe = trainer.prepare()
    calls: list[float] = []
    predict = recipe.predict
    recipe.predict = lambda x, t: (calls.append(float(t[0, 0])), predict(x, t))[1]  # type: ignore[method-assign]
    recipe.sample_steps = 4
    assert trainer.sample(5)["samples"].shape == (5, 2)
    assert calls == [99.0, 66.0, 33.0, 0.0]


def test_diffusion_check_explains_port_mismatches():
    bad = denoiser()
    bad["nodes"][0]["params"]["shape"] = [3]
    (err,) = errors(run(doc([bad], DIFFUSION_TRAINING))[1])
    assert "does not match the dataset's samples [B, 2]" in err["message"]
    one_input = chain("Denoiser", node("x", "Input", shape=[2]), node("fc", "Linear", out_features=2), node("o", "Output"))
    (err,) = errors(run(doc([one_input], DIFFUSION_TRAINING))[1])
    assert "needs two Inputs" in err["message"] and "timestep t [B, 1]" in err["message"]


# ---------------------------------------------------------------- VAE


def vae_doc(training: dict[str, Any] | None = None, latent: int = 2):  # type: ignore[no-untyped-def]
    encoder = {"name": "VAE", "nodes": [
        node("pixels", "Input", shape=[64]), node("enc", "Linear", out_features=32), node("relu", "ReLU"),
        node("mu", "Linear", out_features=latent), node("logvar", "Linear", out_features=latent),
        node("z", "Reparameterize"), node("decoder", "Decoder"),
        node("reconstruction", "Output"), node("mu_out", "Output"), node("logvar_out", "Output")],
        "edges": [{"src": "pixels", "dst": "enc"}, {"src": "enc", "dst": "relu"}, {"src": "relu", "dst": "mu"},
                  {"src": "relu", "dst": "logvar"}, {"src": "mu", "dst": "z"},
                  {"src": "logvar", "dst": "z", "dst_port": 1}, {"src": "z", "dst": "decoder"},
                  {"src": "decoder", "dst": "reconstruction"}, {"src": "mu", "dst": "mu_out"},
                  {"src": "logvar", "dst": "logvar_out"}]}
    decoder = chain("Decoder", node("z", "Input", shape=[latent]), node("fc", "Linear", out_features=32),
                    node("relu", "ReLU"), node("out", "Linear", out_features=64), node("sig", "Sigmoid"),
                    node("pixels", "Output"))
    return doc([encoder, decoder], training or {
        "recipe": "vae", "dataset": {"name": "digits_flat", "n": 400}, "epochs": 4, "batch_size": 50,
        "lr": 0.005, "options": {"warmup_epochs": 2}})


def test_kl_is_non_negative_and_zero_only_at_the_prior():
    g = torch.Generator().manual_seed(0)
    mu, logvar = torch.randn(256, 4, generator=g) * 3, torch.randn(256, 4, generator=g) * 3
    kl = kl_divergence(mu, logvar)
    assert kl.shape == (256,) and (kl >= 0).all()
    assert torch.allclose(kl_divergence(torch.zeros(3, 2), torch.zeros(3, 2)), torch.zeros(3))
    # Against torch's own KL between diagonal Gaussians.
    q = torch.distributions.Normal(mu, torch.exp(0.5 * logvar))
    p = torch.distributions.Normal(torch.zeros_like(mu), torch.ones_like(mu))
    assert torch.allclose(kl, torch.distributions.kl_divergence(q, p).sum(1), rtol=1e-4, atol=1e-4)


def test_vae_reports_recon_and_kl_warms_up_and_samples_from_the_decoder():
    trainer, events = run(vae_doc(), event_interval=0.0)
    assert not errors(events)
    epochs = kinds(events, "epoch")
    for key in ("train_recon", "train_kl", "val_recon", "val_kl", "val_loss"):
        assert key in epochs[-1].data
    assert all(e["val_kl"] >= 0 and e["train_kl"] >= 0 for e in epochs)
    assert epochs[-1]["train_recon"] < epochs[0]["train_recon"]
    weights = [e["train_kl_weight"] for e in epochs]
    assert weights[0] < 0.5 < weights[-1] == 1.0 and weights == sorted(weights)
    steps = kinds(events, "step")
    assert steps and {"recon", "kl"} <= set(steps[-1].data)
    # BCE, since the decoder ends with a Sigmoid (seen through the Decoder block).
    assert trainer.recipe.recon_kind == "bce"
    live = kinds(events, "sample")[-1]
    assert live["kind"] == "images" and live["images"].shape[1:] == (1, 8, 8)
    latent, drawn = live["panels"]
    assert latent["kind"] == "latent" and latent["points"].shape[1] == 2 and "labels" in latent
    assert drawn["kind"] == "images"
    out = trainer.sample(10)["samples"]
    assert out.shape == (10, 64) and out.min() >= 0 and out.max() <= 1


def test_vae_check_needs_three_outputs_and_the_decoder_block():
    d = vae_doc()
    d.networks[0].nodes = [n for n in d.networks[0].nodes if n.id != "logvar_out"]
    d.networks[0].edges = [e for e in d.networks[0].edges if e.dst != "logvar_out"]
    (err,) = errors(run(d)[1])
    assert "a VAE needs three, in order: reconstruction, mu, logvar" in err["message"]
    d = vae_doc({"recipe": "vae", "dataset": {"name": "digits_flat", "n": 100}, "epochs": 1,
                 "options": {"decoder": "Nope"}})
    (err,) = errors(run(d)[1])
    assert "decoder network 'Nope' is not in this file" in err["message"]


# ---------------------------------------------------------------- autoencoder


def test_autoencoder_loss_falls_and_shows_reconstructions_and_latents():
    net = chain("AE", node("x", "Input", shape=[64]), node("enc", "Linear", out_features=32), node("r1", "ReLU"),
                node("code", "Linear", out_features=4), node("dec", "Linear", out_features=32), node("r2", "ReLU"),
                node("out", "Linear", out_features=64), node("sig", "Sigmoid"), node("o", "Output"))
    training = {"recipe": "autoencoder", "dataset": {"name": "digits_flat", "n": 400}, "epochs": 4,
                "batch_size": 50, "lr": 0.01, "loss": "bce"}
    _, events = run(doc([net], training))
    assert not errors(events)
    epochs = kinds(events, "epoch")
    assert epochs[-1]["train_loss"] < epochs[0]["train_loss"]
    assert "val_mse" in epochs[-1].data
    live = kinds(events, "sample")[-1]
    assert live["kind"] == "images" and live["real"].shape == live["images"].shape
    (latent,) = live["panels"]
    assert latent["kind"] == "latent" and latent["title"] == "latent (code)"


def test_autoencoder_check_reports_a_reconstruction_of_the_wrong_size():
    net = chain("AE", node("x", "Input", shape=[64]), node("enc", "Linear", out_features=8),
                node("out", "Linear", out_features=32), node("o", "Output"))
    (err,) = errors(run(doc([net], {"recipe": "autoencoder", "dataset": "digits_flat", "epochs": 1}))[1])
    assert "the reconstruction [B, 32] does not match the dataset's samples [B, 64]" in err["message"]


def test_unknown_options_are_rejected_by_name():
    training = {**GAN_TRAINING, "options": {"r1_gama": 1.0}}
    (err,) = errors(run(gan_doc(training=training))[1])
    assert err["cause"] == "config" and "unknown key 'r1_gama'" in err["message"] and "r1_gamma" in err["message"]
