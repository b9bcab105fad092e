"""Insight metrics on hand-made cases: calibration, temperature scaling, FGSM / PGD,
Integrated Gradients completeness, dead / saturated units, OOD AUROC."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from training_docs import chain, mlp_doc, token_doc

from graph_compiler.document import from_dict
from graph_compiler.insight import attribution, calibration, ood, robustness, units
from graph_compiler.insight.evaluate import evaluate, parse_what
from graph_compiler.insight.target import EvalTarget, InsightError
from graph_compiler.training.engine import Trainer


pytestmark = pytest.mark.usefixtures("one_thread")


def _target(doc, epochs: int = 0, split: str = "val") -> EvalTarget:
    trainer = Trainer(doc)
    if epochs:
        for _ in trainer.run():
            pass
    else:
        trainer.prepare()
    return EvalTarget.from_trainer(trainer, split)


@pytest.fixture(scope="module")
def blobs():
    """An MLP trained for a few epochs on 2-D blobs (tabular input)."""
    return _target(mlp_doc({"dataset": {"name": "blobs", "n": 400}, "epochs": 8, "lr": 0.02, "seed": 0}), epochs=8)


# ------------------------------------------------------------------ calibration


def _probs(conf: list[float]) -> torch.Tensor:
    c = torch.tensor(conf, dtype=torch.float64)
    return torch.stack([c, 1 - c], dim=1)  # class 0 is predicted when conf > 0.5


def test_perfectly_calibrated_predictions_have_zero_ece():
    # 10 samples at confidence 0.7 of which 7 are right, 5 at 0.6 of which 3 are right.
    probs = _probs([0.7] * 10 + [0.6] * 5)
    labels = torch.tensor([0] * 7 + [1] * 3 + [0] * 3 + [1] * 2)
    ece, mce = calibration.calibration_errors(probs, labels)
    assert ece == pytest.approx(0.0, abs=1e-6) and mce == pytest.approx(0.0, abs=1e-6)  # float32 inside
    bins = calibration.reliability_bins(probs, labels)
    assert len(bins) == 15 and sum(b["count"] for b in bins) == 15
    full = [b for b in bins if b["count"]]
    assert [(b["count"], b["accuracy"], b["confidence"]) for b in full] == [
        (5, pytest.approx(0.6), pytest.approx(0.6)), (10, pytest.approx(0.7), pytest.approx(0.7))]


def test_over_confident_case_has_its_known_ece_and_mce():
    # 4 samples at 0.95 with 2 right (gap 0.45), 6 at 0.55 with 3 right (gap 0.05):
    # ECE = 0.4 * 0.45 + 0.6 * 0.05 = 0.21; MCE = 0.45.
    probs = _probs([0.95] * 4 + [0.55] * 6)
    labels = torch.tensor([0, 0, 1, 1, 0, 0, 0, 1, 1, 1])
    ece, mce = calibration.calibration_errors(probs, labels)
    assert ece == pytest.approx(0.21) and mce == pytest.approx(0.45)
    bins = [b for b in calibration.reliability_bins(probs, labels) if b["count"]]
    hand = sum(b["count"] / 10 * abs(b["accuracy"] - b["confidence"]) for b in bins)
    assert hand == pytest.approx(ece)
    assert bins[-1]["lower"] == pytest.approx(14 / 15) and bins[0]["lower"] == pytest.approx(8 / 15)


def test_single_logit_becomes_two_class_probabilities():
    p = calibration.probabilities(torch.tensor([[0.0], [2.0]]))
    assert p.shape == (2, 2)
    assert p[1, 1] == pytest.approx(1 / (1 + math.exp(-2))) and torch.allclose(p.sum(1), torch.ones(2, dtype=p.dtype))


def test_temperature_scaling_recovers_an_over_confident_scale():
    gen = torch.Generator().manual_seed(0)
    true_logits = torch.randn(2000, 5, generator=gen) * 2
    labels = torch.distributions.Categorical(logits=true_logits).sample()
    t = calibration.fit_temperature(true_logits * 3, labels)  # the model claims 3x the logits
    assert t == pytest.approx(3.0, rel=0.15)
    before = calibration.nll(true_logits * 3, labels)
    after = calibration.nll(true_logits * 3, labels, t)
    assert after < before


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000), st.floats(0.1, 10.0), st.integers(2, 6))
def test_temperature_scaling_never_raises_nll(seed, scale, classes):
    gen = torch.Generator().manual_seed(seed)
    logits = torch.randn(50, classes, generator=gen) * scale
    labels = torch.randint(0, classes, (50,), generator=gen)
    t = calibration.fit_temperature(logits, labels)
    assert calibration.T_MIN <= t <= calibration.T_MAX
    assert float(calibration.nll(logits, labels, t)) <= float(calibration.nll(logits, labels)) + 1e-12


def test_calibrate_reports_before_and_after(blobs):
    report = calibration.calibrate(blobs.logits(), blobs.y)
    assert report["after"]["nll"] <= report["before"]["nll"]
    assert len(report["before"]["bins"]) == 15 and report["n"] == len(blobs.y)
    assert sum(b["count"] for b in report["after"]["bins"]) == len(blobs.y)


# ------------------------------------------------------------------ robustness


def test_fgsm_is_the_signed_gradient_step_on_a_linear_model():
    """captum's FGSM against a hand computation: x + eps * sign(W^T (softmax(Wx) - onehot))."""
    lin = torch.nn.Linear(3, 2, bias=False)
    with torch.no_grad():
        lin.weight.copy_(torch.tensor([[1.0, -2.0, 0.5], [-1.0, 1.0, 2.0]]))
    x = torch.tensor([[0.2, 0.1, -0.3]])
    y = torch.tensor([0])
    fgsm = robustness.FGSM(lin, loss_func=lambda out, t: torch.nn.functional.cross_entropy(out, t, reduction="none"))
    adv = fgsm.perturb(x.clone().requires_grad_(True), epsilon=0.1, target=y)
    p = torch.softmax(lin(x), dim=1).detach()
    grad = (p - torch.tensor([[1.0, 0.0]])) @ lin.weight.detach()
    assert torch.allclose(adv, x + 0.1 * grad.sign())


