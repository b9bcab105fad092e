"""Supervised recipes: "classification" and "regression".

Both take x [N, ...] (float features / images, or int64 tokens [N, T] feeding an
Embedding) and train one network (the main one, or ``options.network``) whose first
Output is the prediction.

options
  network    name of the network to train (default: the document's main network)
  n_predictions  how many validation predictions the classification epoch event carries (8)
  train_accuracy  also measure accuracy on training batches (train_accuracy in events; false)
"""
from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import nn

from graph_compiler.catalog import fmt_shape
from graph_compiler.training import metrics
from graph_compiler.training.recipes.base import Recipe, batch_shape, first_output
from graph_compiler.training.recipes.context import RecipeContext
from graph_compiler.training.recipes.registry import register


class _Supervised(Recipe):
    known_options: tuple[str, ...] = ("network",)

    def __init__(self, ctx: RecipeContext) -> None:
        super().__init__(ctx)
        ctx.check_options(self.known_options)
        self.net = ctx.option("network", ctx.main, str)
        if self.net not in ctx.analysis.networks:
            from graph_compiler.training.config import TrainingConfigError

            raise TrainingConfigError(
                f"training.options.network: no network named {self.net!r}; networks: "
                f"{', '.join(ctx.analysis.networks)}")
        self.loss_name = ctx.config.loss or self.default_loss

    def networks(self) -> list[str]:
        return [self.net]

    def setup(self) -> None:
        self.model = self.build(self.net)
        self.opt = self.ctx.make_optimizer(self.model.parameters())
        self.loss_module = self.ctx.loss_fn(self.default_loss)

    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        return first_output(self.model(x))

    def _output_problems(self) -> tuple[Any, list[str]]:
        outs = self.output_types(self.net)
        if not outs or outs[0] is None:
            return None, [f"network {self.net!r} has no Output; add one after the last layer"]
        if outs[0].dtype == "long":
            return None, [(f"network {self.net!r} outputs int64 values {outs[0]}; a {self.name} "
                           "network must output float scores")]
        return outs[0], []


