"""Plotly figures for the gender-bias probe. Every label that came from a user or a token is escaped.

Colours: female-leaning orange, male-leaning blue (a colour-blind-safe pair); the sign convention everywhere is
log P(female) - log P(male), so the female side is on the right.
"""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from bertlens.bias import ProbeResult, SharedCandidate
from bertlens.bias.crows import CrowsResult
from bertlens.numbers import interval, percent, probability, significant
from bertlens.svg import text_width
from components.presentation import content_width, is_on, legend_in_margin
from components.safe import plotly_text

FEMALE = "#e8590c"
MALE = "#1c7ed6"
GREY = "#868e96"
# words whose colour is their gender's on any chart (a counterfactual's sides, Explain's target and contrast)
FEMALE_WORDS = frozenset("she her hers herself woman women girl girls mother mothers daughter daughters sister sisters "
                         "wife wives queen queens aunt niece lady ladies mrs ms madam grandmother mom mum".split())
MALE_WORDS = frozenset("he him his himself man men boy boys father fathers son sons brother brothers husband "
                       "husbands king kings uncle nephew gentleman gentlemen mr sir grandfather dad".split())


def gender_colour(word: str | None, fallback: str) -> str:
    """Orange for a female word, blue for a male one, `fallback` (a hue that is neither) for any other."""
    key = (word or "").strip().lower()
    return FEMALE if key in FEMALE_WORDS else MALE if key in MALE_WORDS else fallback
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
        customdata=[[significant(c.log_ratio, sign=True), probability(c.p_female), probability(c.p_male)]
                    for c in shown],
        text=[significant(c.log_ratio, sign=True) for c in shown], textposition="outside", cliponaxis=False,
        hovertemplate="%{y}<br>log-ratio %{customdata[0]}<br>P(female side) %{customdata[1]}"
                      "<br>P(male side) %{customdata[2]}<extra></extra>",
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


PRESENT_TOP = 10


def occupation_ratios(result: ProbeResult, top: int | None = None) -> go.Figure:
    """Every occupation's mean log-ratio with its bootstrap 95% CI. Filled dot: significant (Holm) and at least the
    minimum effect size (the headline); open dot: not both; † several WordPieces; dotted lines: ± the minimum effect.
    The legend names every marker. `top` (presentation mode's default, 10) keeps only the occupations that lean
    most either way, so the chart fits a projector's screen (the table below it lists all)."""
    chosen = result.occupations
    if top is None and is_on():
        top = PRESENT_TOP
    if top is not None and len(chosen) > top:
        chosen = sorted(chosen, key=lambda o: -abs(o.log_ratio))[:top]
    rows = sorted(chosen, key=lambda o: o.log_ratio)
    labels = [plotly_text(o.occupation) + (" †" if o.multi_piece else "") for o in rows]
    has_ci = all(np.isfinite(o.ci_low) for o in rows)
    error = dict(type="data", symmetric=False, array=[o.ci_high - o.log_ratio for o in rows],
                 arrayminus=[o.log_ratio - o.ci_low for o in rows], color=GREY, thickness=1.2) if has_ci else None
    m = result.min_effect
    fig = go.Figure(go.Scatter(
        x=[o.log_ratio for o in rows], y=labels, mode="markers", error_x=error, showlegend=False,
        marker=dict(color=[_colour(o.log_ratio) for o in rows], size=9,
                    symbol=["circle" if result.notable(o) else "circle-open" for o in rows], line=dict(width=1.5)),
        customdata=[[significant(o.ci_low, sign=True), significant(o.ci_high, sign=True), significant(o.p_adjusted),
                     " ".join(o.pieces), percent(o.pct_women), "yes" if result.notable(o) else "no",
                     significant(o.log_ratio, sign=True)] for o in rows],
        hovertemplate="%{y}<br>log-ratio %{customdata[6]}<br>95% CI [%{customdata[0]}, %{customdata[1]}]"
                      "<br>p (Holm) %{customdata[2]}<br>in the headline: %{customdata[5]}"
                      "<br>pieces: %{customdata[3]}<br>BLS % women %{customdata[4]}<extra></extra>",
    ))
    for x in (-m, m) if m > 0 else ():
        fig.add_vline(x=x, line=dict(color=GREY, dash="dot", width=1))
    _legend(fig, [
        ("markers", dict(symbol="circle", color="#495057", size=9), f"significant (Holm) and |log-ratio| ≥ {m:g}"),
        ("markers", dict(symbol="circle-open", color="#495057", size=9, line=dict(width=1.5)), "not both"),
        ("lines", dict(color=GREY), "95% CI over templates (bootstrap)"),
        ("lines", dict(color=GREY, dash="dot"), f"± {m:g}: minimum effect size"),
        ("markers", dict(symbol="square", color=FEMALE, size=9), "leans female (orange, right)"),
        ("markers", dict(symbol="square", color=MALE, size=9), "leans male (blue, left)"),
    ], note="† after a name: several WordPieces, chained")
    fig.update_layout(
        height=max(320, 17 * len(rows) + 180), margin=dict(l=10, r=20, t=30, b=50), plot_bgcolor="white",
        xaxis=dict(title=(f"log-ratio, the {len(rows)} of {len(result.occupations)} occupations leaning most"
                          if len(rows) < len(result.occupations) else
                          "mean log P(occupation | female) − log P(occupation | male), 95% CI over templates"),
                   zeroline=False, gridcolor="#f1f3f5"),
        yaxis=dict(automargin=True, tickfont=dict(size=11)),
    )
    _centre_line(fig)
    _side_labels(fig, "female", "male")
    return legend_in_margin(fig, "top", rows=2, room=40)


