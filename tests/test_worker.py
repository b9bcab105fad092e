"""The training worker and what it feeds: bounded buffers, the QThread life cycle (pause,
stop through the engine's flag, errors caught), and the Qt-free probe helpers."""
import os

os.environ["QT_QPA_PLATFORM"] = "offscreen"

import threading
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

from designer.training.buffers import History, ScalarRing, TrainingBuffers
from designer.training.plots import epoch_series, step_series
from designer.training.worker import TrainingThread, TrainingWorker
from graph_compiler.analysis import Analyzer
from graph_compiler.compile import CompiledDocument
from graph_compiler.document import Document, Edge, Network, Node
from graph_compiler.examples import load_example
from graph_compiler.training.engine import Trainer
from graph_compiler.training.events import Event
from graph_compiler.training.probe import (
    ModelProbe,
    ProbeError,
    capture_activations,
    describe_unprobeable,
    layer_groups,
    layer_norms,
    probe_inputs,
)

# ---------------------------------------------------------------- buffers


def test_ring_keeps_the_last_capacity_points_and_counts_drops():
    ring = ScalarRing(8)
    for i in range(20):
        ring.append(i, i * 10)
    x, y, dropped = ring.since(0)
    assert x.tolist() == list(range(12, 20)) and y.tolist() == [v * 10 for v in range(12, 20)]
    assert dropped == 12
    x, _, dropped = ring.since(18)
    assert x.tolist() == [18, 19] and dropped == 0


def test_history_halves_at_capacity_and_keeps_spikes():
    h = History(capacity=64)
    xs = np.arange(10_000, dtype=np.float64)
    ys = np.ones_like(xs)
    ys[5_000] = 1e6  # a loss blow-up
    ys[7_000] = np.nan
    for start in range(0, 10_000, 100):
        h.extend(xs[start:start + 100], ys[start:start + 100])
    assert len(h) <= 64
    assert h.x[0] == 0 and h.x[-1] == 9_999  # the whole run stays in view
    assert np.all(np.diff(h.x) >= 0)
    assert np.nanmax(h.y) == 1e6  # peak-preserving, like pyqtgraph's 'peak' mode
    assert h.x.dtype == np.float64


def test_buffers_stay_bounded_over_a_long_synthetic_run():
    buf = TrainingBuffers(step_capacity=1024, epoch_capacity=50, health_capacity=30, message_capacity=10)
    names = ["a", "b", "c"]
    for step in range(100_000):  # no reader at all: the worst case
        buf.add_step(step, {"train/loss/step": 1.0 / (step + 1), "train/accuracy/step": 0.5})
        if step % 100 == 0:
            buf.add_epoch({"step": step, "values": {"val/loss/epoch": 1.0}})
            buf.add_health(step, names, np.ones(3), np.ones(3))
            buf.message("warning", "x")
            buf.put("sample", {"kind": "text", "text": "x" * 100})
    sizes = buf.sizes()
    assert sizes["step_points"] == 2 * 1024
    assert sizes["epochs"] == 50 and sizes["health"] == 30 and sizes["messages"] == 10
    assert sizes["latest"] == 1  # latest-wins mailbox
    drained = buf.drain()
    assert len(drained.steps["train/loss/step"][0]) == 1024
    assert drained.dropped == 2 * (100_000 - 1024)
    assert buf.drain().empty()


def test_curve_series_names_from_engine_events():
    step = {"epoch": 1, "epochs": 2, "step": 10, "epoch_step": 10, "steps_per_epoch": 20, "progress": 0.25,
            "loss": 0.5, "accuracy": 0.8, "lr": 1e-3, "samples_per_s": 100.0, "elapsed_s": 1.0}
    assert step_series(step) == {"train/loss/step": 0.5, "train/accuracy/step": 0.8}
    epoch = {"epoch": 1, "step": 20, "train_loss": 0.4, "val_loss": 0.45, "val_accuracy": 0.9, "lr": 1e-3,
             "best": True, "monitor": "val_loss", "confusion_matrix": [[1]], "samples_per_s": 5.0}
    assert epoch_series(epoch) == {"train/loss/epoch": 0.4, "val/loss/epoch": 0.45, "val/accuracy/epoch": 0.9}


# ---------------------------------------------------------------- the worker


