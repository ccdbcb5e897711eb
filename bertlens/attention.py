"""Attention weights of every layer and head from one forward pass, and per-head statistics.

The statistics follow Clark et al. (2019), "What Does BERT Look At?": for each head, the average over query
tokens of how much attention goes to [CLS], to [SEP], to the token itself, to the previous and next token, and to
punctuation, plus the entropy of each query's attention distribution.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass

import torch

from bertlens import forward
from bertlens.analysis import Analysis, analyse
from bertlens.errors import InputError
from bertlens.model import LoadedModel
from bertlens.serialize import spreadsheet_safe
from bertlens.text import is_punctuation

STATISTICS: tuple[str, ...] = ("entropy", "cls", "sep", "self", "previous", "next", "punctuation")
STATISTIC_LABELS: dict[str, str] = {
    "entropy": "Entropy (nats)",
    "cls": "Share on [CLS]",
    "sep": "Share on [SEP]",
    "self": "Share on itself",
    "previous": "Share on previous token",
    "next": "Share on next token",
    "punctuation": "Share on punctuation",
}


@dataclass(frozen=True)
class Attention:
    """All attention weights for one input: `weights[layer, head, query, key]`, rows summing to 1.

    `full_length` is the token count before truncation; `truncated` says whether tokens were cut off at 512.
    """

    text: str
    pair: str | None
    tokens: list[str]
    token_type_ids: list[int]
    weights: torch.Tensor
    full_length: int

    @property
    def layers(self) -> int:
        return self.weights.shape[0]

    @property
    def heads(self) -> int:
        return self.weights.shape[1]

    @property
    def n_tokens(self) -> int:
        return self.weights.shape[-1]

    @property
    def truncated(self) -> bool:
        return self.full_length > self.n_tokens

    @property
    def sentence_b_start(self) -> int | None:
        """Position of the first token of sentence B, or None for a single text."""
        if self.pair is None or 1 not in self.token_type_ids:
            return None
        return self.token_type_ids.index(1)


@dataclass(frozen=True)
class HeadStatistics:
    """`values[statistic, layer, head]`, statistics in the order of `names` (see STATISTICS)."""

    names: tuple[str, ...]
    values: torch.Tensor

    def get(self, name: str) -> torch.Tensor:
        """The (layers, heads) table of one statistic."""
        return self.values[self.names.index(name)]

    def rows(self) -> list[dict[str, float | int]]:
        """One row per head, layers and heads numbered from 1 as on the page."""
        layers, heads = self.values.shape[1:]
        table = self.values.permute(1, 2, 0).reshape(layers * heads, len(self.names)).tolist()
        return [
            {"layer": i // heads + 1, "head": i % heads + 1, **dict(zip(self.names, row))}
            for i, row in enumerate(table)
        ]

    def to_csv(self, provenance: dict[str, str] | None = None) -> str:
        """One row per head; `provenance` (e.g. model id, random weights) adds constant leading columns.

        Provenance values that a spreadsheet would read as a formula are prefixed with an apostrophe.
        """
        extra = {k: spreadsheet_safe(v) for k, v in (provenance or {}).items()}
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=[*extra, "layer", "head", *self.names], lineterminator="\n")
        writer.writeheader()
        for row in self.rows():
            writer.writerow({**extra, **{k: (f"{v:.6f}" if isinstance(v, float) else v) for k, v in row.items()}})
        return out.getvalue()


def attention_of(analysis: Analysis) -> Attention:
    """The attention view of an analysis run with `attentions=True`; no model run. Raises InputError without them."""
    if analysis.attentions is None:
        raise InputError("This analysis was run without attention weights; run it with attentions=True.")
    return Attention(
        text=analysis.text,
        pair=analysis.pair,
        tokens=list(analysis.tokens),
        token_type_ids=list(analysis.token_type_ids),
        weights=analysis.attentions,
        full_length=analysis.full_length,
    )


def extract(lm: LoadedModel, text: str, pair: str | None = None) -> Attention:
    """Run one forward pass and return the attention of every layer and head, on the CPU in float32.

    Over 512 tokens the input is truncated (the result says so) rather than refused. Raises InputError for empty
    text or an empty side of a pair. Works on checkpoints without MLM/NSP heads: only the encoder runs.
    """
    return attention_of(analyse(lm, text, pair, truncate=True, attentions=True))


def key_masks(tokens: list[str], cls_token: str = "[CLS]", sep_token: str = "[SEP]") -> dict[str, torch.Tensor]:
    """Float masks over key positions for the token classes the statistics count."""
    special = {cls_token, sep_token, "[PAD]", "[MASK]", "[UNK]"}
    return {
        "cls": torch.tensor([t == cls_token for t in tokens], dtype=torch.float32),
        "sep": torch.tensor([t == sep_token for t in tokens], dtype=torch.float32),
        "punctuation": torch.tensor([t not in special and is_punctuation(t) for t in tokens], dtype=torch.float32),
    }


def head_statistics(weights: torch.Tensor, tokens: list[str]) -> HeadStatistics:
    """Per-head statistics of `weights` (layers, heads, T, T), each averaged over the query tokens.

    Shares on a token class sum the attention a query gives to all keys of that class. "previous" averages over
    queries that have a previous token (positions 1..T-1), "next" over those with a next token (0..T-2); with a
    single token both are 0. Entropy is in nats: 0 for a head that looks at one token, ln(T) for a uniform one.
    """
    if weights.dim() != 4 or weights.shape[-1] != weights.shape[-2] or weights.shape[-1] != len(tokens):
        raise ValueError(f"weights must be (layers, heads, T, T) with T = {len(tokens)} tokens; "
                         f"got {tuple(weights.shape)}")
    weights = weights.float()
    masks = key_masks(tokens)
    shares = {name: torch.einsum("lhqk,k->lh", weights, mask) / weights.shape[-1] for name, mask in masks.items()}
    entropy = -torch.special.xlogy(weights, weights).sum(-1).mean(-1)
    diagonal = weights.diagonal(dim1=-2, dim2=-1).mean(-1)
    if weights.shape[-1] > 1:
        previous = weights.diagonal(offset=-1, dim1=-2, dim2=-1).mean(-1)
        following = weights.diagonal(offset=1, dim1=-2, dim2=-1).mean(-1)
    else:
        previous = following = torch.zeros(weights.shape[:2])
    by_name = {"entropy": entropy, "self": diagonal, "previous": previous, "next": following, **shares}
    return HeadStatistics(STATISTICS, torch.stack([by_name[n] for n in STATISTICS]))


def mean_over_heads(weights: torch.Tensor, layer: int | None = None) -> torch.Tensor:
    """The (T, T) mean over the heads of `layer`, or over all layers and heads when `layer` is None."""
    return weights[layer].mean(0) if layer is not None else weights.mean((0, 1))


def mask_attention(attention: Attention, position: int) -> torch.Tensor:
    """What the token at `position` attends to, layer by layer: (layers, T), the mean over each layer's heads."""
    if not 0 <= position < attention.n_tokens:
        raise InputError(f"Position {position} is outside the {attention.n_tokens} tokens.")
    return attention.weights[:, :, position, :].mean(1)


