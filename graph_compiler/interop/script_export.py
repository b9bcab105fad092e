"""``netwright export FILE --script -o train.py``: a standalone training script.

The script depends on torch, numpy and safetensors (plus scikit-learn or Pillow when
its dataset needs them), never on Netwright. It is assembled from readable parts:

1. the model classes, exactly as graph_compiler.codegen writes them;
2. settings: the document's training section as graph_compiler.training.config reads
   it, and the recipe's networks and options resolved into named constants;
3. the dataset, through its real source (scikit-learn, numpy, the stdlib's pydoc
   corpus) or a compact loader for the user's file (script_templates/*_data.py);
4. the training loop and one recipe (script_templates/), with DDP support.

The templates and the generated model code are laid out as ``ruff format`` would
(codegen through graph_compiler.pyfmt), so ``ruff check`` and ``ruff format --check``
pass on the file as written.
"""
from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from graph_compiler.analysis import Analysis, Analyzer, NetworkInfo
from graph_compiler.codegen import Generated, generate
from graph_compiler.document import Document
from graph_compiler.interop import InteropError
from graph_compiler.interop.script_templates import Templates
from graph_compiler.naming import doc_text

# Canonical recipe name -> template modules (searched in order).
RECIPE_TEMPLATES: dict[str, list[str]] = {
    "classification": ["classification"],
    "regression": ["regression"],
    "sequence_regression": ["regression"],
    "language_model": ["sequence"],
    "sequence_to_sequence": ["sequence"],
    "autoencoder": ["reconstruction"],
    "vae": ["vae", "reconstruction"],
    "gan": ["gan"],
    "diffusion": ["diffusion"],
}
_FILE_SOURCES = {  # spec key -> (loader, {spec key: loader keyword})
    "csv": ("load_csv", {k: k for k in ("target", "task", "missing", "delimiter", "categorical",
                                        "ignore", "header")}),
    "npz": ("load_npz", {"x": "x", "y": "y", "task": "task"}),
    "image_folder": ("load_image_folder", {"size": "size", "grayscale": "grayscale"}),
    "idx_images": ("load_idx", {}),
}
_NEEDS = {"digits": "scikit-learn", "digits_flat": "scikit-learn", "iris": "scikit-learn",
          "wine": "scikit-learn", "breast_cancer": "scikit-learn", "moons": "scikit-learn",
          "circles": "scikit-learn", "blobs": "scikit-learn", "image_folder": "Pillow"}
_TIME_IDS = ("t", "time", "timestep", "timesteps")
WIDTH = 88  # ruff format's default line length: the script passes `ruff format --check`
# Imports a script may need: (bound name, statement), in isort order.
_STDLIB = [("argparse", "import argparse"), ("gzip", "import gzip"), ("hashlib", "import hashlib"),
           ("json", "import json"), ("math", "import math"), ("os", "import os"),
           ("platform", "import platform"), ("random", "import random"), ("sys", "import sys"),
           ("tarfile", "import tarfile"), ("traceback", "import traceback"),
           ("urllib", "import urllib.request"), ("timedelta", "from datetime import timedelta"),
           ("Path", "from pathlib import Path"), ("Any", "from typing import Any")]
_THIRD_PARTY = [("np", "import numpy as np"), ("torch", "import torch"),
                ("dist", "import torch.distributed as dist"),
                ("save_file", "from safetensors.torch import save_file"),
                ("nn", "from torch import nn"), ("F", "from torch.nn import functional as F"),
                ("DistributedDataParallel", "from torch.nn.parallel import DistributedDataParallel")]


class ScriptExportError(InteropError):
    """The document cannot be turned into a training script (what to set is named)."""


@dataclass
class _Plan:
    """What varies between scripts: constants, the data call, the parts to copy."""

    recipe: str
    constants: list[tuple[str, Any, str]] = field(default_factory=list)  # name, value, comment
    data_module: str = "builtin_data"
    data_function: str = ""
    data_args: list[str] = field(default_factory=list)
    data_doc: str = ""
    needs: list[str] = field(default_factory=list)
    validation_args: list[str] | None = None  # load_validation()'s call, for training.validation


