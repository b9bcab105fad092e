"""`netwright train` progress output: live line on a terminal, epoch lines otherwise,
nothing with --quiet."""
from __future__ import annotations

import io

import pytest
import torch
from training_docs import mlp_doc

from graph_compiler import document
from graph_compiler.cli import main
from graph_compiler.cli.progress import Progress, live_postfix


def _step(epoch: int, i: int, total: int = 10, loss: float = 0.5) -> dict:
    return {"epoch": epoch, "epochs": 2, "step": i, "epoch_step": i, "steps_per_epoch": total,
            "progress": i / (2 * total), "loss": loss, "accuracy": 0.75, "lr": 0.01,
            "samples_per_s": 1234.0, "elapsed_s": 1.0}


def _epoch(epoch: int) -> dict:
    return {"epoch": epoch, "epochs": 2, "train_loss": 0.4, "val_loss": 0.45, "val_accuracy": 0.8,
            "epoch_time_s": 1.5, "samples_per_s": 1000.0}


def test_terminal_shows_a_live_line_within_each_epoch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "160")  # the bar fits the terminal; pytest's may be narrow
    out = io.StringIO()
    progress = Progress(out, quiet=False, tty=True, min_interval_s=0)
    progress.step(_step(1, 3))
    text = out.getvalue()
    assert "epoch 1/2 3/10" in text and "30%" in text and "ETA" in text
    assert "loss 0.5000 accuracy 0.7500 | 1,234 samples/s" in text
    progress.step(_step(1, 7, loss=0.25))
    assert "7/10" in out.getvalue() and "loss 0.2500" in out.getvalue()
    progress.epoch(_epoch(1))
    lines = out.getvalue().split("\n")
    assert lines[-2].lstrip("\r").rstrip().endswith("samples/s)") and "epoch 1/2  train_loss 0.4000" in lines[-2]
    progress.step(_step(2, 1))
    assert "epoch 2/2 1/10" in out.getvalue(), "a fresh line for the next epoch"
    progress.clear()


def test_live_postfix_skips_missing_values() -> None:
    assert live_postfix({"samples_per_s": 10.0}) == " | 10 samples/s"
    assert live_postfix({"loss": 1.0, "samples_per_s": 2500.0}) == "loss 1.0000 | 2,500 samples/s"


@pytest.mark.parametrize("quiet", [False, True])
def test_not_a_terminal_prints_one_line_per_epoch_or_nothing(quiet: bool) -> None:
    out = io.StringIO()
    progress = Progress(out, quiet=quiet, tty=False)
    for epoch in (1, 2):
        for i in range(1, 11):
            progress.step(_step(epoch, i))
        progress.epoch(_epoch(epoch))
    text = out.getvalue()
    if quiet:
        assert text == ""
    else:
        assert "\r" not in text and text.count("\n") == 2
        assert text.startswith("epoch 1/2  train_loss") and "epoch 2/2" in text


def test_train_command_quiet_and_piped(tmp_path, capsys) -> None:
    torch.set_num_threads(1)
    path = tmp_path / "blobs.json"
    document.save(mlp_doc({"dataset": {"name": "blobs", "n": 200}, "epochs": 2}), path)
    assert main(["train", str(path), "--quiet", "--device", "cpu"]) == 0
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out == ""
    assert main(["train", str(path), "--device", "cpu"]) == 0
    err = capsys.readouterr().err
    assert "\r" not in err and "epoch 1/2" in err and "epoch 2/2" in err