def test_pgd_is_never_weaker_than_fgsm_and_eps_zero_is_clean(blobs):
    rob = robustness.robustness(blobs, eps=[0.0, 0.1, 0.3, 0.6], steps=5)
    clean = float((blobs.logits().argmax(1) == blobs.y.cpu()).double().mean())
    first = rob["curve"][0]
    assert first["eps"] == 0.0
    assert first["fgsm_accuracy"] == pytest.approx(clean) and first["pgd_accuracy"] == pytest.approx(clean)
    assert rob["clean_accuracy"] == pytest.approx(clean)
    for row in rob["curve"]:
        assert row["pgd_accuracy"] <= row["fgsm_accuracy"]
    assert rob["curve"][-1]["pgd_accuracy"] < clean  # a real attack does something
    assert rob["examples"] and "clean" not in rob["examples"][0]  # tabular: no images


def test_attacks_stay_inside_the_data_range(blobs):
    lo, hi = blobs.bounds
    fgsm = robustness.FGSM(blobs.forward, loss_func=robustness._loss(blobs), lower_bound=lo, upper_bound=hi)
    pgd = robustness.PGD(blobs.forward, loss_func=robustness._loss(blobs), lower_bound=lo, upper_bound=hi)
    xf, xp = robustness._attack(fgsm, pgd, blobs.x[:64], blobs.y[:64].long(), 5.0, 3)
    for adv in (xf, xp):
        assert float(adv.min()) >= lo - 1e-6 and float(adv.max()) <= hi + 1e-6
        assert float((adv - blobs.x[:64]).abs().max()) <= 5.0 + 1e-5


@pytest.mark.parametrize("grid", [[0.1, -0.1], [float("nan")], [float("inf")], []])
def test_bad_eps_grid_is_refused(grid):
    with pytest.raises(InsightError, match="eps grid"):
        robustness.check_eps(grid)


# ------------------------------------------------------------------ attribution


def test_integrated_gradients_on_a_linear_model_is_exact():
    doc = mlp_doc({"dataset": {"name": "blobs", "n": 100}, "epochs": 1})
    net = chain("Lin", [("x", "Input", {"shape": [2]}), ("fc", "Linear", {"out_features": 3}), ("out", "Output", {})])
    doc = from_dict({"format": "netwright-graph", "version": 1, "networks": [net], "training": doc.training})
    target = _target(doc)
    att = attribution.attributions(target, samples=[0, 1], cls=2)
    w = target.model.get_submodule(target.attrs["fc"]).weight.detach()
    for row in att["samples"]:
        x = target.x[row["index"]]
        assert row["target"] == 2
        # IG of a linear function from a zero baseline: (x - 0) * w_c, summing to f(x) - f(0).
        assert np.allclose(row["integrated_gradients"], (x * w[2]).tolist(), atol=1e-5)
        assert np.allclose(row["saliency"], w[2].abs().tolist(), atol=1e-6)
        assert row["completeness_gap_relative"] < 1e-5


