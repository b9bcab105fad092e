"""netwright sample FILE --weights DIR -n N -o OUT: samples from a trained generative model.

    netwright train gan_2d.json --save runs/gan
    netwright sample gan_2d.json --weights runs/gan -n 2000 -o fake.npy
    netwright sample transformer_chars.json --weights runs/lm -n 500 --temperature 0.7 -o text.txt

GAN, VAE and diffusion runs give an .npy array [N, ...] (float32, in the data's own units:
the run's normalisation is undone); a language model gives N tokens of text, written to
OUT when it ends in .txt and printed otherwise. The weights come from DIR/weights.safetensors
(+ DIR/<network>.safetensors for other networks, e.g. a GAN's discriminator), read with
safetensors (never pickle); DIR/run.json supplies the recipe, its options and the
normalisation. FILE is the graph the run trained; its networks must match the saved
weights (the run's own snapshot of the graph is used when FILE is omitted with --weights).
"""
from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from graph_compiler.errors import NetwrightError

if TYPE_CHECKING:
    from graph_compiler.training.engine import Trainer


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", nargs="?", metavar="FILE",
                   help="the graph the run trained (default: the snapshot stored in DIR/run.json)")
    p.add_argument("--weights", required=True, metavar="DIR", help="a run folder written by `netwright train --save`")
    p.add_argument("-n", type=int, default=1000, metavar="N",
                   help="samples to draw (tokens of text for a language model; default 1000)")
    p.add_argument("-o", "--output", metavar="OUT", help="OUT.npy for arrays, OUT.txt for text (text prints when omitted)")
    p.add_argument("--seed", type=int, default=0, metavar="S", help="random seed (default 0)")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="cpu", help="where to run (default cpu)")
    p.add_argument("--threads", type=int, metavar="N",
                   help="CPU threads for torch (default: torch's choice; 1 is often fastest for small models)")
    p.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                   help="override a recipe option, e.g. temperature=0.5, sample_steps=50, prompt=def (repeatable)")
    p.add_argument("--temperature", type=float, metavar="T", help="language models: sampling temperature")
    p.add_argument("--prompt", metavar="TEXT", help="language models: text to continue")
    p.add_argument("--steps", type=int, metavar="K", help="diffusion: sampling steps (default: the run's sample_steps)")


def _options(args: argparse.Namespace) -> dict[str, Any]:
    from graph_compiler.cli.dataset import _parse_option

    opts = dict(_parse_option(o) for o in args.option)
    if args.temperature is not None:
        opts["temperature"] = args.temperature
    if args.prompt is not None:
        opts["prompt"] = args.prompt
    if args.steps is not None:
        opts["sample_steps"] = args.steps
    return opts


def load_sampler(weights: str | Path, file: str | Path | None = None, options: dict[str, Any] | None = None,
                 device: str = "cpu", require_generative: bool = True) -> Trainer:
    """A prepared Trainer for a saved run (``engine.load_trained``), refusing runs whose
    recipe does not generate samples unless ``require_generative`` is False."""
    from graph_compiler.training.restore import load_trained

    trainer = load_trained(weights, file=file, options=options, device=device)
    if require_generative and not trainer.recipe.generative:
        raise NetwrightError(
            f"recipe {trainer.recipe.name!r} does not generate samples; `netwright sample` works with gan, vae, "
            "diffusion and language_model runs")
    return trainer


def run(args: argparse.Namespace) -> int:
    if args.n < 1:
        raise NetwrightError(f"-n must be at least 1, got {args.n}")
    import torch

    if args.threads is not None:
        if args.threads < 1:
            raise NetwrightError(f"--threads must be at least 1, got {args.threads}")
        torch.set_num_threads(args.threads)
    trainer = load_sampler(args.weights, args.file, _options(args), args.device)
    torch.manual_seed(args.seed)
    payload = trainer.sample(args.n)
    if payload.get("kind") == "text":
        text = "\n".join(payload.get("text", []))
        if args.output and not str(args.output).endswith(".txt"):
            raise NetwrightError(f"{args.output}: a language model gives text; use an output ending in .txt")
        if args.output:
            _write(Path(args.output), text.encode("utf-8") + b"\n")
            print(f"wrote {args.output} ({len(text)} characters)", file=sys.stderr)
        else:
            print(text)
        return 0
    samples = payload.get("samples")
    if samples is None:
        raise NetwrightError(f"recipe {trainer.recipe.name!r} returned no samples")
    if not args.output:
        raise NetwrightError("give an output file with -o OUT.npy")
    out = Path(args.output)
    if out.suffix != ".npy":
        raise NetwrightError(f"{out}: samples are written as a NumPy array; use an output ending in .npy")
    import numpy as np

    arr = np.asarray(samples, dtype=np.float32)
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=False)
    _write(out, buf.getvalue())
    print(f"wrote {out} ([{', '.join(map(str, arr.shape))}] float32)", file=sys.stderr)
    return 0


def _write(path: Path, data: bytes) -> None:
    from graph_compiler.atomic import atomic_write

    try:
        atomic_write(path, data)
    except OSError as exc:
        raise NetwrightError(f"{path}: cannot write ({exc.strerror or exc})") from None
