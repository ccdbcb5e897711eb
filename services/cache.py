"""The pages' quick results, each read from the one result store (`services.jobs.cached`).

A hit runs no model. Every result is computed once for all sessions, keyed on the model (weights, precision,
device), the options and the inputs, and kept in the store's bounds (entries, bytes, time to live). Results are
shared objects and must be treated as read-only; analyses hold tensors and are never copied per hit.

Anything slower than a pass or two is not here: it is a registered method run as a job (`services.jobs`).
"""
from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from bertlens import LoadedModel
from bertlens.analysis import Analysis, analyse
from bertlens.attention import Attention, HeadStatistics, attention_of, head_statistics
from bertlens.attention_views import thumbnail_grid, thumbnails
from bertlens.bias import SideBySide, WordPair
from bertlens.bias import side_by_side as bias_side_by_side
from bertlens.bias.counterfactual import Counterfactual
from bertlens.bias.swaps import parse_swap_pairs
from bertlens.explain import ExplainInput, Target, resolve_target
from bertlens.fill_mask import FillMaskResult, Filters, WordScore, analyse_masked, postprocess, score_words
from bertlens.nsp import NSPResult, rank_next_sentences
from bertlens.registry import Context, get
from bertlens.results import ExplainerResult
from services.jobs import cached


def masked_analysis(lm: LoadedModel, text: str) -> Analysis:
    """The one forward pass behind fill-mask and its target words. Raises InputError for bad text."""
    return cached("masked_analysis", lm, None, text, lambda: analyse_masked(lm, text))


def fill_mask(lm: LoadedModel, text: str, top_k: int, filters: Filters) -> FillMaskResult:
    return cached("fill_mask", lm, (top_k, filters), text,
                  lambda: postprocess(lm, masked_analysis(lm, text), top_k, filters))


def word_scores(lm: LoadedModel, text: str, words: tuple[str, ...]) -> list[WordScore]:
    """Target words at the mask: one-piece words read the fill-mask's own analysis, so they cost no pass."""
    return cached("word_scores", lm, words, text,
                  lambda: score_words(lm, text, list(words), analysis=masked_analysis(lm, text)))


def rank_next(lm: LoadedModel, sentence_a: str, candidates: tuple[str, ...], sort: bool) -> list[NSPResult]:
    return cached("rank_next", lm, sort, (sentence_a, candidates),
                  lambda: rank_next_sentences(lm, sentence_a, list(candidates), sort=sort))


def side_by_side(lm: LoadedModel, template: str, pair: WordPair, top_k: int) -> SideBySide:
    """The bias page's side-by-side view: word pieces and punctuation hidden from the candidates."""
    return cached("side_by_side", lm, top_k, (template, pair), lambda: bias_side_by_side(
        lm, template, pair, top_k=top_k, filters=Filters(punctuation=True, subwords=True)))


# Every layer's attention of a 512-token input is 0.4 GB in float32 for bert-large, and its computation holds about
# twice that while it runs. Sessions share the store's copy once it is made, but each miss computing at the same
# time held its own: four at once took the server 4 GB over its bound in the 20-session load test. One at a time
# costs nothing on a CPU the computations share anyway, and keeps the transient to one (scripts/load_measure.py).
_ONE_HEAVY_VIEW = threading.Lock()


def full_analysis(lm: LoadedModel, text: str, pair: str | None) -> Analysis:
    """One pass with every layer's hidden states and attentions; over 512 tokens it is truncated and says so.
    Computed one at a time across sessions (`_ONE_HEAVY_VIEW`)."""
    def compute() -> Analysis:
        with _ONE_HEAVY_VIEW:
            return analyse(lm, text, pair, truncate=True, hidden_states=True, attentions=True)

    return cached("full_analysis", lm, None, (text, pair), compute)


@dataclass(frozen=True)
class AttentionView:
    """What the attention page draws from one analysis: the weights, per-head statistics and thumbnails."""

    analysis: Analysis
    attention: Attention
    statistics: HeadStatistics
    grid: np.ndarray


def attention_view(lm: LoadedModel, text: str, pair: str | None) -> AttentionView:
    """Attention, statistics and thumbnails of `full_analysis`, computed once. Raises InputError for bad input."""
    def compute() -> AttentionView:
        analysis = full_analysis(lm, text, pair)
        with _ONE_HEAVY_VIEW:
            attention = attention_of(analysis)
            return AttentionView(analysis, attention, head_statistics(attention.weights, attention.tokens),
                                 thumbnail_grid(thumbnails(attention.weights)))

    return cached("attention_view", lm, None, (text, pair), compute)


# ---- Explain: the target and the explainers that read the one-pass analysis (the others are jobs) ----

def explain_target(lm: LoadedModel, text: str, word: str, contrast: str | None, mask_index: int) -> Target:
    """The checked target (raises InputError for bad input; see `bertlens.explain.resolve_target`)."""
    return cached("explain_target", lm, (word, contrast, mask_index), text,
                  lambda: resolve_target(lm, text, word, contrast, mask_index))


def explain_input(lm: LoadedModel, target: Target) -> ExplainInput:
    """The target with its full analysis (hidden states, attentions), shared with the attention page. The text is
    at most 512 tokens (`resolve_target` refuses longer), so it is never truncated."""
    return ExplainInput(target, full_analysis(lm, target.text, None))


def explainer(lm: LoadedModel, name: str, target: Target, config: dict) -> ExplainerResult:
    """A quick explainer's result (one that reads the analysis: the lens, rollout)."""
    method = get("explainer", name)
    return cached(name, lm, config, target, lambda: method.run(lm, explain_input(lm, target), config, Context()))


# ---- the counterfactual page: each version's pass is `masked_analysis`, so at most two passes ----

def counterfactual(lm: LoadedModel, text: str, pairs_text: str | None, top_k: int) -> Counterfactual:
    """`pairs_text` None uses the shipped swap lists. Raises InputError."""
    from bertlens.bias.counterfactual import counterfactual as bias_counterfactual

    def compute() -> Counterfactual:
        table = parse_swap_pairs(pairs_text, "your swap list") if pairs_text is not None else None
        return bias_counterfactual(lm, text, table, top_k, Filters(punctuation=True, subwords=True),
                                   analyse=masked_analysis)

    return cached("counterfactual", lm, top_k, (text, pairs_text), compute)
