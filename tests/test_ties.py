"""Tied weights (GPT-2's lm_head.weight is its token embedding): counted once, shared for
real in the generated code, stored once in weight files, checked with messages naming both
nodes, and kept through the file format (version 2, migrated from version 1)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch
from test_codegen import assert_ruff_clean

from graph_compiler.analysis import Analyzer
from graph_compiler.cli import main as cli
from graph_compiler.codegen import generate
from graph_compiler.compile import CompiledDocument
from graph_compiler.document import VERSION, Tie, dumps, from_dict, loads
from graph_compiler.errors import DocumentError
from graph_compiler.interop.python_export import export_python
from graph_compiler.schema_check import schema_errors
from graph_compiler.training.checkpoints import load_weights, save_weights

V, D = 50, 8


def lm(ties: list[dict[str, Any]] | None = None, version: int = VERSION, head: int = V) -> dict[str, Any]:
    net: dict[str, Any] = {
        "name": "TinyLM",
        "nodes": [
            {"id": "idx", "type": "Input", "params": {"shape": [6], "dtype": "int64"}},
            {"id": "wte", "type": "Embedding", "params": {"num_embeddings": V, "embedding_dim": D}},
            {"id": "ln_f", "type": "LayerNorm", "params": {}},
            {"id": "lm_head", "type": "Linear", "params": {"out_features": head, "bias": False}},
            {"id": "logits", "type": "Output"},
        ],
        "edges": [{"src": "idx", "dst": "wte"}, {"src": "wte", "dst": "ln_f"}, {"src": "ln_f", "dst": "lm_head"},
                  {"src": "lm_head", "dst": "logits"}],
    }
    if ties is not None:
        net["ties"] = ties
    return {"format": "netwright-graph", "version": version, "networks": [net]}


TIE = {"node": "lm_head", "param": "weight", "to_node": "wte", "to_param": "weight"}


def test_a_tied_weight_is_counted_once_and_noted_on_both_nodes() -> None:
    untied = Analyzer().analyze(from_dict(lm())).networks["TinyLM"]
    analysis = Analyzer().analyze(from_dict(lm([TIE])))
    assert analysis.ok, [d.format() for d in analysis.errors]
    info = analysis.networks["TinyLM"]
    assert untied.total_params == 2 * V * D + 2 * D
    assert info.total_params == V * D + 2 * D
    assert info.nodes["lm_head"].n_params == 0
    assert info.nodes["lm_head"].notes == ["weight tied to wte.weight (counted there)"]
    assert info.nodes["wte"].notes == ["weight shared with lm_head.weight"]


def test_generated_code_shares_the_tensor_and_loads_the_original_state_dict() -> None:
    doc = from_dict(lm([TIE]))
    source = generate(doc).source
    assert "        self.lm_head.weight = self.wte.weight\n" in source
    assert_ruff_clean(source)
    model = CompiledDocument(doc).build()
    assert model.lm_head.weight is model.wte.weight
    assert sum(p.numel() for p in model.parameters()) == V * D + 2 * D
    assert list(model.state_dict()) == ["wte.weight", "ln_f.weight", "ln_f.bias", "lm_head.weight"]
    # The original model's state dict (both keys, one tensor) loads strictly, and training
    # one updates the other.
    original = CompiledDocument(doc).build()
    model.load_state_dict(original.state_dict(), strict=True)
    torch.testing.assert_close(model.lm_head.weight, original.wte.weight)
    loss = model(torch.randint(0, V, (2, 6))).sum()
    loss.backward()
    with torch.no_grad():
        model.wte.weight -= 0.1 * model.wte.weight.grad
    assert model.lm_head.weight is model.wte.weight


def test_weight_files_store_a_tied_tensor_once(tmp_path: Path) -> None:
    doc = from_dict(lm([TIE]))
    model = CompiledDocument(doc).build()
    path = tmp_path / "a.safetensors"
    save_weights(path, model.state_dict())
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        assert sorted(f.keys()) == ["ln_f.bias", "ln_f.weight", "wte.weight"]
    state = load_weights(path)
    assert state["lm_head.weight"] is state["wte.weight"]
    fresh = CompiledDocument(doc).build()
    fresh.load_state_dict(state, strict=True)
    assert fresh.lm_head.weight is fresh.wte.weight
    torch.testing.assert_close(fresh.wte.weight, model.wte.weight)
    untied = tmp_path / "c.safetensors"
    save_weights(untied, CompiledDocument(from_dict(lm())).build().state_dict())
    state = load_weights(untied)
    assert len(state) == 4 and state["lm_head.weight"] is not state["wte.weight"]


def test_weights_saved_by_other_tools_without_the_tied_name_load(tmp_path: Path) -> None:
    """safetensors.torch.save_model keeps one name of a shared tensor and no metadata;
    Hugging Face's GPT-2 checkpoints leave out lm_head.weight. Both load strictly."""
    from safetensors.torch import save_model

    from graph_compiler.interop.weights import load_weights as load_into

    doc = from_dict(lm([TIE]))
    trained = CompiledDocument(doc).build()
    path = tmp_path / "w.safetensors"
    save_model(trained, str(path))
    fresh = CompiledDocument(doc).build()
    state = load_into(fresh, path, doc)
    assert fresh.lm_head.weight is fresh.wte.weight
    torch.testing.assert_close(fresh.lm_head.weight, trained.wte.weight)
    assert {"lm_head.weight", "wte.weight"} <= set(state)
    untied = from_dict(lm())  # without the tie, a missing head is still an error
    from graph_compiler.interop.weights import WeightsError

    with pytest.raises(WeightsError, match="missing: lm_head.weight|missing: wte.weight"):
        load_into(CompiledDocument(untied).build(), path, untied)


