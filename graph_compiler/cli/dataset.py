"""netwright dataset NAME -o OUT.npy: write samples of a built-in dataset.

    netwright dataset --list                       # with download size, licence, cached?
    netwright dataset --fetch mnist                # download once, verified, with a progress bar
    netwright dataset mnist --option split=test -o mnist_test.npy --with-labels
    netwright dataset eight_gaussians -n 2000 --seed 1 -o real.npy
    netwright dataset digits -n 500 --with-labels -o digits.npy   # + digits_labels.npy
    netwright dataset spirals --option arms=3 --option noise=0.05 -o spirals.npy

Features are written as float32; token datasets (parity, copy, sort, chars ...) keep their
int64 ids, since float ids would only have to be cast back. Labels keep their dtype
(int64 classes, float32 regression targets).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from graph_compiler.errors import NetwrightError


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", nargs="?", metavar="NAME", help="built-in dataset (see --list)")
    p.add_argument("--list", action="store_true", help="print the built-in datasets and exit")
    p.add_argument("--fetch", metavar="NAME", action="append", default=[],
                   help="download a standard dataset (e.g. mnist, cifar10) into the cache now (repeatable)")
    p.add_argument("-n", type=int, default=None, metavar="N", help="number of samples (default: the dataset's own)")
    p.add_argument("--seed", type=int, default=0, metavar="S", help="random seed (default 0)")
    p.add_argument("-o", "--output", metavar="OUT.npy", help="where to write the samples (.npy)")
    p.add_argument("--with-labels", action="store_true", help="also write OUT_labels.npy")
    p.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                   help="a dataset option, e.g. noise=0.1 or length=12 (repeatable)")
    p.add_argument("--json", action="store_true", help="with --list: machine-readable output")


def _parse_option(text: str) -> tuple[str, Any]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise NetwrightError(f"--option {text!r}: expected KEY=VALUE, e.g. noise=0.1")
    try:
        parsed = json.loads(value)  # numbers, true/false; anything else stays a string
    except json.JSONDecodeError:
        parsed = value
    return key.strip(), parsed


def _list(as_json: bool) -> int:
    from graph_compiler.data import fetch
    from graph_compiler.data.standard import STANDARD
    from graph_compiler.training.datasets import list_datasets

    infos = list_datasets()
    if as_json:
        rows_json = []
        for i in infos:
            row: dict[str, Any] = {"name": i.name, "task": i.task, "shape": list(i.input_shape),
                                   "description": i.description, "downloads": i.downloads}
            if i.name in STANDARD:
                std = STANDARD[i.name]
                row.update(size_bytes=std.size, licence=std.licence, homepage=std.homepage,
                           cached=std.cached())
            rows_json.append(row)
        print(json.dumps(rows_json, indent=2))
        return 0
    rows = []
    for i in infos:
        entry = STANDARD.get(i.name)
        size = _megabytes(entry.size) if entry else "built in"
        cached = ("yes" if entry.cached() else "no") if entry else "-"
        licence = entry.licence if entry else "-"
        rows.append((i.name, i.task, "[N, " + ", ".join(map(str, i.input_shape)) + "]", size, cached,
                     i.description + (f" | licence: {licence}" if entry else "")))
    head = ("name", "task", "shape", "download", "cached", "description")
    widths = [max(len(r[c]) for r in [head, *rows]) for c in range(5)]
    for r in [head, *rows]:
        print("  ".join(r[c].ljust(widths[c]) for c in range(5)) + "  " + r[5])
    print(f"\ncache: {fetch.cache_dir()} (set {fetch.DATA_DIR_ENV} to move it; "
          f"{fetch.MIRROR_ENV} to download from a mirror)")
    return 0


def _megabytes(size: int) -> str:
    return f"{size / 1e6:,.1f} MB"


def _fetch(names: list[str], quiet: bool = False) -> int:
    from graph_compiler.data.standard import STANDARD
    from graph_compiler.training.datasets import DatasetError, check_dataset_name

    for name in names:
        try:
            check_dataset_name(name, downloadable=True)
        except DatasetError as exc:
            raise NetwrightError(f"--fetch: {exc}") from None
    for name in names:
        std = STANDARD[name]
        was_cached = std.cached()
        print(f"{name}: {'checking' if was_cached else 'downloading'} {len(std.files)} file(s), "
              f"{_megabytes(std.size)} ({std.licence})", file=sys.stderr)
        paths = std.fetch_all(progress=sys.stderr.isatty())
        print(f"{name}: ready in {paths[0].parent}")
    return 0


def labels_path(out: Path) -> Path:
    """OUT.npy -> OUT_labels.npy (next to it)."""
    return out.with_name(out.stem + "_labels.npy")


def run(args: argparse.Namespace) -> int:
    if args.list:
        return _list(args.json)
    if args.fetch:
        return _fetch(args.fetch)
    if not args.name:
        raise NetwrightError("name a dataset (see `netwright dataset --list`)")
    if not args.output:
        raise NetwrightError("give an output file with -o OUT.npy")
    import numpy as np

    from graph_compiler.training.datasets import load_dataset

    options = dict(_parse_option(o) for o in args.option)
    ds = load_dataset(args.name, n=args.n, seed=args.seed, **options)
    x = ds.x.numpy()
    x = x if x.dtype.kind in "iu" else x.astype(np.float32)
    out = Path(args.output)
    if out.is_dir():  # not DIR.npy beside it, which the suffix rule below would write
        raise NetwrightError(f"{out}: is a directory; give an output file such as {out / (args.name + '.npy')}")
    if out.suffix != ".npy":
        out = out.with_name(out.name + ".npy")  # what np.save would do silently; say it below
    written = [_save(out, x)]
    if args.with_labels:
        if ds.y is None:
            raise NetwrightError(f"dataset {ds.name!r} has no labels")
        written.append(_save(labels_path(out), ds.y.numpy()))
    shape = "[" + ", ".join(map(str, x.shape)) + "]"
    print(f"wrote {written[0]} ({shape} {x.dtype})" + (f" and {written[1]}" if len(written) > 1 else ""))
    return 0


def _save(path: Path, array: Any) -> Path:
    import io

    import numpy as np

    from graph_compiler.atomic import atomic_write

    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=False)
    try:
        atomic_write(path, buf.getvalue())
    except OSError as exc:
        raise NetwrightError(f"{path}: cannot write ({exc.strerror or exc})") from None
    return path
