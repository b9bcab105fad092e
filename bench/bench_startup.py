"""Start-up time of the designer: process start -> main window painted.

Each run is a fresh Python process (interpreter start-up and every import included),
pinned to 2 CPU cores like CI, offscreen. The child builds the window exactly as
``netwright`` does (designer.app.build), waits for its first paint, and reports the wall
clock; the parent subtracts the moment it spawned the child. Budget: 1.5 s.

    python bench/bench_startup.py            # 5 runs, start page
    python bench/bench_startup.py --runs 3 --file graph_compiler/examples/cnn_digits.json

With --file it also reports when that file is open and analysed (after the first paint;
a file whose layers need torch's meta device pays for importing torch there).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUDGET_S = 1.5


def child(file: str | None) -> None:
    from designer.app import after_first_paint, build

    argv = ["netwright", "--no-recovery"] + ([file] if file else [])
    app, window = build(argv)
    result: dict[str, object] = {}

    def painted() -> None:
        result["painted"] = time.time()
        result["torch_at_paint"] = "torch" in sys.modules
        if not file:
            finish()

    def finish() -> None:
        print(json.dumps(result), flush=True)
        app.quit()

    def poll_file() -> None:
        if window.model.path and os.path.samefile(window.model.path, file):
            window.model.analyze_now()
            result["file_ready"] = time.time()
            finish()

    after_first_paint(window.stack, painted)
    if file:
        from PySide6.QtCore import QTimer

        timer = QTimer(window, interval=5)
        timer.timeout.connect(poll_file)
        timer.start()
    app.exec()


def run_once(file: str | None, cores: int, env: dict[str, str]) -> dict[str, float]:
    def pin() -> None:
        if cores and hasattr(os, "sched_setaffinity"):
            available = sorted(os.sched_getaffinity(0))
            os.sched_setaffinity(0, available[:cores])

    cmd = [sys.executable, str(Path(__file__).resolve()), "--child"] + (["--file", file] if file else [])
    start = time.time()
    out = subprocess.run(cmd, check=False, capture_output=True, text=True, env=env, cwd=ROOT, preexec_fn=pin, timeout=120)
    if out.returncode != 0:
        raise SystemExit(f"child failed ({out.returncode}):\n{out.stderr}")
    line = [ln for ln in out.stdout.splitlines() if ln.startswith("{")][-1]
    data = json.loads(line)
    res = {"paint_s": data["painted"] - start, "torch_at_paint": data["torch_at_paint"]}
    if "file_ready" in data:
        res["file_s"] = data["file_ready"] - start
    return res


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--cores", type=int, default=2, help="CPU cores to pin to (0: all)")
    parser.add_argument("--file", help="a graph to open from the command line")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.file)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, QT_QPA_PLATFORM=os.environ.get("QT_QPA_PLATFORM", "offscreen"),
                   PYTHONPATH=str(ROOT), XDG_CONFIG_HOME=f"{tmp}/config", XDG_CACHE_HOME=f"{tmp}/cache",
                   XDG_DATA_HOME=f"{tmp}/data", NETWRIGHT_RECOVERY_DIR=f"{tmp}/recovery")
        results = [run_once(args.file, args.cores, env) for _ in range(args.runs)]
    paints = [r["paint_s"] for r in results]
    print(f"startup (process start -> first paint), {args.runs} runs on {args.cores or 'all'} cores:")
    print("  runs:   " + "  ".join(f"{p:.3f}s" for p in paints))
    print(f"  median: {statistics.median(paints):.3f}s  (budget {BUDGET_S:.1f}s)  "
          f"first (cold caches): {paints[0]:.3f}s")
    print(f"  torch imported before first paint: {any(r['torch_at_paint'] for r in results)}")
    if args.file:
        files = [r["file_s"] for r in results]
        print(f"  {Path(args.file).name} open and analysed: median {statistics.median(files):.3f}s")
    ok = statistics.median(paints) <= BUDGET_S and not any(r["torch_at_paint"] for r in results)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
