"""The training engine: learning, reproducibility, control from another thread, faults."""
from __future__ import annotations

import math
import threading
import time

import pytest
import torch
from training_docs import mlp_doc, token_doc

from graph_compiler import document
from graph_compiler.compile import CompiledDocument
from graph_compiler.training.datasets import Dataset
from graph_compiler.training.engine import Trainer
from graph_compiler.training.events import Event


pytestmark = pytest.mark.usefixtures("one_thread")


BLOBS = {"dataset": {"name": "blobs", "n": 300}, "epochs": 5, "lr": 0.01, "batch_size": 32}


def run(doc, **kw) -> list[Event]:
    return list(Trainer(doc, **kw).run())


def of(events, kind):
    return [e for e in events if e.kind == kind]


def test_classification_loss_falls_and_events_are_complete():
    events = run(mlp_doc(BLOBS))
    assert [e.kind for e in events][0] == "start" and events[-1].kind == "done"
    assert not of(events, "error")
    epochs = of(events, "epoch")
    assert len(epochs) == 5
    assert epochs[-1]["train_loss"] < epochs[0]["train_loss"] * 0.8
    assert epochs[-1]["val_accuracy"] > 0.8
    for key in ("epoch", "train_loss", "val_loss", "val_accuracy", "samples_per_s", "elapsed_s", "lr"):
        assert key in epochs[-1].data
    cm = epochs[-1]["confusion_matrix"]
    assert len(cm) == 3 and sum(map(sum, cm)) == events[0]["n_val"]
    assert epochs[-1]["predictions"] and {"true", "pred", "confidence"} <= set(epochs[-1]["predictions"][0])
    assert events[-1]["reason"] == "completed"
    assert of(events, "sample") and of(events, "sample")[0]["kind"] == "scatter"


def test_regression_loss_falls_with_metrics():
    doc = mlp_doc({"dataset": {"name": "sine", "n": 400}, "epochs": 8, "lr": 0.02}, inputs=1, outputs=1, hidden=32)
    epochs = of(run(doc), "epoch")
    assert epochs[-1]["train_loss"] < epochs[0]["train_loss"] * 0.7
    assert {"val_mae", "val_r2", "val_loss"} <= set(epochs[-1].data)
    assert epochs[-1]["val_r2"] > epochs[0]["val_r2"]


def test_sequence_tokens_train_with_classification():
    doc = token_doc({"recipe": "sequence_classification", "dataset": {"name": "parity", "n": 300, "length": 4},
                     "epochs": 12, "lr": 0.01}, length=4)
    events = run(doc)
    assert not of(events, "error"), of(events, "error")
    epochs = of(events, "epoch")
    assert epochs[-1]["train_loss"] < epochs[0]["train_loss"]
    assert events[0]["recipe"] == "classification"
    assert events[0]["normalizer"] is None  # tokens are never normalised


def test_seed_makes_runs_identical_and_different_seeds_differ():
    def losses(seed):
        events = run(mlp_doc({**BLOBS, "epochs": 3, "seed": seed}))
        return [(e["train_loss"], e["val_loss"]) for e in of(events, "epoch")]

    assert losses(3) == losses(3)
    assert losses(3) != losses(4)


def test_epoch_means_do_not_depend_on_when_step_events_are_sent():
    # The live "step" events group steps by wall-clock time; the epoch's numbers must not.
    doc = mlp_doc({**BLOBS, "epochs": 2, "seed": 5})
    every_step = run(doc, event_interval=0.0)
    never = run(doc, event_interval=1e9)
    assert len(of(every_step, "step")) > len(of(never, "step")) == 0
    pick = [(e["train_loss"], e["val_loss"]) for e in of(every_step, "epoch")]
    assert pick == [(e["train_loss"], e["val_loss"]) for e in of(never, "epoch")]


def test_document_is_never_modified():
    doc = mlp_doc({**BLOBS, "epochs": 2})
    before = document.dumps(doc)
    trainer = Trainer(doc)
    list(trainer.run())
    assert document.dumps(doc) == before
    assert trainer.doc is not doc