def generate_script(doc: Document, out_dir: str | None = None, script: str = "train.py") -> str:
    """The training script's source for ``doc`` (GraphError / TrainingConfigError /
    ScriptExportError for documents that cannot train)."""
    from graph_compiler.training.config import parse_config

    analysis = Analyzer().analyze(doc)
    generated = generate(doc, analysis)
    config = parse_config(doc.training)
    if config.dataset is None:
        raise ScriptExportError(
            "training.dataset is not set: the script needs data; name a built-in dataset "
            "(e.g. \"digits\") or a file such as {\"csv\": \"data.csv\", \"target\": \"label\"}")
    plan = _Plan(_recipe_name(config))
    _dataset(plan, config.dataset, doc)
    if config.validation is not None:
        _validation(plan, config.dataset, config.validation)
    _roles(plan, config, doc, analysis, generated)
    stem = Path(doc.source).stem if doc.source else "model"
    return _assemble(plan, config, doc, generated, out_dir or f"runs/{stem}", script)


# ---------------------------------------------------------------- decisions


def _recipe_name(config: Any) -> str:
    from graph_compiler.training.recipes import default_recipe_for, get_recipe

    name = config.recipe
    if name is None:
        task = _task_of(config.dataset)
        name = default_recipe_for(task) if task else None
        if name is None:
            raise ScriptExportError("training.recipe is not set and the dataset's task is not known "
                                    "before loading it; set training.recipe (e.g. \"classification\")")
    canonical = get_recipe(name).name
    if canonical not in RECIPE_TEMPLATES:
        raise ScriptExportError(f"recipe {canonical!r} has no training-script template; scripts support "
                                f"{', '.join(sorted(RECIPE_TEMPLATES))}")
    return canonical


def _task_of(spec: Any) -> str | None:
    from graph_compiler.training.datasets import list_datasets

    tasks = {d.name: d.task for d in list_datasets()}
    if isinstance(spec, str):
        return tasks.get(spec)
    if isinstance(spec, dict):
        return tasks.get(spec.get("name", "")) or spec.get("task")
    return None


def _dataset(plan: _Plan, spec: Any, doc: Document) -> None:
    """The data call: a built-in loader with its options, or a file loader with a path."""
    if isinstance(spec, str):
        spec = {"name": spec}
    options = dict(spec)
    if "name" in options and options["name"] in _standard_sets():
        plan.data_args = _standard_args(plan, options)
        return
    if "name" in options:
        name = options.pop("name")
        function = f"load_{name}"
        params = _template_params("builtin_data", function)
        if params is None:
            raise ScriptExportError(f"dataset {name!r} has no loader for training scripts")
        unknown = [k for k in options if k not in params and k != "seed"]
        if unknown:
            raise ScriptExportError(f"dataset {name!r} has no option {unknown[0]!r}; its options are: "
                                    f"{', '.join(p for p in params)}")
        seed = options.pop("seed", None)
        args = [f"{k}={_literal(v)}" for k, v in options.items()]
        args.append(f"seed={seed!r}" if seed is not None else 'seed=CONFIG["seed"]')
        plan.data_function, plan.data_args = function, args
        plan.data_doc = f"Built-in dataset {name!r}, rebuilt from its source."
        plan.needs += [_NEEDS[name]] if name in _NEEDS else []
        return
    sources = [k for k in _FILE_SOURCES if k in options]
    if len(sources) != 1:
        raise ScriptExportError("training.dataset must name one source: 'name', "
                                f"{', '.join(map(repr, _FILE_SOURCES))}; got keys {sorted(options)}")
    source = sources[0]
    function, allowed = _FILE_SOURCES[source]
    base = Path(doc.source).resolve().parent if doc.source else Path.cwd()
    path = Path(options.pop(source)).expanduser()
    plan.constants.append(("DATA_FILE", str(path if path.is_absolute() else base / path),
                           "the data file (edit to train on another)"))
    args = ["DATA_FILE"]
    if source == "idx_images" and "idx_labels" in options:
        labels = Path(options.pop("idx_labels")).expanduser()
        plan.constants.append(("LABELS_FILE", str(labels if labels.is_absolute() else base / labels), ""))
        args.append("LABELS_FILE")
    options.pop("name", None)
    options.pop("seed", None)
    for key, value in options.items():
        if key not in allowed:
            raise ScriptExportError(f"training.dataset key {key!r} is not valid with {source!r}")
        args.append(f"{allowed[key]}={_literal(value)}")
    plan.data_module = "file_data"
    plan.data_function, plan.data_args = function, args
    plan.data_doc = f"The {source.replace('_', ' ')} named by the document."
    plan.needs += [_NEEDS[source]] if source in _NEEDS else []


