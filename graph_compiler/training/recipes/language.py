"""Language model: predict the next token at every position (GPT-style).

Data: x int64 token windows [N, T], y the same windows shifted by one (the "chars"
dataset). Network (``options.network``, default the main one): Input int64 [T] ->
Embedding -> PositionalEncoding -> causal attention (or a recurrent layer) -> Linear to
the vocabulary, Output logits [B, T, V]. Attention layers must be causal (their
``causal`` parameter), and recurrent layers one-directional, or the model would see the
very token it must predict; check() says so unless ``options.allow_non_causal`` is true.

Loss: cross-entropy at every position. Metrics: val_loss, val_perplexity =
exp(val_loss) and val_accuracy (next-token). Generation is autoregressive with
temperature (and optional top-k) sampling, feeding at most the Input's length T of the
most recent tokens (the model's context); text is decoded with the dataset's vocabulary
(``meta.vocab``) when it has one.

A network may output the last position only, [B, 1, V] (an imported GPT's
``forward(idx)``): it learns the token after each window. Generation feeds every model
windows of exactly its context, as in training: a shorter prompt is padded on the left
with spaces (token 0 without a vocabulary).

Options: temperature (0.8), top_k (none), sample_length (200 tokens for ``sample``;
live previews use up to 120), prompt (text to start from; default: the start of a
validation window).
"""
from __future__ import annotations

import math
from typing import Any

import torch

from graph_compiler.training.recipes.registry import register
from graph_compiler.training.recipes.sequence import PerPositionRecipe
from graph_compiler.training.sampling import generate_tokens

_ATTENTION = ("MultiheadAttention", "TransformerEncoderLayer", "TransformerDecoderLayer")
_RECURRENT = ("LSTM", "GRU", "RNN")
LIVE_LENGTH = 120
PROMPT_LENGTH = 16