def _threaded(trainer):
    events: list[Event] = []
    done = threading.Event()

    def work():
        for e in trainer.run():
            events.append(e)
        done.set()

    t = threading.Thread(target=work, daemon=True)
    t.start()
    return events, done, t


def test_stop_from_another_thread_ends_the_run_and_leaves_usable_weights():
    doc = mlp_doc({**BLOBS, "epochs": 100000})
    trainer = Trainer(doc)
    events, done, _ = _threaded(trainer)
    deadline = time.time() + 60
    while not any(e.kind == "epoch" for e in events) and time.time() < deadline:
        time.sleep(0.01)
    trainer.stop()
    # 100,000 epochs would take hours: ending at all means the flag was honoured.
    assert done.wait(60)
    assert events[-1].kind == "done" and events[-1]["reason"] == "stopped"
    assert events[-1]["epoch"] < 100000
    model = CompiledDocument(doc).build()
    model.load_state_dict(trainer.result.main_weights, strict=True)
    out = model(torch.randn(4, 2))
    assert torch.isfinite(out).all()


def _parked(trainer: Trainer, polls: int = 4) -> tuple[threading.Event, list[int]]:
    """Records the global step at every while_paused call; the Event is set after `polls`
    calls, i.e. once the run has sat paused for at least polls x PAUSE_POLL_S."""
    parked = threading.Event()
    steps: list[int] = []

    def waiting() -> None:
        steps.append(trainer.ctx.global_step)
        if len(steps) >= polls:
            parked.set()

    trainer.while_paused = waiting
    return parked, steps


def test_pause_and_resume_from_another_thread():
    trainer = Trainer(mlp_doc({**BLOBS, "epochs": 100000}), event_interval=0.01)
    parked, steps = _parked(trainer)
    events, done, _ = _threaded(trainer)
    deadline = time.time() + 60
    while not any(e.kind == "step" for e in events) and time.time() < deadline:
        time.sleep(0.005)
    trainer.pause()
    assert trainer.paused and trainer.state == "paused"
    assert parked.wait(60)
    assert len(set(steps)) == 1, "training went on while paused"
    elapsed = trainer.elapsed_s
    calls = len(steps)
    while len(steps) < calls + 2:  # two more polls: the engine's clock stood still
        time.sleep(0.01)
    assert trainer.elapsed_s == pytest.approx(elapsed, abs=1e-6)
    trainer.resume()
    assert not trainer.paused and trainer.state == "running"
    deadline = time.time() + 60
    while trainer.ctx.global_step == steps[0] and time.time() < deadline:
        time.sleep(0.005)
    assert trainer.ctx.global_step > steps[0]
    trainer.stop()
    assert done.wait(60)
    assert events[-1]["reason"] == "stopped"


def test_stop_while_paused_ends_the_run():
    trainer = Trainer(mlp_doc({**BLOBS, "epochs": 100000}))
    parked, _steps = _parked(trainer, polls=1)
    events, done, _ = _threaded(trainer)
    deadline = time.time() + 60
    while not events and time.time() < deadline:
        time.sleep(0.005)
    trainer.pause()
    assert parked.wait(60)
    trainer.stop()
    assert done.wait(60)
    assert events[-1]["reason"] == "stopped"


def test_step_events_are_throttled():
    trainer = Trainer(mlp_doc({**BLOBS, "epochs": 20, "batch_size": 8}), event_interval=0.05)
    events = list(trainer.run())
    steps = of(events, "step")
    total_steps = events[-1]["step"]
    elapsed = events[-1]["elapsed_s"]
    assert len(steps) <= elapsed / 0.05 + 2
    assert len(steps) < total_steps
    for e in steps:
        assert {"epoch", "step", "loss", "lr", "samples_per_s", "progress"} <= set(e.data)


