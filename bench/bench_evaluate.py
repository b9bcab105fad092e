"""Evaluation time per example: `netwright evaluate` at its defaults, section by section.

Each example trains briefly (--epochs, default 2: the evaluation's cost does not depend
on how well the model learned), is saved and loaded back, then evaluated on its
validation split. Per example: the time of every section and the total, and the ratio of
the total to one plain validation pass of the same model (the baseline, measured in the
same run; both on the CPU). With --cli the whole `netwright evaluate` process (interpreter
start, imports, loading, every section, JSON + HTML + npz) is timed too, for the 60 s
target on the digits examples.

    .venv/bin/python bench/bench_evaluate.py
    .venv/bin/python bench/bench_evaluate.py --threads 1 --cli --markdown
"""
from __future__ import annotations

import argparse
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

EXAMPLES = ("mlp_digits", "cnn_digits", "mobilenet_digits", "resnet_small", "lstm_sequence")
SECTIONS = ("calibration", "robustness", "attribution", "units", "ood")


def _train(name: str, epochs: int, out: Path) -> None:
    from graph_compiler import document
    from graph_compiler.examples import example_path
    from graph_compiler.training.engine import Trainer

    doc = document.load(example_path(name))
    trainer = Trainer(doc, {"epochs": epochs, "device": "cpu"}, save=out)
    for _ in trainer.run():
        pass


def _validation_pass(trainer) -> float:  # type: ignore[no-untyped-def]
    import torch

    trainer.recipe.modules[trainer.recipe.networks()[0]].eval()
    t0 = time.perf_counter()
    with torch.no_grad():
        trainer.recipe.evaluate(trainer.ctx.val)
    return time.perf_counter() - t0


def _cli(name: str, run: Path, tmp: Path, threads: int | None) -> tuple[float, float]:
    out = tmp / name
    from graph_compiler.examples import example_path

    cmd = [sys.executable, "-m", "graph_compiler.cli", "evaluate", str(example_path(name)),
           "--weights", str(run), "--json", f"{out}.json", "--report", f"{out}.html", "--predictions", f"{out}.npz",
           "--quiet"]
    if threads:
        cmd += ["--threads", str(threads)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, env={**os.environ, "PYTHONPATH": str(REPO)})
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--examples", nargs="*", default=list(EXAMPLES))
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--threads", type=int)
    ap.add_argument("--cli", action="store_true", help="also time the whole `netwright evaluate` process")
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args()
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    from graph_compiler.insight.evaluate import evaluate, load_for_evaluation
    from graph_compiler.insight.target import EvalTarget

    rows = []
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        for name in args.examples:
            run = tmp / f"run-{name}"
            _train(name, args.epochs, run)
            trainer = load_for_evaluation(run)
            base = min(_validation_pass(trainer) for _ in range(3))
            target = EvalTarget.from_trainer(trainer, "val")
            t0 = time.perf_counter()
            result = evaluate(target)
            total = time.perf_counter() - t0
            row = {"example": name, "n": result.report["n"], "total": total, "base": base,
                   **{s: result.report["timings_s"][s] for s in SECTIONS},
                   "applies": [s for s in SECTIONS if result.report[s].get("applies")]}
            if args.cli:
                row["cli_wall"], row["cli_cpu"] = _cli(name, run, tmp, args.threads)
            rows.append(row)
            print(f"{name}: {total:.2f} s for {row['n']} samples "
                  f"({total / base:.0f}x one validation pass of {base * 1000:.1f} ms); "
                  + ", ".join(f"{s} {row[s]:.2f} s" for s in SECTIONS)
                  + (f"; whole CLI {row['cli_wall']:.1f} s wall, {row['cli_cpu']:.1f} s CPU" if args.cli else ""),
                  flush=True)
    if args.markdown:
        print(f"\n{platform.machine()} {os.cpu_count()} CPUs, Python {platform.python_version()}, torch "
              f"{torch.__version__}, threads {torch.get_num_threads()}, {args.epochs} training epochs\n")
        cols = "| example | val samples | " + " | ".join(SECTIONS) + " | total (s) | x validation pass |"
        cols += " CLI wall / CPU (s) |" if args.cli else ""
        print(cols)
        print("|" + "---|" * (cols.count("|") - 1))
        for r in rows:
            cells = [f"{r[s]:.2f}" if s in r["applies"] else "n/a" for s in SECTIONS]
            line = f"| {r['example']} | {r['n']} | " + " | ".join(cells) + f" | {r['total']:.2f} | {r['total'] / r['base']:.0f} |"
            if args.cli:
                line += f" {r['cli_wall']:.1f} / {r['cli_cpu']:.1f} |"
            print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
