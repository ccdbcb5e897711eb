"""Plotly figure builders for fill-mask and next-sentence results."""
from __future__ import annotations

import math

import plotly.graph_objects as go

from bertlens.fill_mask import Candidate, WordScore
from bertlens.nsp import NSPResult
from components.safe import plotly_text

BLUE = "#3b5bdb"
GREY = "#adb5bd"
ORANGE = "#e8590c"


def probability_bars(candidates: list[Candidate], title: str = "", targets: tuple[WordScore, ...] | list = ()
                      ) -> go.Figure:
    """Horizontal bars, most likely on top, labelled with the probability. Target words (scored at the same
    mask) are orange bars under the candidates, labelled "word (target)", with a legend naming both colours."""
    labels = [_unique_label(c, i) for i, c in enumerate(candidates)]
    probs = [c.probability for c in candidates]
    fig = go.Figure()
    target_labels = [plotly_text(f"{t.word} (target)") + "\u200b" * (len(candidates) + i)
                     for i, t in enumerate(targets)]
    if targets:
        fig.add_trace(go.Bar(
            x=[t.probability for t in targets][::-1], y=target_labels[::-1], orientation="h", marker_color=ORANGE,
            name="your target words", text=[percent(t.probability) for t in targets][::-1], textposition="outside",
            cliponaxis=False, customdata=[" ".join(t.pieces) for t in targets][::-1],
            hovertemplate="%{y}<br>p = %{x:.4g}<br>pieces: %{customdata}<extra></extra>",
        ))
    fig.add_trace(go.Bar(
        x=probs[::-1], y=labels[::-1], orientation="h", marker_color=BLUE, name="top candidates",
        text=[percent(p) for p in probs[::-1]], textposition="outside", cliponaxis=False,
        customdata=[[c.token_id, c.log_probability] for c in candidates][::-1],
        hovertemplate="%{y}<br>p = %{x:.4g}<br>log p = %{customdata[1]:.3f}<br>id %{customdata[0]}<extra></extra>",
    ))
    top = max([*probs, *(t.probability for t in targets)], default=1.0)
    rows = len(candidates) + len(targets)
    fig.update_layout(
        showlegend=bool(targets), legend=dict(orientation="h", y=-0.12, x=0, traceorder="reversed"),
        yaxis_categoryorder="array", yaxis_categoryarray=[*target_labels[::-1], *labels[::-1]],
        title=plotly_text(title), height=max(220, 26 * rows + 90 + (30 if targets else 0)),
        margin=dict(l=10, r=30, t=40, b=30),
        xaxis=dict(title="probability", range=[0, top * 1.18 if top > 0 else 1], tickformat=".0%" if top > 0.05 else ".2%"),
        yaxis=dict(automargin=True), plot_bgcolor="white",
    )
    return fig


def nsp_bar(result: NSPResult) -> go.Figure:
    """One stacked bar: P(IsNext) against P(NotNext)."""
    fig = go.Figure([
        go.Bar(x=[result.p_is_next], y=["B after A"], orientation="h", name="IsNext", marker_color=BLUE,
               text=[percent(result.p_is_next)], textposition="inside", insidetextanchor="middle"),
        go.Bar(x=[result.p_not_next], y=["B after A"], orientation="h", name="NotNext", marker_color=GREY,
               text=[percent(result.p_not_next)], textposition="inside", insidetextanchor="middle"),
    ])
    fig.update_layout(barmode="stack", height=150, margin=dict(l=10, r=10, t=10, b=30), showlegend=True,
                      xaxis=dict(range=[0, 1], tickformat=".0%"), legend=dict(orientation="h", y=-0.4),
                      plot_bgcolor="white")
    return fig


def nsp_ranking(results: list[NSPResult], max_label: int = 60) -> go.Figure:
    """Candidates sorted by P(IsNext), highest on top."""
    labels = [_shorten(r.sentence_b, max_label) for r in results]
    labels = [f"{i + 1}. {label}" for i, label in enumerate(labels)]
    fig = go.Figure(go.Bar(
        x=[r.p_is_next for r in results][::-1], y=[plotly_text(l) for l in labels][::-1], orientation="h",
        marker_color=BLUE, text=[percent(r.p_is_next) for r in results][::-1], textposition="outside",
        cliponaxis=False, hovertemplate="%{y}<br>P(IsNext) = %{x:.4f}<extra></extra>",
    ))
    fig.update_layout(height=max(200, 30 * len(results) + 80), margin=dict(l=10, r=40, t=10, b=30),
                      xaxis=dict(title="P(IsNext)", range=[0, 1.12], tickformat=".0%"), yaxis=dict(automargin=True),
                      plot_bgcolor="white")
    return fig


def _unique_label(candidate: Candidate, index: int) -> str:
    return plotly_text(candidate.token) + "\u200b" * index


def percent(p: float) -> str:
    """A probability for people: "12.3%" from 0.1% up, else scientific ("4.2e-09"), never a misleading 0.000%."""
    if p >= 0.001:
        return f"{p:.1%}"
    return f"{p:.1e}" if p > 0 and not math.isinf(p) else "0"


def _shorten(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
