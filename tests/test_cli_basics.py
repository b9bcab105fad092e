"""What README's "The command line" section promises: validate's output and exit codes,
summary's table and --json, one-line errors with --debug for a traceback, no Qt."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from graph_compiler import document
from graph_compiler.analysis import Analyzer
from graph_compiler.cli import COMMANDS
from graph_compiler.cli import main as cli_main
from graph_compiler.document import Document, Edge, Network, Node
from graph_compiler.examples import example_names, example_path

ROOT = Path(__file__).resolve().parent.parent


def _netwright(*args: str, cwd: Path, blocker: str = "") -> subprocess.CompletedProcess[str]:
    code = blocker + "import sys\nfrom graph_compiler.cli import main\nsys.exit(main(sys.argv[1:]))\n"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=cwd,
                          env=env, timeout=300, check=False)


def _bad_doc(path: Path) -> Path:
    nodes = [Node("x", "Input", {"shape": [4]}), Node("fc", "Linear", {"out_features": -3}), Node("o", "Output")]
    document.save(Document([Network("Net", nodes, [Edge("x", "fc"), Edge("fc", "o")])]), path)
    return path


def test_validate_every_example_is_ok(capsys: pytest.CaptureFixture[str]) -> None:
    paths = [str(example_path(n)) for n in example_names()]
    assert cli_main(["validate", *paths]) == 0
    assert capsys.readouterr().out.splitlines() == [f"{p}: ok" for p in paths]


def test_validate_exit_codes_and_problem_lines(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = _bad_doc(tmp_path / "bad.json")
    assert cli_main(["validate", str(bad)]) == 1
    out = capsys.readouterr()
    lines = (out.out + out.err).strip().splitlines()
    assert lines and lines[0].startswith(f"{bad}:Net/fc: ") and "out_features" in lines[0]
    garbage = tmp_path / "garbage.json"
    garbage.write_text("not json")
    assert cli_main(["validate", str(garbage)]) == 2
    assert str(garbage) in capsys.readouterr().err
    assert cli_main(["validate", str(tmp_path / "missing.json")]) == 2
    assert "missing.json" in capsys.readouterr().err


def test_summary_table_and_json_agree_with_the_analysis(capsys: pytest.CaptureFixture[str]) -> None:
    path = example_path("cnn_digits")
    analysis = Analyzer().analyze(document.load(path))
    main = analysis.networks[document.load(path).main.name]
    assert cli_main(["summary", str(path)]) == 0
    table = capsys.readouterr().out
    header = next(line for line in table.splitlines() if line.startswith("node"))
    assert header.split() == ["node", "type", "output", "shape", "params", "FLOPs"]
    assert f"Total: {main.total_params:,} parameters" in table
    assert cli_main(["summary", str(path), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["total_params"] == main.total_params and data["flops"] == main.flops
    assert data["trainable_params"] <= data["total_params"]
    nodes = data["networks"][0]["nodes"]
    assert {n["id"] for n in nodes} == {n.id for n in document.load(path).main.nodes}
    assert {"type", "output_shape", "params", "flops"} <= set(nodes[0])


def test_summary_of_an_invalid_file_reports_unknown_totals_not_zero(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = _bad_doc(tmp_path / "bad.json")
    assert cli_main(["summary", str(bad)]) == 1
    out = capsys.readouterr()
    assert "Total: 0 parameters" not in out.out
    assert f"Total: unknown: network Net is invalid (1 error); see `netwright validate {bad}`" in out.out
    assert f"{bad}:Net/fc: " in out.err  # the error itself
    assert cli_main(["summary", str(bad), "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["total_params"] is None and data["trainable_params"] is None and data["flops"] is None
    assert data["unknown_reason"] == "network Net is invalid (1 error)" and data["valid"] is False
    net = data["networks"][0]
    assert net["params"] is None and net["unknown_reason"] == data["unknown_reason"]
    fc = next(n for n in net["nodes"] if n["id"] == "fc")
    assert fc["params"] is None and fc["output_shape"] is None
    good = json.loads((cli_main(["summary", str(example_path("cnn_digits")), "--json"]), capsys.readouterr().out)[1])
    assert good["unknown_reason"] is None and good["networks"][0]["unknown_reason"] is None


@pytest.mark.parametrize("where", ["before", "after"])
def test_errors_are_one_line_and_debug_shows_the_traceback(tmp_path: Path, where: str) -> None:
    garbage = tmp_path / "garbage.json"
    garbage.write_text("not json")
    plain = _netwright("export", str(garbage), "-o", "m.py", cwd=tmp_path)
    assert plain.returncode == 2  # unreadable input
    assert plain.stderr.strip().splitlines() == [f"netwright: {garbage}: invalid JSON at line 1, column 1: "
                                                 "Expecting value"]
    args = ["--debug", "export", str(garbage), "-o", "m.py"] if where == "before" else \
        ["export", str(garbage), "-o", "m.py", "--debug"]
    debug = _netwright(*args, cwd=tmp_path)
    assert debug.returncode != 0
    assert "Traceback (most recent call last)" in debug.stderr and "DocumentError" in debug.stderr


def test_a_closed_pipe_is_not_an_error(tmp_path: Path) -> None:
    """`netwright summary big.json | head` must not end in 'internal error: BrokenPipeError'."""
    nodes = [Node("x", "Input", {"shape": [8]})]
    nodes += [Node(f"relu{i}", "ReLU") for i in range(800)] + [Node("o", "Output")]
    edges = [Edge(a.id, b.id) for a, b in zip(nodes, nodes[1:])]
    path = tmp_path / "long.json"
    document.save(Document([Network("Long", nodes, edges)]), path)
    code = "import sys\nfrom graph_compiler.cli import main\nsys.exit(main(sys.argv[1:]))\n"
    proc = subprocess.Popen([sys.executable, "-c", code, "summary", str(path), "--json"], cwd=tmp_path,
                            env=dict(os.environ, PYTHONPATH=str(ROOT)), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.read(20).startswith("{")
    proc.stdout.close()  # like `head -c 20`
    err = proc.stderr.read()
    proc.wait(timeout=300)
    assert "internal error" not in err and "Traceback" not in err and "Exception ignored" not in err, err


_BLOCK_QT = '''
import importlib.abc, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("PySide6", "shiboken6", "pyqtgraph", "designer"):
            raise ImportError(f"{name} is blocked")
        return None
sys.meta_path.insert(0, Block())
'''


def test_every_headless_command_works_with_qt_blocked(tmp_path: Path) -> None:
    """`--help` of a command builds the parser of every command, importing all of them."""
    for name in COMMANDS:
        out = _netwright(name, "--help", cwd=tmp_path, blocker=_BLOCK_QT)
        assert out.returncode == 0, (name, out.stderr[-2000:])
        assert "blocked" not in out.stderr
    cnn = str(example_path("cnn_digits"))
    for args in (["validate", cnn], ["summary", cnn], ["export", cnn, "-o", "m.py"], ["dataset", "--list"]):
        out = _netwright(*args, cwd=tmp_path, blocker=_BLOCK_QT)
        assert out.returncode == 0, (args, out.stderr[-2000:])
    assert (tmp_path / "m.py").is_file()


@pytest.mark.parametrize("command", [
    ["validate"], ["summary"], ["export", "-o", "m.py"], ["train"], ["evaluate", "--weights", "run"],
    ["sample", "--weights", "run"], ["diff", "other.json"],
])
def test_every_command_exits_2_for_a_file_that_is_not_a_readable_design(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], command: list[str]) -> None:
    """The documented exit status: 2 for unreadable input, in every command alike."""
    from graph_compiler.cli import main as cli

    monkeypatch.chdir(tmp_path)
    (tmp_path / "garbage.json").write_text("not json")
    for name in ("missing.json", "garbage.json"):
        args = [command[0], name, *command[1:]]
        assert cli(args) == 2, args
        err = capsys.readouterr().err
        assert name in err and "Traceback" not in err
    assert not (tmp_path / "m.py").exists()
