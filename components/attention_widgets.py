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


def static_url() -> str:
    """Where Streamlit serves `static/vendor/`, under the configured base path."""
    base = (st.get_option("server.baseUrlPath") or "").strip("/")
    return f"/{base}{STATIC_VENDOR_URL}" if base else STATIC_VENDOR_URL
