"""Bounded caches for the Explain page, keyed like every other result cache by `components.cached.model_key`.

One analysis pass (hidden states and attentions) per text serves the lens and the rollout; integrated gradients
and occlusion are cached per target, so toggling the lens's bias or the top-k reruns neither.
(To move into the app's single cache module once it exists.)
"""
from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Any, Callable

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


@st.cache_resource(show_spinner=False)
def _gradient_cache() -> BoundedCache:
    return BoundedCache()


def cached_integrated_gradients(lm: LoadedModel, key: str, target: Target, steps: int, baseline: str,
                                progress: Progress | None = None) -> tuple[IntegratedGradients, GradientXInput]:
    """Integrated gradients and gradient x input, computed once per (model, target, steps, baseline); `progress`
    is called only when it is computed."""
    return _gradient_cache().get_or_compute(
        (key, target, steps, baseline), lambda: integrated_gradients(lm, target, steps, baseline, progress))


@st.cache_data(max_entries=MAX_ENTRIES, ttl=TTL_SECONDS, show_spinner="Occluding each token…")
def cached_occlusion(_lm: LoadedModel, key: str, target: Target) -> Occlusion:
    return occlusion(_lm, target, f_input=analysis_f(cached_explain_analysis(_lm, key, target.text), target))
