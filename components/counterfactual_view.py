"""Tables and the chart of the counterfactual page. Every token and word is user-derived: escaped for plotly,
shown through st.dataframe."""
from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import plotly.graph_objects as go

from pandas.io.formats.style import Styler

from bertlens.bias.counterfactual import CandidateRatio, Counterfactual
from bertlens.bias.swaps import Swap
from bertlens.fill_mask import FillMaskResult
from bertlens.numbers import probability, significant
from components.number_format import table
from components.bias_charts import FEMALE, FEMALE_WORDS, MALE, MALE_WORDS
from components.safe import plotly_text

ORIGINAL = "#5f3dc4"
COUNTERFACTUAL = "#2b8a3e"
def sides(swaps: Sequence[Swap]) -> tuple[tuple[str, str], tuple[str, str]]:
    """(label, colour) of the original and of the counterfactual side: the words swapped on each ("she, her"),
    orange for the side whose words are female, blue for male, purple and green when neither is clear."""
    original = ", ".join(dict.fromkeys(s.original for s in swaps)) or "original"
    swapped = ", ".join(dict.fromkeys(s.replacement for s in swaps)) or "counterfactual"
    words = {s.original.lower() for s in swaps}
    if words and words <= FEMALE_WORDS:
        return (original, FEMALE), (swapped, MALE)
    if words and words <= MALE_WORDS:
        return (original, MALE), (swapped, FEMALE)
    return (original, ORIGINAL), (swapped, COUNTERFACTUAL)


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


def log_ratios(shown: list[CandidateRatio], swaps: Sequence[Swap] = ()) -> go.Figure:
    """One bar per candidate: log P(w | original) − log P(w | counterfactual), original-leaning to the right. Each
    side is named by its words ("← with he, his", "with she, her →") and coloured as `sides` says."""
    (original, original_colour), (swapped, swapped_colour) = sides(swaps)
    ordered = sorted(shown, key=lambda c: c.log_ratio)
    labels = [plotly_text(c.token) + "\u200b" * i for i, c in enumerate(ordered)]
    fig = go.Figure(go.Bar(
        x=[c.log_ratio for c in ordered], y=labels, orientation="h",
        marker_color=[original_colour if c.log_ratio > 0 else swapped_colour for c in ordered],
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
    fig.add_annotation(x=1, y=1.0, xref="paper", yref="paper", text=plotly_text(f"with {_short(original)} →"),
                       yanchor="bottom", showarrow=False, xanchor="right", font=dict(color=original_colour))
    fig.add_annotation(x=0, y=1.0, xref="paper", yref="paper", text=plotly_text(f"← with {_short(swapped)}"),
                       yanchor="bottom", showarrow=False, xanchor="left", font=dict(color=swapped_colour))
    return fig


def _short(words: str, limit: int = 24) -> str:
    return words if len(words) <= limit else words[:limit - 1] + "…"
