"""The training section: every bad key or value is a TrainingConfigError that names it."""
from __future__ import annotations

import pytest

from graph_compiler.errors import NetwrightError
from graph_compiler.training.config import (
    TrainingConfig,
    TrainingConfigError,
    metric_mode,
    parse_config,
)
from graph_compiler.training.recipes import available, get_recipe
from graph_compiler.training.recipes.context import RecipeContext


def test_defaults_and_overrides():
    cfg = parse_config(None)
    assert cfg == TrainingConfig()
    cfg = parse_config({"epochs": 3, "lr": 0.1}, {"epochs": 7, "lr": None, "batch_size": 8})
    assert (cfg.epochs, cfg.lr, cfg.batch_size) == (7, 0.1, 8)


def test_round_trip():
    raw = {"recipe": "classification", "dataset": {"name": "moons", "n": 100}, "epochs": 4, "batch_size": 16,
           "lr": 0.01, "optimizer": "SGD", "momentum": 0.8, "weight_decay": 1e-4, "loss": "cross_entropy",
           "schedule": {"type": "step", "step_size": 2, "gamma": 0.5}, "grad_clip": 1.0,
           "early_stopping": {"patience": 3, "metric": "accuracy"}, "val_split": 0.25, "normalize": "features",
           "seed": 5, "device": "cpu", "amp": "off", "in_memory": True, "options": {"anything": [1, 2]}}
    cfg = parse_config(raw)
    assert cfg.optimizer == "sgd"
    assert cfg.early_stopping.metric == "val_accuracy"
    assert parse_config(cfg.to_dict()) == cfg


@pytest.mark.parametrize("raw, words", [
    ({"epochs": 0}, ["training.epochs", "between 1"]),
    ({"epochs": "ten"}, ["training.epochs", "integer"]),
    ({"epochs": True}, ["training.epochs"]),
    ({"lr": -1}, ["training.lr", "> 0"]),
    ({"lr": "fast"}, ["training.lr", "number"]),
    ({"batch_size": 2.5}, ["training.batch_size"]),
    ({"optimizer": "adamm"}, ["training.optimizer", "adam", "sgd", "rmsprop", "did you mean 'adam'"]),
    ({"loss": "hinge"}, ["training.loss", "cross_entropy", "mse", "l1", "bce"]),
    ({"schedule": "linear"}, ["training.schedule.type", "step", "cosine", "onecycle"]),
    ({"schedule": {"type": "step", "warmup": 3}}, ["training.schedule", "'warmup'", "step_size"]),
    ({"val_split": 1.0}, ["training.val_split", "[0, 1)"]),
    ({"device": "tpu"}, ["training.device", "auto, cpu, cuda"]),
    ({"amp": "fp8"}, ["training.amp", "bf16"]),
    ({"normalize": "zscore"}, ["training.normalize", "features", "channels"]),
    ({"early_stopping": {"patience": 0}}, ["training.early_stopping.patience"]),
    ({"early_stopping": {"wait": 3}}, ["training.early_stopping", "'wait'", "patience"]),
    ({"betas": [0.9]}, ["training.betas"]),
    ({"options": [1]}, ["training.options", "object"]),
    ({"dataset": 5}, ["training.dataset", "digits"]),
    ({"epoch": 5}, ["unknown key 'epoch'", "did you mean 'epochs'", "known keys", "batch_size", "options"]),
])
def test_bad_values_name_the_key_and_the_allowed_values(raw, words):
    with pytest.raises(TrainingConfigError) as info:
        parse_config(raw)
    assert isinstance(info.value, NetwrightError)
    for w in words:
        assert w in str(info.value)


def test_training_must_be_an_object():
    with pytest.raises(TrainingConfigError, match="object"):
        parse_config([1, 2])  # type: ignore[arg-type]


def test_metric_mode():
    assert metric_mode("val_loss") == "min"
    assert metric_mode("val_accuracy") == "max"
    assert metric_mode("val_r2") == "max"
    assert metric_mode("val_perplexity") == "min"
    assert metric_mode("val_accuracy", "min") == "min"


def test_recipe_registry():
    assert {"classification", "regression"} <= set(available())
    assert get_recipe("sequence_classification") is get_recipe("classification")
    with pytest.raises(TrainingConfigError, match="known recipes: .*classification"):
        get_recipe("nope")


def test_recipe_options_are_checked():
    ctx = RecipeContext(config=parse_config({"recipe": "x", "options": {"k": 2, "f": "a", "b": True}}),
                        compiled=None, analysis=None, document=None, train=None, val=None,  # type: ignore[arg-type]
                        device=None, amp=None)  # type: ignore[arg-type]
    assert ctx.option("k", 1, int, min=1) == 2
    assert ctx.option("k", 1, float) == 2.0
    assert ctx.option("missing", 7) == 7
    with pytest.raises(TrainingConfigError, match="training.options.f must be int"):
        ctx.option("f", 1, int)
    with pytest.raises(TrainingConfigError, match="training.options.b"):
        ctx.option("b", 1, int)
    with pytest.raises(TrainingConfigError, match="training.options.k must be >= 5"):
        ctx.option("k", 1, int, min=5)
    with pytest.raises(TrainingConfigError, match="required"):
        ctx.option("latent_dim")
    with pytest.raises(TrainingConfigError, match="unknown key 'f'.*its options: k, b"):
        ctx.check_options(["k", "b"])