def _roles(plan: _Plan, config: Any, doc: Document, analysis: Analysis, generated: Generated) -> None:
    """Which networks the recipe trains and the settings it needs, as the recipe reads them."""
    options = config.options
    names = doc.network_names()
    recipe = plan.recipe

    def pick(option: str, preferred: tuple[str, ...], index: int, role: str) -> str:
        if option in options:
            if options[option] not in names:
                raise ScriptExportError(f"training.options.{option}: no network named {options[option]!r}; "
                                        f"networks: {', '.join(names)}")
            return str(options[option])
        for name in preferred:
            if name in names:
                return name
        if index < len(names):
            return names[index]
        raise ScriptExportError(f"the {role} network is missing; add a network named {preferred[0]!r} "
                                f"or set training.options.{option}")

    main_comment = "the network trained; its weights go to weights.safetensors"
    if recipe == "gan":
        g, d = pick("generator", ("Generator",), 0, "generator"), pick("discriminator", ("Discriminator",), 1,
                                                                        "discriminator")
        if g == d:
            raise ScriptExportError(f"the generator and the discriminator are both {g!r}; a GAN needs two networks")
        plan.constants += [("MAIN", g, "the generator: its weights go to weights.safetensors"),
                           ("GENERATOR", g, ""), ("DISCRIMINATOR", d, ""),
                           ("LATENT_SHAPE", _input_shape(analysis.networks[g], 0), "the noise z per sample")]
        return
    main = pick("network", (), 0, "trained")  # default: the document's main network
    info = analysis.networks[main]
    plan.constants.append(("MAIN", main, main_comment))
    if config.augment:  # augment_batch one-hot encodes labels for mixup / cutmix
        out = info.output_types()
        width = out[0].shape[-1] if out and out[0] is not None and len(out[0].shape) == 2 else None
        if width is None and any(a["type"] in ("mixup", "cutmix") for a in config.augment):
            raise ScriptExportError(f"training.augment mixes labels, but network {main!r} does not "
                                    "output one score per class [B, C]")
        plan.constants.append(("NUM_CLASSES", None if width is None else int(width),
                               "scores per sample: mixup / cutmix targets"))
    if recipe in ("autoencoder", "vae"):
        probabilities = _output_source(doc, info) == "Sigmoid"
        default = "bce" if recipe == "vae" and probabilities else "mse"
        plan.constants += [("RECON_LOSS", config.loss or default, "mse, l1 or bce"),
                           ("PROBABILITIES", probabilities, "the reconstruction comes out of a Sigmoid")]
    if recipe == "vae":
        decoder = str(options.get("decoder", "Decoder"))
        net = doc.network(main)
        nodes = [n.id for n in net.nodes if n.type == decoder] if net else []
        if not nodes:
            raise ScriptExportError(f"network {main!r} has no {decoder!r} block node: the VAE recipe samples "
                                    "through it (set training.options.decoder)")
        shape = _input_shape(analysis.networks[decoder], 0) if decoder in analysis.networks else ()
        plan.constants += [("DECODER_ATTR", generated.attrs[main][nodes[0]], f"the {decoder} block in {main}"),
                           ("LATENT_SHAPE", shape, "z per sample")]
    if recipe == "diffusion":
        port = _time_port(info, options)
        plan.constants += [("TIMESTEPS", int(options.get("timesteps", 1000)), "diffusion steps T"),
                           ("NOISE_SCHEDULE", str(options.get("noise_schedule", "linear")), "linear or cosine"),
                           ("TIME_PORT", port, f"the denoiser's Input {info.inputs[port]!r} takes t"),
                           ("SAMPLE_SHAPE", _input_shape(info, 1 - port), "x per sample")]


