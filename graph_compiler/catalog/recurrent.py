"""Recurrent layers (batch-first). Port 0 is the whole output sequence, port 1 the last step."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from graph_compiler.catalog._helpers import inferred, match_inferred, need_rank, size
from graph_compiler.catalog.spec import NodeSpec, Param, Port, Shape, call_expr

CAT = "Recurrent"
_GATES = {"RNN": 1, "GRU": 3, "LSTM": 4}


def _rnn(name: str, doc: str) -> NodeSpec:
    params = [
        inferred("input_size", "features per step (inferred)"),
        size("hidden_size", "features in the hidden state"),
        Param("num_layers", "int", 1, "stacked layers", min=1, max=64),
        Param("bidirectional", "bool", False, "also run backwards (doubles the output features)"),
        Param("dropout", "float", 0.0, "dropout between stacked layers", min=0.0, max=1.0),
        Param("bias", "bool", True, "learn bias terms"),
    ]
    if name == "RNN":
        params.append(Param("nonlinearity", "choice", "tanh", "activation", choices=("tanh", "relu")))
    spec_params = tuple(params)

    def init(p: dict[str, Any]) -> str:
        return call_expr(f"nn.{name}", spec_params, p)[:-1] + ", batch_first=True)"

    def resolve(p: dict[str, Any], ins: Sequence[Shape]) -> dict[str, Any]:
        need_rank(name, ins[0], (3,), "[B, T, features]; add a Reshape or an Embedding?")
        return match_inferred(p, "input_size", ins[0][-1],
                              name + " expects {given} features per step, gets " + str(list(ins[0][1:])))

    def shape(p: dict[str, Any], ins: Sequence[Shape]) -> list[Shape]:
        h = p["hidden_size"] * (2 if p["bidirectional"] else 1)
        b, t = ins[0][0], ins[0][1]
        return [(b, t, h), (b, h)]

    def count(p: dict[str, Any], ins: Sequence[Shape], outs: Sequence[Shape]) -> tuple[int, int]:
        g, h, dirs = _GATES[name], p["hidden_size"], 2 if p["bidirectional"] else 1
        total = 0
        for layer in range(p["num_layers"]):
            i = p["input_size"] if layer == 0 else h * dirs
            total += dirs * g * (i * h + h * h + (2 * h if p["bias"] else 0))
        return total, _rnn_flops(g, h, dirs, p, ins[0])

    def forward(mod: str | None, ins: Sequence[str | None], outs: Sequence[str | None], p: dict[str, Any]) -> list[str]:
        seq = outs[0] or "_"  # named whenever the last step is used (named_outputs)
        lines = [f"{seq}, _ = {mod}({ins[0]})"]
        if len(outs) > 1 and outs[1]:
            lines.append(f"{outs[1]} = {seq}[:, -1]")
        return lines

    return NodeSpec(
        name, CAT, doc, params=spec_params,
        outputs=(Port("sequence", "every step's output [B, T, H]"), Port("last", "the last step [B, H]")),
        init=init, forward=forward, resolve=resolve, shape=shape, count=count, named_outputs=(0,),
        aliases=("recurrent", "sequence", "rnn"),
        extra_docs=("FLOPs count the matrix products of every step and gate (2 x rows x in x out "
                    "each), as the flop counter sees them on the meta device. torch's fused CPU "
                    "and cuDNN kernels hide them from the counter (it reports 0 there), so "
                    "Netwright reports the work actually done instead."),
    )


def _rnn_flops(g: int, h: int, dirs: int, p: dict[str, Any], shape: Shape) -> int:
    # The matrix products of every step: input and hidden projections of every gate, per
    # layer and direction. This is what torch.utils.flop_counter counts on the meta device,
    # where the RNN decomposes into addmm calls; on CPU the fused LSTM kernel hides them
    # and the counter says 0, which would make an LSTM look free.
    b, t = shape[0], shape[1]
    flops = 0
    for layer in range(p["num_layers"]):
        i = p["input_size"] if layer == 0 else h * dirs
        flops += dirs * 2 * b * t * g * h * (i + h)
    return flops


SPECS = [
    _rnn("RNN", "Elman recurrent layer over [B, T, features]."),
    _rnn("LSTM", "Long short-term memory over [B, T, features]."),
    _rnn("GRU", "Gated recurrent unit over [B, T, features]."),
]