@register("language_model", aliases=("lm", "next_token"))
class LanguageModel(PerPositionRecipe):
    tasks = ("language_model",)
    default_for = ("language_model",)
    task_word = "a language model"
    generative = True
    monitor = "val_loss"
    last_position_ok = True
    OPTIONS = ("network", "temperature", "top_k", "sample_length", "prompt", "allow_non_causal",
               "attention_layer", "attention_head")

    def __init__(self, ctx: Any) -> None:
        super().__init__(ctx)
        self.temperature = ctx.option("temperature", 0.8, float, min=0.0)
        self.top_k = ctx.option("top_k", None, int, min=1)
        self.sample_length = ctx.option("sample_length", 200, int, min=1, max=100_000)
        self.prompt = ctx.option("prompt", None, str)
        self.allow_non_causal = ctx.option("allow_non_causal", False, bool)
        self.attention_node = ctx.option("attention_layer", None, str)
        self.attention_head = ctx.option("attention_head", 0, int, min=0)

    # -- checks
    def non_causal_nodes(self) -> list[str]:
        info = self.ctx.analysis.networks[self.net]
        bad = []
        for nid, node in info.nodes.items():
            if node.type in _ATTENTION and not node.params.get("causal", False):
                bad.append(f"{nid!r} ({node.type}: set causal)")
            elif node.type in _RECURRENT and node.params.get("bidirectional", False):
                bad.append(f"{nid!r} ({node.type}: turn bidirectional off)")
        return bad

    def check(self, analysis: Any, dataset: Any) -> list[str]:
        problems = super().check(analysis, dataset)
        bad = self.non_causal_nodes()
        if bad and not self.allow_non_causal:
            problems.append("a language model must not see the tokens it predicts, but these layers look "
                            f"ahead: {', '.join(bad)} (or set training.options.allow_non_causal)")
        vocab = dataset.meta.get("vocab")
        if self.prompt is not None and isinstance(vocab, str):
            missing = sorted(set(self.prompt) - set(vocab))
            if missing:
                problems.append(f"training.options.prompt has characters outside the vocabulary: "
                                f"{''.join(missing)!r}")
        return problems

    # -- training
    def evaluate(self, val: Any) -> dict[str, Any]:
        out = self._evaluate(val)
        out.pop("val_sequence_accuracy", None)  # a whole window right: not a language-model measure
        out["val_perplexity"] = math.exp(min(out["val_loss"], 50.0))
        return out

    # -- generation
    @property
    def vocab(self) -> str | None:
        v = self.ctx.train.meta.get("vocab")
        return v if isinstance(v, str) else None

    @property
    def context(self) -> int:
        first = self.ctx.analysis.networks[self.net].input_types()[0]
        shape = first.shape if first is not None else ()
        return int(shape[1]) if len(shape) > 1 else int(self.ctx.train.x.shape[1])

    def decode(self, ids: list[int]) -> str:
        vocab = self.vocab
        if vocab is not None:
            return "".join(vocab[i] if 0 <= i < len(vocab) else "?" for i in ids)
        return " ".join(map(str, ids))

    def encode_prompt(self) -> torch.Tensor:
        vocab = self.vocab
        if self.prompt is not None and vocab is not None:
            index = {c: i for i, c in enumerate(vocab)}
            return torch.tensor([index[c] for c in self.prompt if c in index] or [0])
        ds = self.ctx.val if self.ctx.val is not None else self.ctx.train
        return ds.x[0, :PROMPT_LENGTH].cpu()

    def generate(self, n_tokens: int, generator: torch.Generator | None = None) -> tuple[str, str]:
        """(prompt text, generated continuation)."""
        prompt = self.encode_prompt().to(self.ctx.device)
        # The model sees windows of exactly its context, as in training: a shorter prompt is
        # padded on the left. An imported graph needs it (its code fixes the length it was
        # traced at), and a model built here reads a full window best too.
        pad = max(0, self.context - len(prompt))
        padded = torch.cat([prompt.new_full((pad,), self.pad_token), prompt])
        out = generate_tokens(lambda t: self._forward(t), padded, n_tokens, self.context,
                              temperature=self.temperature, top_k=self.top_k, generator=generator)
        ids: list[int] = out[0].tolist()[pad:]
        return self.decode(ids[: len(prompt)]), self.decode(ids[len(prompt):])

    @property
    def pad_token(self) -> int:
        """What pads a short prompt: a space when the vocabulary has one, else token 0."""
        vocab = self.vocab
        return vocab.index(" ") if vocab is not None and " " in vocab else 0

    def live_samples(self) -> dict[str, Any] | None:
        prompt, text = self.generate(min(LIVE_LENGTH, self.sample_length), generator=torch.Generator().manual_seed(self.ctx.epoch))
        payload: dict[str, Any] = {"kind": "text", "text": [prompt + text], "prompt": prompt}
        attention = self.attention_payload()
        if attention is not None:
            payload["panels"] = [attention]
        return payload

    # -- attention weights (for the dashboard)
    def _attention_nodes(self) -> list[str]:
        info = self.ctx.analysis.networks[self.net]
        return [nid for nid in info.order if info.nodes[nid].type in _ATTENTION[:2]]

    def attention_payload(self, n_tokens: int = 48) -> dict[str, Any] | None:
        """{"kind": "attention"}: head ``attention_head`` of ``attention_layer`` (default the
        first attention node) on the start of a validation window, [T, T]."""
        nodes = self._attention_nodes()
        nid = self.attention_node if self.attention_node in nodes else (nodes[0] if nodes else None)
        mod = self.node_module(nid) if nid else None
        if mod is None or nid is None:
            return None
        captured: list[tuple[torch.Tensor, ...]] = []
        handle = mod.register_forward_pre_hook(lambda m, args: captured.append(tuple(args)))
        ds = self.ctx.val if self.ctx.val is not None else self.ctx.train
        ids = ds.x[:1, :n_tokens].to(self.ctx.device)
        try:
            self._forward(ids)
        finally:
            handle.remove()
        if not captured:
            return None
        info = self.ctx.analysis.networks[self.net].nodes[nid]
        causal = bool(info.params.get("causal", False))
        T = ids.shape[1]
        mask = torch.triu(torch.full((T, T), float("-inf"), device=ids.device), diagonal=1) if causal else None
        attn: torch.nn.Module
        if isinstance(mod, torch.nn.TransformerEncoderLayer):
            h = captured[0][0]
            h = mod.norm1(h) if mod.norm_first else h
            attn, q, k, v = mod.self_attn, h, h, h
        else:
            args = captured[0]
            attn, q = mod, args[0]
            k = args[1] if len(args) > 1 and args[1] is not None else q
            v = args[2] if len(args) > 2 and args[2] is not None else k
        _, w = attn(q, k, v, attn_mask=mask, need_weights=True, average_attn_weights=False)
        head = min(self.attention_head, w.shape[1] - 1)
        return {"kind": "attention", "weights": w[0, head].float().cpu().numpy(),
                "tokens": list(self.decode(ids[0].tolist())) if self.vocab else [str(i) for i in ids[0].tolist()],
                "title": f"attention of {nid}, head {head}"}

    def node_module(self, node_id: str) -> torch.nn.Module | None:
        attr = self.ctx.compiled.generated.attrs.get(self.net, {}).get(node_id)
        return getattr(self.model, attr, None) if attr else None

    def sample(self, n: int) -> dict[str, Any]:
        """n tokens of text continuing the prompt."""
        prompt, text = self.generate(n)
        return {"kind": "text", "text": [prompt + text], "prompt": prompt}


__all__ = ["LanguageModel"]