def test_integrated_gradients_completeness_within_one_percent(blobs):
    att = attribution.attributions(blobs, samples=[0, 3, 5])
    assert att["completeness_ok"] and att["n_steps"] == attribution.N_STEPS
    for row in att["samples"]:
        gap = abs(row["ig_sum"] - (row["f_x"] - row["f_baseline"]))
        assert gap == pytest.approx(row["completeness_gap"], rel=1e-3, abs=1e-6)
        assert row["completeness_gap_relative"] <= 0.01
        assert len(row["integrated_gradients"]) == 2 and len(row["saliency"]) == 2


def test_token_inputs_are_attributed_at_the_embedding():
    target = _target(token_doc({"dataset": {"name": "parity", "n": 200}, "epochs": 2, "seed": 0}), epochs=2)
    att = attribution.attributions(target, samples=list(range(16)))
    assert att["attributed_at"] == "embedding output" and att["completeness_ok"]
    for row in att["samples"]:
        assert len(row["integrated_gradients"]) == 8 and len(row["tokens"]) == 8
    # A relative gap means something where the class score moves: there it is within 1%.
    moved = [r for r in att["samples"] if abs(r["f_x"] - r["f_baseline"]) > 0.01]
    assert len(moved) >= 3
    assert all(r["completeness_gap_relative"] <= 0.01 for r in moved)
    assert robustness.robustness(target)["applies"] is False
    shifts = ood.shifted(target, target.x[:10])
    assert list(shifts) == ["shuffled tokens", "random tokens"]
    assert torch.equal(shifts["shuffled tokens"].sort(dim=1).values, target.x[:10].sort(dim=1).values)


def test_model_without_gradients_is_refused():
    target = _target(token_doc({"dataset": {"name": "parity", "n": 100}, "epochs": 1}))

    class OneHot(torch.nn.Module):  # integer path all the way: no Embedding, no gradient to the input
        def forward(self, x):
            return torch.nn.functional.one_hot(x[:, :2], 2).float().sum(1)

    net = chain("Ints", [("bits", "Input", {"shape": [8], "dtype": "int64"}), ("out", "Output", {})])
    target.network, target.attrs, target.model = from_dict(
        {"format": "netwright-graph", "version": 1, "networks": [net]}).networks[0], {}, OneHot()
    with pytest.raises(InsightError, match="no gradient"):
        attribution.attributions(target)
    with pytest.raises(InsightError, match="no gradient"):
        evaluate(target, ["attribution"], strict=True)


def test_bad_sample_index_is_refused(blobs):
    with pytest.raises(InsightError, match="sample 9999 does not exist"):
        attribution.attributions(blobs, samples=[9999])


# ------------------------------------------------------------------ units


def test_dead_and_saturated_fractions_by_hand():
    v = np.ones((4, 3, 2, 2), dtype=np.float32)
    v[:, 1] = -1.0  # channel 1 never active
    v[0, 2, 0, 0] = -5  # channel 2 active elsewhere
    assert units.dead_fraction(v) == pytest.approx(1 / 3)
    t = np.array([[0.995, 0.0], [-0.999, 0.5]], dtype=np.float32)
    assert units.saturated_fraction(t, -1.0, 1.0) == pytest.approx(0.5)
    s = np.array([[0.001, 0.5, 0.9999, 0.7]])
    assert units.saturated_fraction(s, 0.0, 1.0) == pytest.approx(0.5)
    assert units.level(0.05, None) == "green" and units.level(None, 0.2) == "amber" and units.level(0.6, 0.0) == "red"


def test_units_finds_a_dead_layer_and_names_it():
    doc = mlp_doc({"dataset": {"name": "blobs", "n": 200}, "epochs": 1})
    target = _target(doc)
    fc1 = target.model.get_submodule(target.attrs["fc1"])
    with torch.no_grad():
        fc1.bias[:12] = -1e3  # 12 of 16 hidden units can never fire
    un = units.units(target)
    act = next(r for r in un["nodes"] if r["node"] == "act")
    with torch.no_grad():  # by hand: units whose pre-activation is <= 0 on every probe sample
        hand = float((fc1(target.probe_inputs[0]) <= 0).all(dim=0).double().mean())
    assert hand >= 12 / 16 and act["dead_fraction"] == pytest.approx(hand) and act["level"] == "red"
    assert un["worst"] == "act" and f"act (ReLU): {hand * 100:.0f}%" in un["findings"][0]
    assert "LeakyReLU" in un["findings"][0]
    assert act["grad_norm"] is not None and act["grad_norm"] > 0
    assert next(r for r in un["nodes"] if r["node"] == "fc1")["dead_fraction"] is None


