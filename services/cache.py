"""Every result cache of the app, in one place, shared by all sessions and keyed on the model.

A cache hit runs no model. Analyses (`bertlens.analysis.Analysis`) are frozen records holding tensors, so they are
kept as shared objects (`st.cache_resource`, never copied or pickled per hit) and must be treated as read-only;
small results that pages may hold on to are `st.cache_data`. Each cache is bounded (`max_entries`, `ttl`), so
thousands of distinct inputs do not grow memory without limit. The model is part of every key through
`LoadedModel.key` (weights, precision, device), given to Streamlit as a hash function.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import streamlit as st

from bertlens import LoadedModel
from bertlens.analysis import Analysis, analyse
from bertlens.attention import Attention, HeadStatistics, attention_of, head_statistics
from bertlens.attention_views import thumbnail_grid, thumbnails
from bertlens.bias import SideBySide, WordPair
from bertlens.bias import side_by_side as bias_side_by_side
from bertlens.fill_mask import FillMaskResult, Filters, WordScore, analyse_masked, postprocess, score_words
from bertlens.nsp import NSPResult, rank_next_sentences

MAX_ENTRIES = 256
MAX_FULL_ANALYSES = 4
TTL_SECONDS = 3600
MODEL_HASH = {LoadedModel: lambda lm: lm.key}


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


# ---- audit-b: AUL / AULA on CrowS-Pairs (issue 13 part 3) ----
from bertlens.bias.aul import AulResult, score_aul  # noqa: E402
from bertlens.bias.crows import CrowsPair  # noqa: E402


@st.cache_data(max_entries=16, ttl=TTL_SECONDS, hash_funcs=MODEL_HASH, show_spinner="Scoring AUL / AULA…")
def aul_scores(lm: LoadedModel, pairs: tuple[CrowsPair, ...], metrics: tuple[str, ...]) -> AulResult:
    """AUL / AULA of every pair: one unmasked forward pass per distinct sentence. Raises InputError."""
    return score_aul(lm, list(pairs), metrics)
# ---- end audit-b ----
