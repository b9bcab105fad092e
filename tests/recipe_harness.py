"""A minimal stand-in for the engine, for recipe unit tests: builds a RecipeContext from a
document dict and a dataset, and runs a few steps. Kept engine-free on purpose so the
recipe tests check the recipe contract alone."""
from __future__ import annotations

from typing import Any

import torch

from graph_compiler.analysis import Analyzer
from graph_compiler.compile import CompiledDocument
from graph_compiler.document import from_dict
from graph_compiler.training.config import parse_config
from graph_compiler.training.datasets import Dataset
from graph_compiler.training.preprocessing import Normalizer
from graph_compiler.training.recipes import get_recipe
from graph_compiler.training.recipes.amp import Amp
from graph_compiler.training.recipes.context import RecipeContext


def node(nid: str, type_: str, **params: Any) -> dict[str, Any]:
    return {"id": nid, "type": type_, "params": params}


def chain(name: str, nodes: list[dict[str, Any]], extra_edges: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """A network whose nodes are wired one after another (plus extra edges)."""
    edges = [{"src": a["id"], "dst": b["id"]} for a, b in zip(nodes, nodes[1:])]
    return {"name": name, "nodes": nodes, "edges": edges + (extra_edges or [])}


def document(networks: list[dict[str, Any]], training: dict[str, Any] | None = None):  # type: ignore[no-untyped-def]
    return from_dict({"format": "netwright-graph", "version": 1, "networks": networks,
                      "training": training or {}})


class Harness:
    def __init__(self, doc: Any, train: Dataset, val: Dataset | None = None, normalize: bool = False,
                 seed: int = 0, **config: Any) -> None:
        torch.manual_seed(seed)
        self.doc = doc
        self.analysis = Analyzer().analyze(doc)
        assert self.analysis.ok, [d.format() for d in self.analysis.errors]
        self.config = parse_config({**(doc.training or {}), **config})
        normalizer = Normalizer.fit(train.x) if normalize else None
        if normalizer is not None:
            train = _replace_x(train, normalizer.apply(train.x))
            val = _replace_x(val, normalizer.apply(val.x)) if val is not None else None
        self.optimizers: list[tuple[str, torch.optim.Optimizer]] = []
        self.ctx = RecipeContext(
            config=self.config, compiled=CompiledDocument(doc, self.analysis), analysis=self.analysis,
            document=doc, train=train, val=val, device=torch.device("cpu"),
            amp=Amp(torch.device("cpu"), None, self.config.grad_clip), normalizer=normalizer, seed=seed,
            _make_optimizer=self._make_optimizer)
        self.ctx.steps_per_epoch = max(1, -(-len(train) // self.config.batch_size))
        self.recipe = get_recipe(self.config.recipe)(self.ctx)

    def _make_optimizer(self, params: Any, *, name: str | None = None, lr: float | None = None,
                        **overrides: Any) -> torch.optim.Optimizer:
        kw = {"lr": lr or self.config.lr, "betas": overrides.get("betas", self.config.betas)}
        opt = torch.optim.Adam(list(params), **kw)
        self.optimizers.append((name or "main", opt))
        return opt

    def check(self) -> list[str]:
        return self.recipe.check(self.analysis, self.ctx.train)

    def setup(self) -> Any:
        problems = self.check()
        assert not problems, problems
        self.recipe.setup()
        return self.recipe

    def epoch(self, epoch: int) -> list[dict[str, float]]:
        """One epoch of shuffled batches; returns the train_step results as floats."""
        r, ctx = self.recipe, self.ctx
        ctx.epoch = epoch
        r.on_epoch_start(epoch)
        for m in r.modules.values():
            m.train()
        tensors = r.batch_tensors(ctx.train)
        n = len(next(iter(tensors.values())))
        order = torch.randperm(n)
        out = []
        for start in range(0, n, self.config.batch_size):
            idx = order[start:start + self.config.batch_size]
            res = r.train_step({k: v[idx] for k, v in tensors.items()})
            ctx.global_step += 1
            out.append({k: float(v) for k, v in res.items()})
        return out

    def eval(self, what: str = "evaluate", *args: Any) -> Any:
        for m in self.recipe.modules.values():
            m.eval()
        with torch.no_grad():
            if what == "evaluate":
                return self.recipe.evaluate(self.ctx.val if not args else args[0])
            return getattr(self.recipe, what)(*args)


def _replace_x(ds: Dataset, x: torch.Tensor) -> Dataset:
    import dataclasses

    return dataclasses.replace(ds, x=x)


def mean(rows: list[dict[str, float]], key: str = "loss") -> float:
    return sum(r[key] for r in rows) / len(rows)
