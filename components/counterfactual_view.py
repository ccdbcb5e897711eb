"""Tables and the chart of the counterfactual page. Every token and word is user-derived: escaped for plotly,
shown through st.dataframe."""
from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from pandas.io.formats.style import Styler

from bertlens.bias.counterfactual import CandidateRatio, Counterfactual
from bertlens.fill_mask import FillMaskResult
from bertlens.numbers import probability, significant
from components.number_format import table
from components.safe import plotly_text

ORIGINAL = "#5f3dc4"
COUNTERFACTUAL = "#2b8a3e"


def swaps(result: Counterfactual) -> pd.DataFrame:
    return pd.DataFrame({"word": [s.original for s in result.swaps],
                         "became": [s.replacement for s in result.swaps],
                         "rule": [s.rule for s in result.swaps],
                         "at character": [s.start for s in result.swaps]})


def top_k(side: FillMaskResult) -> Styler:
    rows = side.masks[0].candidates
    frame = pd.DataFrame({"rank": range(1, len(rows) + 1), "token": [c.token for c in rows],
                          "probability": [c.probability for c in rows]})
    return table(frame, numbers=["probability"])


def candidates(shown: list[CandidateRatio]) -> Styler:
    frame = pd.DataFrame({"token": [c.token for c in shown], "P(original)": [c.p_original for c in shown],
                          "P(counterfactual)": [c.p_counterfactual for c in shown],
                          "log-ratio": [c.log_ratio for c in shown],
                          "in both top-k": [c.in_both for c in shown]})
    return table(frame, numbers=["P(original)", "P(counterfactual)"], signed=["log-ratio"])


def log_ratios(shown: list[CandidateRatio]) -> go.Figure:
    """One bar per candidate: log P(w | original) − log P(w | counterfactual), original-leaning to the right."""
    ordered = sorted(shown, key=lambda c: c.log_ratio)
    labels = [plotly_text(c.token) + "\u200b" * i for i, c in enumerate(ordered)]
    fig = go.Figure(go.Bar(
        x=[c.log_ratio for c in ordered], y=labels, orientation="h",
        marker_color=[ORIGINAL if c.log_ratio > 0 else COUNTERFACTUAL for c in ordered],
        customdata=[[significant(c.log_ratio, sign=True), probability(c.p_original), probability(c.p_counterfactual)]
                    for c in ordered],
        text=[significant(c.log_ratio, sign=True) for c in ordered], textposition="outside", cliponaxis=False,
        hovertemplate="%{y}<br>log-ratio %{customdata[0]}<br>P(original) %{customdata[1]}"
                      "<br>P(counterfactual) %{customdata[2]}<extra></extra>",
    ))
    bound = max([abs(c.log_ratio) for c in ordered] + [0.5]) * 1.3
    fig.add_vline(x=0, line_color="#495057", line_width=1)
    fig.update_layout(
        height=max(240, 26 * len(ordered) + 110), margin=dict(l=10, r=30, t=30, b=50), plot_bgcolor="white",
        xaxis=dict(title="log P(· | original) − log P(· | counterfactual)", range=[-bound, bound], zeroline=False),
        yaxis=dict(automargin=True),
    )
    fig.add_annotation(x=1, y=1.0, xref="paper", yref="paper", text="original →", yanchor="bottom",
                       showarrow=False, xanchor="right", font=dict(color=ORIGINAL))
    fig.add_annotation(x=0, y=1.0, xref="paper", yref="paper", text="← counterfactual", yanchor="bottom",
                       showarrow=False, xanchor="left", font=dict(color=COUNTERFACTUAL))
    return fig