class FakeTrainer:
    """Stands in for engine.Trainer: a generator of events with thread-safe control."""

    def __init__(self, steps: int = 10, delay: float = 0.0, fail_at: int | None = None) -> None:
        self.steps, self.delay, self.fail_at = steps, delay, fail_at
        self._stop = threading.Event()
        self.stopped_by_flag = False
        self.ctx = None
        self.recipe = None
        self.while_paused = None
        self.elapsed_s = 0.0

    def stop(self) -> None:
        self._stop.set()

    def run(self) -> Iterator[Event]:
        yield Event("start", {"epochs": 1, "steps_per_epoch": self.steps, "device": "cpu", "start_epoch": 0})
        for i in range(1, self.steps + 1):
            if self._stop.is_set():
                self.stopped_by_flag = True
                yield Event("done", {"reason": "stopped", "step": i})
                return
            if self.fail_at == i:
                raise RuntimeError("boom in the engine")
            time.sleep(self.delay)
            yield Event("step", {"epoch": 1, "step": i, "progress": i / self.steps, "loss": 1.0 / i,
                                 "samples_per_s": 100.0})
        yield Event("epoch", {"epoch": 1, "step": self.steps, "train_loss": 0.5, "val_loss": 0.6,
                              "confusion_matrix": [[3, 1], [0, 4]], "classes": ["a", "b"]})
        yield Event("sample", {"epoch": 1, "kind": "text", "text": ["hello"]})
        yield Event("done", {"reason": "completed", "step": self.steps})


def test_worker_turns_events_into_buffer_entries(qtbot):
    buf = TrainingBuffers()
    worker = TrainingWorker(FakeTrainer(steps=25), buf)
    reasons: list[str] = []
    worker.finished.connect(reasons.append)
    worker.run()  # synchronously, in this thread
    assert reasons == ["completed"]
    d = buf.drain()
    assert len(d.steps["train/loss/step"][0]) == 25
    assert d.epochs[0]["values"] == {"train/loss/epoch": 0.5, "val/loss/epoch": 0.6}
    assert d.latest["confusion"]["matrix"] == [[3, 1], [0, 4]]
    assert d.latest["sample"]["kind"] == "text"
    assert d.latest["progress"]["step"] == 25


def test_worker_catches_everything_and_reports_it(qtbot):
    buf = TrainingBuffers()
    worker = TrainingWorker(FakeTrainer(steps=10, fail_at=4), buf)
    reasons: list[str] = []
    worker.finished.connect(reasons.append)
    worker.run()
    assert reasons == ["error"]
    d = buf.drain()
    assert any(level == "error" and "boom in the engine" in text for level, text in d.messages)
    assert "Traceback" in d.latest["traceback"]


def _blobs_doc(epochs: int) -> Document:
    nodes = [Node("x", "Input", {"shape": [2]}), Node("fc1", "Linear", {"out_features": 16}),
             Node("act", "ReLU"), Node("fc2", "Linear", {"out_features": 3}), Node("out", "Output")]
    edges = [Edge("x", "fc1"), Edge("fc1", "act"), Edge("act", "fc2"), Edge("fc2", "out")]
    training = {"dataset": {"name": "blobs", "n": 300}, "epochs": epochs, "lr": 0.01, "batch_size": 32}
    return Document([Network("Blobs", nodes, edges)], training=training)


def test_pause_and_resume_through_the_worker_use_the_engines_pause(qtbot):
    """The worker's pause is Trainer.pause: the run waits before its next step, the
    worker still answers an activation request meanwhile, the clock behind elapsed and
    ETA stands still, and resume and stop work from there."""
    trainer = Trainer(_blobs_doc(epochs=100_000), event_interval=0.01)
    buf = TrainingBuffers()
    worker = TrainingWorker(trainer, buf)
    service = trainer.while_paused
    assert service is not None  # the worker hooked itself into the engine's wait
    polls: list[tuple[int, float]] = []  # (global step, engine clock) at each wait

    def waiting() -> None:
        polls.append((trainer.ctx.global_step, trainer.elapsed_s))
        service()

    trainer.while_paused = waiting
    thread = TrainingThread(worker)
    reasons: list[str] = []
    worker.finished.connect(reasons.append)  # a list append is safe from the worker thread
    activations: list[dict[str, Any]] = []
    thread.start()
    try:
        qtbot.waitUntil(lambda: buf.sizes()["step_points"] > 5, timeout=60_000)
        worker.pause()
        assert worker.paused and trainer.paused and trainer.state == "paused"
        qtbot.waitUntil(lambda: len(polls) >= 2, timeout=60_000)
        worker.watch("fc1")  # answered while paused: the modules stay the worker's

        def activation_arrived() -> bool:
            latest = buf.drain().latest
            if "activation" in latest:
                activations.append(latest["activation"])
            return bool(activations)

        qtbot.waitUntil(activation_arrived, timeout=60_000)
        n = len(polls)
        qtbot.waitUntil(lambda: len(polls) >= n + 4, timeout=60_000)
        assert len({step for step, _clock in polls}) == 1, "training went on while paused"
        assert max(c for _s, c in polls) - min(c for _s, c in polls) < 1e-6, "the clock ran while paused"
        assert activations[0]["activation"].values.shape[1] == 16  # fc1's 16 features
        worker.resume()
        assert not worker.paused and trainer.state == "running"
        qtbot.waitUntil(lambda: trainer.ctx.global_step > polls[0][0], timeout=60_000)
        worker.stop()
        qtbot.waitUntil(lambda: bool(reasons), timeout=60_000)
    finally:
        worker.stop()
        assert thread.thread.wait(60_000)
    assert reasons == ["stopped"]
    assert buf.drain().latest["done"]["reason"] == "stopped"


