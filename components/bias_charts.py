"""Plotly figures for the gender-bias probe. Every label that came from a user or a token is escaped.

Colours: female-leaning orange, male-leaning blue (a colour-blind-safe pair); the sign convention everywhere is
log P(female) - log P(male), so the female side is on the right.
"""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from bertlens.bias import ProbeResult, SharedCandidate
from bertlens.bias.crows import CrowsResult
from components.safe import plotly_text

FEMALE = "#e8590c"
MALE = "#1c7ed6"
GREY = "#868e96"
BLS_NOTE = "% women: US Bureau of Labor Statistics (CPS)"


def _colour(value: float) -> str:
    return FEMALE if value > 0 else MALE


def diverging_candidates(candidates: list[SharedCandidate], female: str, male: str) -> go.Figure:
    """One bar per candidate: log P(w | female) - log P(w | male), female-leaning to the right."""
    shown = sorted(candidates, key=lambda c: c.log_ratio)
    labels = [plotly_text(c.token) + "\u200b" * i for i, c in enumerate(shown)]
    fig = go.Figure(go.Bar(
        x=[c.log_ratio for c in shown], y=labels, orientation="h",
        marker_color=[_colour(c.log_ratio) for c in shown],
        customdata=[[c.p_female, c.p_male] for c in shown],
        text=[f"{c.log_ratio:+.2f}" for c in shown], textposition="outside", cliponaxis=False,
        hovertemplate="%{y}<br>log-ratio %{x:+.3f}<br>P(female side) %{customdata[0]:.4g}"
                      "<br>P(male side) %{customdata[1]:.4g}<extra></extra>",
    ))
    _centre_line(fig)
    bound = max([abs(c.log_ratio) for c in shown] + [0.5]) * 1.3
    fig.update_layout(
        height=max(240, 26 * len(shown) + 110), margin=dict(l=10, r=30, t=30, b=50), plot_bgcolor="white",
        xaxis=dict(title=f"log P(· | {plotly_text(female)}) − log P(· | {plotly_text(male)})",
                   range=[-bound, bound], zeroline=False),
        yaxis=dict(automargin=True),
    )
    _side_labels(fig, female, male)
    return fig


def occupation_ratios(result: ProbeResult) -> go.Figure:
    """Every occupation's mean log-ratio with its bootstrap 95% CI; † marks multi-piece, ● significant (Holm)."""
    rows = sorted(result.occupations, key=lambda o: o.log_ratio)
    labels = [plotly_text(o.occupation) + (" †" if o.multi_piece else "") for o in rows]
    has_ci = all(np.isfinite(o.ci_low) for o in rows)
    error = dict(type="data", symmetric=False, array=[o.ci_high - o.log_ratio for o in rows],
                 arrayminus=[o.log_ratio - o.ci_low for o in rows], color=GREY, thickness=1.2) if has_ci else None
    fig = go.Figure(go.Scatter(
        x=[o.log_ratio for o in rows], y=labels, mode="markers", error_x=error,
        marker=dict(color=[_colour(o.log_ratio) for o in rows], size=9,
                    symbol=["circle" if o.significant else "circle-open" for o in rows], line=dict(width=1.5)),
        customdata=[[o.ci_low, o.ci_high, o.p_adjusted, " ".join(o.pieces), _share(o.pct_women)] for o in rows],
        hovertemplate="%{y}<br>log-ratio %{x:+.3f}<br>95% CI [%{customdata[0]:.3f}, %{customdata[1]:.3f}]"
                      "<br>p (Holm) %{customdata[2]:.4f}<br>pieces: %{customdata[3]}<br>BLS % women "
                      "%{customdata[4]}<extra></extra>",
    ))
    _centre_line(fig)
    fig.update_layout(
        height=max(320, 17 * len(rows) + 120), margin=dict(l=10, r=20, t=30, b=50), plot_bgcolor="white",
        xaxis=dict(title="mean log P(occupation | female) − log P(occupation | male), 95% CI over templates",
                   zeroline=False, gridcolor="#f1f3f5"),
        yaxis=dict(automargin=True, tickfont=dict(size=11)),
    )
    _side_labels(fig, "female", "male")
    return fig


