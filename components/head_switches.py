"""Head switches: switch attention heads off and watch the predictions at the mask move, old beside new.

A page hooks it in with two lines: its PageState takes `fields(prefix)` (so the switches last in links and
presentation mode like every other input), and `head_switches(lm, text, prefix)` draws it under the page's result.
Heads are chosen on a 24 x 16 grid (click to switch one on or off), in a list, or as "the top k heads by NIE" of a
mediation (a swap and two targets on the same text, run as a job). A head switched off has its slice of the
attention context set to zero; nothing is changed on the shared model (`bertlens.interventions`).
"""
from __future__ import annotations

import re
from typing import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from bertlens.errors import BertLensError
from bertlens.fill_mask import HeadSwitch, MaskPrediction, switch_heads_off
from bertlens.mediation import PairInput, PairMediation, SwapLengthError, parse_swap, parse_targets, prepare
from bertlens.model import LoadedModel
from bertlens.text import count_masks
from components.attention_widgets import head_from_selection
from components.heads_view import swap_error
from components.presentation import style
from components.query_state import Field, bounded_int, bounded_text, one_of, parse_list
from components.safe import plotly_text, show_error

MODES = ("off", "chosen", "top")
MODE_LABELS = {"off": "All heads on", "chosen": "Heads I choose", "top": "The top k heads by NIE"}
MAX_CHOSEN = 384
TOP_K_MAX = 64
_HEAD = re.compile(r"\d{1,3}\.\d{1,3}")


def _head_item(raw: str) -> str:
    if not _HEAD.fullmatch(raw.strip()):
        raise ValueError(f"'{raw[:20]}' is not LAYER.HEAD")
    return raw.strip()


def fields(prefix: str, swap: str = "nurse=man", targets: str = "she,he") -> list[Field]:
    """The switches' inputs, for the hosting page's PageState (their link parameters start with hs_)."""
    return [
        Field(f"{prefix}_hs_mode", "hs_mode", "off", parse=one_of(MODES)),
        Field(f"{prefix}_hs_heads", "hs_heads", [], parse=parse_list(_head_item, MAX_CHOSEN),
              dump=lambda v: ",".join(v or []), label="the heads switched off"),
        Field(f"{prefix}_hs_k", "hs_k", 5, parse=bounded_int(1, TOP_K_MAX)),
        Field(f"{prefix}_hs_swap", "hs_swap", swap, parse=bounded_text(201), label="the swap", limit=201),
        Field(f"{prefix}_hs_targets", "hs_targets", targets, parse=bounded_text(201), label="the targets",
              limit=201),
    ]


def options(lm: LoadedModel) -> list[str]:
    return [f"{l}.{h}" for l in range(1, lm.info.layers + 1) for h in range(1, lm.info.heads + 1)]


def switch_grid(layers: int, heads: int, chosen: Sequence[tuple[int, int]]) -> go.Figure:
    """A layers x heads grid: dark cells are switched off. Clicking a cell toggles it (customdata)."""
    grid = np.zeros((layers, heads))
    for l, h in chosen:
        grid[l - 1, h - 1] = 1.0
    x, y = np.arange(1, heads + 1), np.arange(1, layers + 1)
    cx, cy = np.meshgrid(x, y)
    fig = go.Figure(go.Heatmap(z=grid, x=x, y=y, zmin=0, zmax=1, showscale=False, hoverinfo="skip",
                               colorscale=[[0, "#e9ecef"], [1, "#212529"]], xgap=1, ygap=1))
    state = ["off" if grid[l - 1, h - 1] else "on" for l, h in zip(cy.ravel(), cx.ravel())]
    fig.add_trace(go.Scatter(
        x=cx.ravel(), y=cy.ravel(), mode="markers", showlegend=False,
        marker=dict(size=12, color="rgba(0,0,0,0)", symbol="square"),
        customdata=np.stack([cy.ravel(), cx.ravel()], axis=1),
        hovertext=[f"Layer {l}, head {h}: {s} (click to switch)" for l, h, s in zip(cy.ravel(), cx.ravel(), state)],
        hovertemplate="%{hovertext}<extra></extra>"))
    fig.update_xaxes(title_text="head", dtick=1, side="top", showgrid=False, zeroline=False,
                     range=[0.5, heads + 0.5], tickfont_size=10)
    fig.update_yaxes(title_text="layer", dtick=1, range=[layers + 0.5, 0.5], showgrid=False, zeroline=False,
                     tickfont_size=10)
    fig.update_layout(height=int(min(560, max(220, 90 + 18 * layers))), margin=dict(l=45, r=5, t=45, b=5))
    return fig


