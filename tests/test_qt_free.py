"""graph_compiler is the Qt-free core: it must import and work with PySide6, pyqtgraph and
the designer package unavailable (as on a headless CI server or a training box)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
GOLDEN = Path(__file__).parent / "golden"

_BLOCKER = '''
import importlib.abc, sys

BLOCKED = ("PySide6", "shiboken6", "pyqtgraph", "designer", "PyQt5", "PyQt6")

class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError(f"{name} is blocked: graph_compiler must not import it")
        return None

sys.meta_path.insert(0, Block())
'''


def run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", _BLOCKER + code], check=False, capture_output=True, text=True,
                          cwd=REPO, timeout=180)


def test_blocker_works() -> None:
    out = run("import PySide6")
    assert out.returncode != 0 and "is blocked" in out.stderr


def test_core_imports_and_works_without_qt() -> None:
    code = f'''
import importlib, pkgutil
import graph_compiler
from graph_compiler import document
from graph_compiler.analysis import Analyzer
from graph_compiler.codegen import generate
from graph_compiler.compile import CompiledDocument
for mod in ("graph_compiler.catalog", "graph_compiler.naming", "graph_compiler.pyfmt", "graph_compiler.graphs",
            "graph_compiler.errors"):
    importlib.import_module(mod)
doc = document.load({str(GOLDEN / "residual.json")!r})
analysis = Analyzer().analyze(doc)
assert analysis.ok, analysis.diagnostics
model = CompiledDocument(doc, analysis).build()
import torch
assert model(torch.randn(2, 3, 8, 8)).shape == (2, 10)
assert not [m for m in sys.modules if m.split(".")[0] in BLOCKED]
print("ok")
'''
    out = run(code)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip() == "ok"


def test_cli_works_without_qt() -> None:
    if not (REPO / "graph_compiler" / "cli").exists():
        return
    code = f'''
import graph_compiler.cli
from graph_compiler.cli import main
code = main(["validate", {str(GOLDEN / "mlp.json")!r}])
assert code == 0, code
code = main(["summary", {str(GOLDEN / "lstm.json")!r}])
assert code == 0, code
assert not [m for m in sys.modules if m.split(".")[0] in BLOCKED]
print("ok")
'''
    out = run(code)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip().endswith("ok")