@register("classification", aliases=("sequence_classification", "classifier"))
class Classification(_Supervised):
    """Cross-entropy on class ids y [N]. Output [B, C] logits with C >= number of classes
    (with loss "bce": one logit [B, 1] for two classes; with "mse" / "l1": C scores
    against one-hot targets). Metrics: val_loss, val_accuracy; epoch extras:
    confusion_matrix, classes, predictions."""

    tasks = ("classification", "sequence_classification")
    default_for = ("classification", "sequence_classification")
    default_loss = "cross_entropy"
    known_options = ("network", "n_predictions", "train_accuracy")

    def __init__(self, ctx: RecipeContext) -> None:
        super().__init__(ctx)
        self.n_predictions = ctx.option("n_predictions", 8, int, min=0, max=256)
        # Off by default: on small models its few extra kernels per step cost ~5% speed.
        self.train_accuracy = ctx.option("train_accuracy", False, bool)
        self.num_classes = ctx.train.num_classes or 2
        if ctx.val is not None and ctx.val.y is not None and ctx.val.y.numel():
            self.num_classes = max(self.num_classes, int(ctx.val.y.max()) + 1)
        self.classes = list(ctx.train.classes) if ctx.train.classes else [str(i) for i in range(self.num_classes)]

    def check(self, analysis: Any, dataset: Any) -> list[str]:
        problems = self.check_input(self.net, dataset)
        if dataset.y is None:
            return problems + [f"dataset {dataset.name!r} has no labels; classification needs class ids"]
        if dataset.y.ndim != 1 or torch.is_floating_point(dataset.y):
            problems.append(f"dataset {dataset.name!r} has targets {batch_shape(dataset.y)} "
                            f"({dataset.y.dtype}); classification needs one class id per sample")
        out, more = self._output_problems()
        problems += more
        if out is None:
            return problems
        k = self.num_classes
        if len(out.shape) != 2:
            problems.append(f"network {self.net!r} outputs {fmt_shape(out.shape)}, but classification needs "
                            f"one score per class, [B, {k}]; add a Flatten and a Linear with {k} outputs")
        elif self.loss_name == "bce":
            if out.shape[1] != 1 or k > 2:
                problems.append(f"loss \"bce\" needs a single logit [B, 1] and 2 classes; network {self.net!r} "
                                f"outputs {fmt_shape(out.shape)} for {k} classes (use cross_entropy)")
        elif out.shape[1] < k:
            problems.append(f"network {self.net!r} outputs {fmt_shape(out.shape)}, but dataset "
                            f"{dataset.name!r} has {k} classes; set the last layer's size to {k} ([B, {k}])")
        return problems

    def _loss(self, logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        if y.is_floating_point():  # class probabilities [B, k] from mixup / cutmix
            if y.shape[1] < logits.shape[1]:
                y = nn.functional.pad(y, (0, logits.shape[1] - y.shape[1]))
            soft: torch.Tensor = self.loss_module(logits, y.to(logits.dtype))
            return soft
        loss: torch.Tensor
        if self.loss_name == "cross_entropy":
            loss = self.loss_module(logits, y)
        elif self.loss_name == "bce":
            loss = self.loss_module(logits[:, 0], y.to(logits.dtype))
        else:
            loss = self.loss_module(logits, nn.functional.one_hot(y, logits.shape[1]).to(logits.dtype))
        return loss

    def train_step(self, batch: dict[str, torch.Tensor]) -> dict[str, Any]:
        x, y = batch["x"], batch["y"]
        with self.ctx.amp.autocast():
            logits = self._forward(x)
            loss = self._loss(logits, y)
        self.ctx.amp.step(loss, self.opt)
        if self.train_accuracy:
            labels = y.argmax(1) if y.is_floating_point() else y  # mixed targets: the larger share
            return {"loss": loss.detach(), "accuracy": metrics.accuracy(logits.detach(), labels)}
        return {"loss": loss.detach()}

    def evaluate(self, val: Any) -> dict[str, Any]:
        k = self.num_classes
        total = torch.zeros((), device=self.ctx.device)
        confusion = torch.zeros(k, k, dtype=torch.long, device=self.ctx.device)
        shown: list[dict[str, Any]] = []
        seen = 0
        for b in self.ctx.batches(self.batch_tensors(val)):
            with self.ctx.amp.autocast():
                logits = self._forward(b["x"])
                loss = self._loss(logits, b["y"])
            logits = logits.float()
            total += loss.float() * len(b["y"])
            pred = metrics.predict_classes(logits)
            confusion += metrics.confusion_matrix(pred, b["y"], k)
            if len(shown) < self.n_predictions:
                take = self.n_predictions - len(shown)
                if logits.shape[1] == 1:
                    p1 = torch.sigmoid(logits[:take, 0])
                    conf = torch.where(pred[:take] == 1, p1, 1 - p1)
                else:
                    conf = logits[:take].softmax(dim=1).max(dim=1).values
                for i, (t, p, c) in enumerate(zip(b["y"][:take].tolist(), pred[:take].tolist(), conf.tolist())):
                    shown.append({"index": seen + i, "true": self._name(t), "pred": self._name(p),
                                  "confidence": round(float(c), 4)})
            seen += len(b["y"])
        n = max(seen, 1)
        cm = confusion.cpu()
        return {
            "val_loss": float(total) / n,
            "val_accuracy": float(cm.diagonal().sum()) / n,
            "confusion_matrix": cm.tolist(),
            "classes": self.classes[:k],
            "predictions": shown,
        }

    def _name(self, i: int) -> str:
        return self.classes[i] if 0 <= i < len(self.classes) else str(i)

    def live_samples(self) -> dict[str, Any] | None:
        val = self.ctx.val if self.ctx.val is not None else self.ctx.train
        if val.x.ndim != 2 or val.x.shape[1] != 2 or not torch.is_floating_point(val.x):
            return None
        x = val.x[:2048].to(self.ctx.device)
        with self.ctx.amp.autocast():
            pred = metrics.predict_classes(self._forward(x).float())
        return {"kind": "scatter", "points": self.ctx.denormalize(x).float().cpu().numpy(),
                "labels": pred.cpu().numpy()}


@register("regression", aliases=("regressor",))
class Regression(_Supervised):
    """MSE (default), L1 or BCE against float targets y [N, k] (y [N] is taken as
    [N, 1]). Output [B, k]. Metrics: val_loss, val_mae, val_r2 (and val_mse)."""

    tasks: ClassVar[tuple[str, ...]] = ("regression",)
    default_for: ClassVar[tuple[str, ...]] = ("regression",)
    default_loss = "mse"
    monitor = "val_loss"

    def check(self, analysis: Any, dataset: Any) -> list[str]:
        problems = self.check_input(self.net, dataset)
        if dataset.y is None:
            return problems + [f"dataset {dataset.name!r} has no targets; regression needs y values"]
        out, more = self._output_problems()
        problems += more
        if out is None:
            return problems
        want = tuple(self._target(dataset.y[:1]).shape[1:])
        if tuple(out.shape[1:]) != want:
            problems.append(f"network {self.net!r} outputs {fmt_shape(out.shape)}, but the dataset's targets are "
                            f"{fmt_shape((1, *want))}; make the last layer output {list(want)}")
        return problems

    @staticmethod
    def _target(y: torch.Tensor) -> torch.Tensor:
        y = y if torch.is_floating_point(y) else y.float()
        return y.unsqueeze(1) if y.ndim == 1 else y

    def batch_tensors(self, dataset: Any) -> dict[str, torch.Tensor]:
        return {"x": dataset.x, "y": self._target(dataset.y)}

    def train_step(self, batch: dict[str, torch.Tensor]) -> dict[str, Any]:
        x, y = batch["x"], batch["y"]
        with self.ctx.amp.autocast():
            pred = self._forward(x)
            loss = self.loss_module(pred.float(), y)
        self.ctx.amp.step(loss, self.opt)
        return {"loss": loss.detach()}

    def evaluate(self, val: Any) -> dict[str, Any]:
        stats = metrics.RegressionStats()
        total = torch.zeros((), device=self.ctx.device)
        n = 0
        for b in self.ctx.batches(self.batch_tensors(val)):
            with self.ctx.amp.autocast():
                pred = self._forward(b["x"]).float()
            total += self.loss_module(pred, b["y"]).float() * len(pred)
            stats.update(pred, b["y"])
            n += len(pred)
        out = {"val_loss": float(total) / max(n, 1)}
        out.update({f"val_{k}": v for k, v in stats.result().items()})
        return out

    def live_samples(self) -> dict[str, Any] | None:
        val = self.ctx.val if self.ctx.val is not None else self.ctx.train
        if val.x.ndim != 2 or val.x.shape[1] != 1 or not torch.is_floating_point(val.x):
            return None
        x = val.x[:1024].to(self.ctx.device)
        order = x[:, 0].argsort()
        x = x[order]
        with self.ctx.amp.autocast():
            pred = self._forward(x).float()
        assert val.y is not None  # regression data always has targets
        real_y = self._target(val.y[:1024].to(self.ctx.device))[order]
        xs = self.ctx.denormalize(x)[:, 0].float().cpu().numpy()
        return {"kind": "curve", "x": xs, "y": pred[:, 0].cpu().numpy(),
                "real_x": xs, "real_y": real_y[:, 0].float().cpu().numpy()}
