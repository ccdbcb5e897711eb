"""Bounded result caches shared by all sessions. A repeated input is served without a forward pass; the bounds
(`max_entries`, `ttl`) keep thousands of distinct inputs from growing memory without limit."""
from __future__ import annotations

import streamlit as st

from bertlens import LoadedModel
from bertlens.fill_mask import FillMaskResult, Filters, WordScore, fill_mask, score_words
from bertlens.nsp import NSPResult, rank_next_sentences

MAX_ENTRIES = 256
TTL_SECONDS = 3600


def model_key(lm: LoadedModel) -> str:
    return f"{lm.info.source}|{lm.info.dtype}|{lm.info.device}"


@st.cache_data(max_entries=MAX_ENTRIES, ttl=TTL_SECONDS, show_spinner=False)
def cached_fill_mask(_lm: LoadedModel, key: str, text: str, top_k: int, filters: Filters) -> FillMaskResult:
    return fill_mask(_lm, text, top_k=top_k, filters=filters)


@st.cache_data(max_entries=MAX_ENTRIES, ttl=TTL_SECONDS, show_spinner=False)
def cached_score_words(_lm: LoadedModel, key: str, text: str, words: tuple[str, ...]) -> list[WordScore]:
    return score_words(_lm, text, list(words))


@st.cache_data(max_entries=MAX_ENTRIES, ttl=TTL_SECONDS, show_spinner=False)
def cached_rank_next(_lm: LoadedModel, key: str, sentence_a: str, candidates: tuple[str, ...],
                     sort: bool) -> list[NSPResult]:
    return rank_next_sentences(_lm, sentence_a, list(candidates), sort=sort)