def test_nan_loss_gives_an_error_with_a_hint_and_keeps_the_document():
    doc = mlp_doc({"dataset": {"name": "sine", "n": 200}, "epochs": 5, "lr": 1e6, "optimizer": "sgd"},
                  inputs=1, outputs=1)
    before = document.dumps(doc)
    events = run(doc)
    errors = of(events, "error")
    assert len(errors) == 1
    err = errors[0]
    assert err["cause"] == "nan"
    assert err["epoch"] == 1 and err["step"] >= 1
    assert "epoch 1" in err["message"] and "step" in err["message"]
    assert "learning rate" in err["hint"] and "grad_clip" in err["hint"]
    assert events[-1].kind == "done" and events[-1]["reason"] == "error"
    assert document.dumps(doc) == before


def test_an_exception_in_the_model_is_an_error_event():
    # Token ids beyond the Embedding's vocabulary: shapes are fine, forward() raises.
    ds = Dataset("toks", torch.randint(0, 5, (64, 8)), torch.randint(0, 2, (64,)), "classification")
    events = run(token_doc({"epochs": 2}), dataset=ds)
    err = of(events, "error")[0]
    assert err["cause"] == "model"
    assert "epoch 1, step 1" in err["message"] and "IndexError" in err["message"]
    assert "traceback" in err.data
    assert events[-1]["reason"] == "error"


def test_shape_mismatch_is_reported_before_training():
    events = run(mlp_doc(BLOBS, outputs=2))
    err = of(events, "error")[0]
    assert err["cause"] == "shape"
    assert "3 classes" in err["problems"][0] and "[B, 2]" in err["problems"][0]
    assert not of(events, "epoch")

    events = run(mlp_doc(BLOBS, inputs=5))
    assert "[B, 5]" in of(events, "error")[0]["message"]


def test_wrong_recipe_for_the_dataset_names_a_better_one():
    events = run(mlp_doc({**BLOBS, "recipe": "regression"}))
    err = of(events, "error")[0]
    assert err["cause"] == "data" and "'classification'" in err["message"]


def test_graph_errors_are_reported():
    doc = mlp_doc(BLOBS)
    doc.main.edges.pop()  # Output no longer connected
    err = of(run(doc), "error")[0]
    assert err["cause"] == "graph" and "not connected" in err["message"]


def test_early_stopping_and_best():
    doc = mlp_doc({**BLOBS, "epochs": 200, "lr": 0.05, "early_stopping": {"patience": 2, "metric": "accuracy"}})
    events = run(doc)
    done = events[-1]
    assert done["reason"] == "early_stopping"
    assert done["epoch"] < 200
    assert done["best"]["metric"] == "val_accuracy"
    epochs = of(events, "epoch")
    assert epochs[-1]["monitor"] == "val_accuracy"


def test_lr_schedules():
    doc = mlp_doc({**BLOBS, "epochs": 4, "schedule": {"type": "step", "step_size": 1, "gamma": 0.5}})
    lrs = [e["lr"] for e in of(run(doc), "epoch")]
    assert lrs == pytest.approx([0.01, 0.005, 0.0025, 0.00125])

    trainer = Trainer(mlp_doc({**BLOBS, "epochs": 4, "schedule": "onecycle"}), event_interval=0)
    events = list(trainer.run())
    lrs = [e["lr"] for e in of(events, "step")]
    peak = max(lrs)
    assert peak == pytest.approx(0.01, rel=0.05)
    assert lrs[0] < peak / 10 and lrs[-1] < peak / 100
    assert lrs.index(peak) < len(lrs) / 2

    trainer = Trainer(mlp_doc({**BLOBS, "epochs": 3, "schedule": {"type": "cosine", "min_lr": 0.001}}))
    lrs = [e["lr"] for e in of(list(trainer.run()), "epoch")]
    assert lrs[0] > lrs[1] > lrs[2] >= 0.001


