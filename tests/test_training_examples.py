"""End-to-end: the shipped digit examples reach their accuracy targets on CPU, seeded."""
from __future__ import annotations

import pytest
import torch

from graph_compiler import document
from graph_compiler.examples import examples_dir
from graph_compiler.training.engine import Trainer

EXAMPLES = examples_dir()


@pytest.mark.slow
@pytest.mark.parametrize("name, target", [("mlp_digits", 0.95), ("cnn_digits", 0.97)])
def test_digit_examples_reach_their_accuracy(name, target):
    path = EXAMPLES / f"{name}.json"
    if not path.is_file():
        pytest.skip(f"{path} is not there yet")
    doc = document.load(path)
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        events = list(Trainer(doc, overrides={"device": "cpu"}).run())
    finally:
        torch.set_num_threads(before)
    assert not [e for e in events if e.kind == "error"], [e.data for e in events if e.kind == "error"]
    final = [e for e in events if e.kind == "epoch"][-1]
    assert final["val_accuracy"] >= target, final["val_accuracy"]
    # How long it takes is measured by bench/bench_train.py, against a hand-written loop.
