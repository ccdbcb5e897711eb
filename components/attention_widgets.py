"""Widgets of the attention page: reading a clicked head, and where the bertviz scripts are served."""
from __future__ import annotations

from typing import Any

import streamlit as st

from bertlens.attention_views import STATIC_VENDOR_URL


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


def relabel_when_tokens_change(keys: tuple[str, ...], tokens: tuple[str, ...]) -> None:
    """Make the token pickers show the current text's labels.

    A keyed selectbox whose options keep their values (positions 0, 1, …) but change their labels (the tokens
    around each position) keeps showing the old label in the browser: after the text became "The doctor told the
    nurse…", the query-token box still read "0: [[CLS]] The cat …". Assigning each picker its own value again when
    the tokens change makes Streamlit send the value, and the browser draw the new label."""
    if st.session_state.get("_att_token_labels") == tokens:
        return
    st.session_state["_att_token_labels"] = tokens
    for key in keys:
        if key in st.session_state:
            st.session_state[key] = st.session_state[key]


def static_url() -> str:
    """Where Streamlit serves `static/vendor/`, under the configured base path."""
    base = (st.get_option("server.baseUrlPath") or "").strip("/")
    return f"/{base}{STATIC_VENDOR_URL}" if base else STATIC_VENDOR_URL