@dataclass(frozen=True)
class QueryKey:
    """How one head computes one query token's attention, from the model's own weights (Vaswani et al. 2017).

    `query` (d,) and `keys` (T, d) are the head's projections of the layer's input; `products` = query * keys
    elementwise; `scores` = products summed / sqrt(d); `weights` = softmax(scores), the row the head outputs.
    """

    layer: int
    head: int
    position: int
    query: torch.Tensor
    keys: torch.Tensor
    products: torch.Tensor
    scores: torch.Tensor
    weights: torch.Tensor


def query_key(lm: LoadedModel, analysis: Analysis, layer: int, head: int, position: int) -> QueryKey:
    """The query/key computation of (`layer`, `head`) (0-based) for the token at `position`.

    Reads the layer's input from `analysis.hidden_states` (run it with hidden_states=True) and applies the head's
    query and key projections to it: no model run. Raises InputError for an index out of range.
    """
    if analysis.hidden_states is None:
        raise InputError("This analysis was run without hidden states; run it with hidden_states=True.")
    config = lm.model.config
    for name, value, limit in (("layer", layer, config.num_hidden_layers), ("head", head, config.num_attention_heads),
                               ("position", position, analysis.n_tokens)):
        if not 0 <= value < limit:
            raise InputError(f"The {name} {value} is out of range (0 to {limit - 1}).")
    with torch.inference_mode():
        queries, keys, scaling = forward.query_key(lm, layer, analysis.hidden_states[layer], position)
        query, keys = queries[head].float().cpu(), keys[:, head].float().cpu()
    products = query * keys
    scores = products.sum(-1) * scaling
    return QueryKey(layer, head, position, query, keys, products, scores, torch.softmax(scores, dim=-1))
