"""What an evaluation looks at: a trained model, the samples it is judged on, and how to
read its output.

``EvalTarget.from_trainer`` takes a prepared Trainer holding trained weights (see
``graph_compiler.training.restore.load_trained``) and a split: ``"val"`` (the validation
split training used: same seed, same fraction, same normalisation), ``"train"``, or any
dataset spec (a built-in name, a JSON object, or a .csv / .npz file / image folder),
which is normalised with the run's own statistics.

Samples are kept as the network sees them (normalised). Everything the metrics report
about inputs (attack strength, baselines, shifted data) is in those units.
"""
from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from graph_compiler.document import Network
from graph_compiler.errors import NetwrightError
from graph_compiler.training.preprocessing import Normalizer

# Input kinds decide how attributions are drawn and how data is shifted for OOD tests.
IMAGE, TABULAR, SEQUENCE, TOKENS = "image", "tabular", "sequence", "tokens"


class InsightError(NetwrightError):
    """An evaluation cannot run as asked; the message says which input is at fault."""


@dataclass
class EvalTarget:
    """A trained network and the samples it is evaluated on."""

    model: nn.Module  # the trained main network, in eval mode
    network: Network  # its graph (node ids, types, edges)
    attrs: dict[str, str]  # node id -> module attribute (from the generated code)
    x: torch.Tensor  # samples as the network sees them (normalised), on the model's device
    y: torch.Tensor | None  # class ids [N] / regression targets, or None
    recipe: str  # classification | regression | autoencoder | ...
    classes: list[str]
    split: str  # "validation", "train" or the dataset's name
    dataset: str
    input_kind: str  # image | tabular | sequence | tokens
    normalizer: Normalizer | None = None
    probe_inputs: list[torch.Tensor] | None = None  # one tensor per Input node (units probe)

    @property
    def device(self) -> torch.device:
        return self.x.device

    @property
    def is_classifier(self) -> bool:
        return self.recipe == "classification"

    @property
    def float_input(self) -> bool:
        return torch.is_floating_point(self.x)

    @property
    def bounds(self) -> tuple[float, float]:
        """The range of the evaluated samples (normalised units): attacks and inverted
        images stay inside it, so a perturbed input is still a plausible input."""
        if not self.float_input or self.x.numel() == 0:
            return float("-inf"), float("inf")
        return float(self.x.min()), float(self.x.max())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The first output of the network as float (logits for a classifier)."""
        out: Any = self.model(x)
        if isinstance(out, (tuple, list)):
            out = out[0]
        result: torch.Tensor = out.float()
        return result

    @torch.no_grad()
    def logits(self, x: torch.Tensor | None = None, batch_size: int = 1024) -> torch.Tensor:
        """Outputs for ``x`` (default: every evaluated sample), batch by batch, on the CPU."""
        data = self.x if x is None else x
        parts = [self.forward(data[i:i + batch_size].to(self.device)).cpu() for i in range(0, len(data), batch_size)]
        return torch.cat(parts) if parts else torch.zeros(0)

    def class_name(self, i: int) -> str:
        return self.classes[i] if 0 <= i < len(self.classes) else str(i)

    def image_for_display(self, x: torch.Tensor) -> torch.Tensor:
        """Samples [N, C, H, W] back in the data's own units (normalisation undone)."""
        data = x.detach().cpu().float()
        if self.normalizer is None:
            return data
        shape = self.normalizer.view_shape
        return data * torch.tensor(self.normalizer.std).view(shape) + torch.tensor(self.normalizer.mean).view(shape)

    @classmethod
    def from_trainer(cls, trainer: Any, split: str = "val", base_dir: Path | None = None) -> EvalTarget:
        """The main network of a prepared, trained Trainer on ``split`` (see module doc)."""
        recipe = trainer.recipe
        ctx = trainer.ctx
        net_name = recipe.networks()[0]
        model = recipe.modules[net_name]
        model.eval()
        data, split_name = _pick_split(trainer, split, base_dir)
        if data.y is not None and trainer.config.recipe == "regression":
            data = dataclasses.replace(data, y=_regression_target(data.y))
        network = ctx.document.network(net_name)
        classes = [str(c) for c in (getattr(recipe, "classes", None) or data.classes or [])]
        from graph_compiler.training.probe import probe_inputs

        info = ctx.analysis.networks[net_name]
        vocab = max([int(n.params.get("num_embeddings", 2)) for n in info.nodes.values()
                     if n.type == "Embedding"] or [2])
        probe = probe_inputs(info, data.x, n=min(256, len(data.x)), vocab=vocab)
        return cls(model=model, network=network, attrs=dict(ctx.compiled.generated.attrs.get(net_name, {})),
                   x=data.x.to(trainer.device), y=None if data.y is None else data.y.to(trainer.device),
                   recipe=str(trainer.config.recipe), classes=classes, split=split_name, dataset=data.name,
                   input_kind=input_kind(data.x), normalizer=trainer.normalizer, probe_inputs=probe)