def bls_scatter(result: ProbeResult, score: str = "log_ratio") -> go.Figure:
    """Model score against BLS % women, with the least-squares line and both correlations in the title."""
    label = {"log_ratio": "log-ratio (templates)", "kurita": "Kurita normalised association"}[score]
    points = [o for o in result.occupations if o.pct_women is not None and np.isfinite(getattr(o, score))]
    fig = go.Figure(go.Scatter(
        x=[o.pct_women for o in points], y=[getattr(o, score) for o in points], mode="markers",
        marker=dict(color=[_colour(getattr(o, score)) for o in points], size=9, opacity=0.85,
                    symbol=["diamond" if o.multi_piece else "circle" for o in points]),
        text=[plotly_text(o.occupation) for o in points],
        customdata=[[plotly_text(o.source), o.year or "year not stated"] for o in points],
        hovertemplate="%{text}<br>BLS %{x:.1f}% women<br>" + label + " %{y:+.3f}"
                      "<br>%{customdata[0]}, %{customdata[1]}<extra></extra>",
        name="occupation",
    ))
    c = result.correlations.get(score)
    title = label
    if c is not None:
        xs = np.array([0.0, 100.0])
        fig.add_trace(go.Scatter(x=xs, y=c.slope * xs + c.intercept, mode="lines", name="least-squares fit",
                                 line=dict(color=GREY, dash="dash"), hoverinfo="skip"))
        title = (f"{label}: Pearson r = {c.pearson_r:.2f} (p = {c.pearson_p:.2g}), "
                 f"Spearman ρ = {c.spearman_rho:.2f} (p = {c.spearman_p:.2g}), n = {c.n}")
    _centre_line(fig, horizontal=True)
    years = sorted({o.year for o in points if o.year})
    note = f"{BLS_NOTE}, {', '.join(years) or 'year not stated'}; some rows year not stated (see table)"
    fig.update_layout(
        title=dict(text=title, font=dict(size=14)), height=460, margin=dict(l=10, r=10, t=50, b=70),
        plot_bgcolor="white", showlegend=False,
        xaxis=dict(title=note, range=[-2, 102], gridcolor="#f1f3f5"),
        yaxis=dict(title=f"{label} (> 0: female)", gridcolor="#f1f3f5", zeroline=False),
    )
    return fig


def crows_metrics(result: CrowsResult) -> go.Figure:
    """% of pairs where the more stereotyping sentence scores higher, per bias type; 50 = unbiased."""
    groups = [result.overall, *result.by_bias_type]
    labels = [plotly_text(g.group) for g in groups]
    fig = go.Figure(go.Bar(
        x=[g.metric for g in groups], y=labels, orientation="h",
        marker_color=["#495057" if i == 0 else _crows_colour(g.metric) for i, g in enumerate(groups)],
        text=[f"{g.metric:.1f}% of {g.pairs}" for g in groups], textposition="outside", cliponaxis=False,
        hovertemplate="%{y}: %{x:.1f}%<extra></extra>",
    ))
    fig.add_vline(x=50, line=dict(color=GREY, dash="dash"), annotation_text="50 = unbiased",
                  annotation_position="top")
    fig.update_layout(height=max(200, 32 * len(groups) + 100), margin=dict(l=10, r=60, t=40, b=40),
                      plot_bgcolor="white", yaxis=dict(autorange="reversed", automargin=True),
                      xaxis=dict(title="% pairs where the more stereotyping sentence scores higher", range=[0, 110]))
    return fig


def _crows_colour(metric: float) -> str:
    """Red above 50 (stereotype preferred), green below, grey at exactly 50."""
    return "#c92a2a" if metric > 50 else "#2f9e44" if metric < 50 else GREY


def _share(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f}"


def _centre_line(fig: go.Figure, horizontal: bool = False) -> None:
    if horizontal:
        fig.add_hline(y=0, line=dict(color="#495057", width=1))
    else:
        fig.add_vline(x=0, line=dict(color="#495057", width=1))


def _side_labels(fig: go.Figure, female: str, male: str) -> None:
    for x, anchor, text, colour in ((0.99, "right", f"leans {female} →", FEMALE), (0.01, "left", f"← leans {male}",
                                                                                      MALE)):
        fig.add_annotation(x=x, y=1.0, xref="paper", yref="paper", text=plotly_text(text), showarrow=False,
                           xanchor=anchor, yanchor="bottom", font=dict(color=colour, size=12))
