"""Plotly figures for the Explain page, and their standalone SVG versions for papers. Every token or word shown is
HTML-escaped (plotly labels accept a little HTML).

Text inside cells is laid out for the width the chart has on a 1024-px projector in the current mode
(`presentation.content_width`): a token that does not fit its cell is shortened with "…", and the hover always
gives it whole, so neighbouring cells never run into each other."""
from __future__ import annotations

import math

import plotly.graph_objects as go

from bertlens import svg
from bertlens.explain import Comparison, Lens, Rollout, Words
from bertlens.numbers import log_ticks, probability, significant, tick
from components.bias_charts import gender_colour
from components.presentation import category_ticks, chart_font, content_width
from components.safe import plotly_text

# orange and blue mean female and male (components.bias_charts): a target or contrast word takes its gender's
# colour, and every other series teal or purple
BLUE = "#0c8599"
ORANGE = "#7048e8"
GREY = "#868e96"
METHOD_COLOURS = ("#0c8599", "#7048e8", "#2f9e44", "#868e96")
DIVERGING = [[0.0, "#b2182b"], [0.25, "#ef8a62"], [0.5, "#f7f7f7"], [0.75, "#67a9cf"], [1.0, "#2166ac"]]


def _label(text: str, index: int) -> str:
    """An escaped label made unique with zero-width spaces, so repeated words keep their own slot."""
    return plotly_text(text) + "\u200b" * index


LENS_LABELS_PX = 80.0  # "embeddings" and the axis padding, left of the cells


def _layer_names(lens: Lens) -> list[str]:
    return ["embeddings" if layer.layer == 0 else f"layer {layer.layer}" for layer in lens.layers]


def lens_grid(lens: Lens, font_px: float | None = None, width_px: float | None = None) -> go.Figure:
    """Layers (rows, embeddings on top) x top-k candidates, each cell coloured by its probability and labelled with
    its token where the token fits the cell (shortened with "…" otherwise; the hover gives it whole). The colour
    bar lies under the grid, so the cells get the chart's whole width."""
    font_px = font_px or chart_font()
    width_px = width_px or content_width()
    layers = lens.layers
    k = max(len(layer.top) for layer in layers)
    cell = (width_px - LENS_LABELS_PX - 20) / k
    z = [[layer.top[i].probability if i < len(layer.top) else None for i in range(k)] for layer in layers]
    tokens = [[layer.top[i].token if i < len(layer.top) else "" for i in range(k)] for layer in layers]
    text = [[plotly_text(svg.fit_text(t, cell - 6, font_px)) for t in row] for row in tokens]
    hover = [[f"{plotly_text(t)}<br>p = {probability(layer.top[i].probability)}" if t else ""
              for i, t in enumerate(row)] for row, layer in zip(tokens, layers)]
    fig = go.Figure(go.Heatmap(
        z=z, x=list(range(1, k + 1)), y=_layer_names(lens), text=text, texttemplate="%{text}", customdata=hover,
        textfont=dict(size=font_px), colorscale="Blues", zmin=0, xgap=1, ygap=1,
        colorbar=dict(title=dict(text="probability", side="right"), orientation="h", y=-0.02, yanchor="top",
                      thickness=10, len=0.6, x=1, xanchor="right"),
        hovertemplate="%{y}, candidate %{x}: %{customdata}<extra></extra>",
    ))
    fig.update_yaxes(autorange="reversed", automargin=True)
    fig.update_xaxes(side="top", title_text="candidates, most likely first", dtick=1)
    fig.update_layout(height=max(300, int(font_px * 1.7) * len(layers) + 140), margin=dict(l=10, r=10, t=60, b=40),
                      plot_bgcolor="white")
    return fig


def lens_svg(lens: Lens) -> str:
    """The logit-lens grid as a standalone SVG, every token whole (the columns widen to fit them)."""
    target = lens.target
    explained = target.word if target.contrast is None else f"{target.word} − {target.contrast}"
    return svg.grid_svg(svg.Grid(
        title=f"Logit lens at [MASK] {target.mask_index + 1} ({explained})" + ("" if lens.bias else
                                                                                ", decoder bias off"),
        rows=_layer_names(lens), columns=[str(i + 1) for i in range(max(len(l.top) for l in lens.layers))],
        values=[[c.probability for c in layer.top] for layer in lens.layers], low=0.0,
        high=max(c.probability for layer in lens.layers for c in layer.top) or 1.0,
        texts=[[c.token for c in layer.top] for layer in lens.layers],
        hover=[[f"{c.token}: p = {probability(c.probability)}" for c in layer.top] for layer in lens.layers],
        colour_label="probability", column_title="candidates, most likely first",
        note="Untrained lens: layers before the last are read through the final MLM head."))


