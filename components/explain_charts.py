"""Plotly figures for the Explain page. Every token or word shown is HTML-escaped (plotly labels accept a little HTML)."""
from __future__ import annotations

import math

import plotly.graph_objects as go

from bertlens.explain import Comparison, Lens, Rollout, Words
from components.safe import plotly_text

BLUE = "#3b5bdb"
ORANGE = "#e8590c"
GREY = "#868e96"
METHOD_COLOURS = ("#3b5bdb", "#e8590c", "#2f9e44", "#868e96")
DIVERGING = [[0.0, "#b2182b"], [0.25, "#ef8a62"], [0.5, "#f7f7f7"], [0.75, "#67a9cf"], [1.0, "#2166ac"]]


def _label(text: str, index: int) -> str:
    """An escaped label made unique with zero-width spaces, so repeated words keep their own slot."""
    return plotly_text(text) + "\u200b" * index


def lens_grid(lens: Lens) -> go.Figure:
    """Layers (rows, embeddings on top) x top-k candidates, each cell coloured by its probability."""
    layers = lens.layers
    k = max(len(layer.top) for layer in layers)
    z = [[layer.top[i].probability if i < len(layer.top) else None for i in range(k)] for layer in layers]
    text = [[plotly_text(layer.top[i].token) if i < len(layer.top) else "" for i in range(k)] for layer in layers]
    names = ["embeddings" if layer.layer == 0 else f"layer {layer.layer}" for layer in layers]
    fig = go.Figure(go.Heatmap(
        z=z, x=list(range(1, k + 1)), y=names, text=text, texttemplate="%{text}",
        textfont=dict(size=11), colorscale="Blues", zmin=0, colorbar=dict(title=dict(text="probability")),
        hovertemplate="%{y}, candidate %{x}: %{text}<br>p = %{z:.4g}<extra></extra>",
    ))
    fig.update_yaxes(autorange="reversed", automargin=True)
    fig.update_xaxes(side="top", title_text="candidates, most likely first", dtick=1)
    fig.update_layout(height=max(260, 26 * len(layers) + 90), margin=dict(l=10, r=10, t=60, b=10),
                      plot_bgcolor="white")
    return fig


def lens_target_lines(lens: Lens, what: str = "log_prob") -> go.Figure:
    """The target's (and the contrast's) log-probability, or rank, after each layer."""
    target = lens.target
    x = [layer.layer for layer in lens.layers]
    series = [(target.word, BLUE, [getattr(layer, f"target_{what}") for layer in lens.layers])]
    if target.contrast is not None:
        series.append((target.contrast, ORANGE, [getattr(layer, f"contrast_{what}") for layer in lens.layers]))
    fig = go.Figure()
    for name, colour, values in series:
        fig.add_trace(go.Scatter(x=x, y=values, mode="lines+markers", name=plotly_text(name),
                                 line=dict(color=colour), hovertemplate="layer %{x}: %{y:.4g}<extra>%{fullData.name}"
                                                                        "</extra>"))
    title = "log-probability (natural log)" if what == "log_prob" else "rank in the vocabulary (1 = top)"
    fig.update_xaxes(title_text="layer (0 = embeddings)", dtick=2 if len(x) > 12 else 1)
    if what == "rank":
        fig.update_yaxes(type="log", autorange="reversed", title_text=title)
    else:
        fig.update_yaxes(title_text=title)
    fig.update_layout(height=300, margin=dict(l=10, r=10, t=30, b=40), plot_bgcolor="white",
                      legend=dict(orientation="h", y=1.12))
    return fig


def lens_entropy_kl(lens: Lens) -> go.Figure:
    """Entropy of each layer's prediction and KL(final || layer), in nats."""
    x = [layer.layer for layer in lens.layers]
    fig = go.Figure([
        go.Scatter(x=x, y=[layer.entropy for layer in lens.layers], name="entropy", mode="lines+markers",
                   line=dict(color=BLUE)),
        go.Scatter(x=x, y=[layer.kl_to_final for layer in lens.layers], name="KL(final || layer)",
                   mode="lines+markers", line=dict(color=ORANGE)),
    ])
    fig.update_xaxes(title_text="layer (0 = embeddings)", dtick=2 if len(x) > 12 else 1)
    fig.update_yaxes(title_text="nats")
    fig.update_layout(height=300, margin=dict(l=10, r=10, t=30, b=40), plot_bgcolor="white",
                      legend=dict(orientation="h", y=1.12))
    return fig


