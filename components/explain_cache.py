"""Bounded caches for the Explain page, keyed like every other result cache by `components.cached.model_key`.

One analysis pass (hidden states and attentions) per text serves the lens and the rollout; integrated gradients
and occlusion are cached per target, so toggling the lens's bias or the top-k reruns neither.
(To move into the app's single cache module once it exists.)
"""
from __future__ import annotations

import streamlit as st

from bertlens import LoadedModel
from bertlens.analysis import Analysis, analyse
from bertlens.explain import (GradientXInput, IntegratedGradients, Lens, Occlusion, Progress, Rollout, Target,
                              analysis_f, integrated_gradients, logit_lens, occlusion, resolve_target, rollout)

MAX_ENTRIES = 256
TTL_SECONDS = 3600


@st.cache_data(max_entries=4, ttl=TTL_SECONDS, show_spinner="Running the model with hidden states and attentions…")
def cached_explain_analysis(_lm: LoadedModel, key: str, text: str) -> Analysis:
    return analyse(_lm, text, hidden_states=True, attentions=True)


@st.cache_data(max_entries=MAX_ENTRIES, ttl=TTL_SECONDS, show_spinner=False)
def cached_target(_lm: LoadedModel, key: str, text: str, word: str, contrast: str | None, mask_index: int) -> Target:
    return resolve_target(_lm, text, word, contrast, mask_index)


@st.cache_data(max_entries=MAX_ENTRIES, ttl=TTL_SECONDS, show_spinner=False)
def cached_lens(_lm: LoadedModel, key: str, target: Target, top_k: int, bias: bool) -> Lens:
    return logit_lens(_lm, cached_explain_analysis(_lm, key, target.text), target, top_k, bias)


@st.cache_data(max_entries=MAX_ENTRIES, ttl=TTL_SECONDS, show_spinner=False)
def cached_rollout(_lm: LoadedModel, key: str, target: Target) -> Rollout:
    return rollout(cached_explain_analysis(_lm, key, target.text), target)


@st.cache_data(max_entries=MAX_ENTRIES, ttl=TTL_SECONDS, show_spinner=False)
def cached_integrated_gradients(_lm: LoadedModel, key: str, target: Target, steps: int, baseline: str,
                                _progress: Progress | None = None) -> tuple[IntegratedGradients, GradientXInput]:
    return integrated_gradients(_lm, target, steps, baseline, _progress)


@st.cache_data(max_entries=MAX_ENTRIES, ttl=TTL_SECONDS, show_spinner="Occluding each token…")
def cached_occlusion(_lm: LoadedModel, key: str, target: Target) -> Occlusion:
    return occlusion(_lm, target, f_input=analysis_f(cached_explain_analysis(_lm, key, target.text), target))