def test_saturated_tanh_is_reported():
    net = chain("Sat", [("x", "Input", {"shape": [2]}), ("fc", "Linear", {"out_features": 8}),
                        ("t", "Tanh", {}), ("head", "Linear", {"out_features": 3}), ("out", "Output", {})])
    doc = from_dict({"format": "netwright-graph", "version": 1, "networks": [net],
                     "training": {"dataset": {"name": "blobs", "n": 200}, "epochs": 1}})
    target = _target(doc)
    with torch.no_grad():
        target.model.get_submodule(target.attrs["fc"]).weight.mul_(1e3)
    row = next(r for r in units.units(target)["nodes"] if r["node"] == "t")
    assert row["saturated_fraction"] > 0.9 and row["family"] == "squashing" and row["level"] == "red"


# ------------------------------------------------------------------ ood


def test_auroc_matches_a_hand_count():
    # Pairs (familiar > unfamiliar): 0.9>0.5, 0.9>0.1, 0.8>0.5, 0.8>0.1, 0.4>0.1 -> 5 of 6.
    assert ood.auroc(torch.tensor([0.9, 0.8, 0.4]), torch.tensor([0.5, 0.1])) == pytest.approx(5 / 6)
    assert ood.auroc(torch.tensor([1.0, 2.0]), torch.tensor([3.0, 4.0])) == pytest.approx(0.0)


def test_scores_are_msp_and_logsumexp():
    logits = torch.tensor([[2.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    s = ood.scores(logits)
    assert s["msp"][0] == pytest.approx(math.exp(2) / (math.exp(2) + 2)) and s["msp"][1] == pytest.approx(1 / 3)
    assert s["energy"][1] == pytest.approx(math.log(3))


def test_ood_shifts_for_sequences_and_images(blobs):
    import dataclasses

    seq = dataclasses.replace(blobs, x=torch.randn(6, 5, 3), input_kind="sequence")
    s = ood.shifted(seq, seq.x)
    assert list(s) == ["noise", "shuffled steps"]
    assert torch.allclose(s["shuffled steps"].sort(dim=1).values, seq.x.sort(dim=1).values)
    img = dataclasses.replace(blobs, x=torch.rand(4, 1, 3, 3), input_kind="image", normalizer=None)
    s = ood.shifted(img, img.x)
    lo, hi = img.bounds
    assert list(s) == ["noise", "inverted", "rotated"]
    assert torch.allclose(s["inverted"], lo + hi - img.x)
    assert torch.equal(s["rotated"], torch.rot90(img.x, 1, dims=(-2, -1)))


def test_ood_shifts_for_tabular_data(blobs):
    res = ood.ood(blobs, extra={"far away": blobs.x * 0 + 50.0})
    names = [r["shift"] for r in res["shifts"]]
    assert names == ["noise", "shuffled features", "far away"]
    shuffled = ood.shifted(blobs, blobs.x)["shuffled features"]  # each column keeps its values
    assert torch.allclose(shuffled.sort(dim=0).values, blobs.x.sort(dim=0).values)
    assert not torch.equal(shuffled, blobs.x)
    far = res["shifts"][-1]
    assert 0.0 <= far["auroc"]["msp"] <= 1.0
    assert sum(far["histogram"]["msp"]["familiar"]) == res["n"]


# ------------------------------------------------------------------ sections


def test_regression_says_what_does_not_apply():
    net = chain("Reg", [("x", "Input", {"shape": [1]}), ("fc", "Linear", {"out_features": 16}), ("a", "Tanh", {}),
                        ("o", "Linear", {"out_features": 1}), ("out", "Output", {})])
    doc = from_dict({"format": "netwright-graph", "version": 1, "networks": [net],
                     "training": {"recipe": "regression", "dataset": {"name": "sine", "n": 200}, "epochs": 1}})
    target = _target(doc)
    rep = evaluate(target).report
    assert rep["calibration"] == {"applies": False, "reason": rep["calibration"]["reason"]}
    assert "regression" in rep["calibration"]["reason"]
    assert not rep["robustness"]["applies"] and not rep["ood"]["applies"]
    assert rep["attribution"]["applies"] and rep["units"]["applies"]
    with pytest.raises(InsightError, match="calibration does not apply"):
        evaluate(target, ["calibration"], strict=True)


def test_parse_what():
    assert parse_what("units, calibration") == ["calibration", "units"]
    assert parse_what(None) == ["calibration", "robustness", "attribution", "units", "ood"]
    with pytest.raises(InsightError, match="unknown section 'calibraton'"):
        parse_what("calibraton")


def test_generative_models_get_units_and_reasons():
    from graph_compiler.examples import load_example

    doc = load_example("gan_2d")
    doc.training = {**doc.training, "dataset": {"name": "eight_gaussians", "n": 200}}
    target = _target(doc)
    ev = evaluate(target)
    for section in ("calibration", "robustness", "attribution", "ood"):
        assert ev.report[section]["applies"] is False and "gan" in ev.report[section]["reason"]
    assert ev.report["units"]["applies"] and ev.report["units"]["nodes"]
    assert "logits" not in ev.predictions
