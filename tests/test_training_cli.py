"""`netwright train`: JSON log lines, saved files, errors without tracebacks."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from safetensors.torch import load_file
from training_docs import mlp_doc

from graph_compiler import document
from graph_compiler.cli import main
from graph_compiler.codegen import generate_code

REPO = Path(__file__).resolve().parent.parent


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture
def graph(tmp_path):
    doc = mlp_doc({"dataset": {"name": "blobs", "n": 300}, "epochs": 5, "lr": 0.01})
    path = tmp_path / "blobs.json"
    document.save(doc, path)
    return path


def test_train_writes_json_lines_and_saves_weights(graph, tmp_path, capsys):
    log, save = tmp_path / "log.jsonl", tmp_path / "run"
    rc = main(["train", str(graph), "--epochs", "3", "--batch-size", "32", "--lr", "0.02", "--seed", "1",
               "--device", "cpu", "--log-json", str(log), "--save", str(save)])
    assert rc == 0
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    kinds = [line["event"] for line in lines]
    assert kinds[0] == "start" and kinds[-1] == "done" and kinds.count("epoch") == 3
    assert set(kinds) <= {"start", "epoch", "done"}
    for line in lines:
        if line["event"] == "epoch":
            for key in ("epoch", "train_loss", "val_loss", "val_accuracy", "samples_per_s", "elapsed_s"):
                assert isinstance(line[key], (int, float)), key
    start = lines[0]
    assert start["batch_size"] == 32 and start["config"]["lr"] == 0.02 and start["seed"] == 1
    assert lines[-1]["reason"] == "completed"

    ns: dict = {}
    exec(generate_code(document.load(graph)), ns)
    model = ns["build_model"]()
    model.load_state_dict(load_file(str(save / "weights.safetensors")), strict=True)
    assert (save / "optimizer.safetensors").is_file() and (save / "run.json").is_file()
    out = capsys.readouterr()
    assert "val_accuracy" in out.out and "saved to" in out.out
    assert "epoch 3/3" in out.err  # one progress line per epoch when stderr is not a terminal


def test_resume_from_the_cli(graph, tmp_path):
    save = tmp_path / "run"
    assert main(["train", str(graph), "--epochs", "2", "--save", str(save), "--quiet"]) == 0
    log = tmp_path / "log.jsonl"
    assert main(["train", str(graph), "--epochs", "4", "--resume", str(save), "--save", str(save),
                 "--log-json", str(log), "--quiet"]) == 0
    epochs = [json.loads(x)["epoch"] for x in log.read_text().splitlines() if '"epoch"' in x and '"event": "epoch"' in x]
    assert epochs == [3, 4]
    assert json.loads((save / "run.json").read_text())["epoch"] == 4


def test_bad_values_are_clear_errors_without_traceback(graph, tmp_path, capsys):
    assert main(["train", str(graph), "--lr", "-1"]) == 1
    err = capsys.readouterr().err
    assert "training.lr" in err and "Traceback" not in err

    doc = document.load(graph)
    doc.training["optimiser"] = "adam"
    bad = tmp_path / "bad.json"
    document.save(doc, bad)
    assert main(["train", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "unknown key 'optimiser'" in err and "did you mean 'optimizer'" in err and "Traceback" not in err

    doc = document.load(graph)
    doc.training["dataset"] = "no_such_dataset"
    document.save(doc, bad)
    assert main(["train", str(bad), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "unknown dataset 'no_such_dataset'" in err and "Traceback" not in err
    doc.training["dataset"] = {"name": "digts"}  # a typo: the close match, not the whole list
    document.save(doc, bad)
    assert main(["train", str(bad), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "unknown dataset 'digts'; did you mean 'digits'?" in err and "moons" not in err

    assert main(["train", str(tmp_path / "missing.json")]) == 2  # unreadable input
    assert "no such file" in capsys.readouterr().err


def test_failed_run_exits_1_and_logs_the_error(tmp_path, capsys):
    doc = mlp_doc({"dataset": {"name": "sine", "n": 200}, "epochs": 3, "lr": 1e6, "optimizer": "sgd"},
                  inputs=1, outputs=1)
    path = tmp_path / "nan.json"
    document.save(doc, path)
    log = tmp_path / "log.jsonl"
    assert main(["train", str(path), "--log-json", str(log), "--save", str(tmp_path / "r")]) == 1
    err = capsys.readouterr().err
    assert "diverged" in err and "hint:" in err and "Traceback" not in err
    kinds = [json.loads(x)["event"] for x in log.read_text().splitlines()]
    assert kinds[-2:] == ["error", "done"]
    assert not (tmp_path / "r").exists()  # a diverged run is not saved


def test_tensorboard(graph, tmp_path):
    pytest.importorskip("tensorboard")
    tb = tmp_path / "tb"
    assert main(["train", str(graph), "--epochs", "2", "--tensorboard", str(tb), "--quiet"]) == 0
    assert list(tb.glob("events.out.tfevents.*"))


@pytest.mark.slow  # a fresh interpreter imports torch, sklearn and torch._dynamo: ~5-15 s
def test_train_as_a_subprocess_prints_progress_and_metrics(graph, tmp_path):
    proc = subprocess.run([sys.executable, "-m", "graph_compiler.cli", "train", str(graph), "--epochs", "2",
                           "--threads", "1"], capture_output=True, text=True, cwd=REPO, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "epoch 2/2" in proc.stderr
    assert "finished after 2 epoch(s)" in proc.stdout and "val_accuracy" in proc.stdout


def test_log_json_inside_a_save_folder_that_does_not_exist_yet(graph, tmp_path):
    # The README's example: `--save runs/cnn --log-json runs/cnn/log.jsonl` on a fresh checkout.
    save = tmp_path / "runs" / "cnn"
    log = save / "log.jsonl"
    assert main(["train", str(graph), "--epochs", "1", "--save", str(save), "--log-json", str(log), "--quiet"]) == 0
    kinds = [json.loads(line)["event"] for line in log.read_text().splitlines()]
    assert kinds[0] == "start" and kinds[-1] == "done"
    assert (save / "weights.safetensors").is_file()


def test_resuming_a_run_of_another_design_names_the_mismatch(graph, tmp_path, capsys):
    save = tmp_path / "run"
    assert main(["train", str(graph), "--epochs", "1", "--save", str(save), "--quiet"]) == 0
    saved_as = document.load(graph).networks[0].name
    other = document.load(graph)
    other.networks[0].name = "Other"
    path = tmp_path / "other.json"
    document.save(other, path)
    capsys.readouterr()
    assert main(["train", str(path), "--epochs", "2", "--resume", str(save), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert f"{save}: that run trained {saved_as}, which {path} does not have" in err
    assert "Traceback" not in err


def test_token_windows_in_an_npz_say_their_task(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Integer windows look like regression targets to the guess; the error says how to
    name the task, and with it the language model trains (docs/training.md)."""
    import numpy as np

    from graph_compiler import examples

    rng = np.random.default_rng(0)
    tokens = rng.integers(0, 96, size=(64, 17))
    np.savez(tmp_path / "tok.npz", x=tokens[:, :-1], y=tokens[:, 1:])
    doc = examples.load_example("transformer_chars")
    doc.main.node("tokens").params["shape"] = [16]
    doc.training = {"recipe": "language_model", "dataset": {"npz": "tok.npz"}, "epochs": 1, "batch_size": 16,
                    "options": {"sample_length": 4}}
    graph = tmp_path / "lm.json"
    document.save(doc, graph)
    assert main(["train", str(graph), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "is a regression dataset" in err and "(\"task\": 'language_model')" in err
    doc.training["dataset"] = {"npz": "tok.npz", "task": "language_model"}
    document.save(doc, graph)
    assert main(["train", str(graph), "--quiet"]) == 0
