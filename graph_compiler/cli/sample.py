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
from typing import Any

from graph_compiler.errors import NetwrightError


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
                 device: str = "cpu", require_generative: bool = True) -> Any:
    """A prepared Trainer for a saved run, its recipe's options overridden by ``options``.

    With ``file``, that document's networks are used (they must fit the saved weights),
    else the snapshot in run.json. Raises NetwrightError subclasses."""
    from graph_compiler import document
    from graph_compiler.document import from_dict
    from graph_compiler.training.checkpoints import CheckpointError, load_run
    from graph_compiler.training.engine import Trainer

    saved = load_run(weights, with_optimizer=False)
    if file is not None:
        doc = document.load(file)
    else:
        raw = saved.info.get("document")
        if not isinstance(raw, dict):
            raise CheckpointError(f"{weights}: run.json holds no document snapshot; name the graph FILE")
        doc = from_dict(raw)
    cfg = dict(saved.info.get("config") or {})
    cfg["device"] = device
    cfg["options"] = {**(cfg.get("options") or {}), **(options or {})}
    doc.training = cfg
    trainer = Trainer(doc)
    recipe = trainer.prepare()
    if require_generative and not getattr(recipe, "generative", False):
        raise NetwrightError(
            f"recipe {recipe.name!r} does not generate samples; `netwright sample` works with gan, vae, "
            "diffusion and language_model runs")
    missing = [n for n in recipe.networks() if n not in saved.weights]
    if missing:
        raise CheckpointError(f"{weights}: no saved weights for network {missing[0]!r}")
    try:
        recipe.load_state_dicts({n: {k: v.to(trainer.device) for k, v in sd.items()}
                                 for n, sd in saved.weights.items() if n in recipe.modules})
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[0]
        raise CheckpointError(f"{weights}: the saved weights do not fit the graph's networks ({first})") from None
    recipe.load_extra_state(saved.info.get("extra_state") or {})
    if saved.info.get("normalizer"):
        # Samples are mapped back to data units with the statistics the run trained with.
        from graph_compiler.training.preprocessing import Normalizer

        trainer.normalizer = trainer.ctx.normalizer = Normalizer.from_dict(saved.info["normalizer"])
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
    from graph_compiler.document import atomic_write

    try:
        atomic_write(path, data)
    except OSError as exc:
        raise NetwrightError(f"{path}: cannot write ({exc.strerror or exc})") from None
