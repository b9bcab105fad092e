"""Data larger than memory: image-folder throughput and resident memory.

    .venv/bin/python bench/bench_data.py --images 20000 --cap-mb 64

1. Throughput. A generated folder of small PNG images (10 classes, 32x32 RGB) is
   decoded once into the uint8 .npy cache (timed), then one epoch of training steps of a
   small CNN runs twice, interleaved: batches sliced from in-memory float tensors (the
   fast path) and batches streamed from the cache with background prefetch. Ratio =
   in-memory samples/s / streamed samples/s (goal: <= 1.2).
2. Resident memory. In a child process, a uint8 cache of at least twice ``--cap-mb`` is
   streamed for one epoch; its peak RSS above the baseline (torch imported, nothing
   read) must stay under the cap. For contrast the same child then loads the array.

Prints a table; figures go to bench/README.md.
"""
from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from graph_compiler.data import streaming  # noqa: E402
from graph_compiler.training import batching  # noqa: E402


def make_folder(root: Path, images: int, size: int = 32) -> Path:
    from PIL import Image

    rng = np.random.default_rng(0)
    for c in range(10):
        (root / f"class{c}").mkdir(parents=True, exist_ok=True)
    for i in range(images):
        base = rng.integers(0, 256, (1, 1, 3), dtype=np.uint8)  # a tint per image, then noise
        pixels = np.clip(base + rng.integers(0, 64, (size, size, 3)), 0, 255).astype(np.uint8)
        Image.fromarray(pixels).save(root / f"class{i % 10}" / f"{i:06d}.png", compress_level=1)
    return root


def small_cnn() -> torch.nn.Module:
    return torch.nn.Sequential(
        torch.nn.Conv2d(3, 16, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(16, 32, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Flatten(), torch.nn.Linear(32 * 8 * 8, 10))


def epoch_time(batches, model: torch.nn.Module, opt: torch.optim.Optimizer) -> tuple[float, int]:
    t0, seen = time.perf_counter(), 0
    for batch in batches:
        loss = torch.nn.functional.cross_entropy(model(batch["x"]), batch["y"])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        seen += len(batch["y"])
    return time.perf_counter() - t0, seen


def throughput(images: int, batch_size: int, repeats: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["NETWRIGHT_DATA_DIR"] = str(Path(tmp) / "cache")
        t0 = time.perf_counter()
        folder = make_folder(Path(tmp) / "folder", images)
        made = time.perf_counter() - t0
        t0 = time.perf_counter()
        cache = streaming.image_folder_cache(folder)
        built = time.perf_counter() - t0
        x = torch.from_numpy(cache.load("x")).float().div_(255)
        y = torch.from_numpy(cache.load("y"))
        steps = batching.steps_per_epoch(len(y), batch_size)
        torch.manual_seed(0)
        model = small_cnn()
        opt = torch.optim.SGD(model.parameters(), lr=0.01)
        cpu = torch.device("cpu")
        memory_rates, stream_rates = [], []
        for epoch in range(1, repeats + 1):
            t, n = epoch_time(batching.epoch_batches({"x": x, "y": y}, seed=0, epoch=epoch, batch_size=batch_size,
                                                     steps=steps, in_memory=True, device=cpu), model, opt)
            memory_rates.append(n / t)
            t, n = epoch_time(streaming.stream_batches(cache, seed=0, epoch=epoch, batch_size=batch_size,
                                                       steps=steps, device=cpu, divide={"x": 255}), model, opt)
            stream_rates.append(n / t)
        return {"images": images, "make_s": made, "cache_s": built, "memory": max(memory_rates),
                "stream": max(stream_rates)}


CHILD = r"""
import os, resource, sys, numpy as np, torch
sys.path.insert(0, sys.argv[1])
from graph_compiler.data import streaming
cache = streaming.StreamCache.open(__import__("pathlib").Path(sys.argv[2]))
def rss_mb():
    with open("/proc/self/status") as f:
        return next(int(l.split()[1]) for l in f if l.startswith("VmRSS")) / 1024
base = rss_mb()
peak = base
n = len(cache.arrays["x"])
total = 0.0
for b in streaming.stream_batches(cache, seed=0, epoch=1, batch_size=256, steps=n // 256,
                                  device=torch.device("cpu"), divide={"x": 255}):
    total += float(b["x"][:, 0, 0, 0].sum())
    peak = max(peak, rss_mb())
stream_peak = peak - base
whole = np.load(cache.arrays["x"].path, allow_pickle=False)
loaded = rss_mb() - base
print(f"{base:.1f} {stream_peak:.1f} {loaded:.1f}")
"""


def memory(cap_mb: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "big"
        folder.mkdir()
        n = int(2.2 * cap_mb * 2**20) // (3 * 32 * 32) + 1
        x = np.lib.format.open_memmap(folder / "x.npy", mode="w+", dtype=np.uint8, shape=(n, 3, 32, 32))
        rng = np.random.default_rng(1)
        for start in range(0, n, 8192):
            x[start:start + 8192] = rng.integers(0, 256, x[start:start + 8192].shape, dtype=np.uint8)
        x.flush()
        del x
        (folder / "meta.json").write_text('{"arrays": ["x"]}')
        out = subprocess.run([sys.executable, "-c", CHILD, str(ROOT), str(folder)], capture_output=True,
                             text=True, check=True)
        base, stream_peak, loaded = map(float, out.stdout.split())
        return {"dataset_mb": n * 3 * 32 * 32 / 2**20, "cap_mb": cap_mb, "stream_peak_mb": stream_peak,
                "loaded_mb": loaded}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=20000)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--cap-mb", type=int, default=64)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    t = throughput(args.images, args.batch_size, args.repeats)
    ratio = t["memory"] / t["stream"]
    print(f"image folder: {t['images']:,} PNGs (made in {t['make_s']:.1f} s), decoded into the cache in "
          f"{t['cache_s']:.1f} s ({t['images'] / t['cache_s']:,.0f} images/s)")
    print(f"training samples/s, best of {args.repeats}: in memory {t['memory']:,.0f}, streamed "
          f"{t['stream']:,.0f}, ratio {ratio:.3f} (goal <= 1.2)")
    m = memory(args.cap_mb)
    print(f"resident memory: streaming a {m['dataset_mb']:.0f} MB cache with a {m['cap_mb']} MB cap: peak "
          f"+{m['stream_peak_mb']:.1f} MB ({'within' if m['stream_peak_mb'] < m['cap_mb'] else 'OVER'} the cap); "
          f"loading it whole: +{m['loaded_mb']:.0f} MB")
    print(f"max RSS of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
