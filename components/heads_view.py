"""Drawing causal mediation: the 24 x 16 NIE heatmap, the layer bars, the total-effect headline, the link from a
head to its attention pattern, and the across-templates result.

Colours: one diverging scale, symmetric around 0 (white), orange where patching the head moves the ratio the way
the swap does (positive NIE), blue the other way. The scale is fixed at ±FIXED_SCALE (a head that doubles or halves
the ratio fills it) unless stretched to the largest |NIE| on the grid, and the colour bar says which.

One unit on the page: every effect (total effect, NIE, layers, intervals) reads as a % change of the ratio, in the
headline, the map's colour bar and hover, the tables (columns named "(%)") and the SVG; the JSON and CSV downloads
keep the fractions the core computes (0.0764 for +7.64%), as their field names say.
"""
from __future__ import annotations

import json
from functools import partial
from typing import Any, Sequence
from urllib.parse import urlencode

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from bertlens import svg
from bertlens.mediation import HeadEffect, Mediation, SwapLengthError
from bertlens.numbers import significant
from bertlens.export import csv_text
from bertlens.results import MetricResult
from bertlens.serialize import jsonable
from components.attention_widgets import head_from_selection
from components.figure_export import chart_config, context_name, context_title, svg_download
from components.presentation import chart, is_on, style
from components.safe import md_escape

FIXED_SCALE = 1.0
STRETCH_LABEL = "Stretch colours to the data"
SCALE = [[0.0, "#1864ab"], [0.25, "#74c0fc"], [0.5, "#ffffff"], [0.75, "#ffa94d"], [1.0, "#d9480f"]]
ATTENTION_PAGE = "attention"
INDIRECT_EFFECT = (
    "A head's **indirect effect** (NIE) is how much the ratio moves when only that head's output is taken from the "
    "swapped sentence while everything else still reads the original: the part of the swap's effect that can flow "
    "through that one head. +10% means the ratio grows by a tenth; 0% means the head carries none of it.")
PERCENT_COLUMN = "%+.2f%%"  # a table's column of effects already times 100
RANDOM_NOTE = ("This model has random weights: its heads carry nothing real. The heads of bert-large-cased are not "
               "known here; load the real weights to see them.")


def percent(value: float, digits: int = 3, sign: bool = True) -> str:
    """An effect (a fraction of the ratio) in the page's one unit, with `digits` significant digits in the one
    number format: 0.0764 -> "+7.64%", 4.5e-5 -> "+0.0045%"."""
    return significant(100 * float(value), digits, sign=sign) + "%"


def scale_of(values: np.ndarray, stretch: bool) -> tuple[float, str]:
    """The half-width of the symmetric colour scale and the colour bar's note."""
    if stretch:
        top = float(np.nanmax(np.abs(values))) if np.isfinite(values).any() else 0.0
        top = top if top > 0 else 1e-9
        return top, f"stretched to the data: ±{percent(top, sign=False)}"
    return FIXED_SCALE, f"fixed ±{percent(FIXED_SCALE, sign=False)}; stronger heads get the end colour"


def nie_heatmap(grid: np.ndarray, stretch: bool = False, selected: tuple[int, int] | None = None,
                low: np.ndarray | None = None, high: np.ndarray | None = None, title: str = "") -> go.Figure:
    """Layers down, heads across (both from 1); clicking a cell selects (layer, head) through customdata."""
    grid = np.asarray(grid, dtype=float)
    layers, heads = grid.shape
    top, note = scale_of(grid, stretch)
    x, y = np.arange(1, heads + 1), np.arange(1, layers + 1)
    hover = []
    for l in range(layers):
        for h in range(heads):
            line = f"Layer {l + 1}, head {h + 1}<br>NIE {percent(grid[l, h])}"
            if low is not None and high is not None:
                line += f"<br>95% interval [{percent(low[l, h])}, {percent(high[l, h])}]"
            hover.append(line + "<br>click: open its attention pattern")
    colorbar = dict(orientation="h", y=-0.01, yanchor="top", thickness=12, len=0.9, tickformat="+.2~%",
                    title=dict(text=f"NIE in % of the ratio ({note})", side="bottom"))
    fig = go.Figure(go.Heatmap(z=grid, x=x, y=y, colorscale=SCALE, zmin=-top, zmax=top, zmid=0,
                               colorbar=colorbar, hoverinfo="skip"))
    cx, cy = np.meshgrid(x, y)
    fig.add_trace(go.Scatter(
        x=cx.ravel(), y=cy.ravel(), mode="markers", marker=dict(size=14, color="rgba(0,0,0,0)", symbol="square"),
        customdata=np.stack([cy.ravel(), cx.ravel()], axis=1), hovertext=hover,
        hovertemplate="%{hovertext}<extra></extra>", showlegend=False))
    if selected:
        layer, head = selected
        fig.add_shape(type="rect", x0=head - 0.5, x1=head + 0.5, y0=layer - 0.5, y1=layer + 0.5,
                      line=dict(color="#212529", width=3))
    fig.update_xaxes(title_text="head", dtick=1, side="top", showgrid=False, zeroline=False,
                     range=[0.5, heads + 0.5])
    fig.update_yaxes(title_text="layer", dtick=1, range=[layers + 0.5, 0.5], showgrid=False, zeroline=False)
    height = int(min(760, max(300, 150 + 20 * layers)))
    fig.update_layout(height=height, margin=dict(l=50, r=10, t=80 if title else 50, b=70),
                      title=dict(text=title, y=0.99, yanchor="top") if title else None)
    return fig


