"""Run folders: safetensors weights / optimizer state, run.json, and --resume."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from training_docs import chain, mlp_doc

from graph_compiler.codegen import generate_code
from graph_compiler.document import from_dict
from graph_compiler.training.checkpoints import (
    CheckpointError,
    load_run,
    load_weights,
    network_filename,
    save_weights,
)
from graph_compiler.training.engine import Trainer
from graph_compiler.training.restore import load_trained


pytestmark = pytest.mark.usefixtures("one_thread")


# Dropout makes the RNG part of the state: resume must restore it to match exactly.
def _doc(epochs: int):
    net = chain("Net", [
        ("x", "Input", {"shape": [2]}),
        ("fc1", "Linear", {"out_features": 16}),
        ("act", "ReLU", {}),
        ("drop", "Dropout", {"p": 0.2}),
        ("fc2", "Linear", {"out_features": 3}),
        ("out", "Output", {}),
    ])
    training = {"dataset": {"name": "blobs", "n": 300}, "epochs": epochs, "lr": 0.01, "batch_size": 32,
                "schedule": "cosine"}
    return from_dict({"format": "netwright-graph", "version": 1, "networks": [net], "training": training})


def _epochs(events):
    return [e for e in events if e.kind == "epoch"]


def test_save_writes_safetensors_and_run_json(tmp_path):
    doc = mlp_doc({"dataset": {"name": "blobs", "n": 200}, "epochs": 2})
    events = list(Trainer(doc, save=tmp_path / "run").run())
    d = tmp_path / "run"
    assert events[-1]["saved"] == str(d)
    assert {p.name for p in d.iterdir()} == {"weights.safetensors", "optimizer.safetensors", "run.json"}
    ns: dict = {}
    exec(generate_code(doc), ns)
    model = ns["build_model"]()
    model.load_state_dict(load_file(str(d / "weights.safetensors")), strict=True)
    info = json.loads((d / "run.json").read_text())
    for key in ("config", "history", "epoch", "normalizer", "versions", "recipe", "seed", "dataset", "document"):
        assert key in info, key
    assert info["epoch"] == 2 and len(info["history"]) == 2
    assert set(info["versions"]) >= {"netwright", "torch", "python"}
    assert info["dataset"]["spec"] == {"name": "blobs", "n": 200}
    assert info["normalizer"]["mean"]
    assert not any(p.suffix in (".pt", ".pth", ".pkl") for p in d.iterdir())


def test_resume_continues_exactly_where_the_run_stopped(tmp_path):
    straight = [e[k] for e in _epochs(Trainer(_doc(4)).run()) for k in ("train_loss", "val_loss", "lr")]

    first = Trainer(_doc(4), save=tmp_path / "a")
    for e in first.run():
        if e.kind == "epoch" and e["epoch"] == 2:
            first.stop()  # takes effect before epoch 3's first step
    saved = load_run(tmp_path / "a")
    assert saved.epoch == 2 and saved.info["reason"] == "stopped"
    adam = saved.optimizers["main"]
    assert int(adam["state"][0]["step"]) == saved.info["step"] > 0  # optimizer state came along

    trainer = Trainer(_doc(4), resume=tmp_path / "a", save=tmp_path / "b")
    events = list(trainer.run())
    assert events[0]["start_epoch"] == 2 and events[0]["resumed"]
    resumed = [e[k] for e in _epochs(events) for k in ("train_loss", "val_loss", "lr")]
    assert [e["epoch"] for e in _epochs(events)] == [3, 4]
    assert resumed == pytest.approx(straight[6:], rel=1e-6)
    info = json.loads((tmp_path / "b" / "run.json").read_text())
    assert info["epoch"] == 4 and [h["epoch"] for h in info["history"]] == [1, 2, 3, 4]


def test_resume_a_finished_run_asks_for_more_epochs(tmp_path):
    list(Trainer(_doc(2), save=tmp_path / "a").run())
    events = list(Trainer(_doc(2), resume=tmp_path / "a").run())
    err = [e for e in events if e.kind == "error"][0]
    assert err["cause"] == "config" and "--epochs 4" in err["message"]


def test_resume_from_a_missing_or_foreign_folder(tmp_path):
    events = list(Trainer(_doc(2), resume=tmp_path / "nope").run())
    assert "no such run folder" in [e for e in events if e.kind == "error"][0]["message"]
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "run.json").write_text('{"format": "other"}')
    with pytest.raises(CheckpointError):
        load_run(tmp_path / "x")


def test_stopped_run_is_saved_and_load_trained_rebuilds_it(tmp_path):
    trainer = Trainer(_doc(1000), save=tmp_path / "s")
    for e in trainer.run():
        if e.kind == "epoch" and e["epoch"] == 2:
            trainer.stop()
    assert trainer.result.reason == "stopped"
    again = load_trained(tmp_path / "s")
    a = trainer.result.main_weights
    b = again.weights()["Net"]
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_other_networks_get_their_own_file():
    assert network_filename("Generator", "Generator") == "weights.safetensors"
    assert network_filename("Discriminator", "Generator") == "Discriminator.safetensors"
    assert network_filename("weights", "G") == "net_weights.safetensors"
    assert network_filename("a/b c", "G") == "a_b_c.safetensors"


# ---------------------------------------------------------------- the one weight loader


def _saved_run(tmp_path):
    trainer = Trainer(_doc(1), save=tmp_path / "run")
    list(trainer.run())
    return trainer


def test_load_trained_takes_a_graph_file_and_names_a_network_without_weights(tmp_path):
    _saved_run(tmp_path)
    other = tmp_path / "other.json"
    raw = json.loads((tmp_path / "run" / "run.json").read_text())["document"]
    raw["networks"][0]["name"] = "Renamed"
    other.write_text(json.dumps(raw))
    with pytest.raises(CheckpointError, match="no saved weights for network 'Renamed'"):
        load_trained(tmp_path / "run", file=other, device="cpu")


def test_load_trained_refuses_weights_that_do_not_fit(tmp_path):
    _saved_run(tmp_path)
    raw = json.loads((tmp_path / "run" / "run.json").read_text())["document"]
    fc1 = next(n for n in raw["networks"][0]["nodes"] if n["id"] == "fc1")
    fc1["params"]["out_features"] = 7
    other = tmp_path / "wider.json"
    other.write_text(json.dumps(raw))
    with pytest.raises(CheckpointError, match="the saved weights do not fit the document's networks") as err:
        load_trained(tmp_path / "run", file=other, device="cpu")
    # the layer and both shapes, not torch's "Error(s) in loading state_dict for ..."
    saved = load_weights(tmp_path / "run")
    rows, cols = saved["fc1.weight"].shape
    assert f"wrong shape: fc1.weight [{rows}, {cols}] (network wants [7, {cols}])" in str(err.value)
    assert "fc1.bias" in str(err.value) and "Error(s)" not in str(err.value)


def test_weight_files_are_read_without_running_code(tmp_path):
    good = tmp_path / "sd.pt"
    torch.save({"w": torch.ones(2)}, good)
    assert torch.equal(load_weights(good)["w"], torch.ones(2))

    class Payload:  # pickled as a class reference, which weights_only refuses
        def __reduce__(self):
            return (print, ("executed",))

    bad = tmp_path / "evil.pt"
    torch.save({"w": Payload()}, bad)
    with pytest.raises(CheckpointError, match="evil.pt: cannot read weights"):
        load_weights(bad)
    (tmp_path / "junk.safetensors").write_bytes(b"\x00" * 7)
    with pytest.raises(CheckpointError, match="junk.safetensors: cannot read weights"):
        load_weights(tmp_path / "junk.safetensors")


def test_save_weights_round_trips_tied_tensors(tmp_path):
    shared = torch.arange(6.0).reshape(2, 3)
    save_weights(tmp_path / "w.safetensors", {"a": shared, "b": shared, "t": shared.t()})
    back = load_weights(tmp_path / "w.safetensors")
    assert torch.equal(back["a"], shared) and torch.equal(back["b"], shared) and torch.equal(back["t"], shared.t())


def test_only_restore_puts_trained_weights_into_networks():
    """One weight loader: no other module of graph_compiler or designer calls
    recipe.load_state_dicts (the recipe base class defines it)."""
    root = Path(__file__).resolve().parents[1]
    callers = sorted(str(p.relative_to(root)) for pkg in ("graph_compiler", "designer")
                     for p in (root / pkg).rglob("*.py") if ".load_state_dicts(" in p.read_text("utf-8"))
    assert callers == ["graph_compiler/training/restore.py"]
