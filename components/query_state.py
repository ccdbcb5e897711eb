"""Page inputs mirrored in the URL, so a teacher can share a link. Query parameters are untrusted input: a bad
value falls back to the default with a message."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

MAX_URL_TEXT = 2_000


def adopt(params: dict[str, tuple[str, Callable[[str], Any], Any]], page: str) -> list[str]:
    """Once per session and page, copy valid query parameters into session_state.

    `params` maps a query parameter to (state key, parser, default); a parser raises ValueError on a bad value.
    Returns messages about the values that were refused.
    """
    flag = f"_adopted_{page}"
    if st.session_state.get(flag):
        return []
    st.session_state[flag] = True
    problems = []
    for name, (state_key, parse, default) in params.items():
        raw = st.query_params.get(name)
        if raw is None:
            continue
        try:
            st.session_state[state_key] = parse(raw)
        except (ValueError, TypeError) as exc:
            st.session_state[state_key] = default
            problems.append(f"The link's '{name}' value was ignored ({exc}); using the default.")
    return problems


def publish(values: dict[str, Any]) -> None:
    """Write the current inputs to the URL; long texts are left out rather than making a giant link."""
    current = dict(st.query_params)
    wanted = {k: str(v) for k, v in values.items() if v not in (None, "") and len(str(v)) <= MAX_URL_TEXT}
    if current != wanted:
        st.query_params.clear()
        st.query_params.update(wanted)


def bounded_int(low: int, high: int) -> Callable[[str], int]:
    def parse(raw: str) -> int:
        value = int(raw)
        if not low <= value <= high:
            raise ValueError(f"must be from {low} to {high}")
        return value
    return parse


def bounded_text(limit: int = MAX_URL_TEXT) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        if len(raw) > limit:
            raise ValueError(f"longer than {limit:,} characters")
        return raw.replace("\x00", "")
    return parse
