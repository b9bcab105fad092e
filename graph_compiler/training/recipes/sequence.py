"""Per-position sequence recipes: "sequence_to_sequence" (copy, sort, tagging) here, and the
shared base of "language_model" (recipes/language.py).

Whole-sequence tasks reuse the supervised recipes: "sequence_classification" is an alias
of "classification" (e.g. an LSTM on parity) and "sequence_regression" below is
"regression" under the name the sequence tasks use (e.g. the digit sum).

sequence_to_sequence: x int64 tokens [N, T], y int64 classes [N, T]; the network's first
Output is logits [B, T, C] with C >= the number of classes (the dataset's vocabulary).
Loss: cross-entropy at every position. Metrics: val_loss, val_accuracy (per token) and
val_sequence_accuracy (every position right). Live samples: a few validation sequences
with the prediction and the target, as text.
"""
from __future__ import annotations

from typing import Any, ClassVar

import torch

from graph_compiler.catalog import fmt_shape
from graph_compiler.training.recipes.base import Recipe, batch_shape, first_output
from graph_compiler.training.recipes.losses import sequence_cross_entropy
from graph_compiler.training.recipes.registry import register
from graph_compiler.training.recipes.supervised import Regression

N_SHOWN = 6


@register("sequence_regression")
class SequenceRegression(Regression):
    """"regression" on token sequences (x int64 [N, T] into an Embedding, y float [N, k])."""

    tasks = ("regression",)
    default_for: ClassVar[tuple[str, ...]] = ()


