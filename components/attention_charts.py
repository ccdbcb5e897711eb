"""Plotly figures for the attention page. Every token shown is escaped: plotly labels accept a little HTML."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import torch

from bertlens.attention import STATISTIC_LABELS, Attention, HeadStatistics, QueryKey
from bertlens.attention_views import GAP, Lines
from bertlens.numbers import significant
from bertlens.svg import text_width
from components.presentation import category_ticks, chart_font, content_width
from components.safe import plotly_text

ATTENTION_SCALE = "Blues"
STRETCH_LABEL = "Stretch colours to the data"
SELECTED = "#7048e8"  # the chosen head's outline: not orange, which means female on every chart


def colour_range(values: np.ndarray, low: float, high: float, stretch: bool) -> tuple[float, float, str]:
    """(zmin, zmax, note) for a colour scale: the fixed range [low, high] by default; with `stretch`, the data's
    own minimum and maximum, and a note that says so (so near-uniform noise is never mistaken for structure)."""
    if not stretch or not np.isfinite(values).any():
        return low, high, f"fixed {low:g}–{high:.3g}"
    lo, hi = float(np.nanmin(values)), float(np.nanmax(values))
    if hi <= lo:
        hi = lo + 1e-9
    return lo, hi, f"stretched to the data: {significant(lo)}–{significant(hi)}"
_GRID_SCALE = [[0.0, "#f7fbff"], [0.25, "#c6dbef"], [0.6, "#4292c6"], [(GAP - 1) / GAP, "#08306b"],
               [(GAP - 1) / GAP, "#ffffff"], [1.0, "#ffffff"]]


HOVER_CELLS = 128 * 128  # above this, hover numbers are formatted by plotly (d3) instead of sent as text


def formatted(values: np.ndarray) -> tuple[np.ndarray | None, str]:
    """(customdata, hover format) for a heatmap's values in the one number format (`bertlens.numbers`): the
    numbers as text when there are few enough of them to send, else plotly's scientific notation."""
    if values.size <= HOVER_CELLS:
        return np.vectorize(lambda v: significant(float(v)), otypes=[object])(values), "%{customdata}"
    return None, "%{z:.2e}"


def token_labels(tokens: list[str]) -> list[str]:
    """Unique, escaped axis labels: "position token"."""
    return [f"{i} {plotly_text(t)}" for i, t in enumerate(tokens)]


def _head_markers(layers: int, heads: int, x: np.ndarray, y: np.ndarray, hover: list[str]) -> go.Scatter:
    """Invisible markers at each head's cell: clicking one selects (layer, head), 1-based, via customdata."""
    layer_index, head_index = np.meshgrid(np.arange(1, layers + 1), np.arange(1, heads + 1), indexing="ij")
    return go.Scatter(
        x=x.ravel(), y=y.ravel(), mode="markers",
        marker=dict(size=14, color="rgba(0,0,0,0)", symbol="square"),
        customdata=np.stack([layer_index.ravel(), head_index.ravel()], axis=1),
        hovertext=hover, hovertemplate="%{hovertext}<extra></extra>", showlegend=False,
    )


def _grid_height(layers: int, heads: int, width: float | None = None) -> int:
    """Height for a layers x heads grid drawn with square cells in a column `width` px wide (default: half the
    page on a 1024-px screen in the current mode)."""
    width = width or content_width(0.5)
    return int(min(900, max(260, 90 + (width - 60) * layers / heads)))


def _dtick(width: float | None, cells: int, font: float) -> int:
    """Label every cell when a label (up to two digits) fits its cell, else every second or fifth one."""
    cell = ((width or content_width(0.5)) - 60) / cells
    return 1 if cell >= font * 1.5 else 2 if cell * 2 >= font * 1.5 else 5