def nie_svg(grid: np.ndarray, stretch: bool = False, title: str = "Indirect effect (NIE) of each head") -> str:
    """The NIE grid as a standalone SVG for a paper: layers down, heads across, each cell coloured on the page's
    scale and holding its NIE, in the one number format."""
    grid = np.asarray(grid, dtype=float)
    layers, heads = grid.shape
    top, note = scale_of(grid, stretch)
    stops = tuple((position, tuple(int(hex_[i:i + 2], 16) for i in (1, 3, 5))) for position, hex_ in SCALE)
    return svg.grid_svg(svg.Grid(
        title=title, rows=[f"layer {l + 1}" for l in range(layers)], columns=[str(h + 1) for h in range(heads)],
        values=grid.tolist(), low=-top, high=top, scale=stops,
        texts=[[percent(v, 2) for v in row] for row in grid.tolist()],
        colour_label="NIE (%)", column_title="head", note=f"NIE in % change of the ratio; colour scale {note}."),
        font_px=11)


def pale_note(grid: np.ndarray, stretch: bool) -> str | None:
    """A hint when every effect is too small to show on the fixed scale."""
    top = float(np.nanmax(np.abs(grid))) if np.isfinite(grid).any() else 0.0
    if stretch or top >= 0.05 * FIXED_SCALE:
        return None
    return (f"The strongest head moves the ratio by {top:.2%}, so on the fixed scale every cell looks white. "
            f"Switch on \"{STRETCH_LABEL}\" to see the differences between heads.")


def layer_bars(attention: Sequence[float], mlp: Sequence[float], attention_ci: tuple | None = None,
               mlp_ci: tuple | None = None) -> go.Figure:
    """The effect of patching each whole attention layer and each MLP layer, side by side per layer."""
    layers = np.arange(1, len(attention) + 1)
    fig = go.Figure()
    for name, values, ci, colour in (("attention layer", attention, attention_ci, "#1c7ed6"),
                                     ("MLP layer", mlp, mlp_ci, "#e8590c")):
        values = np.asarray(values, dtype=float)
        error = None
        if ci is not None:
            low, high = (np.asarray(v, dtype=float) for v in ci)
            error = dict(type="data", symmetric=False, array=high - values, arrayminus=values - low, thickness=1)
        fig.add_trace(go.Bar(x=layers, y=values, name=name, marker_color=colour, error_y=error,
                             hovertemplate=f"layer %{{x}}, {name}: %{{y:+.2%}}<extra></extra>"))
    fig.update_layout(barmode="group", height=320, margin=dict(l=60, r=10, t=30, b=40),
                      legend=dict(orientation="h", y=1.12), yaxis_title="change of the ratio (%)")
    fig.update_yaxes(tickformat=".2~%")
    fig.update_xaxes(title_text="layer", dtick=1 if len(layers) <= 24 else 2)
    fig.add_hline(y=0, line_color="#868e96", line_width=1)
    return fig


def attention_link(text: str, layer: int, head: int, present: bool = False) -> str:
    """The Attention page for `text` with this head open, in that page's own link format (its query
    parameters `text`, `layer`, `head`), relative to this page so it works under any base path."""
    params: dict[str, Any] = {"text": text, "layer": layer, "head": head}
    if present:
        params["present"] = 1
    return f"{ATTENTION_PAGE}?{urlencode(params)}"


def te_headline(result: Mediation) -> None:
    t1, t2 = result.targets
    left, right = st.columns([1, 2])
    left.metric("Total effect of the swap", f"{result.total_effect:+.1%}",
                help="TE = y(swapped) / y(original) − 1, with y = P(first target) / P(second target) at the mask.")
    right.caption(
        f"y = P({md_escape(t1)}) / P({md_escape(t2)}) at the mask: **{result.y:.3g}** in the original, "
        f"**{result.y_counterfactual:.3g}** after the swap {md_escape(result.swap)}.")