def _input_shape(info: NetworkInfo, port: int) -> tuple[int, ...]:
    types = info.input_types()
    t = types[port] if port < len(types) else None
    return tuple(t.shape[1:]) if t is not None else ()


def _output_source(doc: Document, info: NetworkInfo) -> str | None:
    net = doc.network(info.name)
    if net is None or not info.outputs:
        return None
    edges = net.in_edges(info.outputs[0])
    src = net.node(edges[0].src) if edges else None
    return src.type if src else None


def _time_port(info: NetworkInfo, options: dict[str, Any]) -> int:
    """Which Input takes the timestep, as the diffusion recipe decides."""
    ids = list(info.inputs)
    if len(ids) != 2:
        raise ScriptExportError(f"the denoiser {info.name!r} needs two Inputs (x and the timestep t), "
                                f"it has {len(ids)}")
    if "time_input" in options:
        if options["time_input"] not in ids:
            raise ScriptExportError(f"training.options.time_input: {options['time_input']!r} is not an Input")
        return ids.index(options["time_input"])
    for i, nid in enumerate(ids):
        if nid.lower() in _TIME_IDS:
            return i
    ones = [i for i in range(2) if _input_shape(info, i) == (1,)]
    if ones:
        return ones[-1]
    raise ScriptExportError(f"cannot tell which Input of {info.name!r} is the timestep: name it 't' or give it "
                            "shape [1] (or set training.options.time_input)")


def _standard_sets() -> dict[str, Any]:
    from graph_compiler.data.standard import STANDARD

    return STANDARD


def _standard_args(plan: _Plan, spec: dict[str, Any]) -> list[str]:
    """A standard dataset (mnist, cifar10 ...): fetched by the script itself, checked
    against the same pinned sha256 (DATA_FILES)."""
    options = dict(spec)
    name = options.pop("name")
    info = _standard_sets()[name]
    function = ("load_cifar_set" if "archive" in info.files else
                "load_text_windows" if "text" in info.files else "load_idx_set")
    params = [p for p in _template_params("standard_data", function) or [] if p != "group"]
    unknown = [k for k in options if k not in params]
    if unknown:
        raise ScriptExportError(f"dataset {name!r} has no option {unknown[0]!r}; its options are: "
                                f"{', '.join(params)}")
    seed = options.pop("seed", None)
    args = [json.dumps(name), *(f"{k}={_literal(v)}" for k, v in options.items()),
            f"seed={seed!r}" if seed is not None else 'seed=CONFIG["seed"]']
    files = {role: [f.name, f.sha256, list(f.urls)] for role, f in info.files.items()}
    if plan.data_module != "standard_data":
        plan.data_module, plan.data_function = "standard_data", function
        plan.data_doc = f"Standard dataset {name!r}, downloaded once and checked against its sha256."
        plan.constants.append(("DATA_FILES", files, f"the {name} files and their pinned sha256"))
    return args


def _validation(plan: _Plan, dataset: Any, validation: Any) -> None:
    train = dataset if isinstance(dataset, dict) else {"name": dataset}
    val = validation if isinstance(validation, dict) else {"name": validation}
    if plan.data_module != "standard_data" or val.get("name") != train.get("name"):
        raise ScriptExportError("training.validation: training scripts support another split of the same "
                                "standard dataset (e.g. {\"name\": \"mnist\", \"split\": \"test\"}); "
                                f"got {validation!r}")
    plan.validation_args = _standard_args(plan, val)


def _template_params(module: str, function: str) -> list[str] | None:
    path = Path(__file__).parent / "script_templates" / f"{module}.py"
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.FunctionDef) and node.name == function:
            return [a.arg for a in node.args.args]
    return None


# ---------------------------------------------------------------- assembly


