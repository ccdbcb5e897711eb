"""Plotly figure builders for fill-mask and next-sentence results."""
from __future__ import annotations

import math

import plotly.graph_objects as go

from bertlens.fill_mask import Candidate, WordScore
from bertlens.nsp import NSPResult
from bertlens.numbers import linear_ticks, probability, significant, tick
from components.presentation import legend_in_margin
from components.safe import plotly_text

# Orange and blue mean female and male on every chart (components.bias_charts); other groupings take other hues.
CANDIDATE = "#0c8599"
TARGET = "#7048e8"
GREY = "#adb5bd"


def probability_axis(values: list[float], title: str = "probability", room: float = 1.22,
                     width_px: float | None = None) -> dict:
    """A linear probability axis from 0 with round ticks, in the one number format. Bars are never drawn on a log
    axis: there a bar 184 times shorter than another looked a third as long; every bar carries its value instead.
    `room` leaves space after the largest value for the bars' labels."""
    positive = [v for v in values if v > 0 and math.isfinite(v)]
    top = max(positive, default=1.0)
    ticks = linear_ticks(top)
    ticks = [t for t in ticks if t <= top * room]
    return dict(title=title, tickvals=ticks, ticktext=[tick(t) for t in ticks], range=[0, top * room])


def probability_bars(candidates: list[Candidate], title: str = "", targets: tuple[WordScore, ...] | list = ()
                      ) -> go.Figure:
    """Horizontal bars, most likely on top, labelled with the probability. Target words (scored at the same
    mask) are purple bars under the candidates, labelled "word (target)", with a legend naming both colours. The
    axis stays linear: a target far less likely than the candidates is a short bar with its value beside it."""
    labels = [_unique_label(c, i) for i, c in enumerate(candidates)]
    probs = [c.probability for c in candidates]
    fig = go.Figure()
    target_labels = [plotly_text(f"{t.word} (target)") + "\u200b" * (len(candidates) + i)
                     for i, t in enumerate(targets)]
    if targets:
        fig.add_trace(go.Bar(
            x=[t.probability for t in targets][::-1], y=target_labels[::-1], orientation="h", marker_color=TARGET,
            name="your target words", text=[probability(t.probability) for t in targets][::-1],
            textposition="outside", cliponaxis=False,
            customdata=[[probability(t.probability), " ".join(t.pieces)] for t in targets][::-1],
            hovertemplate="%{y}<br>p = %{customdata[0]}<br>pieces: %{customdata[1]}<extra></extra>",
        ))
    fig.add_trace(go.Bar(
        x=probs[::-1], y=labels[::-1], orientation="h", marker_color=CANDIDATE, name="top candidates",
        text=[probability(p) for p in probs[::-1]], textposition="outside", cliponaxis=False,
        customdata=[[probability(c.probability), significant(c.log_probability), c.token_id]
                    for c in candidates][::-1],
        hovertemplate="%{y}<br>p = %{customdata[0]}<br>log p = %{customdata[1]}<br>id %{customdata[2]}"
                      "<extra></extra>",
    ))
    rows = len(candidates) + len(targets)
    fig.update_layout(
        showlegend=bool(targets), legend=dict(traceorder="reversed"),
        yaxis_categoryorder="array", yaxis_categoryarray=[*target_labels[::-1], *labels[::-1]],
        title=dict(text="<br>".join(plotly_text(line) for line in title.split("\n")), x=0, xanchor="left"),
        height=max(220, 26 * rows + 90 + (50 if targets else 0) + 22 * title.count("\n")),
        margin=dict(l=10, r=30, t=40 + 24 * title.count("\n"), b=50),
        xaxis=probability_axis([*probs, *(t.probability for t in targets)]),
        yaxis=dict(automargin=True), plot_bgcolor="white",
    )
    return legend_in_margin(fig, rows=2) if targets else fig


def nsp_bar(result: NSPResult) -> go.Figure:
    """One stacked bar: P(IsNext) against P(NotNext)."""
    fig = go.Figure([
        go.Bar(x=[result.p_is_next], y=["B after A"], orientation="h", name="IsNext", marker_color=CANDIDATE,
               text=[probability(result.p_is_next)], textposition="inside", insidetextanchor="middle",
               hovertemplate=f"P(IsNext) = {probability(result.p_is_next)}<extra></extra>"),
        go.Bar(x=[result.p_not_next], y=["B after A"], orientation="h", name="NotNext", marker_color=GREY,
               text=[probability(result.p_not_next)], textposition="inside", insidetextanchor="middle",
               hovertemplate=f"P(NotNext) = {probability(result.p_not_next)}<extra></extra>"),
    ])
    ticks = linear_ticks(1.0)
    fig.update_layout(barmode="stack", height=170, margin=dict(l=10, r=10, t=10, b=30), showlegend=True,
                      uniformtext=dict(mode="hide", minsize=10),
                      xaxis=dict(range=[0, 1], tickvals=ticks, ticktext=[tick(t) for t in ticks]),
                      plot_bgcolor="white")
    return legend_in_margin(fig, room=30)


def nsp_ranking(results: list[NSPResult], max_label: int = 60, line: int = 30) -> go.Figure:
    """Candidates sorted by P(IsNext), highest on top. A long sentence is wrapped onto two lines of about `line`
    characters (and shortened beyond), so the bars keep most of the chart's width (one 60-character line left
    them 160 px at 1024 px)."""
    labels = [f"{i + 1}. {_shorten(r.sentence_b, max_label)}" for i, r in enumerate(results)]
    wrapped = ["<br>".join(plotly_text(part) for part in _wrap(label, line)) for label in labels]
    fig = go.Figure(go.Bar(
        x=[r.p_is_next for r in results][::-1], y=wrapped[::-1], orientation="h",
        marker_color=CANDIDATE, text=[probability(r.p_is_next) for r in results][::-1], textposition="outside",
        cliponaxis=False, customdata=[probability(r.p_is_next) for r in results][::-1],
        hovertemplate="%{y}<br>P(IsNext) = %{customdata}<extra></extra>",
    ))
    ticks = linear_ticks(1.0)
    fig.update_layout(height=max(200, 46 * len(results) + 80), margin=dict(l=10, r=40, t=10, b=30),
                      xaxis=dict(title="P(IsNext)", range=[0, 1.15], tickvals=ticks, ticktext=[tick(t) for t in ticks]),
                      yaxis=dict(automargin=True), plot_bgcolor="white")
    return fig


def _unique_label(candidate: Candidate, index: int) -> str:
    return plotly_text(candidate.token) + "\u200b" * index


def _shorten(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _wrap(text: str, line: int) -> list[str]:
    """`text` on at most two lines of about `line` characters, broken between words (the second shortened)."""
    if len(text) <= line:
        return [text]
    cut = text.rfind(" ", 0, line + 1)
    cut = cut if cut > line // 2 else line
    return [text[:cut].rstrip(), _shorten(text[cut:].strip(), line)]
