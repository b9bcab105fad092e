"""`netwright import` on bad input: one clear message naming the culprit, no traceback,
exit status 1, and nothing written to -o."""
from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import torch
from torch import nn

from graph_compiler.analysis import Analyzer
from graph_compiler.cli import main as cli_main
from graph_compiler.compile import CompiledDocument
from graph_compiler.interop.fx_import import import_model

MODELS = textwrap.dedent('''
    import torch
    from torch import nn


    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 2)

        def forward(self, x):
            return self.fc(x)


    def broken():
        raise ValueError("no weights file at /models/net.pt")


    class NeedsArgs(nn.Module):
        def __init__(self, width):
            super().__init__()


    class Branchy(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 4)

        def forward(self, x):
            if x.sum() > 0:
                return self.fc(x)
            return x


    class Detector(nn.Module):
        def __init__(self):
            super().__init__()
            self.boxes = nn.Linear(4, 4)
            self.scores = nn.Linear(4, 1)

        def forward(self, x):
            return {"boxes": self.boxes(x), "scores": self.scores(x)}
''')


@pytest.fixture
def zoo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "bad_models.py").write_text(MODELS)
    (tmp_path / "syntax_error.py").write_text("import torch\nclass Net(:\n")
    monkeypatch.chdir(tmp_path)
    return tmp_path


CASES = {
    "module cannot be imported": (["no_such_module:Net", "--input-shape", "4"], "cannot import no_such_module"),
    "syntax error": (["syntax_error.py:Net", "--input-shape", "4"], "cannot import syntax_error.py: SyntaxError"),
    "missing attribute": (["bad_models.py:Missing", "--input-shape", "4"], "has no attribute 'Missing'"),
    "factory raises": (["bad_models.py:broken", "--input-shape", "4"],
                       "the factory broken raised ValueError at bad_models.py:{raise ValueError}: no weights file"),
    "class needs arguments": (["bad_models.py:NeedsArgs", "--input-shape", "4"], "needs arguments (width)"),
    "wrong input shape": (["bad_models.py:Net", "--input-shape", "3,5"],
                          "Net does not run on inputs [B, 3, 5] at bad_models.py:12: mat1 and mat2 shapes cannot be "
                          "multiplied"),
    "unreadable input shape": (["bad_models.py:Net", "--input-shape", "four"], "--input-shape 'four'"),
    "a letter among the sizes": (["bad_models.py:Net", "--input-shape", "1,x,28"],
                                 "--input-shape '1,x,28': entry 2 'x' is not an integer"),
    "an empty size": (["bad_models.py:Net", "--input-shape", "4,,4"], "--input-shape '4,,4': entry 2 is empty"),
    "a zero size": (["bad_models.py:Net", "--input-shape", "4,0"], "--input-shape '4,0': entry 2 (0) must be positive"),
    "a negative size": (["bad_models.py:Net", "--input-shape", "4,-3"],
                        "--input-shape '4,-3': entry 2 (-3) must be positive"),
    "a fractional size": (["bad_models.py:Net", "--input-shape", "4.5"],
                          "--input-shape '4.5': entry 1 '4.5' is not an integer"),
    "too many inputs": (["bad_models.py:Net", "--input-shape", "4", "--input-shape", "4"],
                        "Net.forward takes 1 input(s) (x) but 2 input shape(s) were given"),
    "data-dependent control flow": (["bad_models.py:Branchy", "--input-shape", "4"],
                                    "uses a tensor's values in Python control flow"),
    "dict output": (["bad_models.py:Detector", "--input-shape", "4"], "returns a dict (keys boxes, scores)"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_gives_one_clear_message_and_writes_nothing(case: str, zoo: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    args, message = CASES[case]
    message = message.replace("{raise ValueError}", str(_line("raise ValueError")))
    out = zoo / "out.json"
    assert cli_main(["import", *args, "-o", str(out)]) == 1
    err = capsys.readouterr().err
    assert message in err, err
    assert len(err.strip().splitlines()) == 1, err  # one line
    assert "Traceback" not in err
    assert not out.exists()


def test_data_dependent_branch_names_its_line(zoo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["import", "bad_models.py:Branchy", "--input-shape", "4", "-o", "x.json"]) == 1
    assert f"bad_models.py:{_line('if x.sum() > 0:')}: if x.sum() > 0:" in capsys.readouterr().err


def _line(code: str) -> int:
    return next(i for i, text in enumerate(MODELS.splitlines(), 1) if code in text)


class ShapeChecks(nn.Module):
    """Shape asserts, torch._assert and branches on sizes: specialised, not refused."""

    def __init__(self) -> None:
        super().__init__()
        self.wide = nn.Linear(8, 2)
        self.narrow = nn.Linear(4, 2)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        assert x.dim() == 3, "expects [B, T, C]"
        b, t, c = x.shape
        torch._assert(t <= 16, "sequence too long")
        if mask is not None:
            x = x * mask
        h = x.mean(dim=1)
        return self.wide(h) if c == 8 else self.narrow(h)


def test_shape_checks_and_none_defaults_are_specialised_with_notes() -> None:
    model = ShapeChecks()
    doc = import_model(model, (5, 8))
    assert Analyzer().analyze(doc).ok
    assert [n.type for n in doc.main.nodes if n.type == "Input"] == ["Input"]  # mask=None left out
    assert "wide" in {n.id for n in doc.main.nodes} and "narrow" not in {n.id for n in doc.main.nodes}
    notes = " ".join(doc.meta["import"]["notes"])
    assert "specialised on the input shape" in notes and "b, t, c = x.shape" in notes
    rebuilt = CompiledDocument(doc).build().eval()
    rebuilt.load_state_dict({k: v for k, v in model.state_dict().items() if k.startswith("wide.")})
    x = torch.randn(3, 5, 8)
    with torch.no_grad():
        assert torch.allclose(rebuilt(x), model.eval()(x), atol=1e-6)


def test_densenet_style_single_input_cat_is_the_input_itself() -> None:
    class Layer(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(4, 4)

        def forward(self, features: list[torch.Tensor]) -> torch.Tensor:
            return self.fc(torch.cat(features, 1))

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.layer = Layer()

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.layer([x])

    doc = import_model(Net(), (4,))
    assert "Concat" not in {n.type for n in doc.main.nodes}
    assert Analyzer().analyze(doc).ok


def test_an_x_separated_shape_still_reads(zoo: Path) -> None:
    from graph_compiler.cli import lists

    assert lists.shape("1x28x28", "--input-shape") == (1, 28, 28)
    assert lists.shape("16", "--input-shape") == (16,)


@pytest.mark.parametrize(("flag", "value", "message"), [
    ("--samples", "0,a", "--samples '0,a': entry 2 'a' is not an integer"),
    ("--samples", "0,-1", "--samples '0,-1': entry 2 (-1) must be >= 0"),
    ("--eps", "0.1,,0.2", "--eps '0.1,,0.2': entry 2 is empty"),
    ("--eps", "0,nan", "--eps '0,nan': entry 2 'nan' is not a finite number"),
])
def test_evaluate_refuses_a_bad_list_entry_naming_it(tmp_path: Path, flag: str, value: str, message: str,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["evaluate", "--weights", str(tmp_path), f"{flag}={value}"]) == 1
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
