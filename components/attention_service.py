"""Per-input caches for the attention page: one forward pass and its statistics per (model, text, pair)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import streamlit as st

from bertlens import LoadedModel
from bertlens.attention import (Attention, HeadStatistics, QueryKey, check_inputs, extract, head_statistics,
                                query_key)
from bertlens.attention_views import STATIC_VENDOR_URL, thumbnail_grid, thumbnails
from bertlens.encoding import encode
from bertlens.fill_mask import Filters, MaskPrediction, fill_mask, forward, postprocess


@dataclass(frozen=True)
class Analysis:
    attention: Attention
    statistics: HeadStatistics
    grid: np.ndarray


@st.cache_data(max_entries=4, ttl=3600, show_spinner="Running the model with attentions…")
def analyse(_lm: LoadedModel, key: str, text: str, pair: str | None) -> Analysis:
    """Attention, statistics and thumbnails for one input, computed once. Raises InputError for bad input."""
    attention = extract(_lm, text, pair)
    return Analysis(attention, head_statistics(attention.weights, attention.tokens),
                    thumbnail_grid(thumbnails(attention.weights)))


@st.cache_data(max_entries=8, ttl=3600, show_spinner="Predicting the masked tokens…")
def mask_predictions(_lm: LoadedModel, key: str, text: str, pair: str | None,
                     top_k: int = 5) -> dict[int, MaskPrediction]:
    """Fill-mask predictions by token position. Raises MissingHead without an MLM head, InputError for bad text.

    A single text goes through `fill_mask`; a pair or a truncated text is encoded as the attention view encodes
    it, so positions line up.
    """
    _lm.require("mlm")
    text, pair = check_inputs(text, pair)
    encoded = encode(_lm, text, pair, truncate=True)
    if pair is None and not encoded.truncated:
        result = fill_mask(_lm, text, top_k=top_k, filters=Filters())
    else:
        joined = text if pair is None else f"{text} {pair}"
        result = postprocess(_lm, joined, encoded, forward(_lm, encoded), top_k, Filters())
    return {mask.position: mask for mask in result.masks}


@st.cache_data(max_entries=16, ttl=3600, show_spinner="Computing queries and keys…")
def cached_query_key(_lm: LoadedModel, key: str, text: str, pair: str | None, layer: int, head: int,
                     position: int) -> QueryKey:
    """`query_key` for one head and token (0-based), cached."""
    return query_key(_lm, text, pair, layer, head, position)


def head_from_selection(state: Any) -> tuple[int, int] | None:
    """The (layer, head), 1-based, of the first clicked head marker in a plotly selection state, if any."""
    points = ((state or {}).get("selection") or {}).get("points") or []
    for point in points:
        data = point.get("customdata")
        if isinstance(data, dict):  # plotly's typed arrays arrive as {"0": layer, "1": head}
            data = [data.get("0"), data.get("1")]
        if isinstance(data, (list, tuple)) and len(data) == 2 and None not in data:
            return int(data[0]), int(data[1])
    return None


def static_url() -> str:
    """Where Streamlit serves `static/vendor/`, under the configured base path."""
    base = (st.get_option("server.baseUrlPath") or "").strip("/")
    return f"/{base}{STATIC_VENDOR_URL}" if base else STATIC_VENDOR_URL
