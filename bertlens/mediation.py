"""Causal mediation over BERT's heads and layers (Vig et al., NeurIPS 2020), for a masked language model.

The input is a text with one [MASK], a swap `WORD=OTHER` that gives the counterfactual text x′ (same number of
WordPieces), and two one-piece targets t1, t2. With y(x) = P(t1 | x) / P(t2 | x) at the mask:

- total effect TE = y(x′) / y(x) − 1;
- natural indirect effect of head (l, h): NIE = y(x with head (l, h)'s output taken from x′'s run) / y(x) − 1,
  where a head's output is its slice of the attention context (the input of `attention.output.dense`) at every
  position;
- attention layer l: the whole context of layer l patched; MLP layer l: the input of layer l's `output.dense`.

y is a ratio of two probabilities of one softmax, so it equals exp(logit(t1) − logit(t2)): only the two targets'
rows of the decoder are computed for the patched runs. All 384 heads and 48 layers of bert-large cost two recorded
passes (x and x′) and one batched call of 432 variants of x through `bertlens.forward.encoder`, each variant
computed from its patched layer on (the layers below are x's own, read from its recorded run), and the last layer
only at the mask (`bertlens.interventions`). The `mediation` bench section measures that against one forward pass
and against the naive loop of 432 full passes.

Layers and heads count from 1 in every result and message here. This module mediates one sentence pair;
`bertlens.bias.occupation_mediation` repeats it over the pronoun templates and occupations (registered as the metric
in `bertlens.metrics.mediation_templates`), and `bertlens.cli.mediate` is the `mediate` verb for both.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import torch

from bertlens import forward
from bertlens.encoding import encode
from bertlens.errors import InputError
from bertlens.fill_mask import piece_ids
from bertlens.interventions import ROW_MEMORY_BUDGET, Interventions, rows_within
from bertlens.model import LoadedModel
from bertlens.registry import Context, Cost, Method, tokens_of
from bertlens.text import MASK, check_masks, clean

Progress = Callable[[float, float, str], None]
MAX_SHOWN_TOKENS = 40
TOP_HEADS = 10
PROGRESS_STEPS = 8


@dataclass(frozen=True)
class Swap:
    """Replace every whole-word occurrence of `word` in the text by `other`."""

    word: str
    other: str

    def __str__(self) -> str:
        return f"{self.word}={self.other}"


class SwapLengthError(InputError):
    """The swap changes the number of WordPieces; both tokenisations ride along for the page to show."""

    def __init__(self, message: str, tokens: Sequence[str], counterfactual_tokens: Sequence[str]) -> None:
        super().__init__(message)
        self.tokens = tuple(tokens)
        self.counterfactual_tokens = tuple(counterfactual_tokens)


@dataclass(frozen=True)
class Prepared:
    """A checked mediation input: both texts tokenised, the mask found, the targets' ids."""

    text: str
    counterfactual: str
    swap: Swap
    targets: tuple[str, str]
    target_ids: tuple[int, int]
    tokens: tuple[str, ...]
    counterfactual_tokens: tuple[str, ...]
    input_ids: tuple[int, ...]
    counterfactual_ids: tuple[int, ...]
    mask_position: int
    swapped_positions: tuple[int, ...]


@dataclass(frozen=True)
class HeadEffect:
    layer: int
    head: int
    nie: float


@dataclass(frozen=True)
class Mediation:
    """The effects for one sentence pair. `heads[l][h]` is the NIE of layer l + 1, head h + 1 (layer-major);
    `attention_layers[l]` and `mlp_layers[l]` are the layer effects of layer l + 1."""

    text: str
    counterfactual: str
    swap: str
    targets: tuple[str, str]
    tokens: tuple[str, ...]
    counterfactual_tokens: tuple[str, ...]
    mask_position: int
    p_targets: tuple[float, float]
    p_targets_counterfactual: tuple[float, float]
    y: float
    y_counterfactual: float
    total_effect: float
    heads: tuple[tuple[float, ...], ...]
    attention_layers: tuple[float, ...]
    mlp_layers: tuple[float, ...]
    top_heads: tuple[HeadEffect, ...] = field(default=())

    def grid(self) -> np.ndarray:
        return np.array(self.heads, dtype=float)

    def ranked(self, k: int | None = None) -> list[HeadEffect]:
        """Heads ranked by how far their NIE moves the ratio in the direction of the total effect (largest
        first), so that the top heads are those that carry the effect; `k` of them, or all."""
        return rank_heads(self.grid(), self.total_effect, k)