def test_optimizers_and_losses_train():
    for extra in ({"optimizer": "sgd", "lr": 0.1}, {"optimizer": "adamw", "weight_decay": 0.01},
                  {"optimizer": "rmsprop", "lr": 0.005}, {"loss": "mse"}, {"grad_clip": 0.5}):
        events = run(mlp_doc({**BLOBS, "epochs": 3, **extra}))
        assert not of(events, "error"), (extra, of(events, "error"))
        epochs = of(events, "epoch")
        assert epochs[-1]["train_loss"] < epochs[0]["train_loss"], extra
    doc = mlp_doc({"dataset": {"name": "moons", "n": 200}, "epochs": 3, "loss": "bce", "lr": 0.02}, outputs=1)
    events = run(doc)
    assert not of(events, "error")
    assert of(events, "epoch")[-1]["val_accuracy"] > 0.5
    doc = mlp_doc({"dataset": {"name": "sine", "n": 200}, "epochs": 3, "loss": "l1"}, inputs=1, outputs=1)
    assert not of(run(doc), "error")


def test_normalisation_is_fitted_on_the_train_split():
    trainer = Trainer(mlp_doc({**BLOBS, "epochs": 1}))
    events = list(trainer.run())
    norm = events[0]["normalizer"]
    assert norm is not None and len(norm["mean"]) == 2
    # statistics of the normalised train split: mean 0, std 1
    x = trainer.ctx.train.x
    assert x.mean(0).abs().max() < 1e-4 and (x.std(0, unbiased=False) - 1).abs().max() < 1e-3
    assert trainer.result.normalizer == norm
    assert of(list(Trainer(mlp_doc({**BLOBS, "epochs": 1, "normalize": "none"})).run()), "start")[0]["normalizer"] is None


def test_no_validation_split():
    events = run(mlp_doc({**BLOBS, "epochs": 2, "val_split": 0}))
    assert not of(events, "error")
    last = of(events, "epoch")[-1]
    assert "val_loss" not in last.data and last["monitor"] == "train_loss"


def test_weights_keys_match_the_exported_module():
    doc = mlp_doc({**BLOBS, "epochs": 1})
    trainer = Trainer(doc)
    list(trainer.run())
    from graph_compiler.codegen import generate_code

    ns: dict = {}
    exec(generate_code(doc), ns)
    model = ns["build_model"]()
    model.load_state_dict(trainer.result.main_weights, strict=True)
    assert set(trainer.result.weights) == {"Net"}


def test_not_in_memory_path_trains_the_same():
    a = [e["train_loss"] for e in of(run(mlp_doc({**BLOBS, "epochs": 2})), "epoch")]
    b = [e["train_loss"] for e in of(run(mlp_doc({**BLOBS, "epochs": 2, "in_memory": False})), "epoch")]
    assert a == pytest.approx(b)


def test_run_twice_is_refused():
    trainer = Trainer(mlp_doc({**BLOBS, "epochs": 1}))
    list(trainer.run())
    with pytest.raises(RuntimeError):
        list(trainer.run())


def test_events_are_json_serialisable():
    import json

    for e in run(mlp_doc({**BLOBS, "epochs": 1})):
        text = json.dumps(e.to_json())
        assert json.loads(text)["event"] == e.kind
    assert math.isfinite(1.0)


def test_out_of_memory_is_an_error_event_naming_the_batch_size():
    trainer = Trainer(mlp_doc({**BLOBS, "epochs": 2}))
    trainer.prepare()

    def boom(batch):
        raise RuntimeError("CUDA out of memory. Tried to allocate 20.00 GiB")

    trainer.recipe.train_step = boom
    events = list(trainer.run())
    err = of(events, "error")[0]
    assert err["cause"] == "oom"
    assert "ran out of memory" in err["message"] and "batch size 32" in err["message"]
    assert "batch_size" in err["hint"]
    assert events[-1]["reason"] == "error"


def test_train_accuracy_option():
    events = run(mlp_doc({**BLOBS, "epochs": 2, "options": {"train_accuracy": True}}))
    assert "train_accuracy" in of(events, "epoch")[-1].data
    err = of(run(mlp_doc({**BLOBS, "options": {"latent_dim": 3}})), "error")[0]
    assert err["cause"] == "config" and "latent_dim" in err["message"] and "train_accuracy" in err["message"]
