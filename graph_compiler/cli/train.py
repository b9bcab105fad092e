"""netwright train FILE: train the model a file describes, headless.

Progress goes to stderr (a live line within each epoch on a terminal: step/total, ETA,
loss, samples/s; one line per epoch otherwise; nothing with --quiet), final metrics to
stdout. --log-json writes one JSON object per line
("event": start / epoch / error / done). Ctrl-C stops after the current step (and still
saves with --save); a second Ctrl-C aborts. Exit status: 0 when the run completed,
stopped early or was stopped by early stopping; 1 when it failed; 130 when interrupted.
"""
from __future__ import annotations

import argparse
import json
import signal
import sys
from pathlib import Path
from typing import Any, TextIO

from graph_compiler.cli.progress import Progress
from graph_compiler.cli.progress import fmt as _fmt
from graph_compiler.errors import NetwrightError

_NOISY_KEYS = ("confusion_matrix", "predictions", "classes")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", metavar="FILE", help="a Netwright graph with a 'training' section")
    p.add_argument("--epochs", type=int, metavar="N", help="number of epochs (overrides training.epochs)")
    p.add_argument("--batch-size", type=int, metavar="B", help="batch size (overrides training.batch_size)")
    p.add_argument("--lr", type=float, metavar="X", help="learning rate (overrides training.lr)")
    p.add_argument("--device", metavar="DEVICE",
                   help="auto, cpu, cuda, cuda:N or mps (default: training.device, else auto: CUDA, then MPS, "
                        "then CPU)")
    p.add_argument("--precision", choices=("auto", "32", "bf16", "16"),
                   help="float32, bf16 or fp16 mixed precision (default: training.precision, else auto: "
                        "mixed on a GPU)")
    p.add_argument("--compile", action="store_true", default=None,
                   help="torch.compile the networks (falls back with a message where it cannot run)")
    p.add_argument("--seed", type=int, metavar="S", help="random seed (overrides training.seed)")
    p.add_argument("--threads", type=int, metavar="N",
                   help="CPU threads for torch (default: torch's choice; 1 is often fastest for small models)")
    p.add_argument("--log-json", metavar="PATH", help="write events as JSON lines to PATH ('-' for stdout)")
    p.add_argument("--save", metavar="DIR", help="write weights, optimizer state and run.json to DIR")
    p.add_argument("--resume", metavar="DIR", help="continue the run saved in DIR")
    p.add_argument("--tensorboard", metavar="DIR", help="write TensorBoard scalars and histograms to DIR")
    p.add_argument("--quiet", action="store_true", help="print nothing but errors")


def _tensorboard_writer(logdir: str) -> Any:
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        raise NetwrightError(
            "--tensorboard needs the tensorboard package: pip install netwright[tensorboard]") from None
    return SummaryWriter(log_dir=logdir)


def run(args: argparse.Namespace) -> int:
    from graph_compiler import document

    doc = document.load(args.file)
    if args.threads is not None:
        if args.threads < 1:
            raise NetwrightError(f"--threads must be at least 1, got {args.threads}")
        import torch

        torch.set_num_threads(args.threads)  # once, in the main thread, before training

    from graph_compiler.training.engine import Trainer

    overrides = {"epochs": args.epochs, "batch_size": args.batch_size, "lr": args.lr,
                 "device": args.device, "seed": args.seed, "precision": args.precision,
                 "compile": args.compile}
    writer = _tensorboard_writer(args.tensorboard) if args.tensorboard else None
    trainer = Trainer(doc, overrides=overrides, resume=args.resume, save=args.save)

    log: TextIO | None = None
    human = sys.stderr
    if args.log_json == "-":
        log = sys.stdout
    elif args.log_json:
        try:
            # The README's own example logs into the --save folder, which may not exist yet.
            Path(args.log_json).parent.mkdir(parents=True, exist_ok=True)
            log = open(args.log_json, "w", encoding="utf-8")  # noqa: SIM115 - closed below
        except OSError as exc:
            raise NetwrightError(f"{args.log_json}: cannot write ({exc.strerror or exc})") from None
    progress = Progress(human, args.quiet)

    interrupted = False

    def on_sigint(signum: int, frame: Any) -> None:
        nonlocal interrupted
        if interrupted:  # second Ctrl-C: abort now
            raise KeyboardInterrupt
        interrupted = True
        trainer.stop()

    old_handler = None
    try:
        old_handler = signal.signal(signal.SIGINT, on_sigint)
    except ValueError:  # not the main thread (e.g. called from a test thread)
        old_handler = None

    done: dict[str, Any] = {}
    error: dict[str, Any] | None = None
    try:
        for event in trainer.run():
            kind, data = event.kind, event.data
            if log is not None and kind in ("start", "epoch", "error", "done"):
                line = event.to_json()
                if kind == "start":
                    line["file"] = str(args.file)
                log.write(json.dumps(line) + "\n")
                log.flush()
            if kind == "start":
                progress.start(data)
            elif kind == "step":
                progress.step(data)
            elif kind == "epoch":
                progress.epoch(data)
                if writer is not None:
                    _tensorboard_epoch(writer, trainer, data)
            elif kind == "error":
                error = data
            elif kind == "done":
                done = data
    finally:
        progress.clear()
        if old_handler is not None:
            signal.signal(signal.SIGINT, old_handler)
        if log is not None and log is not sys.stdout:
            log.close()
        if writer is not None:
            writer.close()

    if error is not None:
        print(f"netwright: {error['message']}", file=sys.stderr)
        if error.get("hint"):
            print(f"hint: {error['hint']}", file=sys.stderr)
        if getattr(args, "debug", False) and error.get("traceback"):
            print(error["traceback"], file=sys.stderr)
        return 1
    out = sys.stderr if args.log_json == "-" else sys.stdout
    if not args.quiet:
        metrics = done.get("metrics", {})
        shown = {k: v for k, v in metrics.items() if k.startswith(("train_loss", "val_"))}
        how = {"completed": "finished", "stopped": "stopped", "early_stopping": "stopped early (no improvement)"}
        reason = str(done.get("reason"))
        print(f"{how.get(reason, reason)} after {done.get('epoch')} epoch(s) "
              f"in {done.get('elapsed_s', 0):.1f}s: " + ", ".join(f"{k} {_fmt(v)}" for k, v in shown.items()),
              file=out)
        if done.get("best"):
            b = done["best"]
            print(f"best {b['metric']} {_fmt(b['value'])} at epoch {b['epoch']}", file=out)
        if done.get("saved"):
            print(f"saved to {Path(done['saved'])}", file=out)
    if interrupted:
        return 130
    return 0


def _tensorboard_epoch(writer: Any, trainer: Any, data: dict[str, Any]) -> None:
    step = data["epoch"]
    for key, value in data.items():
        if key in ("epoch", "epochs", "step", "best") or not isinstance(value, (int, float)) or isinstance(value, bool):
            continue
        if key.startswith("train_"):
            tag = f"train/{key[6:]}"
        elif key.startswith("val_"):
            tag = f"val/{key[4:]}"
        else:
            tag = f"run/{key}"
        writer.add_scalar(tag, value, step)
    for net, module in trainer.modules().items():
        for name, param in module.named_parameters():
            writer.add_histogram(f"{net}/{name}", param.detach().float().cpu(), step)
            if param.grad is not None:
                writer.add_histogram(f"{net}/{name}.grad", param.grad.detach().float().cpu(), step)
    writer.flush()
