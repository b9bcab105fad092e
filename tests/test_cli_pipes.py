"""`netwright` writing into a pipe whose reader has gone (`... | head`): no error message."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from graph_compiler.examples import example_path

ROOT = Path(__file__).resolve().parent.parent


def test_a_closed_pipe_on_stdout_is_not_an_internal_error() -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader has already left: every write the command makes fails with EPIPE
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "graph_compiler.cli", "summary", str(example_path("resnet_small")), "--json"],
            stdout=write_end, stderr=subprocess.PIPE, text=True, cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)}, check=False)
    finally:
        os.close(write_end)
    assert proc.stderr == ""
    assert proc.returncode == 141
