"""The rules the code base keeps, as checks: layer contracts, small modules, CI wiring,
no references to documents outside the repository, no test modules without tests."""
from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("graph_compiler", "designer")
MAX_MODULE_LINES = 600  # aim for 500; past this a module has more than one job


def _sources() -> list[Path]:
    return sorted(p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py"))


def test_import_contracts_hold() -> None:
    """pyproject.toml's [tool.importlinter] contracts (what `make check` runs in CI)."""
    exe = Path(sys.executable).with_name("lint-imports")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run([str(exe), "--no-cache", "--no-logo"], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=300, check=False)
    assert out.returncode == 0, out.stdout + out.stderr
    kept = re.findall(r"^(.+?) KEPT\b", out.stdout, re.M)
    assert {"The compiler never imports the designer or Qt", "The canvas does not import the training dashboard",
            "Compiler layers import only downward"} <= set(kept)


def test_ci_runs_the_static_checks_then_the_tests() -> None:
    steps = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()
             if line.strip().startswith("make ")]
    assert steps == ["make check", "make test"]
    makefile = (ROOT / "Makefile").read_text()
    check = makefile.split("\ncheck:", 1)[1].split("\n\n", 1)[0]
    assert check.startswith(" lint") and "lint-imports" in check and "mypy" in check
    lint = makefile.split("\nlint:", 1)[1].split("\n\n", 1)[0]
    assert "ruff check graph_compiler designer tests" in lint


def test_modules_stay_small() -> None:
    big = {str(p.relative_to(ROOT)): n for p in _sources()
           if (n := len(p.read_text("utf-8").splitlines())) > MAX_MODULE_LINES}
    assert big == {}, f"split these by job (aim for <= 500 lines): {big}"


def test_no_references_to_documents_outside_the_repository() -> None:
    stale = re.compile(r"GUIDE(\.md)?\b|the guide\b|INTERFACE-READY", re.I)
    hits = [f"{p.relative_to(ROOT)}:{i}" for p in [*_sources(), *(ROOT / "tests").glob("*.py")]
            if p.name != "test_architecture.py"
            for i, line in enumerate(p.read_text("utf-8").splitlines(), 1) if stale.search(line)]
    assert hits == []


def test_every_test_module_has_tests() -> None:
    empty = []
    for p in sorted((ROOT / "tests").glob("test_*.py")):
        tree = ast.parse(p.read_text("utf-8"))
        names = [n.name for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
        if not any(name.startswith("test") for name in names):
            empty.append(p.name)
    assert empty == [], "helper modules shared by tests should not be named test_*.py"
