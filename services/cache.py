"""Every cache of the app, in one place: the model (one per process) and every result, shared by all sessions and keyed on the model.

A cache hit runs no model. Analyses (`bertlens.analysis.Analysis`) are frozen records holding tensors, so they are
kept as shared objects (`st.cache_resource`, never copied or pickled per hit) and must be treated as read-only;
small results that pages may hold on to are `st.cache_data`. Each cache is bounded (`max_entries`, `ttl`), so
thousands of distinct inputs do not grow memory without limit. The model is part of every key through
`LoadedModel.key` (weights, precision, device), given to Streamlit as a hash function.
"""
from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import streamlit as st

from bertlens import LoadedModel, Settings, load_model
from bertlens import explain as _explain
from bertlens.analysis import Analysis, analyse
from bertlens.attention import Attention, HeadStatistics, attention_of, head_statistics
from bertlens.attention_views import thumbnail_grid, thumbnails
from bertlens.batching import EncoderBatcher
from bertlens.bias import SideBySide, WordPair
from bertlens.bias.aul import AulResult, score_aul
from bertlens.bias import side_by_side as bias_side_by_side
from bertlens.bias.config import ProbeConfig
from bertlens.bias.counterfactual import Counterfactual
from bertlens.bias.crows import CrowsPair
from bertlens.bias.counterfactual import counterfactual as bias_counterfactual
from bertlens.bias.pronouns import PronounResult, parse_pronoun_templates, run_pronoun_probe
from bertlens.bias.robustness import RobustnessResult, parse_paraphrase_sets, run_robustness
from bertlens.bias.swaps import parse_swap_pairs
from bertlens.fill_mask import FillMaskResult, Filters, WordScore, analyse_masked, postprocess, score_words
from bertlens.nsp import NSPResult, rank_next_sentences

MAX_ENTRIES = 256
MAX_FULL_ANALYSES = 4
TTL_SECONDS = 3600
MODEL_HASH = {LoadedModel: lambda lm: lm.key}


# ---- the models ----

@st.cache_resource(show_spinner="Loading the model (downloading it on first use)…", max_entries=2)
def model(name: str, device: str, dtype: str, batch_window_ms: float) -> LoadedModel:
    """The one model of the process (shared by every session: read-only); concurrent sessions' passes are
    batched together unless the window is 0."""
    lm = load_model(Settings(model=name, device="cpu" if dtype == "int8" else device, dtype=dtype))
    if batch_window_ms > 0:
        lm.batcher = EncoderBatcher(lm, window_s=batch_window_ms / 1000)
    return lm


@st.cache_resource(show_spinner="Loading the second model…", max_entries=1)
def second_model(name: str, device: str, dtype: str):
    """(model, resident memory it added in bytes); one entry, so choosing another drops the previous one."""
    from bertlens.bias.compare import load_measured

    return load_measured(Settings(model=name, device="cpu" if dtype == "int8" else device, dtype=dtype))


# ---- results ----

@st.cache_resource(max_entries=MAX_ENTRIES, ttl=TTL_SECONDS, hash_funcs=MODEL_HASH, show_spinner=False)
def masked_analysis(lm: LoadedModel, text: str) -> Analysis:
    """The one forward pass behind fill-mask and its target words. Raises InputError for bad text."""
    return analyse_masked(lm, text)


@st.cache_data(max_entries=MAX_ENTRIES, ttl=TTL_SECONDS, hash_funcs=MODEL_HASH, show_spinner=False)
def fill_mask(lm: LoadedModel, text: str, top_k: int, filters: Filters) -> FillMaskResult:
    return postprocess(lm, masked_analysis(lm, text), top_k, filters)


@st.cache_data(max_entries=MAX_ENTRIES, ttl=TTL_SECONDS, hash_funcs=MODEL_HASH, show_spinner=False)
def word_scores(lm: LoadedModel, text: str, words: tuple[str, ...]) -> list[WordScore]:
    """Target words at the mask: one-piece words read the fill-mask's own analysis, so they cost no pass."""
    return score_words(lm, text, list(words), analysis=masked_analysis(lm, text))