def lens_target_lines(lens: Lens, what: str = "log_prob") -> go.Figure:
    """The target's (and the contrast's) log-probability, or rank, after each layer."""
    target = lens.target
    x = [layer.layer for layer in lens.layers]
    series = [(target.word, gender_colour(target.word, BLUE), [getattr(layer, f"target_{what}")
                                                               for layer in lens.layers])]
    if target.contrast is not None:
        series.append((target.contrast, gender_colour(target.contrast, ORANGE),
                       [getattr(layer, f"contrast_{what}") for layer in lens.layers]))
    fig = go.Figure()
    for name, colour, values in series:
        fig.add_trace(go.Scatter(x=x, y=values, mode="lines+markers", name=plotly_text(name),
                                 line=dict(color=colour), customdata=[significant(v) for v in values],
                                 hovertemplate="layer %{x}: %{customdata}<extra>%{fullData.name}</extra>"))
    title = "log-probability (natural log)" if what == "log_prob" else "rank in the vocabulary (1 = top)"
    fig.update_xaxes(title_text="layer (0 = embeddings)", dtick=2 if len(x) > 12 else 1)
    if what == "rank":
        ranks = [v for _, _, values in series for v in values if v]
        ticks = log_ticks(min(ranks, default=1), max(ranks, default=10))
        fig.update_yaxes(type="log", autorange="reversed", title_text=title, tickvals=ticks,
                         ticktext=[tick(t) for t in ticks])
    else:
        fig.update_yaxes(title_text=title)
    fig.update_layout(height=300, margin=dict(l=10, r=10, t=30, b=40), plot_bgcolor="white",
                      legend=dict(orientation="h", y=1.12))
    return fig


def lens_entropy_kl(lens: Lens) -> go.Figure:
    """Entropy of each layer's prediction and KL(final || layer), in nats."""
    x = [layer.layer for layer in lens.layers]
    entropy = [layer.entropy for layer in lens.layers]
    kl = [layer.kl_to_final for layer in lens.layers]
    fig = go.Figure([
        go.Scatter(x=x, y=entropy, name="entropy", mode="lines+markers", line=dict(color=BLUE),
                   customdata=[significant(v) for v in entropy], hovertemplate="layer %{x}: %{customdata} nats"),
        go.Scatter(x=x, y=kl, name="KL(final || layer)", mode="lines+markers", line=dict(color=ORANGE),
                   customdata=[significant(v) for v in kl], hovertemplate="layer %{x}: %{customdata} nats"),
    ])
    fig.update_xaxes(title_text="layer (0 = embeddings)", dtick=2 if len(x) > 12 else 1)
    fig.update_yaxes(title_text="nats")
    fig.update_layout(height=300, margin=dict(l=10, r=10, t=30, b=40), plot_bgcolor="white",
                      legend=dict(orientation="h", y=1.12))
    return fig


def signed_words(words: Words, rows: dict[str, tuple[float, ...]], font_px: float | None = None,
                 width_px: float | None = None) -> go.Figure:
    """The sentence's words in order, one row per method, coloured by signed score (blue pushes f up, red down).

    Each row is scaled by its own largest |score|, so methods on different scales share one colour bar. The words
    are written in their cells when every word fits its cell; otherwise they label the columns (turned, as plotly
    does when labels would touch), and the hover gives each score."""
    font_px = font_px or chart_font()
    width_px = width_px or content_width()
    labels = [_label(w, i) for i, w in enumerate(words.words)]
    row_names = [plotly_text(name) for name in rows]
    cell = (width_px - max(svg.text_width(name, font_px) for name in rows) - 110) / max(1, len(labels))
    inside = all(svg.text_width(w, font_px) + 6 <= cell for w in words.words)
    z, text, custom = [], [], []
    for scores in rows.values():
        top = max((abs(s) for s in scores), default=0.0) or 1.0
        z.append([s / top for s in scores])
        text.append([plotly_text(w) if inside else "" for w in words.words])
        custom.append([f"{plotly_text(w)}: {significant(s)}" for w, s in zip(words.words, scores)])
    fig = go.Figure(go.Heatmap(
        z=z, x=labels, y=row_names, text=text, customdata=custom,
        texttemplate="%{text}", textfont=dict(size=font_px), colorscale=DIVERGING, zmin=-1, zmax=1,
        colorbar=dict(title=dict(text="score / max |score|", side="right"), thickness=12),
        hovertemplate="%{y}<br>%{customdata}<extra></extra>", xgap=2, ygap=4,
    ))
    fig.update_xaxes(showticklabels=not inside, side="top", type="category",
                     **category_ticks(labels, width_px - max(svg.text_width(n, font_px) for n in rows) - 110, font_px))
    fig.update_yaxes(autorange="reversed", automargin=True)
    words_room = 0 if inside else min(140, max(svg.text_width(w, font_px) for w in words.words) + 20)
    fig.update_layout(height=90 + int(font_px * 3.5) * len(rows) + words_room, plot_bgcolor="white",
                      margin=dict(l=10, r=10, t=20 + words_room, b=10))
    return fig


