"""A document's ``training`` section, parsed and checked into a typed TrainingConfig.

Every problem is a TrainingConfigError (a NetwrightError) that names the key, what it
got and what is allowed, so the CLI prints it without a traceback and the app shows it
next to the training panel. Keys are documented in docs/training.md; recipe-specific
keys live in ``options`` (free-form here, checked by the recipe via ``ctx.option``).
"""
from __future__ import annotations

import difflib
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from graph_compiler.errors import NetwrightError


class TrainingConfigError(NetwrightError):
    """A bad key or value in a document's training section (or a CLI override)."""


OPTIMIZERS = ("adam", "adamw", "sgd", "rmsprop")
LOSSES = ("cross_entropy", "mse", "l1", "bce")
SCHEDULES = ("none", "step", "cosine", "onecycle")
NORMALIZE = ("auto", "none", "features", "channels")
DEVICES = ("auto", "cpu", "cuda", "mps")
AMP = ("auto", "off", "bf16", "fp16")
# training.precision, the same setting as amp in the words of --precision.
PRECISIONS = {"auto": "auto", "32": "off", "bf16": "bf16", "16": "fp16"}
MODES = ("auto", "min", "max")

_SCHEDULE_KEYS = {
    "none": ("type",),
    "step": ("type", "step_size", "gamma"),
    "cosine": ("type", "min_lr"),
    "onecycle": ("type", "max_lr", "pct_start"),
}
_EARLY_KEYS = ("patience", "metric", "mode", "min_delta")


@dataclass
class Schedule:
    """LR schedule. ``step``: lr *= gamma every ``step_size`` epochs. ``cosine``:
    cosine decay per step from lr to ``min_lr`` over the run. ``onecycle``: per step,
    from max_lr / 25 up to ``max_lr`` (default: lr) over ``pct_start`` of the run, then
    cosine down to max_lr / 2.5e5 (torch.optim.lr_scheduler.OneCycleLR's curve, lr only)."""

    type: str = "none"
    step_size: int | None = None  # epochs; default max(1, epochs // 3)
    gamma: float = 0.1
    min_lr: float = 0.0
    max_lr: float | None = None
    pct_start: float = 0.3


@dataclass
class EarlyStopping:
    patience: int = 5
    metric: str = "val_loss"
    mode: str = "auto"  # auto: "max" for accuracy / r2 / f1-like metrics, else "min"
    min_delta: float = 0.0