def _grid_key(prefix: str) -> str:
    """A fresh chart after each click, so clicking a cell again toggles it back instead of only deselecting it."""
    return f"{prefix}_hs_grid_{st.session_state.get(f'_{prefix}_hs_clicks', 0)}"


def _toggle(prefix: str) -> None:
    picked = head_from_selection(st.session_state.get(_grid_key(prefix)))
    if picked is None:
        return
    st.session_state[f"_{prefix}_hs_clicks"] = st.session_state.get(f"_{prefix}_hs_clicks", 0) + 1
    item = f"{picked[0]}.{picked[1]}"
    current = list(st.session_state.get(f"{prefix}_hs_heads") or [])
    st.session_state[f"{prefix}_hs_heads"] = [c for c in current if c != item] if item in current else \
        [*current, item]


def _clean_chosen(lm: LoadedModel, prefix: str) -> None:
    """Drop restored heads the loaded model does not have (a link made for another model)."""
    key = f"{prefix}_hs_heads"
    valid = set(options(lm))
    current = st.session_state.get(key) or []
    kept = [c for c in dict.fromkeys(current) if c in valid]
    if kept != current:
        st.session_state[key] = kept


def head_switches(lm: LoadedModel, text: str, prefix: str, targets: Sequence[str] = (), top_k: int = 10) -> None:
    """The switches and, when some heads are off, the predictions at each [MASK] of `text` old beside new.
    `targets`: words whose probability is shown intact and switched off (one-piece words only)."""
    st.subheader("Switch heads off")
    st.caption("Set chosen heads' output to zero and see what the model predicts without them. The model itself "
               "is never changed: the switch is part of this one prediction.")
    mode = st.radio("Heads", MODES, format_func=MODE_LABELS.get, key=f"{prefix}_hs_mode", horizontal=True,
                    label_visibility="collapsed")
    if mode == "off":
        return
    chosen = _chosen_heads(lm, text, prefix, mode)
    if not chosen:
        return
    targets = tuple(t for t in targets if t and t.strip()) if count_masks(text) == 1 else ()
    try:
        result = _switched(lm, text, tuple(chosen), top_k, targets)
    except BertLensError as exc:
        show_error(exc)
        return
    show_switch(result, key=f"{prefix}_hs")


def _chosen_heads(lm: LoadedModel, text: str, prefix: str, mode: str) -> list[tuple[int, int]]:
    layers, heads = lm.info.layers, lm.info.heads
    if mode == "chosen":
        _clean_chosen(lm, prefix)
        left, right = st.columns([1, 1])
        with right:
            picked = st.multiselect("Heads switched off (layer.head)", options(lm), key=f"{prefix}_hs_heads",
                                    placeholder="Click cells on the grid, or type 9.4")
        chosen = [tuple(int(p) for p in item.split(".")) for item in picked]
        with left:
            st.plotly_chart(style(switch_grid(layers, heads, chosen)), key=_grid_key(prefix),
                            on_select=lambda: _toggle(prefix), selection_mode="points", width="stretch",
                            config={"displaylogo": False})
        if not chosen:
            st.info("Click heads on the grid (or pick them in the list) to switch them off.",
                    icon=":material/touch_app:")
        return chosen
    c1, c2, c3 = st.columns([2, 2, 1])
    swap = c1.text_input("Swap", key=f"{prefix}_hs_swap", placeholder="nurse=man",
                         help="WORD=OTHER: a word of the text and its replacement. The heads whose output carries "
                              "the swap's effect most are switched off.")
    pair = c2.text_input("Targets", key=f"{prefix}_hs_targets", placeholder="she,he",
                         help="T1,T2: the ratio P(T1) / P(T2) at the mask whose change the heads carry.")
    k = c3.number_input("k", 1, min(TOP_K_MAX, layers * heads), key=f"{prefix}_hs_k")
    try:
        inputs = PairInput(text, str(parse_swap(swap)), parse_targets(pair))
        prepare(lm, inputs.text, inputs.swap, inputs.targets)
    except SwapLengthError as exc:
        swap_error(exc)
        return []
    except BertLensError as exc:
        show_error(exc)
        return []
    from components import job_panel as jobs

    results = jobs.job_area([jobs.Request(PairMediation(), lm, inputs, {}, "Finding the heads (mediation)")],
                            button="Find the heads that carry it", key=f"{prefix}_hs_run")
    if not results:
        return []
    ranked = results[0].ranked(int(k))
    st.caption("Switched off: " + ", ".join(f"{h.layer}.{h.head} (NIE {h.nie:+.2%})" for h in ranked) +
               ". Open the Which heads? page for the whole map.")
    return [(h.layer, h.head) for h in ranked]