def thumbnail_figure(grid: np.ndarray, attention: Attention, selected: tuple[int, int] | None = None,
                     width: float | None = None) -> go.Figure:
    """All heads as small multiples: one row per layer, one column per head (see `thumbnails` for the scaling)."""
    layers, heads = attention.layers, attention.heads
    cell_h = (grid.shape[0] + 2) / layers
    cell_w = (grid.shape[1] + 2) / heads
    side = cell_h - 2
    centre_x = np.arange(heads) * cell_w + side / 2
    centre_y = np.arange(layers) * cell_h + side / 2
    cx, cy = np.meshgrid(centre_x, centre_y)
    hover = [f"Layer {l + 1}, head {h + 1}" for l in range(layers) for h in range(heads)]
    fig = go.Figure(go.Heatmap(z=grid, colorscale=_GRID_SCALE, zmin=0, zmax=GAP, showscale=False,
                               hoverinfo="skip"))
    fig.add_trace(_head_markers(layers, heads, cx, cy, hover))
    if selected:
        layer, head = selected
        fig.add_shape(type="rect", x0=centre_x[head - 1] - side / 2 - 0.5, x1=centre_x[head - 1] + side / 2 - 0.5,
                      y0=centre_y[layer - 1] - side / 2 - 0.5, y1=centre_y[layer - 1] + side / 2 - 0.5,
                      line=dict(color=SELECTED, width=2))
    fig.update_xaxes(tickvals=centre_x, ticktext=[str(h + 1) for h in range(heads)], title_text="head", side="top",
                     showgrid=False, zeroline=False, range=[-0.5, grid.shape[1] - 0.5], constrain="domain")
    fig.update_yaxes(tickvals=centre_y, ticktext=[str(l + 1) for l in range(layers)], title_text="layer",
                     range=[grid.shape[0] - 0.5, -0.5], showgrid=False, zeroline=False, scaleanchor="x",
                     constrain="domain")
    fig.update_layout(height=_grid_height(layers, heads, width), margin=dict(l=50, r=10, t=50, b=20),
                      plot_bgcolor="#ffffff")
    return fig


TOKEN_CHARS = 8  # of a token on the one-layer view's axes


def _spaced(positions: list[float], labels: list[str], step: float) -> tuple[list[float], list[str]]:
    """The labels whose positions are at least `step` apart, first to last, so no two touch."""
    kept_at: list[float] = []
    kept: list[str] = []
    for at, label in zip(positions, labels):
        if not kept_at or at - kept_at[-1] >= step:
            kept_at.append(at)
            kept.append(label)
    return kept_at, kept


def _short(token: str) -> str:
    return plotly_text(token if len(token) <= TOKEN_CHARS else token[:TOKEN_CHARS - 1] + "…")