class PerPositionRecipe(Recipe):
    """Cross-entropy at every position of logits [B, T, C] against y [B, T].

    With ``last_position_ok`` (language models) a network may instead output the last
    position only, [B, 1, C], as an imported GPT's ``forward(idx)`` does: it is then
    trained and scored on the token that follows each window, y[:, -1]."""

    task_word = "sequence-to-sequence"
    OPTIONS: tuple[str, ...] = ("network",)
    last_position_ok: ClassVar[bool] = False

    def __init__(self, ctx: Any) -> None:
        super().__init__(ctx)
        ctx.check_options(self.OPTIONS)
        self.net = ctx.option("network", ctx.main, str)
        if self.net not in ctx.analysis.networks:
            from graph_compiler.training.config import TrainingConfigError

            raise TrainingConfigError(f"training.options.network: no network named {self.net!r}; "
                                      f"networks: {', '.join(ctx.analysis.networks)}")
        if ctx.config.loss not in (None, "cross_entropy"):
            from graph_compiler.training.config import TrainingConfigError

            raise TrainingConfigError(f"training.loss: {self.name} trains with cross_entropy, "
                                      f"not {ctx.config.loss!r}")
        self.num_classes = self._num_classes()
        self.last_only = False  # set by setup(): the network outputs the last position only

    def _num_classes(self) -> int:
        ds = self.ctx.train
        k = ds.num_classes or 0
        for part in (self.ctx.train, self.ctx.val):
            if part is not None and part.y is not None and part.y.numel():
                k = max(k, int(part.y.max()) + 1)
        return max(k, 2)

    def networks(self) -> list[str]:
        return [self.net]

    def check(self, analysis: Any, dataset: Any) -> list[str]:
        problems = self.check_input(self.net, dataset)
        if dataset.y is None or dataset.y.shape != dataset.x.shape[:2] or torch.is_floating_point(dataset.y):
            got = "none" if dataset.y is None else f"{batch_shape(dataset.y)} {dataset.y.dtype}"
            return problems + [f"dataset {dataset.name!r} needs one int64 target per position, "
                               f"[B, T] like its input {batch_shape(dataset.x)}; it has {got}"]
        outs = self.output_types(self.net)
        if not outs or outs[0] is None:
            return problems + [f"network {self.net!r} has no Output; add one after the last layer"]
        out, (T, k) = outs[0], (dataset.y.shape[1], self.num_classes)
        if len(out.shape) != 3:
            problems.append(f"network {self.net!r} outputs {fmt_shape(out.shape)}, but {self.task_word} "
                            f"needs a score for every class at every position, [B, {T}, {k}]; keep the "
                            "sequence dimension (no Flatten / Mean) and end with Linear(out_features="
                            f"{k})")
            return problems
        if out.shape[1] != T and not (self.last_position_ok and out.shape[1] == 1):
            also = " (or 1: the last position only)" if self.last_position_ok else ""
            problems.append(f"network {self.net!r} outputs {out.shape[1]} positions {fmt_shape(out.shape)}, "
                            f"but the targets have {T}{also}")
        if out.shape[2] < k:
            problems.append(f"network {self.net!r} outputs {fmt_shape(out.shape)}, but dataset "
                            f"{dataset.name!r} has {k} classes (its vocabulary); set the last Linear's "
                            f"out_features to {k}")
        return problems

    def outputs_last_position_only(self) -> bool:
        """The network outputs [B, 1, C] for windows of T > 1 tokens (see the class doc)."""
        outs = self.output_types(self.net)
        y = self.ctx.train.y
        return (self.last_position_ok and bool(outs) and outs[0] is not None and len(outs[0].shape) == 3
                and outs[0].shape[1] == 1 and y is not None and y.ndim == 2 and y.shape[1] > 1)

    def _last_position_node(self) -> str | None:
        """The node that keeps only the last position (nanoGPT's ``x[:, [-1], :]``), when
        exactly one node turns [B, T, ...] into [B, 1, ...]."""
        info = self.ctx.analysis.networks[self.net]
        T = self.ctx.train.x.shape[1]
        found = [nid for nid in info.order if (node := info.nodes[nid]).outputs and node.inputs
                 and node.inputs[0] is not None and len(node.inputs[0].shape) >= 2 and node.inputs[0].shape[1] == T
                 and len(node.outputs[0].shape) >= 2 and node.outputs[0].shape[1] == 1]
        return found[0] if len(found) == 1 else None

    def setup(self) -> None:
        self.model = self.build(self.net)
        self.opt = self.ctx.make_optimizer(self.model.parameters())
        self.last_only = self.outputs_last_position_only()
        if self.last_only:
            T = self.ctx.train.x.shape[1]
            node = self._last_position_node()
            how = (f"remove node {node!r}, which keeps the last position, and connect its input on"
                   if node else "remove the node that keeps the last position")
            self.notes.append(f"network {self.net!r} outputs the last position only: each window of {T} tokens "
                              f"trains one prediction, the token after it (to train on all {T} positions, {how}; "
                              "the weights stay the same)")

    def targets(self, y: torch.Tensor) -> torch.Tensor:
        """The targets the network's output is scored against: y, or its last column."""
        return y[:, -1:] if self.last_only else y

    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        return first_output(self.model(x))

    def train_step(self, batch: dict[str, torch.Tensor]) -> dict[str, Any]:
        x, y = batch["x"], self.targets(batch["y"])
        with self.ctx.amp.autocast():
            logits = self._forward(x)
            loss = sequence_cross_entropy(logits.float(), y)
        self.ctx.amp.step(loss, self.opt)
        acc = (logits.detach().argmax(-1) == y).float().mean()
        return {"loss": loss.detach(), "accuracy": acc}

    def _evaluate(self, val: Any) -> dict[str, Any]:
        total = torch.zeros((), device=self.ctx.device)
        right = torch.zeros((), device=self.ctx.device)
        whole = torch.zeros((), device=self.ctx.device)
        n = tokens = 0
        for b in self.ctx.batches(self.batch_tensors(val)):
            with self.ctx.amp.autocast():
                logits = self._forward(b["x"]).float()
            y = self.targets(b["y"])
            total += sequence_cross_entropy(logits, y, reduction="sum")
            hit = logits.argmax(-1) == y
            right += hit.sum()
            whole += hit.all(dim=1).sum()
            n += len(y)
            tokens += y.numel()
        return {"val_loss": float(total) / max(tokens, 1), "val_accuracy": float(right) / max(tokens, 1),
                "val_sequence_accuracy": float(whole) / max(n, 1)}


@register("sequence_to_sequence", aliases=("seq2seq", "tagging"))
class SequenceToSequence(PerPositionRecipe):
    tasks = ("sequence_to_sequence",)
    default_for = ("sequence_to_sequence",)
    monitor = "val_loss"

    def evaluate(self, val: Any) -> dict[str, Any]:
        return self._evaluate(val)

    def _tokens(self, ids: list[int]) -> str:
        vocab = self.ctx.train.meta.get("vocab")
        if isinstance(vocab, str) and all(0 <= i < len(vocab) for i in ids):
            return "".join(vocab[i] for i in ids)
        return " ".join(map(str, ids))

    def live_samples(self) -> dict[str, Any] | None:
        ds = self.ctx.val if self.ctx.val is not None else self.ctx.train
        assert ds.y is not None  # per-position tasks always have targets
        x, y = ds.x[:N_SHOWN].to(self.ctx.device), ds.y[:N_SHOWN].to(self.ctx.device)
        pred = self._forward(x).argmax(-1)
        lines = []
        for xi, yi, pi in zip(x.tolist(), y.tolist(), pred.tolist()):
            mark = "ok" if pi == yi else f"want {self._tokens(yi)}"
            lines.append(f"{self._tokens(xi)} -> {self._tokens(pi)}  ({mark})")
        return {"kind": "text", "text": lines}


__all__ = ["PerPositionRecipe", "SequenceRegression", "SequenceToSequence"]
