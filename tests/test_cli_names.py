"""Names are user text: `validate` and `summary` keep one problem / one node per line whatever
characters a network or node name holds."""
from __future__ import annotations

from pathlib import Path

import pytest

from graph_compiler.cli import main
from graph_compiler.document import Document, Edge, Network, Node, dumps

NODE = 'fc"); __import__("os")\n#\u2028\u00e9\u4e2d'
NET = 'Net\r\nx\t"""'


def write(tmp_path: Path, fc_type: str) -> Path:
    nodes = [Node("x", "Input", {"shape": [8]}), Node(NODE, fc_type, {"out_features": 4}), Node("y", "Output")]
    doc = Document([Network(NET, nodes, [Edge("x", NODE), Edge(NODE, "y")])])
    path = tmp_path / "hostile.json"
    path.write_text(dumps(doc), encoding="utf-8")
    return path


def test_validate_prints_each_problem_on_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "Lienar")
    assert main(["validate", str(path)]) == 1
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    assert "\\n#\\u2028\u00e9\u4e2d" in out and "Net\\r\\nx\\t" in out and "'Lienar'" in out


def test_summary_prints_each_node_on_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "Linear")
    assert main(["summary", str(path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == 'Network Net\\r\\nx\\t"""'
    assert [line.split()[0] for line in lines[3:6]] == ["x", 'fc");', "y"]
    assert len(lines) == 8  # title, header, rule, 3 nodes, total, blank