@st.cache_data(max_entries=MAX_ENTRIES, ttl=TTL_SECONDS, hash_funcs=MODEL_HASH, show_spinner=False)
def rank_next(lm: LoadedModel, sentence_a: str, candidates: tuple[str, ...], sort: bool) -> list[NSPResult]:
    return rank_next_sentences(lm, sentence_a, list(candidates), sort=sort)


@st.cache_data(max_entries=64, ttl=TTL_SECONDS, hash_funcs=MODEL_HASH, show_spinner=False)
def side_by_side(lm: LoadedModel, template: str, pair: WordPair, top_k: int) -> SideBySide:
    """The bias page's side-by-side view: word pieces and punctuation hidden from the candidates."""
    return bias_side_by_side(lm, template, pair, top_k=top_k, filters=Filters(punctuation=True, subwords=True))


@st.cache_resource(max_entries=MAX_FULL_ANALYSES, ttl=TTL_SECONDS, hash_funcs=MODEL_HASH,
                   show_spinner="Running the model…")
def full_analysis(lm: LoadedModel, text: str, pair: str | None) -> Analysis:
    """One pass with every layer's hidden states and attentions; over 512 tokens it is truncated and says so."""
    return analyse(lm, text, pair, truncate=True, hidden_states=True, attentions=True)


@dataclass(frozen=True)
class AttentionView:
    """What the attention page draws from one analysis: the weights, per-head statistics and thumbnails."""

    analysis: Analysis
    attention: Attention
    statistics: HeadStatistics
    grid: np.ndarray


@st.cache_resource(max_entries=MAX_FULL_ANALYSES, ttl=TTL_SECONDS, hash_funcs=MODEL_HASH,
                   show_spinner="Running the model with attentions…")
def attention_view(lm: LoadedModel, text: str, pair: str | None) -> AttentionView:
    """Attention, statistics and thumbnails of `full_analysis`, computed once. Raises InputError for bad input."""
    analysis = full_analysis(lm, text, pair)
    attention = attention_of(analysis)
    return AttentionView(analysis, attention, head_statistics(attention.weights, attention.tokens),
                         thumbnail_grid(thumbnails(attention.weights)))


# ----- Explain page (issue 11): targets, lens, rollout and occlusion per target; integrated gradients below -------

@st.cache_data(max_entries=MAX_ENTRIES, ttl=TTL_SECONDS, hash_funcs=MODEL_HASH, show_spinner=False)
def explain_target(lm: LoadedModel, text: str, word: str, contrast: str | None, mask_index: int) -> _explain.Target:
    """The checked target (raises InputError for bad input; see `bertlens.explain.resolve_target`)."""
    return _explain.resolve_target(lm, text, word, contrast, mask_index)


def explain_analysis(lm: LoadedModel, target: _explain.Target) -> Analysis:
    """The full analysis (hidden states, attentions) of the target's text, shared with the attention page. The
    text is at most 512 tokens (`resolve_target` refuses longer), so it is never truncated."""
    return full_analysis(lm, target.text, None)


@st.cache_data(max_entries=MAX_ENTRIES, ttl=TTL_SECONDS, hash_funcs=MODEL_HASH, show_spinner=False)
def explain_lens(lm: LoadedModel, target: _explain.Target, top_k: int, bias: bool) -> _explain.Lens:
    return _explain.logit_lens(lm, explain_analysis(lm, target), target, top_k, bias)


@st.cache_data(max_entries=MAX_ENTRIES, ttl=TTL_SECONDS, hash_funcs=MODEL_HASH, show_spinner=False)
def explain_rollout(lm: LoadedModel, target: _explain.Target) -> _explain.Rollout:
    return _explain.rollout(explain_analysis(lm, target), target)


@st.cache_data(max_entries=MAX_ENTRIES, ttl=TTL_SECONDS, hash_funcs=MODEL_HASH, show_spinner="Occluding each token…")
def explain_occlusion(lm: LoadedModel, target: _explain.Target) -> _explain.Occlusion:
    return _explain.occlusion(lm, target, f_input=_explain.analysis_f(explain_analysis(lm, target), target))