def swap_error(exc: SwapLengthError) -> None:
    """Both tokenisations, side by side, as a table (tokens are user text: never markdown)."""
    st.error(md_escape(str(exc).split("\n")[0]), icon=":material/warning:")
    width = max(len(exc.tokens), len(exc.counterfactual_tokens))
    pad = lambda tokens: list(tokens) + [""] * (width - len(tokens))  # noqa: E731
    st.dataframe(pd.DataFrame({"position": range(width), "original": pad(exc.tokens),
                               "after the swap": pad(exc.counterfactual_tokens)}),
                 hide_index=True, height=min(400, 36 + 35 * width))


def top_heads_table(heads: Sequence[HeadEffect], low: np.ndarray | None = None,
                    high: np.ndarray | None = None) -> pd.DataFrame:
    """The heads with their NIE (and interval) in % of the ratio, as the map and the headline give them."""
    frame = pd.DataFrame({"layer": [h.layer for h in heads], "head": [h.head for h in heads],
                          "NIE (%)": [100 * h.nie for h in heads]})
    if low is not None and high is not None:
        frame["95% low (%)"] = [100 * float(low[h.layer - 1, h.head - 1]) for h in heads]
        frame["95% high (%)"] = [100 * float(high[h.layer - 1, h.head - 1]) for h in heads]
    return frame


def grid_csv(grid: np.ndarray, provenance: dict[str, Any]) -> str:
    """Every head's effect, with the provenance as `#key,value` lines, through the one spreadsheet-safe CSV writer
    (`bertlens.export.csv_text`): a swap such as `nurse=a,-2+3` written raw split into a cell `-2+3` that a
    spreadsheet runs as a formula."""
    records = [{"layer": l + 1, "head": h + 1, "nie": float(grid[l, h])}
               for l in range(grid.shape[0]) for h in range(grid.shape[1])]
    return csv_text(dict(provenance), records, ["layer", "head", "nie"])


def selected_head(value: Any, layers: int, heads: int) -> tuple[int, int] | None:
    """'L.H' (1-based) as a pair when it is a head of the model, else None."""
    try:
        layer, head = (int(p) for p in str(value).split("."))
    except ValueError:
        return None
    return (layer, head) if 1 <= layer <= layers and 1 <= head <= heads else None


def _pick(chart_key: str, selected_key: str) -> None:
    picked = head_from_selection(st.session_state.get(chart_key))
    if picked:
        st.session_state[selected_key] = f"{picked[0]}.{picked[1]}"


def show_mediation(result: Mediation, *, stretch: bool, key: str, selected_key: str, provenance: dict[str, Any],
                   random_weights: bool = False) -> None:
    """The whole view of one sentence pair. The clicked head ('L.H' in `st.session_state[selected_key]`, a page
    input, so it lasts in links) is outlined, with a link to its attention pattern."""
    te_headline(result)
    st.markdown(INDIRECT_EFFECT)
    if random_weights:
        st.caption(":material/casino: " + RANDOM_NOTE)
    grid = result.grid()
    selected = selected_head(st.session_state.get(selected_key), *grid.shape)
    chart(nie_heatmap(grid, stretch, selected), key=f"{key}_grid", name="mediation-nie",
          on_select=lambda: _pick(f"{key}_grid", selected_key), selection_mode="points")
    svg_download(partial(nie_svg, grid, stretch, context_title("Indirect effect (NIE) of each head")), "mediation-nie",
                 f"{key}_svg", "NIE grid (SVG)",
                 help="The grid as a standalone vector figure, every head's NIE written in its cell.")
    note = pale_note(grid, stretch)
    st.caption((md_escape(note) + " " if note else "") + "Click a head to open its attention pattern for this text.")
    left, right = (st.container(), st.container()) if is_on() else st.columns([1, 1])
    with left:
        if selected:
            layer, head = selected
            st.link_button(f"Open head {layer}.{head} on Attention",
                           attention_link(result.text, layer, head, is_on()), icon=":material/hub:")
            st.caption(f"Layer {layer}, head {head}: NIE {md_escape(percent(grid[layer - 1, head - 1]))}. The page "
                       "opens in a new tab with this text.")
        else:
            st.caption("No head chosen yet: click one on the map.")
    with right:
        st.write("Heads that carry the most of the effect")
        st.dataframe(top_heads_table(result.ranked(10)), hide_index=True, width="stretch",
                     column_config={"NIE (%)": st.column_config.NumberColumn(format=PERCENT_COLUMN)})
    st.subheader("Whole layers")
    st.caption("Patching one layer's whole attention output, or its MLP's inner activation, from the swapped run.")
    st.plotly_chart(style(layer_bars(result.attention_layers, result.mlp_layers)), key=f"{key}_layers",
                    width="stretch", config=chart_config("mediation-layers"))
    export = {**provenance, **jsonable(result)}
    c1, c2 = st.columns(2)
    c1.download_button("Download the effects (JSON)", json.dumps(export, indent=1, ensure_ascii=False),
                       file_name=f"{context_name('mediation')}.json", mime="application/json", key=f"{key}_json")
    c2.download_button("Download the head effects (CSV)", grid_csv(grid, provenance),
                       file_name=f"{context_name('mediation-heads')}.csv",
                       mime="text/csv", key=f"{key}_csv")