def test_exported_script_loads_weights_stored_once(tmp_path: Path) -> None:
    doc = from_dict(lm([TIE]))
    model = CompiledDocument(doc).build()
    weights = tmp_path / "w.safetensors"
    save_weights(weights, model.state_dict())
    out, weights_out = export_python(doc, tmp_path / "model.py", weights)
    namespace: dict[str, Any] = {"__name__": "exported", "__file__": str(out)}
    exec(compile(out.read_text(), str(out), "exec"), namespace)  # noqa: S102 - our own export
    loaded = namespace["load_weights"]()
    assert loaded.lm_head.weight is loaded.wte.weight
    torch.testing.assert_close(loaded.wte.weight, model.wte.weight)


@pytest.mark.parametrize("tie,message,node", [
    ({**TIE, "to_node": "nope"}, "tie lm_head.weight -> nope.weight: there is no node 'nope' in TinyLM", "lm_head"),
    ({**TIE, "param": "bias"}, "lm_head (Linear) has no parameter 'bias' (it has: weight)", "lm_head"),
    ({**TIE, "to_node": "ln_f"}, "shapes differ: lm_head.weight is [50, 8], ln_f.weight is [8]", "lm_head"),
    ({**TIE, "to_node": "lm_head"}, "a parameter cannot be tied to itself", "lm_head"),
    ({**TIE, "to_node": "idx"}, "idx is a Input; ties join the parameters of layers", "idx"),
    ({**TIE, "param": "weight; import os"}, "is not a parameter name", "lm_head"),
])
def test_bad_ties_get_one_message_naming_both_nodes(tie: dict[str, str], message: str, node: str) -> None:
    analysis = Analyzer().analyze(from_dict(lm([tie])))
    errors = analysis.errors
    assert len(errors) == 1 and message in errors[0].message and errors[0].node == node, errors


def test_shape_mismatch_is_reported_and_blocks_codegen() -> None:
    analysis = Analyzer().analyze(from_dict(lm([TIE], head=V + 1)))
    assert [d.message for d in analysis.errors] == [
        "tie lm_head.weight -> wte.weight: shapes differ: lm_head.weight is [51, 8], wte.weight is [50, 8]"]


def test_chains_and_double_ties_are_refused() -> None:
    chain = [TIE, {"node": "wte", "param": "weight", "to_node": "lm_head", "to_param": "weight"}]
    messages = [d.message for d in Analyzer().analyze(from_dict(lm(chain))).errors]
    assert any("is itself tied to" in m for m in messages)
    twice = [TIE, {**TIE, "to_node": "ln_f"}]
    messages = [d.message for d in Analyzer().analyze(from_dict(lm(twice))).errors]
    assert any("lm_head.weight is already tied to wte" in m for m in messages)


def test_ties_round_trip_and_version_1_files_migrate() -> None:
    doc = from_dict(lm([{**TIE, "note": "kept"}]))
    assert doc.networks[0].ties == [Tie("lm_head", "weight", "wte", "weight", {"note": "kept"})]
    saved = json.loads(dumps(doc))
    assert saved["version"] == VERSION == 2
    assert saved["networks"][0]["ties"] == [{**TIE, "note": "kept"}]
    assert dumps(loads(dumps(doc))) == dumps(doc)
    assert schema_errors(saved) == []
    old = from_dict(lm(version=1))
    assert old.networks[0].ties == [] and json.loads(dumps(old))["version"] == 2
    assert "ties" not in json.loads(dumps(old))["networks"][0]
    assert schema_errors(lm(version=1)) == []


