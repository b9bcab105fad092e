"""`netwright export FILE -o OUT.py [--weights DIR]`: the model code, with trained weights."""
from __future__ import annotations

import runpy
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from graph_compiler import examples
from graph_compiler.cli import main as cli_main
from graph_compiler.compile import CompiledDocument
from graph_compiler.document import save
from graph_compiler.interop.python_export import export_python
from graph_compiler.interop.weights import WeightsError
from graph_compiler.training.checkpoints import save_weights


@pytest.fixture()
def mlp(tmp_path: Path) -> Path:
    path = tmp_path / "mlp.json"
    save(examples.load_example("mlp_digits"), path)
    return path


def _trained_run(doc_path: Path, folder: Path) -> dict[str, torch.Tensor]:
    from graph_compiler import document

    model = CompiledDocument(document.load(doc_path)).build()
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(-2.0)  # recognisably not a fresh initialisation
    folder.mkdir()
    save_weights(folder / "weights.safetensors", model.state_dict())
    return model.state_dict()


def test_plain_export_still_writes_the_code(mlp: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["export", str(mlp)]) == 0
    assert "class DigitsMLP(nn.Module)" in capsys.readouterr().out
    assert cli_main(["export", str(mlp), "-o", str(tmp_path / "m.py")]) == 0
    assert "def build_model()" in (tmp_path / "m.py").read_text()


def test_weights_travel_with_the_exported_module(mlp: Path, tmp_path: Path) -> None:
    state = _trained_run(mlp, tmp_path / "run")
    out = tmp_path / "out" / "digits_model.py"
    out.parent.mkdir()
    assert cli_main(["export", str(mlp), "-o", str(out), "--weights", str(tmp_path / "run")]) == 0
    weights = out.with_suffix(".safetensors")
    assert weights.is_file()
    namespace = runpy.run_path(str(out))
    model = namespace["load_weights"]()  # next to the script by default
    for key, value in state.items():
        assert torch.equal(model.state_dict()[key], value), key
    again = namespace["load_weights"](weights, namespace["build_model"]())
    assert torch.equal(again.state_dict()["fc1.weight"], state["fc1.weight"])
    # The file runs on its own (torch + safetensors), from any working directory.
    run = subprocess.run([sys.executable, str(out)], cwd=tmp_path, check=False, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "[(2, 10)]" in run.stdout
    assert "pickle" not in out.read_text().replace("unlike pickle", "")


def test_a_weights_file_may_be_given_directly(mlp: Path, tmp_path: Path) -> None:
    _trained_run(mlp, tmp_path / "run")
    paths = export_python(examples.load_example("mlp_digits"), tmp_path / "m.py",
                          tmp_path / "run" / "weights.safetensors")
    assert [p.name for p in paths] == ["m.py", "m.safetensors"]


def test_weights_of_another_network_are_refused(mlp: Path, tmp_path: Path) -> None:
    other = examples.load_example("cnn_digits")
    (tmp_path / "run").mkdir()
    save_weights(tmp_path / "run" / "weights.safetensors", CompiledDocument(other).build().state_dict())
    with pytest.raises(WeightsError, match="missing: fc1.weight"):
        export_python(examples.load_example("mlp_digits"), tmp_path / "m.py", tmp_path / "run")
    assert not (tmp_path / "m.py").exists()


def test_cli_reports_weight_problems_without_traceback(mlp: Path, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["export", str(mlp), "-o", str(tmp_path / "m.py"), "--weights", str(tmp_path / "nope")]) == 1
    assert "no such file or directory" in capsys.readouterr().err
    assert cli_main(["export", str(mlp), "--weights", str(tmp_path)]) == 1
    assert "--weights needs -o" in capsys.readouterr().err
