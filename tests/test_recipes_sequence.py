"""Sequence recipes through the real engine on tiny data: per-position sequence to
sequence, next-token language models (metrics, causal check, generation) and the
sequence names of the supervised recipes."""
from __future__ import annotations

import math
from typing import Any

import pytest
import torch

from graph_compiler.document import from_dict
from graph_compiler.training.engine import Trainer
from graph_compiler.training.recipes import get_recipe


pytestmark = pytest.mark.usefixtures("one_thread")


def node(nid: str, type_: str, **params: Any) -> dict[str, Any]:
    return {"id": nid, "type": type_, "params": params}


def chain_doc(nodes: list[dict[str, Any]], training: dict[str, Any], edges: list[dict[str, Any]] | None = None):  # type: ignore[no-untyped-def]
    wires = [{"src": a["id"], "dst": b["id"]} for a, b in zip(nodes, nodes[1:])]
    net = {"name": "Model", "nodes": nodes, "edges": edges if edges is not None else wires}
    return from_dict({"format": "netwright-graph", "version": 1, "networks": [net], "training": training})


def run(doc: Any, **kw: Any) -> tuple[Trainer, list[Any]]:
    trainer = Trainer(doc, **kw)
    return trainer, list(trainer.run())


def of(events: list[Any], kind: str) -> list[Any]:
    return [e for e in events if e.kind == kind]


def errors(events: list[Any]) -> list[dict[str, Any]]:
    return [e.data for e in of(events, "error")]


def tiny_gpt(T: int = 16, vocab: int = 96, causal: bool = True) -> list[dict[str, Any]]:
    return [node("tokens", "Input", shape=[T], dtype="int64"),
            node("embed", "Embedding", num_embeddings=vocab, embedding_dim=32),
            node("pos", "PositionalEncoding", max_len=T),
            node("layer", "TransformerEncoderLayer", nhead=2, dim_feedforward=64, dropout=0.0, norm_first=True,
                 causal=causal),
            node("head", "Linear", out_features=vocab), node("logits", "Output")]


LM = {"recipe": "language_model", "dataset": {"name": "chars", "block_size": 16, "n": 600, "max_chars": 20000},
      "epochs": 3, "batch_size": 32, "lr": 0.01, "options": {"sample_length": 30}}


def test_language_model_loss_falls_with_perplexity_and_text_samples():
    trainer, events = run(chain_doc(tiny_gpt(), LM))
    assert not errors(events)
    epochs = of(events, "epoch")
    assert epochs[-1]["train_loss"] < epochs[0]["train_loss"]
    last = epochs[-1]
    assert last["val_perplexity"] == pytest.approx(math.exp(last["val_loss"]), rel=1e-6)
    assert 0 <= last["val_accuracy"] <= 1 and "val_sequence_accuracy" not in last.data
    live = of(events, "sample")[-1]
    assert live["kind"] == "text" and live["text"][0].startswith(live["prompt"])
    assert len(live["text"][0]) == len(live["prompt"]) + 30
    (attention,) = live["panels"]
    weights = attention["weights"]
    assert attention["kind"] == "attention" and weights.shape == (16, 16)
    assert float(weights[0, 1:].sum()) == 0.0, "a causal layer must not attend to later tokens"
    assert torch.allclose(torch.from_numpy(weights).sum(1), torch.ones(16), atol=1e-5)
    text = trainer.sample(50)["text"][0]
    vocab = trainer.ctx.train.meta["vocab"]
    assert len(text) == len(live["prompt"]) + 50 and set(text) <= set(vocab)