def _assemble(plan: _Plan, config: Any, doc: Document, generated: Generated, out_dir: str,
              script: str) -> str:
    schedule = config.schedule.type
    augment = ["augment", "augment_ops"] if config.augment else []
    templates = Templates([*RECIPE_TEMPLATES[plan.recipe], "recipe_common", "training", "optimizers",
                           "schedules", plan.data_module, *augment])
    templates.require("main", "train_step", "eval_step", "build_networks", "make_optimizers",
                      f"make_optimizer_{config.optimizer}", f"lr_at_{schedule}", plan.data_function)
    has_finish = templates.defines("finish")
    if has_finish:
        templates.require("finish")
    settings = _settings(plan, config, out_dir)
    data = "\n\n\n".join(filter(None, [templates.text(plan.data_module), _load_data(plan)]))
    training = templates.text("training")
    if not has_finish:  # nothing to sample after training: drop main()'s call
        training = re.sub(r"\n +finish\(networks, normaliser, out, device\)", "", training)
    if plan.validation_args is not None:  # training.validation: a split of its own
        training = training.replace('train, val = split(x, y, CONFIG["val_split"], args.seed)',
                                    "train, val = (x, y), load_validation()")
    if not augment:  # no training.augment: batches go to train_step as they are
        training = re.sub(r"\n +batch = augment_batch\(.*\)", "", training)
        training = training.replace("for index, batch in enumerate(batches):", "for batch in batches:")
    training_parts = [
        _rename(templates.text("optimizers"), f"make_optimizer_{config.optimizer}", "make_optimizer"),
        _rename(templates.text("schedules"), f"lr_at_{schedule}", "lr_at"),
        training,
    ]
    recipe = "\n\n\n".join(filter(None, [templates.text("recipe_common"),
                                         *(templates.text(m) for m in RECIPE_TEMPLATES[plan.recipe])]))
    if augment:
        training_parts[:0] = [templates.text("augment_ops"), templates.text("augment")]
    sections = [
        ("model: the network classes, as `netwright export` writes them", _model_code(generated)),
        ("settings", settings),
        ("data", data),
        ("training loop (distributed with torchrun)", "\n\n\n".join(filter(None, training_parts))),
        (f"recipe: {plan.recipe}", recipe),
    ]
    # A banner, two blank lines, its code: the layout ruff format and isort agree on.
    body = "\n\n".join(f"{_banner(title)}\n\n\n{text.strip()}\n" for title, text in sections)
    body += "\n\n"
    body += 'if __name__ == "__main__":\n    main()\n'
    head = _docstring(plan, config, doc, generated, script)
    return head + "\n" + _imports(body) + "\n" + body


def _rename(text: str, old: str, new: str) -> str:
    return re.sub(rf"\bdef {re.escape(old)}\(", f"def {new}(", text)


def _model_code(generated: Generated) -> str:
    """The generated module without its header, build_model() and __main__ block."""
    parts = generated.source.split("\n\n\n")
    if len(parts) < 4 or not parts[-1].startswith("if __name__") or not parts[-2].startswith("def build_model"):
        raise ScriptExportError("internal error: generated code has an unexpected layout")
    return "\n\n\n".join(parts[1:-2]) + "\n"


def _banner(title: str) -> str:
    line = f"# {'-' * 10} {title} "
    return line + "-" * max(0, WIDTH - len(line))


def _settings(plan: _Plan, config: Any, out_dir: str) -> str:
    data = config.to_dict()
    for key in ("device", "amp", "in_memory", "stream_threshold_mb", "early_stopping"):
        data.pop(key, None)  # the script picks its device itself; no AMP / early stop here
    normalize = config.normalize
    if normalize == "auto":
        from graph_compiler.training.recipes import get_recipe

        normalize = get_recipe(plan.recipe).normalize
    lines = [
        "# The document's training section, as Netwright reads it. The command line",
        "# overrides epochs, batch_size, lr and seed.",
        f"CONFIG = {_literal(data, 0, len('CONFIG = '))}",
        'OPTIONS = CONFIG["options"]',
    ]
    constants = [*plan.constants,
                 ("NORMALIZE", normalize, "auto, features (per feature), channels or none"),
                 ("OUT_DIR", out_dir, "checkpoints: weights.safetensors, run.json")]
    for name, value, comment in constants:
        line = f"{name} = {_literal(value, 0, len(name) + 3)}"
        if comment and len(line) + len(comment) + 4 <= WIDTH:
            line += f"  # {comment}"
        elif comment:
            line = f"# {comment}\n{line}"
        lines.append(line)
    return "\n".join(lines)