def test_stop_ends_a_paused_run(qtbot):
    trainer = Trainer(_blobs_doc(epochs=100_000))
    worker = TrainingWorker(trainer, TrainingBuffers())
    waits: list[int] = []
    trainer.while_paused = lambda: waits.append(1)
    thread = TrainingThread(worker)
    reasons: list[str] = []
    worker.finished.connect(reasons.append)
    worker.pause()  # before the first step: the run waits as soon as it starts training
    thread.start()
    qtbot.waitUntil(lambda: len(waits) >= 2, timeout=60_000)
    assert trainer.ctx.global_step == 0
    worker.stop()
    qtbot.waitUntil(lambda: bool(reasons), timeout=60_000)
    assert thread.thread.wait(60_000)
    assert reasons == ["stopped"]


# ---------------------------------------------------------------- probe (Qt-free)


def _compiled(name: str) -> tuple[Any, Any, Any]:
    doc = load_example(name)
    analysis = Analyzer().analyze(doc)
    compiled = CompiledDocument(doc, analysis)
    return doc, analysis, compiled


def test_probe_captures_linear_conv_and_moduleless_nodes():
    doc, analysis, compiled = _compiled("cnn_digits")
    model = compiled.build()
    net = doc.networks[0]
    attrs = compiled.generated.attrs[net.name]
    inputs = probe_inputs(analysis.networks[net.name], torch.rand(50, 1, 8, 8), n=16)
    assert inputs[0].shape == (16, 1, 8, 8)
    acts = capture_activations(model, net, attrs, ["image", "conv1", "classifier", "logits"], inputs)
    assert acts["conv1"].values.shape == (16, 16, 8, 8) and acts["conv1"].source == "output"
    assert acts["classifier"].values.shape == (16, 10)
    assert acts["logits"].values.shape == (16, 10)  # an Output shows what feeds it
    assert acts["image"].source == "probe batch"
    assert model.training  # mode restored
    assert describe_unprobeable(net, attrs, "nope") is not None


def test_layer_norms_read_gradients_after_a_step():
    _doc, _analysis, compiled = _compiled("mlp_digits")
    model = compiled.build()
    groups = layer_groups(model, compiled.generated.attrs["DigitsMLP"])
    assert groups.names == ["fc1", "fc2", "classifier"]
    w, g = layer_norms(groups)
    assert np.all(w > 0) and np.all(np.isnan(g))  # no backward yet
    nn.functional.cross_entropy(model(torch.randn(8, 64)), torch.randint(0, 10, (8,))).backward()
    w, g = layer_norms(groups)
    assert np.all(np.isfinite(g)) and np.all(g > 0)
    expected = torch.sqrt(sum(p.grad.pow(2).sum() for p in model.fc1.parameters()))
    assert g[0] == pytest.approx(float(expected), rel=1e-5)


def test_model_probe_looks_into_blocks_and_explains_missing_nodes():
    doc, analysis, compiled = _compiled("vae_digits")  # VAE uses the Decoder network as a block
    probe = ModelProbe({"VAE": compiled.build("VAE")}, compiled.generated, doc, analysis,
                       torch.rand(40, 64), compiled.namespace)
    assert probe.activation("enc1").values.shape == (32, 128)
    assert probe.activation("dec1", "Decoder").values.shape[0] == 32
    z = probe.activation("z", "Decoder")  # the block's Input: seen as the input of dec1
    assert z.source == "input of dec1"
    with pytest.raises(ProbeError, match="not in the trained snapshot"):
        probe.activation("added_later")
    names, w, g = probe.norms()
    assert names[:2] == ["enc1", "enc2"] and len(names) == len(w) == len(g)
