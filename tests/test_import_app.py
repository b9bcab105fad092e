"""The app's import (File > Import from PyTorch): it runs designer.import_job.run_import on
a worker thread, and opens the model with its block structure and token inputs found
without asking."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch
from models import zoo

from designer.import_job import run_import
from graph_compiler.analysis import Analyzer
from graph_compiler.compile import CompiledDocument

TESTS = Path(__file__).parent


def test_app_import_opens_blocks_and_finds_token_inputs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(TESTS)
    doc = run_import("models.zoo:gpt_tiny", (8,))  # no dtype given: token ids found
    assert doc.meta["import"]["dtype"] == ["int64"]
    # Both transformer blocks share one network, which uses one for attention and one for the MLP.
    assert sorted(doc.meta["import"]["blocks"]) == ["Block", "CausalSelfAttention", "MLP"]
    assert {n.type for n in doc.network("Block").nodes} >= {"CausalSelfAttention", "MLP", "LayerNorm"}
    assert [n.type for n in doc.main.nodes].count("Block") == 2
    assert Analyzer().analyze(doc).ok
    original = zoo.gpt_tiny().eval()
    rebuilt = CompiledDocument(doc).build().eval()
    rebuilt.load_state_dict(original.state_dict(), strict=True)
    idx = torch.randint(0, 64, (2, 8))
    with torch.no_grad():
        assert (rebuilt(idx) - original(idx)[0]).abs().max().item() <= 1e-4