@pytest.mark.parametrize("ties,message", [
    ("lm_head", "network 'TinyLM'.ties: expected a list, got a string"),
    ([["lm_head"]], "ties[0]: expected a tie object {node, param, to_node, to_param}, got a list"),
    ([{"node": "lm_head", "param": "weight", "to_node": "wte"}], "ties[0]: tie has no 'to_param'"),
    ([{**TIE, "to_node": ""}], "to_node must not be empty"),
])
def test_broken_ties_in_a_file_get_clear_messages(ties: Any, message: str) -> None:
    with pytest.raises(DocumentError) as err:
        from_dict(lm(ties))
    assert message in str(err.value)
    assert schema_errors(lm(ties)) != []


def test_summary_counts_gpt2_small_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """GPT-2 small's embedding and head: 50257 x 768 counted once."""
    raw = lm([TIE])
    nodes = raw["networks"][0]["nodes"]
    nodes[1]["params"] = {"num_embeddings": 50257, "embedding_dim": 768}
    nodes[3]["params"] = {"out_features": 50257, "bias": False}
    path = tmp_path / "gpt.json"
    path.write_text(json.dumps(raw))
    assert cli(["summary", str(path), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["total_params"] == 50257 * 768 + 2 * 768


from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_IDS = st.sampled_from(["idx", "wte", "ln_f", "lm_head", "logits", "nope", "wte.weight", ""])
_PARAMS = st.sampled_from(["weight", "bias", "", "weight.T", "__class__", "weight; import os", "0", "in_proj_weight"])


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(_IDS, _PARAMS, _IDS, _PARAMS), max_size=3))
def test_random_ties_give_typed_errors_or_working_code(ties: list[tuple[str, str, str, str]]) -> None:
    raw = lm([{"node": a, "param": b, "to_node": c, "to_param": d} for a, b, c, d in ties])
    try:
        doc = from_dict(raw)
    except DocumentError as exc:
        assert "must not be empty" in str(exc)
        return
    analysis = Analyzer().analyze(doc)
    assert all("internal error" not in d.message for d in analysis.diagnostics)
    if not analysis.ok:
        assert all(d.message.startswith("tie ") for d in analysis.errors), analysis.errors
        return
    model = CompiledDocument(doc, analysis).build()
    assert sum(p.numel() for p in model.parameters()) == analysis.networks["TinyLM"].total_params


def test_exported_training_script_stores_a_tied_weight_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The standalone script writes the tied tensor once, and Netwright reads its run back."""
    import runpy
    import sys

    from safetensors import safe_open

    from graph_compiler.interop.script_export import generate_script
    from graph_compiler.training.checkpoints import load_run

    raw = lm([TIE], head=96)
    raw["networks"][0]["nodes"][0]["params"]["shape"] = [16]
    raw["networks"][0]["nodes"][1]["params"]["num_embeddings"] = 96
    doc = from_dict(raw)
    doc.training = {"recipe": "language_model", "dataset": {"name": "chars", "block_size": 16, "n": 200},
                    "epochs": 1, "batch_size": 16, "lr": 0.01, "options": {"sample_length": 5}}
    script = tmp_path / "train.py"
    script.write_text(generate_script(doc))
    monkeypatch.setattr(sys, "argv", [str(script), "--out", str(tmp_path / "out")])
    runpy.run_path(str(script), run_name="__main__")
    with safe_open(str(tmp_path / "out" / "weights.safetensors"), "pt") as f:
        stored = set(f.keys())
        tied = json.loads(f.metadata()["netwright.tied"])
    assert len(stored & {"wte.weight", "lm_head.weight"}) == 1
    assert set(tied.items()) <= {("lm_head.weight", "wte.weight"), ("wte.weight", "lm_head.weight")} and tied
    run = load_run(tmp_path / "out", with_optimizer=False)
    model = CompiledDocument(doc).build()
    model.load_state_dict(run.weights[run.main], strict=True)
    assert model.lm_head.weight is model.wte.weight
    torch.testing.assert_close(model.wte.weight, run.weights[run.main]["wte.weight"])