def bls_scatter(result: ProbeResult, score: str = "log_ratio") -> go.Figure:
    """Model score against BLS % women, with the least-squares line and both correlations in the title. One trace
    per kind of marker (side x one or several WordPieces), each named in the legend; hovering a point names it."""
    label = {"log_ratio": "log-ratio (templates)", "kurita": "Kurita normalised association"}[score]
    points = [o for o in result.occupations if o.pct_women is not None and np.isfinite(getattr(o, score))]
    fig = go.Figure()
    for side, colour in (("female", FEMALE), ("male", MALE)):
        for multi, symbol in ((False, "circle"), (True, "diamond")):
            chosen = [o for o in points if (getattr(o, score) > 0) == (side == "female") and o.multi_piece == multi]
            if not chosen:
                continue
            fig.add_trace(go.Scatter(
                x=[o.pct_women for o in chosen], y=[getattr(o, score) for o in chosen], mode="markers",
                marker=dict(color=colour, size=9, opacity=0.85, symbol=symbol),
                text=[plotly_text(o.occupation) for o in chosen],
                customdata=[[plotly_text(o.source), o.year or "year not stated", " ".join(o.pieces),
                             percent(o.pct_women), significant(getattr(o, score), sign=True)] for o in chosen],
                hovertemplate="<b>%{text}</b><br>BLS %{customdata[3]} women<br>" + label + " %{customdata[4]}"
                              "<br>pieces: %{customdata[2]}<br>%{customdata[0]}, %{customdata[1]}<extra></extra>",
                name=f"leans {side}, " + ("several WordPieces (chained)" if multi else "one WordPiece"),
            ))
    label_top(fig, [o.pct_women for o in points], [getattr(o, score) for o in points], [o.occupation for o in points])
    c = result.correlations.get(score)
    title = label
    if c is not None:
        xs = np.array([0.0, 100.0])
        fig.add_trace(go.Scatter(x=xs, y=c.slope * xs + c.intercept, mode="lines", name="least-squares fit",
                                 line=dict(color=GREY, dash="dash"), hoverinfo="skip"))
        title = (f"{label}<br>Pearson r = {significant(c.pearson_r)} (p = {significant(c.pearson_p)}), "
                 f"Spearman ρ = {significant(c.spearman_rho)} (p = {significant(c.spearman_p)}), n = {c.n}")
    _centre_line(fig, horizontal=True)
    years = sorted({o.year for o in points if o.year})
    note = f"{BLS_NOTE}, {', '.join(years) or 'year not stated'};<br>some rows year not stated (see table)"
    fig.update_layout(
        title=dict(text=title, font=dict(size=14), x=0, xanchor="left", y=0.98, yanchor="top"), height=560,
        margin=dict(l=10, r=10, t=70), plot_bgcolor="white", showlegend=True, hovermode="closest",
        xaxis=dict(title=note, range=[-2, 102], gridcolor="#f1f3f5"),
        yaxis=dict(title=f"{label} (> 0: female)", gridcolor="#f1f3f5", zeroline=False),
    )
    return legend_in_margin(fig, rows=3, room=80)


TOP_LABELS = 8