def input_kind(x: torch.Tensor) -> str:
    if not torch.is_floating_point(x):
        return TOKENS
    if x.ndim == 4:
        return IMAGE
    if x.ndim == 3:
        return SEQUENCE
    return TABULAR


def _regression_target(y: torch.Tensor) -> torch.Tensor:
    y = y if torch.is_floating_point(y) else y.float()
    return y.unsqueeze(1) if y.ndim == 1 else y


def parse_dataset_spec(text: str) -> str | dict[str, Any]:
    """A dataset spec from the command line: a JSON object, a data file / folder, or a
    built-in dataset name."""
    stripped = text.strip()
    if stripped.startswith("{"):
        try:
            spec = json.loads(stripped)
        except json.JSONDecodeError as exc:
            raise InsightError(f"--split {text!r} is not valid JSON ({exc.msg} at column {exc.colno})") from None
        if not isinstance(spec, dict):
            raise InsightError(f"--split {text!r}: a dataset spec must be a JSON object")
        return spec
    path = Path(stripped).expanduser()
    if path.is_dir():
        return {"image_folder": str(path)}
    if path.suffix.lower() == ".csv":
        return {"csv": str(path)}
    if path.suffix.lower() == ".npz":
        return {"npz": str(path)}
    if path.suffix and not path.exists():
        raise InsightError(f"--split {text!r}: no such file")
    return stripped


def load_dataset_spec(spec: str | dict[str, Any], normalizer: Normalizer | None, like: torch.Tensor, base_dir: Path | None = None,
                      seed: int = 0) -> Any:
    """A dataset named by ``spec``, checked against samples ``like`` the network was
    trained on and normalised as the run normalised its training data."""
    from graph_compiler.training.datasets import resolve_dataset

    ds = resolve_dataset(spec, base_dir=base_dir, seed=seed)
    want = tuple(like.shape[1:])
    if tuple(ds.x.shape[1:]) != want or torch.is_floating_point(ds.x) != torch.is_floating_point(like):
        raise InsightError(
            f"dataset {ds.name!r} has samples {list(ds.x.shape[1:])} ({str(ds.x.dtype).replace('torch.', '')}), but "
            f"the network was trained on {list(want)} ({str(like.dtype).replace('torch.', '')})")
    if normalizer is not None and torch.is_floating_point(ds.x):
        ds = dataclasses.replace(ds, x=normalizer.apply(ds.x.float()))
    return ds


def _pick_split(trainer: Any, split: str, base_dir: Path | None) -> tuple[Any, str]:
    ctx = trainer.ctx
    if split in ("val", "validation"):
        if ctx.val is None:
            raise InsightError(
                "the run trained without a validation split (training.val_split is 0); "
                "evaluate on --split train or name a dataset, e.g. --split digits")
        return ctx.val, "validation"
    if split == "train":
        return ctx.train, "train"
    spec = parse_dataset_spec(split)
    try:
        ds = load_dataset_spec(spec, trainer.normalizer, ctx.train.x, base_dir, seed=trainer.config.seed)
    except InsightError as exc:
        raise InsightError(f"--split {split!r}: {exc}") from None
    except NetwrightError as exc:
        raise InsightError(f"--split {split!r} is neither val, train nor a dataset this run can read: {exc}") from None
    return ds, ds.name


ForwardFn = Callable[[torch.Tensor], torch.Tensor]

__all__ = ["IMAGE", "SEQUENCE", "TABULAR", "TOKENS", "EvalTarget", "InsightError", "input_kind",
           "load_dataset_spec", "parse_dataset_spec"]
