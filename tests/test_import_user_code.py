"""`netwright import` on what people write in their own model files, beyond the published
families: children named like builtins or ``self``, constant slices of registered buffers
used in arithmetic (sinusoidal positions, rotary caches), hand-written RMSNorm, and the
messages for what still cannot be imported.

Each model is checked like the families: parameter count, the original state_dict loading
with strict=True into the exported code (keys unchanged), and eval outputs within 1e-4.
"""
from __future__ import annotations

import torch
from torch import nn

from tests.test_import_model_ops import _check

D = 8


class OddNames(nn.Module):
    """Children whose names are legal attributes but also builtins, soft keywords, ruff's
    ambiguous letters, underscores or longer than a generated identifier."""

    def __init__(self) -> None:
        super().__init__()
        self.self = nn.Linear(D, 16)
        self.input = nn.Linear(16, 16)
        self.type_ = nn.Linear(16, 16)
        self.add_module("match", nn.Linear(16, 16))
        self.l = nn.Linear(16, 16)  # noqa: E741
        self._proj = nn.Linear(16, 16)
        self.a_rather_long_submodule_name_for_the_output = nn.Linear(16, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.tanh(self.self(x))
        x = self.input(x)
        x = self.l(self.match(self.type_(x)))
        return self.a_rather_long_submodule_name_for_the_output(self._proj(x))


def test_children_named_like_builtins_or_self_keep_their_keys() -> None:
    model = OddNames()
    doc = _check(model, (D,), torch.randn(4, D))
    assert {"self.weight", "input.weight", "match.weight", "l.weight", "_proj.weight",
            "a_rather_long_submodule_name_for_the_output.weight"} <= set(model.state_dict())
    assert not doc.meta["import"]["key_map"]
    assert not [n for n in doc.meta["import"]["notes"] if "renamed" in n]