class BoundedCache:
    """A process-wide LRU with a time to live, for results whose computation reports progress to the page: inside
    st.cache_data a progress bar would be recorded and replayed into other sessions. Values must be immutable."""

    def __init__(self, max_entries: int = MAX_ENTRIES, ttl: float = TTL_SECONDS) -> None:
        self.max_entries, self.ttl = max_entries, ttl
        self.entries: OrderedDict[Any, tuple[float, Any]] = OrderedDict()
        self.lock = threading.Lock()

    def get_or_compute(self, key: Any, compute: Callable[[], Any]) -> Any:
        now = time.monotonic()
        with self.lock:
            hit = self.entries.get(key)
            if hit is not None and now - hit[0] <= self.ttl:
                self.entries.move_to_end(key)
                return hit[1]
        value = compute()
        with self.lock:
            self.entries[key] = (now, value)
            self.entries.move_to_end(key)
            while len(self.entries) > self.max_entries:
                self.entries.popitem(last=False)
        return value


@st.cache_resource(max_entries=1, show_spinner=False)
def _gradient_cache() -> BoundedCache:
    return BoundedCache()


def explain_gradients(lm: LoadedModel, target: _explain.Target, steps: int, baseline: str,
                      progress: _explain.Progress | None = None
                      ) -> tuple[_explain.IntegratedGradients, _explain.GradientXInput]:
    """Integrated gradients and gradient x input, computed once per (model, target, steps, baseline) in a bounded
    LRU; `progress(done, total)` is called only when they are computed."""
    return _gradient_cache().get_or_compute(
        (lm.key, target, steps, baseline), lambda: _explain.integrated_gradients(lm, target, steps, baseline, progress))


# ---------------------------------------------------------------- audit depth: counterfactual, pronouns, robustness

@st.cache_data(max_entries=64, ttl=TTL_SECONDS, hash_funcs=MODEL_HASH, show_spinner=False)
def counterfactual(lm: LoadedModel, text: str, pairs_text: str | None, top_k: int) -> Counterfactual:
    """The counterfactual page: each version's pass is `masked_analysis`, so at most two passes, none on a hit.
    `pairs_text` None uses the shipped swap lists. Raises InputError."""
    table = parse_swap_pairs(pairs_text, "your swap list") if pairs_text is not None else None
    return bias_counterfactual(lm, text, table, top_k, Filters(punctuation=True, subwords=True),
                               analyse=masked_analysis)


@st.cache_data(max_entries=16, ttl=TTL_SECONDS, hash_funcs=MODEL_HASH, show_spinner="Scoring every pronoun "
                                                                                    "sentence in one batch…")
def pronoun_probe(lm: LoadedModel, templates_text: str | None) -> PronounResult:
    """The bias page's pronoun tab (shipped occupations). Raises InputError for bad templates."""
    templates = parse_pronoun_templates(templates_text) if templates_text is not None else None
    return run_pronoun_probe(lm, templates)


@st.cache_data(max_entries=8, ttl=TTL_SECONDS, hash_funcs=MODEL_HASH, show_spinner=False)
def robustness(lm: LoadedModel, paraphrases_text: str, config: ProbeConfig) -> RobustnessResult:
    """The bias page's template-robustness tab. The caller passes `config` without templates and with the default
    minimum effect (`components.bias_robustness.cache_key`) and reads the result `.with_min_effect`, so neither
    the probe's templates nor the effect size rerun the model. Raises InputError for bad paraphrase sets."""
    return run_robustness(lm, parse_paraphrase_sets(paraphrases_text), config)


# ---- AUL / AULA on CrowS-Pairs (issue 13 part 3) ----

@st.cache_data(max_entries=16, ttl=TTL_SECONDS, hash_funcs=MODEL_HASH, show_spinner="Scoring AUL / AULA…")
def aul_scores(lm: LoadedModel, pairs: tuple[CrowsPair, ...], metrics: tuple[str, ...]) -> AulResult:
    """AUL / AULA of every pair: one unmasked forward pass per distinct sentence. Raises InputError."""
    return score_aul(lm, list(pairs), metrics)