def signed_words(words: Words, rows: dict[str, tuple[float, ...]]) -> go.Figure:
    """The sentence's words in order, one row per method, coloured by signed score (blue pushes f up, red down).

    Each row is scaled by its own largest |score|, so methods on different scales share one colour bar."""
    labels = [_label(w, i) for i, w in enumerate(words.words)]
    z, text, custom = [], [], []
    for scores in rows.values():
        top = max((abs(s) for s in scores), default=0.0) or 1.0
        z.append([s / top for s in scores])
        text.append([plotly_text(w) for w in words.words])
        custom.append(list(scores))
    fig = go.Figure(go.Heatmap(
        z=z, x=labels, y=[plotly_text(name) for name in rows], text=text, customdata=custom,
        texttemplate="%{text}", textfont=dict(size=13), colorscale=DIVERGING, zmin=-1, zmax=1,
        colorbar=dict(title=dict(text="score / max |score|"), thickness=12),
        hovertemplate="%{y}<br>%{text}: %{customdata:.4g}<extra></extra>", xgap=2, ygap=4,
    ))
    fig.update_xaxes(showticklabels=False)
    fig.update_yaxes(autorange="reversed", automargin=True)
    fig.update_layout(height=90 + 60 * len(rows), margin=dict(l=10, r=10, t=20, b=10), plot_bgcolor="white")
    return fig


def rollout_bars(rollout: Rollout, position: int) -> go.Figure:
    """The mask's rolled-out attention over every token, the mask itself marked grey."""
    labels = [_label(t, i) for i, t in enumerate(rollout.tokens)]
    colours = [GREY if i == position else BLUE for i in range(len(labels))]
    fig = go.Figure(go.Bar(x=labels, y=list(rollout.weights), marker_color=colours,
                           hovertemplate="%{x}: %{y:.4f}<extra></extra>"))
    fig.update_yaxes(title_text="rolled-out attention", rangemode="tozero")
    fig.update_xaxes(tickangle=-45 if len(labels) > 12 else 0)
    fig.update_layout(height=320, margin=dict(l=10, r=10, t=20, b=40), plot_bgcolor="white")
    return fig


def side_by_side(comparison: Comparison) -> go.Figure:
    """Grouped bars: each method's word scores divided by its own largest |score| (raw values on hover)."""
    labels = [_label(w, i) for i, w in enumerate(comparison.words)]
    fig = go.Figure()
    for method, scores, colour in zip(comparison.methods, comparison.scores, METHOD_COLOURS):
        top = max((abs(s) for s in scores), default=0.0) or 1.0
        fig.add_trace(go.Bar(x=labels, y=[s / top for s in scores], name=plotly_text(method), marker_color=colour,
                             customdata=list(scores),
                             hovertemplate="%{x}: %{customdata:.4g} (scaled %{y:.2f})<extra>%{fullData.name}</extra>"))
    fig.update_yaxes(title_text="score / max |score| of the method", range=[-1.08, 1.08], zeroline=True)
    fig.update_layout(barmode="group", height=380, margin=dict(l=10, r=10, t=30, b=40), plot_bgcolor="white",
                      legend=dict(orientation="h", y=1.12))
    return fig


def correlation_matrix(comparison: Comparison) -> go.Figure:
    """The methods' pairwise Spearman rank correlations as a matrix (blank where undefined)."""
    methods = comparison.methods
    rho = {(c.a, c.b): c.rho for c in comparison.correlations}
    z, text = [], []
    for a in methods:
        row, labels = [], []
        for b in methods:
            value = 1.0 if a == b else rho.get((a, b), rho.get((b, a)))
            row.append(value)
            labels.append("" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.2f}")
        z.append(row)
        text.append(labels)
    fig = go.Figure(go.Heatmap(z=z, x=list(methods), y=list(methods), text=text, texttemplate="%{text}",
                               colorscale=DIVERGING, zmin=-1, zmax=1,
                               colorbar=dict(title=dict(text="Spearman rho"), thickness=12),
                               hovertemplate="%{y} ~ %{x}: %{text}<extra></extra>"))
    fig.update_yaxes(autorange="reversed", automargin=True)
    fig.update_layout(height=330, margin=dict(l=10, r=10, t=20, b=10))
    return fig
