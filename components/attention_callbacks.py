"""The attention page's widget callbacks and labels, defined here, not in the page script.

A function defined in a page script keeps the whole page's namespace alive through its globals, and Streamlit keeps
a widget's callback with the session until the next run: every idle session then held its page's attention tensors
(about 400 MB at 512 tokens) outside the bounded result store. These take plain values (`functools.partial`), and
the SVG writers look the view up in the store when pressed instead of holding it.
"""
from __future__ import annotations

from typing import Sequence

import streamlit as st

from components.attention_charts import token_in_context
from components.attention_widgets import head_from_selection

EVERY_TOKEN = -1


def token_label(tokens: Sequence[str], position: int) -> str:
    """A token picker's label: 'every token', or the token with its neighbours."""
    return "every token" if position == EVERY_TOKEN else token_in_context(list(tokens), position)


def pick_head(chart_key: str) -> None:
    """A click on a head (in the chart `chart_key`) opens it below and scrolls there."""
    picked = head_from_selection(st.session_state.get(chart_key))
    if picked:
        st.session_state.att_layer, st.session_state.att_head = picked
        st.session_state["_att_scroll"] = st.session_state.get("_att_scroll", 0) + 1
        st.session_state["_att_scrolled"] = False


def step_layer(delta: int, layers: int) -> None:
    st.session_state.att_layer = min(layers, max(1, st.session_state.att_layer + delta))


def model_view_svg_of(lm, text: str, pair: str | None, layers: Sequence[int]) -> str:
    """bertviz's model view of `layers` (0-based) for the page's input, read from the result store when the button
    is pressed (computed again only if the store has let it go)."""
    from bertlens.attention_views import model_view_svg
    from services import cache

    return model_view_svg(cache.attention_view(lm, text, pair).attention, list(layers))