def layer_figure(thumbs: np.ndarray, layer: int, columns: int, selected_head: int | None = None,
                 font_px: float | None = None, width: float | None = None,
                 tokens: list[str] | None = None) -> go.Figure:
    """One layer's heads, large: `thumbs` (heads, s, s) from `attention_views.thumbnails`, `columns` to a row, each
    named "head N" above it in the chart's font (16 px in presentation mode), in a band of its own between the rows.
    With `tokens` (the text's T tokens), the rows of every head are labelled on the left (attending, the query) and
    the columns of the last row under it (attended to, the key), as many as fit without touching (a pooled
    thumbnail's cell is named after its first token). Clicking a head selects it, as in the grid of every head."""
    font_px = font_px or chart_font()
    width = width or content_width(0.6)
    heads, side = thumbs.shape[0], thumbs.shape[-1]
    rows = -(-heads // columns)
    names = [_short(tokens[int(i * len(tokens) / side)]) for i in range(side)] if tokens else []
    tick_font = max(10.0, font_px - 2)
    label_w = max(text_width(n, tick_font) for n in names) + 6 if names else 0.0
    plot_w = width - 20 - label_w
    px = plot_w / (columns * (side + 2) - 2)  # screen pixels per data unit
    band = int(np.ceil(font_px * 1.5 / px))  # the label's band above each row, in data units
    gap_x, pitch_y = 2, side + band
    grid = np.full((rows * pitch_y, columns * (side + gap_x) - gap_x), GAP, dtype=np.uint8)
    for h in range(heads):
        top, left = (h // columns) * pitch_y + band, (h % columns) * (side + gap_x)
        grid[top:top + side, left:left + side] = thumbs[h]
    centre_x = np.array([(h % columns) * (side + gap_x) + side / 2 - 0.5 for h in range(heads)])
    centre_y = np.array([(h // columns) * pitch_y + band + side / 2 - 0.5 for h in range(heads)])
    fig = go.Figure(go.Heatmap(z=grid, colorscale=_GRID_SCALE, zmin=0, zmax=GAP, showscale=False, hoverinfo="skip"))
    fig.add_trace(go.Scatter(
        x=centre_x, y=centre_y, mode="markers", marker=dict(size=max(14, side * px * 0.9), color="rgba(0,0,0,0)",
                                                             symbol="square"),
        customdata=np.stack([np.full(heads, layer), np.arange(1, heads + 1)], axis=1),
        hovertext=[f"Layer {layer}, head {h + 1}" for h in range(heads)], hovertemplate="%{hovertext}<extra></extra>",
        showlegend=False))
    for h in range(heads):
        fig.add_annotation(x=centre_x[h], y=centre_y[h] - side / 2 - band / 2, text=f"head {h + 1}", showarrow=False,
                           yanchor="middle", font=dict(size=font_px,
                                                       color=SELECTED if h + 1 == selected_head else "#212529"))
    if selected_head:
        x, y = centre_x[selected_head - 1], centre_y[selected_head - 1]
        fig.add_shape(type="rect", x0=x - side / 2, x1=x + side / 2, y0=y - side / 2, y1=y + side / 2,
                      line=dict(color=SELECTED, width=3))
    fig.update_xaxes(visible=False, range=[-0.5, grid.shape[1] - 0.5], constrain="domain")
    fig.update_yaxes(visible=False, range=[grid.shape[0] - 0.5, -0.5], scaleanchor="x", constrain="domain")
    if names:
        step = tick_font * 1.25 / px  # data units between two labels' centres
        ys, y_text = _spaced([r * pitch_y + band + i for r in range(rows) for i in range(side)], names * rows, step)
        last = range((rows - 1) * columns, heads)
        xs, x_text = _spaced([(h % columns) * (side + gap_x) + i for h in last for i in range(side)],
                             names * len(last), step)
        ticks = dict(visible=True, showgrid=False, zeroline=False, ticks="", tickfont=dict(size=tick_font))
        fig.update_yaxes(tickvals=ys, ticktext=y_text, **ticks)
        fig.update_xaxes(tickvals=xs, ticktext=x_text, tickangle=-90, side="bottom", **ticks)
    fig.update_layout(height=int(min(1400, max(140, px * grid.shape[0] + 20 + label_w))),
                      margin=dict(l=10 + label_w, r=10, t=10, b=10 + label_w), plot_bgcolor="#ffffff")
    return fig


def statistics_figure(stats: HeadStatistics, name: str, selected: tuple[int, int] | None = None,
                      n_tokens: int | None = None, stretch: bool = False, width: float | None = None) -> go.Figure:
    """A layers x heads heatmap of one statistic. Shares use a fixed 0–1 colour scale and entropy 0–ln(T) (its
    largest possible value at `n_tokens` tokens); `stretch` spans the data's own range instead, and says so."""
    values = stats.get(name).float().numpy()
    layers, heads = values.shape
    x = np.arange(1, heads + 1)
    y = np.arange(1, layers + 1)
    cx, cy = np.meshgrid(x, y)
    label = STATISTIC_LABELS[name]
    hover = [f"Layer {l + 1}, head {h + 1}<br>{label}: {significant(float(values[l, h]))}" for l in range(layers)
             for h in range(heads)]
    top = float(np.log(n_tokens)) if name == "entropy" and n_tokens else 1.0
    if name == "entropy" and not n_tokens:
        top = max(float(np.nanmax(values)), 1e-6)
    zmin, zmax, note = colour_range(values, 0.0, top, stretch)
    colorbar = dict(orientation="h", y=-0.01, yanchor="top", thickness=12, len=0.9,
                    title=dict(text=f"{label} ({note})", side="bottom"))
    fig = go.Figure(go.Heatmap(z=values, x=x, y=y, colorscale="Viridis", colorbar=colorbar, hoverinfo="skip",
                               zmin=zmin, zmax=zmax))
    fig.add_trace(_head_markers(layers, heads, cx, cy, hover))
    if selected:
        layer, head = selected
        fig.add_shape(type="rect", x0=head - 0.5, x1=head + 0.5, y0=layer - 0.5, y1=layer + 0.5,
                      line=dict(color=SELECTED, width=3))
    height = _grid_height(layers, heads, width)
    font = chart_font()
    fig.update_xaxes(title_text="head", dtick=_dtick(width, heads, font), side="top", showgrid=False,
                     zeroline=False, range=[0.5, heads + 0.5], constrain="domain")
    fig.update_yaxes(title_text="layer", dtick=_dtick(height * heads / layers, layers, font),
                     range=[layers + 0.5, 0.5], showgrid=False, zeroline=False, scaleanchor="x", constrain="domain")
    fig.update_layout(height=height + 50, margin=dict(l=50, r=10, t=50, b=70))
    return fig


def head_heatmap(matrix: torch.Tensor, tokens: list[str], title: str, stretch: bool = False) -> go.Figure:
    """One (T, T) pattern at full resolution: rows are the attending tokens, columns the attended ones. Colours
    span the fixed 0–1 range of a weight unless `stretch`."""
    labels = token_labels(tokens)
    t = len(tokens)
    values = matrix.float().numpy()
    zmin, zmax, note = colour_range(values, 0.0, 1.0, stretch)
    custom, number = formatted(values)
    fig = go.Figure(go.Heatmap(
        z=values, x=labels, y=labels, colorscale=ATTENTION_SCALE, zmin=zmin, zmax=zmax, customdata=custom,
        colorbar=dict(title=dict(text=f"weight<br>({note})")),
        hovertemplate=f"from %{{y}}<br>to %{{x}}<br>weight {number}<extra></extra>",
    ))
    side = min(900, max(360, 18 * t + 160))
    fig.update_xaxes(title_text="attended token (key)", showgrid=False, type="category", tickfont_size=10,
                     **category_ticks(labels, content_width() - 260))
    fig.update_yaxes(title_text="attending token (query)", autorange="reversed", showgrid=False, type="category",
                     tickfont_size=10)
    fig.update_layout(height=side, margin=dict(l=10, r=10, t=50, b=10), title=dict(text=plotly_text(title),
                                                                                  font_size=14))
    return fig


def token_in_context(tokens: list[str], position: int, width: int = 2) -> str:
    """A picker label: "12: … the cat [sat] on the …", the token with `width` neighbours on each side."""
    left = " ".join(tokens[max(0, position - width):position])
    right = " ".join(tokens[position + 1:position + 1 + width])
    before = "… " if position - width > 0 else ""
    after = " …" if position + 1 + width < len(tokens) else ""
    return f"{position}: {before}{left} [{tokens[position]}] {right}{after}".replace("  ", " ")


def line_view(lines: Lines, tokens: list[str], title: str, bins: int = 8) -> go.Figure:
    """bertviz-style lines from each token (left) to the tokens it attends to (right); darker means more."""
    t = len(tokens)
    font = max(12, chart_font())
    labels = [plotly_text(tok) for tok in tokens]
    y = -np.arange(t, dtype=float)
    fig = go.Figure()
    edges = np.linspace(0.0, 1.0, bins + 1)
    for low, high in zip(edges[:-1], edges[1:]):
        chosen = (lines.weight >= low) & ((lines.weight < high) | (high == 1.0))
        if not chosen.any():
            continue
        n = int(chosen.sum())
        xs = np.tile(np.array([0.0, 1.0, np.nan]), n)
        ys = np.stack([y[lines.query[chosen]], y[lines.key[chosen]], np.full(n, np.nan)], axis=1).ravel()
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", hoverinfo="skip", showlegend=False,
                                 line=dict(color="#1c4f9c", width=1 + 3 * high),
                                 opacity=float(0.15 + 0.85 * high)))
    for x, anchor in ((-0.02, "middle left"), (1.02, "middle right")):
        fig.add_trace(go.Scatter(x=np.full(t, x), y=y, mode="text", text=labels,
                                 textposition="middle left" if x < 0 else "middle right",
                                 customdata=np.arange(t), hovertemplate="%{customdata} %{text}<extra></extra>",
                                 showlegend=False, textfont=dict(size=font)))
    fig.update_xaxes(visible=False, range=[-0.45, 1.45], fixedrange=True)
    fig.update_yaxes(visible=False, range=[-t + 0.5, 0.5], fixedrange=True)
    note = f" ({lines.dropped:,} weaker lines not drawn)" if lines.dropped else ""
    if not len(lines.weight):
        note = " (no weight reaches the threshold: lower it to see lines)"
    fig.update_layout(height=max(220, int(font * 1.45 * t) + 70), margin=dict(l=0, r=0, t=40, b=0),
                      title=dict(text=plotly_text(title) + note, font_size=14), plot_bgcolor="#ffffff")
    return fig


def mask_figure(matrix: torch.Tensor, tokens: list[str], position: int, stretch: bool = False) -> go.Figure:
    """What one position (a [MASK]) attends to, layer by layer: (layers, T), the mean over each layer's heads.
    Colours span the fixed 0–1 range unless `stretch`."""
    layers = matrix.shape[0]
    labels = token_labels(tokens)
    values = matrix.float().numpy()
    zmin, zmax, note = colour_range(values, 0.0, 1.0, stretch)
    custom, number = formatted(values)
    fig = go.Figure(go.Heatmap(
        z=values, x=labels, y=np.arange(1, layers + 1), colorscale=ATTENTION_SCALE, zmin=zmin, zmax=zmax,
        customdata=custom, colorbar=dict(title=dict(text=f"weight<br>({note})")),
        hovertemplate=f"layer %{{y}}<br>to %{{x}}<br>weight {number}<extra></extra>",
    ))
    fig.update_xaxes(title_text="attended token", type="category", tickfont_size=10,
                     **category_ticks(labels, content_width(0.75) - 160))
    fig.update_yaxes(title_text="layer", autorange="reversed", dtick=1 if layers <= 24 else None)
    fig.update_layout(height=max(260, 18 * layers + 160), margin=dict(l=10, r=10, t=50, b=10),
                      title=dict(text=f"What position {position} ({plotly_text(tokens[position])}) attends to, "
                                      "mean over heads", font_size=14))
    return fig


def query_key_figure(qk: QueryKey, tokens: list[str]) -> go.Figure:
    """bertviz's neuron view, redrawn: query q, keys k, their elementwise product, and the softmax weights. The
    panel titles are short and sit inside the top margin, so none is clipped at 1024 px."""
    from plotly.subplots import make_subplots

    labels = token_labels(tokens)
    t, d = qk.keys.shape
    dims = np.arange(d)
    limit = float(max(qk.keys.abs().max(), qk.query.abs().max(), 1e-6))
    product_limit = float(max(qk.products.abs().max(), 1e-6))
    fig = make_subplots(rows=2, cols=3, row_heights=[0.06, 0.94], column_widths=[0.38, 0.38, 0.24],
                        vertical_spacing=0.06, horizontal_spacing=0.04, shared_yaxes=True,
                        subplot_titles=(f"query q of token {qk.position} (strip),<br>keys k of every token (below)",
                                        "", "", "", "q × k (elementwise)", "softmax(Σ q×k / √d)"))
    scale = dict(colorscale="RdBu", zmid=0, showscale=False)

    def numbers(values: np.ndarray) -> dict:
        custom, number = formatted(values)
        return dict(customdata=custom, number=number)

    query = qk.query.numpy()[None]
    q = numbers(query)
    fig.add_trace(go.Heatmap(z=query, x=dims, y=[labels[qk.position]], zmin=-limit, zmax=limit,
                             customdata=q["customdata"], hovertemplate=f"dim %{{x}}: {q['number']}<extra></extra>",
                             **scale), row=1, col=1)
    keys = qk.keys.numpy()
    k = numbers(keys)
    fig.add_trace(go.Heatmap(z=keys, x=dims, y=labels, zmin=-limit, zmax=limit, customdata=k["customdata"],
                             hovertemplate=f"%{{y}}<br>dim %{{x}}: {k['number']}<extra></extra>", **scale),
                  row=2, col=1)
    products = qk.products.numpy()
    p = numbers(products)
    fig.add_trace(go.Heatmap(z=products, x=dims, y=labels, zmin=-product_limit, zmax=product_limit,
                             customdata=p["customdata"],
                             hovertemplate=f"%{{y}}<br>dim %{{x}}: {p['number']}<extra></extra>", **scale),
                  row=2, col=2)
    fig.add_trace(go.Bar(x=qk.weights.numpy(), y=labels, orientation="h", marker_color="#1c4f9c",
                         customdata=[[significant(float(s)), significant(float(w))]
                                     for s, w in zip(qk.scores.numpy(), qk.weights.numpy())],
                         hovertemplate="%{y}<br>score %{customdata[0]}<br>weight %{customdata[1]}<extra></extra>"),
                  row=2, col=3)
    fig.update_yaxes(autorange="reversed", type="category", tickfont_size=10, row=2)
    fig.update_yaxes(showticklabels=False, row=1, col=1)
    fig.update_xaxes(showticklabels=False, row=1)
    fig.update_xaxes(title_text="dimension", row=2, col=1)
    fig.update_xaxes(title_text="dimension", row=2, col=2)
    fig.update_xaxes(title_text="weight", row=2, col=3)
    fig.update_annotations(font_size=12, yanchor="bottom")
    fig.update_layout(height=min(2400, max(400, int(chart_font() * 1.5 * t) + 220)), showlegend=False,
                      margin=dict(l=10, r=10, t=110, b=10), plot_bgcolor="#ffffff",
                      title=dict(text=f"Layer {qk.layer + 1}, head {qk.head + 1}: how token {qk.position} "
                                      f"({plotly_text(tokens[qk.position])})<br>scores every key", font_size=14,
                                 y=0.99, yanchor="top"))
    return fig
