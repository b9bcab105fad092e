"""netwright evaluate FILE --weights RUN_DIR: what a trained network gets wrong.

    netwright train cnn_digits.json --save runs/cnn
    netwright evaluate cnn_digits.json --weights runs/cnn --report cnn.html --json cnn.json

Calibration (ECE before / after temperature scaling), accuracy under FGSM / PGD attacks,
saliency and Integrated Gradients, dead and saturated units, and how well the model tells
shifted (unfamiliar) inputs from its own data. By default on the validation split the run
trained with; --split train, or a dataset (a built-in name, a JSON spec, a .csv / .npz
file or an image folder) normalised the way the run normalised its data.
"""
from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path
from typing import Any

from graph_compiler.cli import lists
from graph_compiler.errors import NetwrightError

SECTIONS = "calibration,robustness,attribution,units,ood"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", nargs="?", metavar="FILE",
                   help="the graph the run trained (default: the snapshot stored in RUN_DIR/run.json)")
    p.add_argument("--weights", required=True, metavar="RUN_DIR", help="a run folder written by `netwright train --save`")
    p.add_argument("--split", default="val", metavar="SPLIT",
                   help="val (default: the run's validation split), train, or a dataset: a built-in name, a JSON "
                        "spec like '{\"csv\": \"data.csv\", \"target\": \"label\"}', a .csv / .npz file, an image folder")
    p.add_argument("--what", metavar="LIST", help=f"sections to run, comma-separated (default: all of {SECTIONS})")
    p.add_argument("--json", metavar="OUT.json", help="write every number as JSON")
    p.add_argument("--report", metavar="OUT.html", help="write a self-contained HTML report (plots embedded)")
    p.add_argument("--predictions", metavar="OUT.npz",
                   help="write per-sample probabilities, labels and predictions (NumPy .npz)")
    p.add_argument("--eps", metavar="LIST",
                   help="attack strengths in normalised input units (default 0,0.025,0.05,0.1,0.2,0.3)")
    p.add_argument("--pgd-steps", type=int, default=10, metavar="K", help="PGD steps (default 10)")
    p.add_argument("--samples", metavar="LIST", help="attribution: sample indices of the split (default 0,1,2,3)")
    p.add_argument("--class", dest="cls", type=int, metavar="C",
                   help="attribution: the class to explain (default: each sample's predicted class)")
    p.add_argument("--unfamiliar", metavar="DATASET",
                   help="unfamiliar inputs: also compare with this dataset (same forms as --split)")
    p.add_argument("--save-temperature", action="store_true",
                   help="store the fitted temperature in RUN_DIR/run.json (calibration.temperature)")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="cpu", help="where to run (default cpu)")
    p.add_argument("--threads", type=int, metavar="N", help="CPU threads for torch (default: torch's choice)")
    p.add_argument("--quiet", action="store_true", help="print nothing but errors")


def _check_output(path: str | None, suffix: str, flag: str) -> Path | None:
    if path is None:
        return None
    out = Path(path)
    if out.suffix.lower() != suffix:
        raise NetwrightError(f"{flag} {path}: use a file name ending in {suffix}")
    if not out.parent.exists() and str(out.parent) not in ("", "."):
        raise NetwrightError(f"{flag} {path}: folder {out.parent} does not exist")
    return out


def run(args: argparse.Namespace) -> int:
    from graph_compiler.insight import evaluate as ev
    from graph_compiler.insight import robustness

    what = ev.parse_what(args.what)
    eps = robustness.check_eps(lists.float_list(args.eps, "--eps", "0,0.05,0.1") if args.eps else robustness.DEFAULT_EPS)
    samples = lists.int_list(args.samples, "--samples", minimum=0, example="0,1,2") if args.samples else None
    outputs = {flag: _check_output(path, suffix, flag) for flag, path, suffix in (
        ("--json", args.json, ".json"), ("--report", args.report, ".html"), ("--predictions", args.predictions, ".npz"))}
    if args.threads is not None:
        if args.threads < 1:
            raise NetwrightError(f"--threads must be at least 1, got {args.threads}")
        import torch

        torch.set_num_threads(args.threads)
    from graph_compiler.insight.target import EvalTarget, InsightError, load_dataset_spec, parse_dataset_spec

    trainer = ev.load_for_evaluation(args.weights, args.file, device=args.device)
    base = Path(args.file).parent if args.file else None
    target = EvalTarget.from_trainer(trainer, args.split, base_dir=base)
    unfamiliar = None
    if args.unfamiliar:
        try:
            extra = load_dataset_spec(parse_dataset_spec(args.unfamiliar), trainer.normalizer, target.x, base)
        except NetwrightError as exc:
            raise InsightError(f"--unfamiliar {args.unfamiliar!r}: {exc}") from None
        unfamiliar = {extra.name: extra.x.to(target.device)}
    result = ev.evaluate(target, what, strict=args.what is not None, eps=eps, pgd_steps=args.pgd_steps,
                         samples=samples, cls=args.cls, unfamiliar=unfamiliar)
    text = ev.summary(result.report)
    if not args.quiet:
        print(text)
    if outputs["--json"] is not None:
        _write(outputs["--json"], (ev.to_json(result.report) + "\n").encode("utf-8"), args.quiet)
    if outputs["--predictions"] is not None:
        import numpy as np

        buf = io.BytesIO()
        np.savez(buf, **result.predictions)  # type: ignore[arg-type]  # numpy types **kwds as allow_pickle
        _write(outputs["--predictions"], buf.getvalue(), args.quiet)
    if outputs["--report"] is not None:
        from graph_compiler.insight.report import render_html

        _write(outputs["--report"], render_html(result.report, text).encode("utf-8"), args.quiet)
    if args.save_temperature:
        cal = result.report.get("calibration")
        if not cal or not cal.get("applies"):
            raise NetwrightError("--save-temperature needs the calibration section of a classifier")
        path = ev.save_temperature(args.weights, cal["temperature"], result.report)
        if not args.quiet:
            print(f"saved temperature {cal['temperature']:.4f} in {path}", file=sys.stderr)
    return 0


def _write(path: Path, data: bytes, quiet: bool) -> Any:
    from graph_compiler.atomic import atomic_write

    try:
        atomic_write(path, data)
    except OSError as exc:
        raise NetwrightError(f"{path}: cannot write ({exc.strerror or exc})") from None
    if not quiet:
        print(f"wrote {path}", file=sys.stderr)