def show_template_mediation(result: MetricResult, *, stretch: bool, key: str, provenance: dict[str, Any],
                            random_weights: bool = False) -> None:
    """The across-templates result: mean TE with its interval, the mean NIE grid, layer bars with intervals."""
    detail = result.detail
    mean, low, high = (np.array(a, dtype=float) for a in (detail.heads.mean, detail.heads.low, detail.heads.high))
    left, right = st.columns([1, 2])
    left.metric("Mean total effect", f"{result.value:+.1%}",
                help="Each template's effects are averaged over the occupations, then over templates.")
    right.caption(f"95% interval [{result.ci_low:+.1%}, {result.ci_high:+.1%}]: {md_escape(result.interval)}. "
                  f"{len(detail.templates)} templates × {len(detail.occupations)} occupations = {result.n} "
                  "sentence pairs.")
    for warning in result.warnings:
        st.warning(md_escape(warning), icon=":material/info:")
    if random_weights:
        st.caption(":material/casino: " + RANDOM_NOTE)
    st.markdown(INDIRECT_EFFECT)
    chart(nie_heatmap(mean, stretch, None, low, high, "Mean NIE over templates"), key=f"{key}_grid",
          name="mediation-mean-nie")
    svg_download(partial(nie_svg, mean, stretch, context_title("Mean NIE over templates")), "mediation-mean-nie",
                 f"{key}_svg",
                 "NIE grid (SVG)", help="The grid as a standalone vector figure, every head's mean NIE in its cell.")
    note = pale_note(mean, stretch)
    if note:
        st.caption(md_escape(note))
    st.write("Heads that carry the most of the effect, with their intervals over templates")
    st.dataframe(top_heads_table(detail.top_heads, low, high), hide_index=True, width="stretch",
                 column_config={c: st.column_config.NumberColumn(format=PERCENT_COLUMN)
                                for c in ("NIE (%)", "95% low (%)", "95% high (%)")})
    st.plotly_chart(style(layer_bars(detail.attention_layers.mean, detail.mlp_layers.mean,
                                     (detail.attention_layers.low, detail.attention_layers.high),
                                     (detail.mlp_layers.low, detail.mlp_layers.high))),
                    key=f"{key}_layers", width="stretch", config=chart_config("mediation-mean-layers"))
    with st.expander("Templates, occupations and sentences"):
        st.dataframe(pd.DataFrame({"template": list(detail.templates),
                                   "mean TE (%)": [100 * te for te in detail.template_te]}),
                     hide_index=True, width="stretch",
                     column_config={"mean TE (%)": st.column_config.NumberColumn(format=PERCENT_COLUMN)})
        st.dataframe(pd.DataFrame({
            "occupation": [c.occupation for c in detail.occupations],
            "% women (BLS)": [c.pct_women for c in detail.occupations],
            "stereotype": ["female" if c.female else "male" for c in detail.occupations],
            "swapped for": [c.other for c in detail.occupations],
            "ratio": [f"P({c.targets[0]}) / P({c.targets[1]})" for c in detail.occupations]}),
            hide_index=True, width="stretch")
        st.dataframe(pd.DataFrame({
            "sentence": [d.label for d in result.decisions], "group": [d.group for d in result.decisions],
            "prefers the stereotypical pronoun": [d.decision for d in result.decisions],
            "−log y": [d.score for d in result.decisions]}), hide_index=True, width="stretch")
    export = {**provenance, "headline": result.headline(), "detail": jsonable(detail),
              "decisions": jsonable(result.decisions), "warnings": list(result.warnings)}
    st.download_button("Download the across-templates result (JSON)",
                       json.dumps(export, indent=1, ensure_ascii=False),
                       file_name=f"{context_name('mediation-templates')}.json",
                       mime="application/json", key=f"{key}_json")