def rank_heads(grid: np.ndarray, total_effect: float, k: int | None = None) -> list[HeadEffect]:
    """1-based heads of a (layers, heads) NIE grid, ranked in the direction of `total_effect` (positive when 0)."""
    sign = -1.0 if total_effect < 0 else 1.0
    values = np.nan_to_num(np.asarray(grid, dtype=float) * sign, nan=-np.inf)
    order = np.argsort(-values, axis=None, kind="stable")
    heads = grid.shape[1]
    picked = order if k is None else order[:k]
    return [HeadEffect(int(i) // heads + 1, int(i) % heads + 1, float(grid.flat[i])) for i in picked]


# ---- input ------------------------------------------------------------------------------------------------------

def parse_swap(value: str | Swap) -> Swap:
    """`WORD=OTHER` as a Swap. Raises InputError for anything else."""
    if isinstance(value, Swap):
        word, other = value.word, value.other
    else:
        text = (value or "").strip()
        if text.count("=") != 1:
            raise InputError(f"Write the swap as WORD=OTHER, for example nurse=man; got '{_short(text)}'.")
        word, other = (part.strip() for part in text.split("="))
    if not word or not other:
        raise InputError("Both sides of the swap need a word, as in nurse=man.")
    for side in (word, other):
        if MASK in side or "[" in side or "]" in side:
            raise InputError(f"The swap '{_short(side)}' cannot contain {MASK} or brackets; it replaces a word.")
        if len(side) > 100:
            raise InputError(f"The swap word '{_short(side)}' is {len(side):,} characters long; the limit is 100.")
    if word == other:
        raise InputError(f"The swap replaces '{word}' with itself; choose a different word.")
    return Swap(word, other)


def parse_targets(value: str | Sequence[str]) -> tuple[str, str]:
    """Two distinct target words, from 'she,he' or a pair. Raises InputError otherwise."""
    items = value.split(",") if isinstance(value, str) else list(value)
    words = [str(w).strip() for w in items if str(w).strip()]
    if len(words) != 2:
        raise InputError("Give two target words separated by a comma, for example she,he: the ratio "
                         f"P(first) / P(second) is read at the mask. Got {len(words)}.")
    if words[0] == words[1]:
        raise InputError(f"The two target words are both '{words[0]}'; give two different words.")
    return words[0], words[1]


def swap_pattern(word: str) -> re.Pattern:
    return re.compile(r"(?<!\w)" + re.escape(word) + r"(?!\w)")


def prepare(lm: LoadedModel, text: str, swap: str | Swap, targets: str | Sequence[str]) -> Prepared:
    """Check and tokenise a mediation input. Raises InputError (SwapLengthError for a swap that changes the number
    of WordPieces) with a message that says how to fix it; MissingHead without an MLM head."""
    lm.require("mlm")
    text = clean(text)
    count = check_masks(text)
    if count != 1:
        raise InputError(f"Mediation reads the model at one {MASK}; the text has {count}. Keep one.")
    swap = parse_swap(swap)
    pattern = swap_pattern(swap.word)
    if not pattern.search(text):
        raise InputError(f"'{swap.word}' is not a word of the text (the swap matches whole words, and capitals "
                         "count). Choose a word the text contains.")
    counterfactual = pattern.sub(swap.other, text)
    pair = parse_targets(targets)
    ids = []
    for word in pair:
        pieces = piece_ids(lm, word)
        if len(pieces) != 1:
            shown = " ".join(lm.tokenizer.convert_ids_to_tokens(pieces))
            raise InputError(f"The target '{word}' is {len(pieces)} WordPieces ({shown}); the ratio needs targets "
                             "of one WordPiece each. Choose another word.")
        ids.append(pieces[0])
    original, swapped = encode(lm, text), encode(lm, counterfactual)
    if original.input_ids.shape[-1] != swapped.input_ids.shape[-1]:
        raise SwapLengthError(_length_message(lm, swap, original.tokens, swapped.tokens), original.tokens,
                              swapped.tokens)
    a, b = original.input_ids[0].tolist(), swapped.input_ids[0].tolist()
    mask = a.index(lm.tokenizer.mask_token_id)
    return Prepared(text, counterfactual, swap, pair, (ids[0], ids[1]), tuple(original.tokens),
                    tuple(swapped.tokens), tuple(a), tuple(b), mask,
                    tuple(i for i, (p, q) in enumerate(zip(a, b)) if p != q))


def _length_message(lm: LoadedModel, swap: Swap, tokens: Sequence[str], swapped: Sequence[str]) -> str:
    def pieces(word: str) -> str:
        found = lm.tokenizer.tokenize(word)
        return f"'{word}' = {' '.join(found)} ({len(found)} piece{'s' if len(found) != 1 else ''})"

    return (f"The swap changes the number of WordPieces: {pieces(swap.word)}, {pieces(swap.other)}. Mediation "
            "patches the two runs position by position, so both texts need the same number of pieces; choose a "
            f"replacement of as many pieces.\n  text ({len(tokens)} tokens): {_tokens(tokens)}\n  "
            f"counterfactual ({len(swapped)} tokens): {_tokens(swapped)}")


def _tokens(tokens: Sequence[str]) -> str:
    shown = " ".join(tokens[:MAX_SHOWN_TOKENS])
    return shown + (f" … (+{len(tokens) - MAX_SHOWN_TOKENS})" if len(tokens) > MAX_SHOWN_TOKENS else "")


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# ---- the effects -------------------------------------------------------------------------------------------------

def variants(layers: int, heads: int) -> list[Interventions]:
    """The 432 patched runs of bert-large, in the order of the result: every head layer-major, then each attention
    layer, then each MLP layer (0-based here)."""
    out = [Interventions(patch_heads=frozenset({(l, h)})) for l in range(layers) for h in range(heads)]
    out += [Interventions(patch_attention=frozenset({l})) for l in range(layers)]
    out += [Interventions(patch_mlp=frozenset({l})) for l in range(layers)]
    return out


def target_logit_gap(lm: LoadedModel, states: torch.Tensor, ids: tuple[int, int]) -> torch.Tensor:
    """logit(t1) − logit(t2) of the MLM head for hidden states (rows, hidden), float64 on the CPU.

    The log of the ratio y: the softmax's normaliser cancels, so only the targets' two decoder rows are computed
    (the whole head when the decoder is int8-quantised and has no plain weight)."""
    logits = forward.mlm_target_logits(lm, states, ids).double().cpu()
    return logits[:, 0] - logits[:, 1]


def mediate(lm: LoadedModel, text: str, swap: str | Swap, targets: str | Sequence[str],
            progress: Progress | None = None, memory_budget: float = ROW_MEMORY_BUDGET,
            prepared: Prepared | None = None, steps: int = PROGRESS_STEPS) -> Mediation:
    """TE, the NIE of every head, and the attention- and MLP-layer effects for one sentence pair.

    `progress(done, total, message)` is called between batches, about `steps` of them (a job's progress may
    raise to stop the run).
    Raises InputError for bad input (see `prepare`)."""
    p = prepared or prepare(lm, text, swap, targets)
    config = lm.config
    layers, heads = config.num_hidden_layers, config.num_attention_heads
    runs = variants(layers, heads)
    device = lm.device
    x = torch.tensor([p.input_ids], device=device)
    x_prime = torch.tensor([p.counterfactual_ids], device=device)
    total = len(runs) + 2
    report = progress or (lambda done, total, message="": None)
    report(0, total, "the two texts")
    with torch.inference_mode():
        base = forward.encoder(lm, x, interventions=Interventions(record=True)).activations
        source = forward.encoder(lm, x_prime, interventions=Interventions(record=True)).activations
        at_mask = torch.cat([base.last[:, p.mask_position], source.last[:, p.mask_position]])
        gaps = target_logit_gap(lm, at_mask, p.target_ids)
        probabilities = forward.mlm_log_probs(lm, at_mask)[:, list(p.target_ids)].double().exp().cpu()
        patched = torch.empty(len(runs), dtype=torch.float64)
        done = 2
        for chunk in _chunks(lm, runs, len(p.input_ids), layers, memory_budget, steps):
            report(done, total, f"patched runs {done - 1}–{done - 2 + len(chunk)} of {len(runs)}")
            out = forward.encoder(lm, x, interventions=Interventions(
                source=source, base=base, variants=tuple(runs[i] for i in chunk), positions=(p.mask_position,)))
            patched[chunk] = target_logit_gap(lm, out.last_hidden[:, 0], p.target_ids)
            done += len(chunk)
        report(total, total, "done")
    gap = float(gaps[0])
    effects = torch.expm1(patched - gap).tolist()
    grid = tuple(tuple(effects[l * heads: (l + 1) * heads]) for l in range(layers))
    n = layers * heads
    total_effect = math.expm1(float(gaps[1]) - gap)
    return Mediation(
        text=p.text, counterfactual=p.counterfactual, swap=str(p.swap), targets=p.targets, tokens=p.tokens,
        counterfactual_tokens=p.counterfactual_tokens, mask_position=p.mask_position,
        p_targets=(float(probabilities[0, 0]), float(probabilities[0, 1])),
        p_targets_counterfactual=(float(probabilities[1, 0]), float(probabilities[1, 1])),
        y=math.exp(gap), y_counterfactual=math.exp(float(gaps[1])), total_effect=total_effect, heads=grid,
        attention_layers=tuple(effects[n: n + layers]), mlp_layers=tuple(effects[n + layers:]),
        top_heads=tuple(rank_heads(np.array(grid), total_effect, TOP_HEADS)))


def _chunks(lm: LoadedModel, runs: list[Interventions], tokens: int, layers: int, memory_budget: float,
            steps: int = PROGRESS_STEPS) -> list[list[int]]:
    """The variants' indices, ordered by first patched layer, in about `steps` batches of equal work (a row
    patched at layer l computes layers - l layers), each within the memory budget: progress between them, and
    batches still large enough to gain from batching."""
    order = sorted(range(len(runs)), key=lambda i: min(runs[i].layers()))
    work = [layers - min(runs[i].layers()) for i in order]
    share = sum(work) / max(1, steps)
    limit = rows_within(lm, tokens, memory_budget)
    chunks: list[list[int]] = [[]]
    done = 0.0
    for index, cost in zip(order, work):
        if chunks[-1] and (len(chunks[-1]) >= limit or done >= share * len(chunks)):
            chunks.append([])
        chunks[-1].append(index)
        done += cost
    return chunks


def mediation_cost(layers: int, heads: int, tokens: int, pairs: int = 1) -> Cost:
    """What `pairs` runs of `mediate` cost: two recorded lone passes and about PROGRESS_STEPS batched calls, each
    reading the layers from its variants' patched layer on (half the weights on average), over rows worth each
    variant's share of the layers; the last layer runs at the mask only, so a variant's share counts the layers
    from its own to the one before the last (as counted by scripts/estimate_measure.py's layer hook)."""
    rows = 2 + (heads + 2) * sum(layers - 1 - l for l in range(layers)) / layers
    calls = 2 + PROGRESS_STEPS / 2
    return Cost(pairs * calls, max(tokens, 1), rows / calls)


def naive_passes(layers: int, heads: int) -> int:
    """What a loop of full passes costs: one per head and per layer (x and x′ besides)."""
    return layers * heads + 2 * layers


@dataclass(frozen=True)
class PairInput:
    """One sentence pair to mediate, as a job's input: plain data, so it keys the job."""

    text: str
    swap: str
    targets: tuple[str, str]


class PairMediation(Method):
    """`mediate` as a method the job runner can run (with progress and Stop); not registered, since it is no
    explainer of a token's prediction and no bias metric over a data set: the "Which heads?" page and the head
    switches run it by hand. Its input is a `PairInput`."""

    kind = "explainer"
    name = "mediation-pair"
    title = "Which heads carry the effect (causal mediation)"
    needs = frozenset({"mlm"})

    def estimate(self, lm: LoadedModel, inputs: PairInput, config: Mapping[str, Any]) -> Cost:
        return mediation_cost(lm.info.layers, lm.info.heads, tokens_of(lm, inputs.text))

    def run(self, lm: LoadedModel, inputs: PairInput, config: Mapping[str, Any], context: Context) -> Mediation:
        return mediate(lm, inputs.text, inputs.swap, inputs.targets, progress=context.progress)
