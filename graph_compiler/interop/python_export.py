"""``netwright export FILE -o OUT.py [--weights DIR]``: the generated module, plus weights.

With weights, the exporter checks them against the network, writes them next to the
script as ``OUT.safetensors``, and adds a ``load_weights(path)`` helper to the script,
which reads them with ``safetensors.torch.load_model`` (tensors only, no pickle; it
restores tied weights, which the file stores once).
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from graph_compiler.codegen import generate
from graph_compiler.atomic import atomic_write
from graph_compiler.document import Document
from graph_compiler.interop import InteropError

_LOADER = '''
WEIGHTS_FILE = Path(__file__).with_name({file})


def load_weights(path: str | Path = WEIGHTS_FILE, model: nn.Module | None = None) -> nn.Module:
    """{cls} (or `model`) with the trained weights saved in a safetensors file.

    safetensors holds tensors only, so loading it runs no code (unlike pickle).
    """
    from safetensors.torch import load_model

    model = build_model() if model is None else model
    load_model(model, str(path))  # strict; restores tied weights stored once
    return model
'''

_CALIBRATION = '''
# Temperature scaling fitted by `netwright evaluate --save-temperature` (Guo et al. 2017):
# dividing the logits by it makes the softmax confidences match the accuracy.
TEMPERATURE = {t!r}


def calibrated_probabilities(logits: torch.Tensor) -> torch.Tensor:
    """Class probabilities from the model's logits, with the fitted temperature."""
    return torch.softmax(logits / TEMPERATURE, dim=-1)
'''

_MAIN = 'if __name__ == "__main__":\n'


def add_weight_loader(source: str, weights_name: str, class_name: str, temperature: float | None = None) -> str:
    """Generated source with ``load_weights`` defined before its ``__main__`` block, which
    then runs the trained model instead of a freshly initialised one. With
    ``temperature`` (a run calibrated by ``netwright evaluate --save-temperature``), also
    ``TEMPERATURE`` and ``calibrated_probabilities(logits)``."""
    head, sep, main = source.rpartition(_MAIN)
    if not sep or "import torch\n" not in head:
        raise InteropError("internal error: generated code has an unexpected layout")
    head = head.replace("import torch\n", "from pathlib import Path\n\nimport torch\n", 1)
    loader = _LOADER.format(file=json.dumps(weights_name), cls=class_name).lstrip("\n")
    if temperature is not None:
        loader += "\n" + _CALIBRATION.format(t=float(temperature))
    main = main.replace("model = build_model()", "model = load_weights()", 1)
    return f"{head}{loader}\n\n{sep}{main}"


def export_python(doc: Document, out: str | os.PathLike[str],
                  weights: str | os.PathLike[str] | None = None) -> list[Path]:
    """Write the module source (and, with ``weights``, OUT.safetensors); returns the paths."""
    out = Path(out)
    generated = generate(doc)
    source = generated.source
    written: list[Path] = []
    if weights is not None:
        from graph_compiler.compile import exec_source
        from graph_compiler.interop.weights import load_weights
        from graph_compiler.training.checkpoints import save_weights

        model = exec_source(source)["NETWORKS"][doc.main.name]()
        state = load_weights(model, weights, doc)
        weights_out = out.with_suffix(".safetensors")
        save_weights(weights_out, state)
        written.append(weights_out)
        source = add_weight_loader(source, weights_out.name, generated.class_names[doc.main.name],
                                   _run_temperature(Path(weights)))
    atomic_write(out, source.encode("utf-8"))
    return [out, *written]


def _run_temperature(weights: Path) -> float | None:
    """The temperature a run folder's run.json records (``calibration.temperature``)."""
    run_json = weights / "run.json"
    if not run_json.is_file():
        return None
    try:
        cal = json.loads(run_json.read_text(encoding="utf-8")).get("calibration")
    except (OSError, ValueError, AttributeError):
        return None  # the weights loader has vetted the folder already; no temperature then
    t = cal.get("temperature") if isinstance(cal, dict) else None
    return float(t) if isinstance(t, (int, float)) and not isinstance(t, bool) and t > 0 else None


__all__ = ["add_weight_loader", "export_python"]