def attributions_svg(words: Words, rows: dict[str, tuple[float, ...]], explained: str) -> str:
    """The attribution strip as a standalone SVG: one row per method, every word whole in its cell, each row
    scaled by its own largest |score| (the raw score in each cell's tooltip)."""
    values, hover = [], []
    for name, scores in rows.items():
        top = max((abs(s) for s in scores), default=0.0) or 1.0
        values.append([s / top for s in scores])
        hover.append([f"{name}, {w}: {significant(s)}" for w, s in zip(words.words, scores)])
    return svg.grid_svg(svg.Grid(
        title=f"Word attributions for {explained}", rows=list(rows), columns=[""] * len(words.words),
        values=values, low=-1.0, high=1.0, scale=svg.DIVERGING, texts=[list(words.words)] * len(rows), hover=hover,
        colour_label="score / max |score|", note="Blue words pushed f up, red words pushed it down; each row is "
                                                 "scaled by its own largest |score|."), min_cell=34)


def rollout_bars(rollout: Rollout, position: int, width_px: float | None = None) -> go.Figure:
    """The mask's rolled-out attention over every token, the mask itself marked grey."""
    labels = [_label(t, i) for i, t in enumerate(rollout.tokens)]
    width_px = width_px or content_width()
    colours = [GREY if i == position else BLUE for i in range(len(labels))]
    fig = go.Figure(go.Bar(x=labels, y=list(rollout.weights), marker_color=colours,
                           customdata=[significant(w) for w in rollout.weights],
                           hovertemplate="%{x}: %{customdata}<extra></extra>"))
    fig.update_yaxes(title_text="rolled-out attention", rangemode="tozero")
    fig.update_xaxes(type="category", **category_ticks(labels, width_px - 80))
    fig.update_layout(height=380, margin=dict(l=10, r=10, t=20, b=40), plot_bgcolor="white")
    return fig


def side_by_side(comparison: Comparison, width_px: float | None = None) -> go.Figure:
    """Grouped bars: each method's word scores divided by its own largest |score| (raw values on hover)."""
    labels = [_label(w, i) for i, w in enumerate(comparison.words)]
    width_px = width_px or content_width()
    fig = go.Figure()
    for method, scores, colour in zip(comparison.methods, comparison.scores, METHOD_COLOURS):
        top = max((abs(s) for s in scores), default=0.0) or 1.0
        fig.add_trace(go.Bar(x=labels, y=[s / top for s in scores], name=plotly_text(method), marker_color=colour,
                             customdata=[[significant(s), significant(s / top)] for s in scores],
                             hovertemplate="%{x}: %{customdata[0]} (scaled %{customdata[1]})"
                                           "<extra>%{fullData.name}</extra>"))
    fig.update_yaxes(title_text="score / max |score| of the method", range=[-1.08, 1.08], zeroline=True)
    fig.update_xaxes(type="category", **category_ticks(labels, width_px - 80))
    fig.update_layout(barmode="group", height=420, margin=dict(l=10, r=10, t=30, b=40), plot_bgcolor="white",
                      legend=dict(orientation="h", yanchor="bottom", y=1.02))
    return fig


def correlation_matrix(comparison: Comparison, font_px: float | None = None, width_px: float | None = None
                       ) -> go.Figure:
    """The methods' pairwise Spearman rank correlations as a matrix (blank where undefined). Each coefficient is
    written in its cell only where it fits; the hover always gives it."""
    font_px = font_px or chart_font()
    width_px = width_px or content_width()
    methods = comparison.methods
    rho = {(c.a, c.b): c.rho for c in comparison.correlations}
    cell = (width_px - max(svg.text_width(m, font_px) for m in methods) - 110) / max(1, len(methods))
    z, text, hover = [], [], []
    for a in methods:
        row, labels, tips = [], [], []
        for b in methods:
            value = 1.0 if a == b else rho.get((a, b), rho.get((b, a)))
            missing = value is None or (isinstance(value, float) and math.isnan(value))
            row.append(None if missing else value)
            written = "" if missing else f"{value:.2f}"
            labels.append(written if svg.text_width(written, font_px) + 8 <= cell else "")
            tips.append(f"{plotly_text(a)} ~ {plotly_text(b)}: {'undefined' if missing else written}")
        z.append(row)
        text.append(labels)
        hover.append(tips)
    names = [plotly_text(m) for m in methods]
    fig = go.Figure(go.Heatmap(z=z, x=names, y=names, text=text, texttemplate="%{text}", customdata=hover,
                               textfont=dict(size=font_px), colorscale=DIVERGING, zmin=-1, zmax=1, xgap=2, ygap=2,
                               colorbar=dict(title=dict(text="Spearman ρ", side="right"), thickness=12),
                               hovertemplate="%{customdata}<extra></extra>"))
    fig.update_yaxes(autorange="reversed", automargin=True)
    label_w = max(svg.text_width(m, font_px) for m in methods)
    fig.update_xaxes(automargin=True, **category_ticks(names, width_px - label_w - 110, font_px))
    fig.update_layout(height=max(330, int(font_px * 2.6) * len(methods) + 160 + int(label_w)),
                      margin=dict(l=10, r=10, t=20, b=10))
    return fig
