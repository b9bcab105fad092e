"""Sample quality of the generative examples: kernel MMD against the real data.

    .venv/bin/python bench/bench_quality.py [--examples gan_2d diffusion_2d] [--seeds 0 1 2]
                                            [--threads 1] [-n 2000] [--markdown]

Each example trains with its own training section (seed overridden per run), then draws n
samples (``Trainer.sample``, in data units). They are compared with n fresh samples of the
same dataset (another seed) by unbiased MMD^2 with a Gaussian kernel whose width is the
median pairwise distance of the real samples (the median heuristic), and by a multi-scale
MMD^2 (widths median x 0.1, 0.25, 0.5, 1: the narrow kernels see modes and gaps), plus
coverage (the fraction of real samples with a generated one among their 5 nearest real
neighbours). Two references frame the numbers: a Gaussian fitted to the data (mean and
covariance; what a model that learnt nothing else would do) and a second real sample
(the floor: MMD^2 near 0, unbiased so it can dip below). A model "clearly beats" the
Gaussian when its MMD^2 is several times smaller.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SCALES = (0.1, 0.25, 0.5, 1.0)
REAL_SEED = 12345


def real_samples(spec: Any, n: int, seed: int) -> Any:
    from graph_compiler.training.datasets import load_dataset

    name, options = (spec, {}) if isinstance(spec, str) else (spec["name"], {k: v for k, v in spec.items()
                                                                           if k not in ("name", "n", "seed")})
    return load_dataset(name, n=n, seed=seed, **options).x.reshape(n, -1).numpy()


def scores(fake: Any, real: Any, bandwidth: float) -> dict[str, float]:
    from graph_compiler.training.mmd import coverage, mmd2

    return {"mmd2": mmd2(fake, real, bandwidth=bandwidth), "mmd2_multi": mmd2(fake, real, bandwidth=bandwidth,
                                                                              scales=SCALES),
            "coverage": coverage(fake, real)}


def train_and_sample(example: str, seed: int, n: int) -> tuple[Any, float, float, Any]:
    import torch

    from graph_compiler.examples import load_example
    from graph_compiler.training.engine import Trainer

    doc = load_example(example)
    trainer = Trainer(doc, overrides={"seed": seed, "device": "cpu"})
    wall, cpu = time.perf_counter(), time.process_time()
    last = None
    for event in trainer.run():
        if event.kind == "error":
            raise RuntimeError(f"{example}: {event['message']}")
        if event.kind == "epoch":
            last = event
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    torch.manual_seed(seed)
    fake = trainer.sample(n)["samples"].reshape(n, -1)
    return fake, wall, cpu, last


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--examples", nargs="+", default=["gan_2d", "diffusion_2d"])
    p.add_argument("--seeds", nargs="+", type=int, default=[0])
    p.add_argument("-n", type=int, default=2000, help="samples per set (default 2000)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--markdown", action="store_true", help="print a Markdown table")
    args = p.parse_args(argv)

    import torch

    from graph_compiler.examples import load_example
    from graph_compiler.training.mmd import gaussian_baseline, median_bandwidth

    torch.set_num_threads(args.threads)
    rows = []
    for example in args.examples:
        spec = load_example(example).training["dataset"]
        real = real_samples(spec, args.n, REAL_SEED)
        bw = median_bandwidth(real)
        floor = scores(real_samples(spec, args.n, REAL_SEED + 1), real, bw)
        gauss = scores(gaussian_baseline(real_samples(spec, args.n, REAL_SEED + 2), n=args.n, seed=0), real, bw)
        runs = []
        for seed in args.seeds:
            fake, wall, cpu, last = train_and_sample(example, seed, args.n)
            s = scores(fake, real, bw)
            s.update(wall=wall, cpu=cpu)
            runs.append(s)
            print(f"{example} seed {seed}: MMD2 {s['mmd2']:.5f}, multi-scale {s['mmd2_multi']:.5f}, coverage "
                  f"{s['coverage']:.3f}; trained in {wall:.0f} s wall, {cpu:.0f} s CPU "
                  f"(last epoch: {_short(last)})", flush=True)
        rows.append((example, spec, bw, floor, gauss, runs))

    print()
    head = ("example", "data", "bandwidth", "model MMD2", "Gaussian MMD2", "real-vs-real MMD2",
            "model multi", "Gaussian multi", "model coverage", "Gaussian coverage", "train wall / CPU (s)")
    lines = []
    for example, spec, bw, floor, gauss, runs in rows:
        def med(key: str) -> float:
            return statistics.median(r[key] for r in runs)
        name = spec if isinstance(spec, str) else spec["name"]
        lines.append((example, name, f"{bw:.3f}", f"{med('mmd2'):.5f}", f"{gauss['mmd2']:.5f}", f"{floor['mmd2']:.5f}",
                      f"{med('mmd2_multi'):.4f}", f"{gauss['mmd2_multi']:.4f}", f"{med('coverage'):.3f}",
                      f"{gauss['coverage']:.3f}", f"{med('wall'):.0f} / {med('cpu'):.0f}"))
    if args.markdown:
        print("| " + " | ".join(head) + " |")
        print("|" + "---|" * len(head))
        for line in lines:
            print("| " + " | ".join(line) + " |")
    else:
        widths = [max(len(r[i]) for r in [head, *lines]) for i in range(len(head))]
        for r in [head, *lines]:
            print("  ".join(c.ljust(w) for c, w in zip(r, widths)))
    seeds = ", ".join(map(str, args.seeds))
    print(f"\n(median over seeds {seeds}; n = {args.n}; multi = MMD2 summed over widths median x {SCALES})")
    return 0


def _short(event: Any) -> str:
    if event is None:
        return "-"
    keep = ("val_mmd", "val_coverage", "val_loss")
    return ", ".join(f"{k} {event[k]:.4f}" for k in keep if k in event.data)


if __name__ == "__main__":
    sys.exit(main())