def _load_data(plan: _Plan) -> str:
    text = _loader("load_data", plan.data_doc, plan.data_function, plan.data_args)
    if plan.validation_args is not None:
        text += "\n\n\n" + _loader("load_validation", "The validation split (training.validation).",
                                    plan.data_function, plan.validation_args)
    return text


def _loader(name: str, doc: str, function: str, args: list[str]) -> str:
    call = f"    return {function}({', '.join(args)})"
    if len(call) > WIDTH:  # one argument per line, as ruff format lays out a long call
        call = "\n".join([f"    return {function}(", *(f"        {a}," for a in args), "    )"])
    return f'def {name}():\n    """{doc}"""\n{call}'


def _docstring(plan: _Plan, config: Any, doc: Document, generated: Generated, script: str) -> str:
    main = generated.class_names[doc.main.name]
    dataset = config.dataset if isinstance(config.dataset, str) else (
        config.dataset.get("name") or next(iter(config.dataset.values())))
    needs = ", ".join(["torch", "numpy", "safetensors", *dict.fromkeys(plan.needs)])
    source = doc_text(doc.display_name)
    return (
        f'"""Train {main} ({plan.recipe} on {doc_text(str(dataset))}): a script exported by Netwright.\n'
        "\n"
        f"Exported from {source}. Needs {needs}; not Netwright.\n"
        "\n"
        f"    python {script} [--epochs N] [--batch-size B] [--lr X] [--out DIR]\n"
        f"    torchrun --standalone --nproc_per_node K {script}\n"
        f"    torchrun --nnodes M --node_rank R --master_addr HOST --nproc_per_node K {script}\n"
        "\n"
        "torchrun runs K processes per machine (DDP: gloo on CPU, NCCL on GPUs). Each\n"
        "epoch prints one line (epoch 3 train_loss 0.1234 val_loss 0.1500 ...); rank 0\n"
        "writes OUT/weights.safetensors and OUT/run.json after every epoch. --batch-size\n"
        "is per process: K processes take K times as many samples per step.\n"
        '"""\n'
    )


def _imports(body: str) -> str:
    used = {n.id for n in ast.walk(ast.parse(body)) if isinstance(n, ast.Name)}
    groups = [[stmt for name, stmt in group if name in used] for group in (_STDLIB, _THIRD_PARTY)]
    return "\n\n".join("\n".join(g) for g in groups if g) + "\n"


def _literal(value: Any, indent: int = 0, used: int = 0) -> str:
    """A Python literal laid out as ruff formats it: on one line when it fits in what
    the line has left (``used`` columns are taken around it), else one item per line
    with a trailing comma."""
    flat = _flat(value)
    if indent + used + len(flat) <= WIDTH or not isinstance(value, (dict, list, tuple)) or not value:
        return flat
    pad = " " * (indent + 4)
    if isinstance(value, dict):
        items = []
        for k, v in value.items():
            key = json.dumps(str(k))
            items.append(f"{pad}{key}: {_literal(v, indent + 4, len(key) + 3)},")
        return "{\n" + "\n".join(items) + "\n" + " " * indent + "}"
    items = [f"{pad}{_literal(v, indent + 4, 1)}," for v in value]
    left, right = ("[", "]") if isinstance(value, list) else ("(", ")")
    return left + "\n" + "\n".join(items) + "\n" + " " * indent + right


def _flat(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(str(k))}: {_flat(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_flat(v) for v in value) + "]"
    if isinstance(value, tuple):
        inner = ", ".join(_flat(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, str):
        return json.dumps(value)
    return repr(value)


__all__ = ["RECIPE_TEMPLATES", "ScriptExportError", "generate_script"]