def _switched(lm: LoadedModel, text: str, heads: tuple[tuple[int, int], ...], top_k: int,
              targets: tuple[str, ...]) -> HeadSwitch:
    from services import jobs

    return jobs.cached("head-switch", lm, {"heads": heads, "top_k": top_k, "targets": targets}, text,
                       lambda: switch_heads_off(lm, text, heads, top_k, targets=list(targets) or None))


def comparison_table(before: MaskPrediction, after: MaskPrediction) -> pd.DataFrame:
    """Rank by rank: the intact model's candidate and probability beside the switched-off model's."""
    rows = max(len(before.candidates), len(after.candidates))
    cell = lambda cs, i, f: f(cs[i]) if i < len(cs) else None  # noqa: E731
    return pd.DataFrame({
        "rank": range(1, rows + 1),
        "all heads on": [cell(before.candidates, i, lambda c: c.token) for i in range(rows)],
        "p (on)": [cell(before.candidates, i, lambda c: c.probability) for i in range(rows)],
        "heads off": [cell(after.candidates, i, lambda c: c.token) for i in range(rows)],
        "p (off)": [cell(after.candidates, i, lambda c: c.probability) for i in range(rows)],
    })


def movement_figure(before: MaskPrediction, after: MaskPrediction) -> go.Figure:
    """The intact top candidates with their probability before and after, as paired bars."""
    after_p = {c.token_id: c.probability for c in after.candidates}
    tokens = [plotly_text(c.token) + "\u200b" * i for i, c in enumerate(before.candidates)][::-1]
    fig = go.Figure()
    fig.add_trace(go.Bar(y=tokens, x=[c.probability for c in before.candidates][::-1], orientation="h",
                         name="all heads on", marker_color="#3b5bdb"))
    fig.add_trace(go.Bar(y=tokens, x=[after_p.get(c.token_id, 0.0) for c in before.candidates][::-1],
                         orientation="h", name="heads off (0 when out of its top list)", marker_color="#e8590c"))
    fig.update_layout(barmode="group", height=110 + 34 * len(tokens), margin=dict(l=10, r=10, t=60, b=30),
                      legend=dict(orientation="h", y=1.02, yanchor="bottom"), xaxis_title="probability",
                      title=dict(text="The intact model's top candidates, with all heads on and with heads off"))
    return fig


def show_switch(result: HeadSwitch, key: str) -> None:
    heads = ", ".join(f"{l}.{h}" for l, h in result.heads)
    st.caption(f"{len(result.heads)} head{'s' if len(result.heads) != 1 else ''} switched off: {heads}")
    c1, c2 = st.columns(2)
    c1.caption("Completed, all heads on")
    c1.code(result.before.completed, language=None, wrap_lines=True)
    c2.caption("Completed, heads off")
    c2.code(result.after.completed, language=None, wrap_lines=True)
    pairs = list(zip(result.before.masks, result.after.masks))
    tabs = st.tabs([f"[MASK] {b.mask_index + 1}" for b, _ in pairs]) if len(pairs) > 1 else [st.container()]
    for tab, (before, after) in zip(tabs, pairs):
        with tab:
            st.plotly_chart(style(movement_figure(before, after)), key=f"{key}_move_{before.mask_index}",
                            width="stretch", config={"displaylogo": False})
            st.dataframe(comparison_table(before, after), hide_index=True, width="stretch", column_config={
                "p (on)": st.column_config.NumberColumn(format="%.4f"),
                "p (off)": st.column_config.NumberColumn(format="%.4f")})
    if result.targets:
        st.dataframe(pd.DataFrame({
            "word": [t.word for t in result.targets],
            "p (on)": [t.before.probability for t in result.targets],
            "p (off)": [t.after_probability for t in result.targets],
            "rank (off)": [t.after_rank for t in result.targets]}), hide_index=True, width="stretch")
        if any(t.after_probability is None for t in result.targets):
            st.caption("A word of several WordPieces is scored with all heads on only.")