def test_language_model_generation_feeds_full_context_windows_and_uses_the_prompt():
    """Windows of exactly the context, as in training: older tokens cropped, a shorter
    prompt padded on the left (the padding never shows in the text)."""
    trainer = Trainer(chain_doc(tiny_gpt(T=8), {**LM, "dataset": {**LM["dataset"], "block_size": 8},
                                                "options": {"prompt": "def ", "temperature": 0.0}}))
    recipe = trainer.prepare()
    seen: list[int] = []
    forward = recipe._forward
    recipe._forward = lambda ids: (seen.append(ids.shape[1]), forward(ids))[1]  # type: ignore[method-assign]
    out = trainer.sample(20)
    assert out["prompt"] == "def " and out["text"][0].startswith("def ")
    assert set(seen) == {8}
    again = trainer.sample(20)
    assert again["text"] == out["text"], "temperature 0 is greedy, so deterministic"


def test_language_model_check_rejects_layers_that_see_the_future():
    _, events = run(chain_doc(tiny_gpt(causal=False), LM))
    (err,) = errors(events)
    assert err["cause"] == "shape" and "'layer' (TransformerEncoderLayer: set causal)" in err["message"]
    _, events = run(chain_doc(tiny_gpt(causal=False), {**LM, "epochs": 1, "options": {"allow_non_causal": True}}))
    assert not errors(events)


def test_language_model_check_explains_a_flattened_output():
    nodes = tiny_gpt()[:-2] + [node("flat", "Flatten"), node("head", "Linear", out_features=96), node("logits", "Output")]
    (err,) = errors(run(chain_doc(nodes, LM))[1])
    assert "needs a score for every class at every position, [B, 16, " in err["message"]


SORT = {"recipe": "sequence_to_sequence", "dataset": {"name": "sort", "n": 1200, "length": 6, "vocab_size": 5},
        "epochs": 8, "batch_size": 64, "lr": 0.01}


def bilstm(vocab: int = 5, T: int = 6, out: int = 5) -> list[dict[str, Any]]:
    return [node("tokens", "Input", shape=[T], dtype="int64"), node("embed", "Embedding", num_embeddings=vocab,
                                                                       embedding_dim=16),
            node("lstm", "LSTM", hidden_size=32, bidirectional=True), node("head", "Linear", out_features=out),
            node("logits", "Output")]


def test_sequence_to_sequence_learns_sorting_per_position():
    _, events = run(chain_doc(bilstm(), SORT))
    assert not errors(events)
    epochs = of(events, "epoch")
    assert epochs[-1]["train_loss"] < epochs[0]["train_loss"] * 0.7
    assert epochs[-1]["val_accuracy"] > 0.6
    assert 0 <= epochs[-1]["val_sequence_accuracy"] <= epochs[-1]["val_accuracy"]
    live = of(events, "sample")[-1]
    assert live["kind"] == "text" and " -> " in live["text"][0]


def test_sequence_to_sequence_check_wants_enough_classes():
    (err,) = errors(run(chain_doc(bilstm(out=3), SORT))[1])
    assert "has 5 classes (its vocabulary); set the last Linear's out_features to 5" in err["message"]


def test_sequence_names_resolve_to_recipes():
    assert get_recipe("sequence_classification").name == "classification"
    assert get_recipe("seq2seq").name == "sequence_to_sequence"
    assert get_recipe("lm").name == "language_model"
    assert get_recipe("sequence_regression").__mro__[1].name == "regression"


def test_sequence_regression_on_digit_sums():
    nodes = [node("digits", "Input", shape=[5], dtype="int64"), node("embed", "Embedding", num_embeddings=10,
                                                                      embedding_dim=8),
             node("lstm", "LSTM", hidden_size=16), node("out", "Linear", out_features=1), node("y", "Output")]
    edges = [{"src": "digits", "dst": "embed"}, {"src": "embed", "dst": "lstm"},
             {"src": "lstm", "dst": "out", "src_port": 1}, {"src": "out", "dst": "y"}]
    training = {"recipe": "sequence_regression", "dataset": {"name": "sum", "n": 400}, "epochs": 3, "lr": 0.02}
    _, events = run(chain_doc(nodes, training, edges))
    assert not errors(events)
    epochs = of(events, "epoch")
    assert epochs[-1]["train_loss"] < epochs[0]["train_loss"] and "val_r2" in epochs[-1].data