@dataclass
class TrainingConfig:
    recipe: str | None = None
    dataset: str | dict[str, Any] | None = None
    # A dataset spec to validate on instead of splitting val_split off the training data
    # (e.g. {"name": "mnist", "split": "test"}).
    validation: str | dict[str, Any] | None = None
    epochs: int = 10
    batch_size: int = 64
    lr: float = 1e-3
    optimizer: str = "adam"
    momentum: float | None = None  # None: 0.9 for sgd, 0 for rmsprop
    betas: tuple[float, float] = (0.9, 0.999)
    weight_decay: float | None = None  # None: 0.01 for adamw, else 0
    loss: str | None = None
    schedule: Schedule = field(default_factory=Schedule)
    grad_clip: float | None = None
    early_stopping: EarlyStopping | None = None
    val_split: float = 0.2
    normalize: str = "auto"
    seed: int = 0
    device: str = "auto"
    amp: str = "auto"
    in_memory: bool | str = "auto"
    # Image folders / CSVs larger than this stream from a cache; None: NETWRIGHT_STREAM_THRESHOLD_MB.
    stream_threshold_mb: float | None = None
    compile: bool = False
    augment: list[dict[str, Any]] = field(default_factory=list)  # see training/augment.py
    options: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON form; ``parse_config(cfg.to_dict())`` gives the same config."""
        d = asdict(self)
        d["betas"] = list(self.betas)
        if self.early_stopping is None:
            d["early_stopping"] = None
        d["schedule"] = {k: v for k, v in d["schedule"].items()
                         if k in _SCHEDULE_KEYS[self.schedule.type] and v is not None}
        return d


KNOWN_KEYS = tuple(TrainingConfig.__dataclass_fields__)
# Keys other tools keep in the training section (the app's UI state): accepted, unused.
IGNORED_KEYS = ("notes", "ui")


def parse_config(raw: Mapping[str, Any] | None, overrides: Mapping[str, Any] | None = None) -> TrainingConfig:
    """``raw`` (the document's training dict, may be None) with ``overrides`` on top
    (None values in overrides are ignored), checked."""
    if raw is not None and not isinstance(raw, Mapping):
        raise TrainingConfigError(f"training must be an object, got {_kind(raw)}")
    merged: dict[str, Any] = _precision_as_amp(dict(raw or {}))
    for key, value in _precision_as_amp(dict(overrides or {})).items():
        if value is not None:
            merged[key] = value
    unknown = [k for k in merged if k not in KNOWN_KEYS and k not in IGNORED_KEYS]
    if unknown:
        key = unknown[0]
        close = difflib.get_close_matches(str(key), KNOWN_KEYS, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise TrainingConfigError(
            f"training: unknown key {key!r}{hint}; known keys: {', '.join(KNOWN_KEYS)} "
            "(recipe-specific settings go inside 'options')")
    # null means "the default" for every key, so to_dict() output parses back unchanged.
    merged = {k: v for k, v in merged.items() if v is not None}
    cfg = TrainingConfig()
    g = merged.get
    if g("recipe") is not None:
        cfg.recipe = _str("recipe", g("recipe"))
    if g("dataset") is not None:
        ds = g("dataset")
        if not isinstance(ds, (str, dict)) or (isinstance(ds, str) and not ds):
            raise TrainingConfigError(
                f"training.dataset must be a built-in dataset name (e.g. 'digits') or an object "
                f"such as {{\"name\": \"moons\", \"n\": 1000}} or {{\"csv\": \"data.csv\", \"target\": \"label\"}}, "
                f"got {ds!r}")
        cfg.dataset = ds
    if g("validation") is not None:
        v = g("validation")
        if not isinstance(v, (str, dict)) or (isinstance(v, str) and not v):
            raise TrainingConfigError(
                f"training.validation must be a dataset like training.dataset, e.g. "
                f"{{\"name\": \"mnist\", \"split\": \"test\"}}, got {v!r}")
        cfg.validation = v
    if "epochs" in merged:
        cfg.epochs = _int("epochs", g("epochs"), 1, 1_000_000)
    if "batch_size" in merged:
        cfg.batch_size = _int("batch_size", g("batch_size"), 1, 1 << 24)
    if "lr" in merged:
        cfg.lr = _float("lr", g("lr"), lo=0.0, lo_open=True)
    if "optimizer" in merged:
        cfg.optimizer = _choice("optimizer", _lower(g("optimizer")), OPTIMIZERS)
    if "momentum" in merged:
        cfg.momentum = _float("momentum", g("momentum"), lo=0.0, hi=1.0, hi_open=True)
    if "betas" in merged:
        b = g("betas")
        if not isinstance(b, (list, tuple)) or len(b) != 2:
            raise TrainingConfigError(f"training.betas must be a list of two numbers in [0, 1), got {b!r}")
        cfg.betas = (_float("betas[0]", b[0], 0.0, 1.0, hi_open=True), _float("betas[1]", b[1], 0.0, 1.0, hi_open=True))
    if "weight_decay" in merged:
        cfg.weight_decay = _float("weight_decay", g("weight_decay"), lo=0.0)
    if g("loss") is not None:
        cfg.loss = _choice("loss", _lower(g("loss")), LOSSES)
    if g("schedule") is not None:
        cfg.schedule = _schedule(g("schedule"))
    if g("grad_clip") is not None and g("grad_clip") is not False:
        cfg.grad_clip = _float("grad_clip", g("grad_clip"), lo=0.0, lo_open=True)
    if g("early_stopping") is not None and g("early_stopping") is not False:
        cfg.early_stopping = _early(g("early_stopping"))
    if "val_split" in merged:
        cfg.val_split = _float("val_split", g("val_split"), lo=0.0, hi=1.0, hi_open=True)
    if "normalize" in merged:
        v = g("normalize")
        v = "none" if v is False else "auto" if v is True else v
        cfg.normalize = _choice("normalize", _lower(v), NORMALIZE)
    if "seed" in merged:
        cfg.seed = _int("seed", g("seed"), 0, 2**63 - 1)
    if "device" in merged:
        cfg.device = _device(g("device"))
    if "amp" in merged:
        v = g("amp")
        v = "off" if v is False else "auto" if v is True else v
        cfg.amp = _choice("amp", _lower(v), AMP)
    if "compile" in merged:
        compile_ = g("compile")
        if not isinstance(compile_, bool):
            raise TrainingConfigError(f"training.compile must be true or false, got {compile_!r}")
        cfg.compile = compile_
    if "in_memory" in merged:
        v = g("in_memory")
        if not (isinstance(v, bool) or v == "auto"):
            raise TrainingConfigError(f"training.in_memory must be true, false or \"auto\", got {v!r}")
        cfg.in_memory = v
    if g("stream_threshold_mb") is not None:
        cfg.stream_threshold_mb = _float("stream_threshold_mb", g("stream_threshold_mb"), lo=0.0)
    if g("augment") is not None:
        from graph_compiler.training.augment import parse_augment

        cfg.augment = [a.to_dict() for a in parse_augment(g("augment"))]
    if g("options") is not None:
        opts = g("options")
        if not isinstance(opts, dict):
            raise TrainingConfigError(f"training.options must be an object of recipe settings, got {_kind(opts)}")
        cfg.options = dict(opts)
    return cfg


# ---------------------------------------------------------------- value checks


def _precision_as_amp(d: dict[str, Any]) -> dict[str, Any]:
    """``precision`` ("auto", "32", "bf16", "16") rewritten as the ``amp`` it means."""
    v = d.pop("precision", None)
    if v is None:
        return d
    v = str(v) if isinstance(v, int) and not isinstance(v, bool) else v
    amp = PRECISIONS[_choice("precision", _lower(v), tuple(PRECISIONS))]
    old = d.get("amp")
    old = "off" if old is False else "auto" if old is True else _lower(old)
    if old is not None and old != amp:
        raise TrainingConfigError(
            f"training.precision {v!r} and training.amp {d['amp']!r} disagree; keep one of them")
    d["amp"] = amp
    return d


def _kind(v: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", int: "an integer",
            float: "a number", type(None): "null"}.get(type(v), type(v).__name__)


def _lower(v: Any) -> Any:
    return v.strip().lower().replace("-", "_") if isinstance(v, str) else v


def _str(key: str, v: Any) -> str:
    if not isinstance(v, str) or not v:
        raise TrainingConfigError(f"training.{key} must be a non-empty string, got {v!r}")
    return v


def _int(key: str, v: Any, lo: int, hi: int) -> int:
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    if isinstance(v, bool) or not isinstance(v, int):
        raise TrainingConfigError(f"training.{key} must be an integer between {lo} and {hi}, got {v!r}")
    if not lo <= v <= hi:
        raise TrainingConfigError(f"training.{key} must be between {lo} and {hi}, got {v}")
    return v


def _float(key: str, v: Any, lo: float | None = None, hi: float | None = None,
           lo_open: bool = False, hi_open: bool = False) -> float:
    rng = _range_text(lo, hi, lo_open, hi_open)
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise TrainingConfigError(f"training.{key} must be a finite number{rng}, got {v!r}")
    v = float(v)
    if lo is not None and (v < lo or (lo_open and v == lo)):
        raise TrainingConfigError(f"training.{key} must be a number{rng}, got {v:g}")
    if hi is not None and (v > hi or (hi_open and v == hi)):
        raise TrainingConfigError(f"training.{key} must be a number{rng}, got {v:g}")
    return float(v)


def _range_text(lo: float | None, hi: float | None, lo_open: bool, hi_open: bool) -> str:
    if lo is not None and hi is not None:
        return f" in {'(' if lo_open else '['}{lo:g}, {hi:g}{')' if hi_open else ']'}"
    if lo is not None:
        return f" {'>' if lo_open else '>='} {lo:g}"
    if hi is not None:
        return f" {'<' if hi_open else '<='} {hi:g}"
    return ""


def _choice(key: str, v: Any, allowed: tuple[str, ...]) -> str:
    if v not in allowed:
        close = difflib.get_close_matches(str(v), allowed, n=1) if isinstance(v, str) else []
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise TrainingConfigError(
            f"training.{key}: {v!r} is not allowed{hint}; allowed values: {', '.join(allowed)}")
    return str(v)


def _device(v: Any) -> str:
    if isinstance(v, str):
        s = v.strip().lower()
        if s in DEVICES:
            return s
        if s.startswith("cuda:") and s[5:].isdigit():
            return s
    raise TrainingConfigError(f"training.device: {v!r} is not allowed; allowed values: auto, cpu, cuda, cuda:N, mps")


def _schedule(v: Any) -> Schedule:
    if isinstance(v, str):
        v = {"type": v}
    if not isinstance(v, dict):
        raise TrainingConfigError(
            f"training.schedule must be one of {', '.join(SCHEDULES)} or an object like "
            f"{{\"type\": \"step\", \"step_size\": 5, \"gamma\": 0.5}}, got {v!r}")
    kind = _choice("schedule.type", _lower(v.get("type", "none")), SCHEDULES)
    for key in v:
        if key not in _SCHEDULE_KEYS[kind]:
            raise TrainingConfigError(
                f"training.schedule: unknown key {key!r} for a {kind!r} schedule; "
                f"its keys: {', '.join(_SCHEDULE_KEYS[kind])}")
    s = Schedule(kind)
    if "step_size" in v:
        s.step_size = _int("schedule.step_size", v["step_size"], 1, 1_000_000)
    if "gamma" in v:
        s.gamma = _float("schedule.gamma", v["gamma"], lo=0.0, hi=1.0, lo_open=True)
    if "min_lr" in v:
        s.min_lr = _float("schedule.min_lr", v["min_lr"], lo=0.0)
    if "max_lr" in v and v["max_lr"] is not None:
        s.max_lr = _float("schedule.max_lr", v["max_lr"], lo=0.0, lo_open=True)
    if "pct_start" in v:
        s.pct_start = _float("schedule.pct_start", v["pct_start"], lo=0.0, hi=1.0, lo_open=True, hi_open=True)
    return s


def _early(v: Any) -> EarlyStopping:
    if v is True:
        v = {}
    if isinstance(v, int) and not isinstance(v, bool):
        v = {"patience": v}
    if not isinstance(v, dict):
        raise TrainingConfigError(
            f"training.early_stopping must be a patience (integer) or an object like "
            f"{{\"patience\": 5, \"metric\": \"val_loss\"}}, got {v!r}")
    for key in v:
        if key not in _EARLY_KEYS:
            raise TrainingConfigError(
                f"training.early_stopping: unknown key {key!r}; its keys: {', '.join(_EARLY_KEYS)}")
    e = EarlyStopping()
    if "patience" in v:
        e.patience = _int("early_stopping.patience", v["patience"], 1, 1_000_000)
    if "metric" in v:
        m = _str("early_stopping.metric", v["metric"])
        e.metric = m if m.startswith(("val_", "train_")) else f"val_{m}"
    if "mode" in v:
        e.mode = _choice("early_stopping.mode", _lower(v["mode"]), MODES)
    if "min_delta" in v:
        e.min_delta = _float("early_stopping.min_delta", v["min_delta"], lo=0.0)
    return e


_HIGHER_IS_BETTER = ("accuracy", "acc", "r2", "f1", "precision", "recall", "auc", "iou", "psnr", "ssim")


def metric_mode(metric: str, mode: str = "auto") -> str:
    """"min" or "max" for a metric name ("auto" guesses from the name)."""
    if mode != "auto":
        return mode
    base = metric.removeprefix("val_").removeprefix("train_")
    return "max" if any(base == h or base.endswith("_" + h) for h in _HIGHER_IS_BETTER) else "min"


__all__ = [
    "KNOWN_KEYS",
    "LOSSES",
    "OPTIMIZERS",
    "SCHEDULES",
    "EarlyStopping",
    "Schedule",
    "TrainingConfig",
    "TrainingConfigError",
    "metric_mode",
    "parse_config",
]
