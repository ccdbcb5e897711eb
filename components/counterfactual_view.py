"""Tables and the chart of the counterfactual page. Every token and word is user-derived: escaped for plotly,
shown through st.dataframe."""
from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from bertlens.bias.counterfactual import CandidateRatio, Counterfactual
from bertlens.fill_mask import FillMaskResult
from components.safe import plotly_text

ORIGINAL = "#5f3dc4"
COUNTERFACTUAL = "#2b8a3e"


def swaps(result: Counterfactual) -> tuple[pd.DataFrame, dict]:
    frame = pd.DataFrame({"word": [s.original for s in result.swaps],
                          "became": [s.replacement for s in result.swaps],
                          "rule": [s.rule for s in result.swaps],
                          "at character": [s.start for s in result.swaps]})
    return frame, {}


def top_k(side: FillMaskResult) -> tuple[pd.DataFrame, dict]:
    rows = side.masks[0].candidates
    frame = pd.DataFrame({"rank": range(1, len(rows) + 1), "token": [c.token for c in rows],
                          "probability": [c.probability for c in rows]})
    return frame, {"probability": st.column_config.NumberColumn(format="%.4f")}


def candidates(shown: list[CandidateRatio]) -> tuple[pd.DataFrame, dict]:
    frame = pd.DataFrame({"token": [c.token for c in shown], "P(original)": [c.p_original for c in shown],
                          "P(counterfactual)": [c.p_counterfactual for c in shown],
                          "log-ratio": [c.log_ratio for c in shown],
                          "in both top-k": [c.in_both for c in shown]})
    return frame, {"P(original)": st.column_config.NumberColumn(format="%.4f"),
                   "P(counterfactual)": st.column_config.NumberColumn(format="%.4f"),
                   "log-ratio": st.column_config.NumberColumn(format="%+.3f")}


def log_ratios(shown: list[CandidateRatio]) -> go.Figure:
    """One bar per candidate: log P(w | original) − log P(w | counterfactual), original-leaning to the right."""
    ordered = sorted(shown, key=lambda c: c.log_ratio)
    labels = [plotly_text(c.token) + "\u200b" * i for i, c in enumerate(ordered)]
    fig = go.Figure(go.Bar(
        x=[c.log_ratio for c in ordered], y=labels, orientation="h",
        marker_color=[ORIGINAL if c.log_ratio > 0 else COUNTERFACTUAL for c in ordered],
        customdata=[[c.p_original, c.p_counterfactual] for c in ordered],
        text=[f"{c.log_ratio:+.2f}" for c in ordered], textposition="outside", cliponaxis=False,
        hovertemplate="%{y}<br>log-ratio %{x:+.3f}<br>P(original) %{customdata[0]:.4g}"
                      "<br>P(counterfactual) %{customdata[1]:.4g}<extra></extra>",
    ))
    bound = max([abs(c.log_ratio) for c in ordered] + [0.5]) * 1.3
    fig.add_vline(x=0, line_color="#495057", line_width=1)
    fig.update_layout(
        height=max(240, 26 * len(ordered) + 110), margin=dict(l=10, r=30, t=30, b=50), plot_bgcolor="white",
        xaxis=dict(title="log P(· | original) − log P(· | counterfactual)", range=[-bound, bound], zeroline=False),
        yaxis=dict(automargin=True),
    )
    fig.add_annotation(x=1, y=1.06, xref="paper", yref="paper", text="more likely in the original →",
                       showarrow=False, xanchor="right", font=dict(color=ORIGINAL))
    fig.add_annotation(x=0, y=1.06, xref="paper", yref="paper", text="← more likely in the counterfactual",
                       showarrow=False, xanchor="left", font=dict(color=COUNTERFACTUAL))
    return fig
