"""Import time of `netwright import` on real model definitions, start-up included.

Each run is a fresh process: `python -m graph_compiler.cli import models.zoo:NAME
--input-shape ... -o FILE` (interpreter start-up, torch import, building the model,
tracing, conversion, code generation and the verification that the original weights
give the original outputs). The baseline, measured in the same run and the same way,
is a fresh process that builds the same model and traces it with plain
`torch.fx.symbolic_trace`: what any fx-based tool pays at least (for a model plain fx
cannot trace, such as nanoGPT with its `assert`, one eager forward pass instead).
Target: ResNet-50 at 3x224x224 within 5 s on 2 cores.

    python bench/bench_import.py                       # every model, 3 runs each
    python bench/bench_import.py --models resnet50 --runs 5
    python bench/bench_import.py --threads 1           # torch threads in the children

The models are the vendored torchvision and nanoGPT-style definitions in tests/models.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests"
TARGET = ("resnet50", 5.0)

# name -> (zoo factory, input shape, dtype)
MODELS = {
    "resnet50": ("resnet50", "3,224,224", "float32"),
    "resnet18": ("resnet18", "3,224,224", "float32"),
    "mobilenet_v2": ("mobilenet_v2", "3,224,224", "float32"),
    "efficientnet_b0": ("efficientnet_b0", "3,224,224", "float32"),
    "densenet121": ("densenet121", "3,224,224", "float32"),
    "convnext_small": ("convnext_small", "3,64,64", "float32"),
    "vit_small": ("vit_small", "3,32,32", "float32"),
    "gpt_tiny": ("gpt_tiny", "16", "int64"),
}

BASELINE = """
import sys, torch
torch.set_num_threads({threads})
from models import zoo
model = getattr(zoo, sys.argv[1])()
try:
    torch.fx.symbolic_trace(model, concrete_args={concrete})
except Exception:  # plain fx cannot trace it (nanoGPT's assert): one eager forward instead
    shape = [2, *map(int, sys.argv[2].split(","))]
    x = torch.randint(0, 16, shape) if sys.argv[3] == "int64" else torch.randn(shape)
    with torch.no_grad():
        model.eval()(x)
"""


def _run(cmd: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=TESTS, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stderr[-2000:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="*", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(TESTS)]),
           "OMP_NUM_THREADS": str(args.threads)}
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}, "
          f"torch threads {args.threads}, best / median of {args.runs} interleaved runs")
    print(f"{'model':<16} {'input':<10} {'import (s)':>16} {'fx baseline (s)':>17} {'ratio':>7}")
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.models:
            factory, shape, dtype = MODELS[name]
            concrete = '{"targets": None}' if dtype == "int64" else "None"
            baseline = [sys.executable, "-c", BASELINE.format(threads=args.threads, concrete=concrete), factory, shape,
                        dtype]
            ours = [sys.executable, "-m", "graph_compiler.cli", "import", f"models.zoo:{factory}",
                    "--input-shape", shape, "--dtype", dtype, "-o", str(Path(tmp) / f"{name}.json")]
            _run(ours, env)  # warm the bytecode caches, as an installed package would be
            base_times, our_times = [], []
            for _ in range(args.runs):  # interleaved, so load changes hit both alike
                base_times.append(_run(baseline, env))
                our_times.append(_run(ours, env))
            b, o = statistics.median(base_times), statistics.median(our_times)
            print(f"{name:<16} {shape:<10} {min(our_times):7.2f} / {o:6.2f} {min(base_times):8.2f} / {b:6.2f} "
                  f"{o / b:7.2f}")
            if name == TARGET[0]:
                verdict = "meets" if min(our_times) <= TARGET[1] else "misses"
                print(f"  target: {name} within {TARGET[1]:.0f} s, start-up included: {verdict} it (best run)")


if __name__ == "__main__":
    main()