def label_top(fig: go.Figure, xs: list[float], ys: list[float], names: list[str], n: int = TOP_LABELS,
              x_range: tuple[float, float] = (-2.0, 102.0), height: float = 380.0, font: float = 11.0) -> None:
    """Write the names of the `n` points farthest from 0 beside them, so a projector shows which occupations lean
    most without hovering (the rest keep their hover). A label goes above a point above 0 and below one under it,
    turned inwards near the sides, and one that would touch a label already placed is left to the hover."""
    ranked = sorted(range(len(ys)), key=lambda i: -abs(ys[i]))[:n]
    if not ranked:
        return
    width = content_width() - 120
    low, high = min(ys), max(ys)
    span_y = (high - low) or 1.0
    placed: list[tuple[float, float, float, float]] = []
    keep, positions = [], []
    for i in ranked:
        x_px = (xs[i] - x_range[0]) / (x_range[1] - x_range[0]) * width
        y_px = (high - ys[i]) / span_y * height
        w = text_width(names[i], font) + 4
        side = "center" if w / 2 < x_px < width - w / 2 else ("right" if x_px <= w / 2 else "left")
        left = x_px - w / 2 if side == "center" else (x_px if side == "right" else x_px - w)
        top = y_px - font * 1.6 if ys[i] > 0 else y_px + font * 0.4
        box = (left, top, left + w, top + font * 1.3)
        if any(box[0] < b[2] and b[0] < box[2] and box[1] < b[3] and b[1] < box[3] for b in placed):
            continue
        placed.append(box)
        keep.append(i)
        positions.append(f"{'top' if ys[i] > 0 else 'bottom'} {side}")
    fig.add_trace(go.Scatter(
        x=[xs[i] for i in keep], y=[ys[i] for i in keep], mode="text", showlegend=False, hoverinfo="skip",
        text=[plotly_text(names[i]) for i in keep], textfont=dict(size=font, color="#343a40"),
        textposition=positions, cliponaxis=False))


def crows_metrics(result: CrowsResult) -> go.Figure:
    """% of pairs where the more stereotyping sentence scores higher, overall and per bias type (ties counted as not
    higher, as in metric.py), with Wilson 95% intervals; 50 = unbiased. Each bar's label sits after the end of its
    interval, never under it. The legend names every colour."""
    groups = [result.overall, *result.by_bias_type]
    labels = [plotly_text(g.group) for g in groups]
    colours = ["#495057" if i == 0 else _crows_colour(g.metric) for i, g in enumerate(groups)]
    fig = go.Figure(go.Bar(
        x=[g.metric for g in groups], y=labels, orientation="h", marker_color=colours, showlegend=False,
        error_x=dict(type="data", symmetric=False, array=[g.ci_high - g.metric for g in groups],
                     arrayminus=[g.metric - g.ci_low for g in groups], color="#212529", thickness=1.2),
        customdata=[[percent(g.metric), interval(g.ci_low, g.ci_high, "%"), g.ties, percent(g.tie_share)]
                    for g in groups],
        hovertemplate="%{y}: %{customdata[0]}<br>Wilson 95% %{customdata[1]}"
                      "<br>ties %{customdata[2]} (%{customdata[3]})<extra></extra>",
    ))
    fig.add_trace(go.Scatter(
        x=[g.ci_high + 1.5 for g in groups], y=labels, mode="text", showlegend=False, hoverinfo="skip",
        text=[f"{percent(g.metric)} of {g.pairs} ({g.ties} ties)" for g in groups], textposition="middle right",
        cliponaxis=False))
    fig.add_vline(x=50, line=dict(color=GREY, dash="dash"), annotation_text="50 = unbiased",
                  annotation_position="top")
    _legend(fig, [
        ("markers", dict(symbol="square", color="#495057", size=10), "all pairs"),
        ("markers", dict(symbol="square", color="#c92a2a", size=10), "above 50: stereotype preferred"),
        ("markers", dict(symbol="square", color="#2f9e44", size=10), "below 50"),
        ("markers", dict(symbol="square", color=GREY, size=10), "exactly 50"),
        ("lines", dict(color="#212529"), "Wilson 95% interval"),
        ("lines", dict(color=GREY, dash="dash"), "50 = unbiased"),
    ])
    fig.update_layout(height=max(260, 32 * len(groups) + 190), margin=dict(l=10, r=20, t=20, b=150),
                      plot_bgcolor="white", yaxis=dict(autorange="reversed", automargin=True),
                      xaxis=dict(title="% pairs where the more stereotyping sentence scores higher<br>(a tie counts "
                                       "as not higher)", range=[0, 140], tickvals=[0, 25, 50, 75, 100]))
    return legend_in_margin(fig, rows=3, room=80)


def _crows_colour(metric: float) -> str:
    """Red above 50 (stereotype preferred), green below, grey at exactly 50."""
    return "#c92a2a" if metric > 50 else "#2f9e44" if metric < 50 else GREY


def _legend(fig: go.Figure, entries: list[tuple[str, dict, str]], note: str | None = None) -> None:
    """Legend-only traces (no data) that name each marker, line and colour of a chart."""
    for mode, style, name in entries:
        line = style if mode == "lines" else None
        marker = None if mode == "lines" else style
        fig.add_trace(go.Scatter(x=[None], y=[None], mode=mode, marker=marker, line=line, name=plotly_text(name),
                                 hoverinfo="skip", showlegend=True))
    if note:
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", marker=dict(color="rgba(0,0,0,0)"),
                                 name=plotly_text(note), hoverinfo="skip", showlegend=True))


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
