"""What the attention page sends to the browser, kept small: thumbnails, line segments, and bertviz HTML made safe.

At 512 tokens the full tensor of bert-large is 24 x 16 x 512 x 512 = 100M weights. bertviz inlines all of it, twice,
as JSON text. Here one view carries either all 384 heads as downsampled, 8-bit thumbnails, or one head (or one
mean) at full resolution. bertviz's own views are used only where their HTML stays under a size budget, and their
CDN scripts are replaced by the copies this app serves from `static/vendor/`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from bertlens.attention import Attention

THUMBNAIL_SIZE = 32
GAP = 255
VIEW_BUDGET_BYTES = 10_000_000
BERTVIZ_BUDGET_BYTES = 6_000_000  # both bertviz views together, on top of our own (~3 MB at 512)
STATIC_VENDOR_URL = "/app/static/vendor"
_CDN = {
    "https://cdnjs.cloudflare.com/ajax/libs/require.js/2.3.6/require.min.js": "{base}/require-2.3.6.js",
    "https://cdnjs.cloudflare.com/ajax/libs/d3/5.7.0/d3.min": "{base}/d3-5.7.0.min",
    "https://cdnjs.cloudflare.com/ajax/libs/jquery/2.0.0/jquery.min": "{base}/jquery-3.7.1.min",
}
_BYTES_PER_WEIGHT_ROUNDED = 14  # ~6 characters a weight, inlined twice (code and a comment)
_SOURCE_NOTE = "https://github.com/tensorflow/tensor2tensor/"


def thumbnails(weights: torch.Tensor, size: int = THUMBNAIL_SIZE, contrast: float = 8.0) -> torch.Tensor:
    """Each head's (T, T) pattern average-pooled to at most (size, size), as uint8 0..254.

    Each head is scaled to the larger of its own maximum and `contrast` times the uniform level 1/T (capped at
    1), so a sharp pattern fills the colour range at 512 tokens while a near-uniform head stays pale instead of
    having its noise stretched to full colour. The thumbnails show shape; the heatmap shows values.
    """
    layers, heads, t, _ = weights.shape
    side = min(size, t)
    pooled = torch.nn.functional.adaptive_avg_pool2d(weights.reshape(layers * heads, 1, t, t).float(), side)
    pooled = pooled.reshape(layers, heads, side, side)
    floor = min(1.0, contrast / t)
    peak = pooled.amax(dim=(-2, -1), keepdim=True).clamp_min(floor)
    return (pooled / peak * (GAP - 1)).round().to(torch.uint8)


def thumbnail_grid(thumbs: torch.Tensor, gap: int = 2) -> np.ndarray:
    """Tile (layers, heads, s, s) thumbnails into one image: layers as rows, heads as columns, GAP between tiles."""
    layers, heads, side, _ = thumbs.shape
    cell = side + gap
    grid = np.full((layers * cell - gap, heads * cell - gap), GAP, dtype=np.uint8)
    tiles = thumbs.numpy()
    for layer in range(layers):
        for head in range(heads):
            grid[layer * cell: layer * cell + side, head * cell: head * cell + side] = tiles[layer, head]
    return grid


@dataclass(frozen=True)
class Lines:
    """Token-to-token lines for a line view: query position, key position, weight; the strongest first."""

    query: np.ndarray
    key: np.ndarray
    weight: np.ndarray
    dropped: int


def line_segments(matrix: torch.Tensor, min_weight: float = 0.05, max_lines: int = 4000,
                  query: int | None = None) -> Lines:
    """The lines worth drawing for one (T, T) pattern: weights >= `min_weight`, at most `max_lines` of them.

    `query` keeps only the lines from one token. `dropped` counts lines above the threshold left out by the cap.
    """
    matrix = matrix.float()
    t = matrix.shape[-1]
    rows = torch.arange(t) if query is None else torch.tensor([query])
    flat = matrix[rows].flatten()
    chosen = (flat >= min_weight).nonzero().squeeze(-1)
    order = flat[chosen].argsort(descending=True, stable=True)
    chosen = chosen[order]
    dropped = max(0, chosen.numel() - max_lines)
    chosen = chosen[:max_lines]
    query_index = rows[chosen // t]
    return Lines(query=query_index.numpy(), key=(chosen % t).numpy(), weight=flat[chosen].numpy(),
                 dropped=dropped)


def _script_json_safe(text: str) -> str:
    """JSON that can sit inside an inline <script>: '<', '>' and '&' only occur in JSON strings, so escape them."""
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _bertviz_js(name: str) -> list[str]:
    """The constant pieces of bertviz's `{name}.js` around its PYTHON_PARAMS markers (it has two: code, comment)."""
    import bertviz

    source = (Path(bertviz.__file__).parent / f"{name}.js").read_text(encoding="utf-8")
    pieces = source.split("PYTHON_PARAMS")
    if len(pieces) < 2:
        raise RuntimeError(f"bertviz's {name}.js has no PYTHON_PARAMS marker; this bertviz version is not supported")
    return pieces


def localise_bertviz(html: str, view: str, static_url: str = STATIC_VENDOR_URL) -> str:
    """Make bertviz's `html_action='return'` output safe and offline.

    The inlined parameters (holding the user's tokens, once in code and once in a comment) are re-escaped, so a
    token such as `</script>` cannot end the script early, and the CDN URLs point at this app's vendored copies.
    """
    pieces = _bertviz_js(view)
    start = html.find(pieces[0])
    if start < 0:
        raise RuntimeError("bertviz's HTML does not have the expected layout; cannot make it safe")
    out = [html[:start], pieces[0]]
    cursor = start + len(pieces[0])
    for piece in pieces[1:]:
        found = html.find(piece, cursor) if piece else -1
        if found < 0:
            raise RuntimeError("bertviz's HTML does not have the expected layout; cannot make it safe")
        out += [_script_json_safe(html[cursor:found]), piece]
        cursor = found + len(piece)
    out.append(html[cursor:])
    html = "".join(out)
    for cdn, local in _CDN.items():
        html = html.replace(cdn, local.format(base=static_url.rstrip("/")))
    if re.search(r"https?://", html.replace(_SOURCE_NOTE, "").replace("http://www.w3.org/", "")):
        raise RuntimeError("bertviz's HTML still names an outside URL")
    return html


def bertviz_size_estimate(attention: Attention, layers: int, heads: int | None = None) -> int:
    """Bytes of bertviz HTML for `layers` layers (of `heads` heads) with weights rounded to 3 decimals."""
    heads = heads or attention.heads
    copies = 2 if attention.sentence_b_start is not None else 1
    return layers * heads * attention.n_tokens ** 2 * copies * _BYTES_PER_WEIGHT_ROUNDED + 20_000


def bertviz_layers_that_fit(attention: Attention, heads: int | None = None,
                            budget: int = BERTVIZ_BUDGET_BYTES) -> int:
    """How many layers of bertviz HTML fit in `budget` bytes (0: not even one)."""
    per_layer = bertviz_size_estimate(attention, 1, heads) - 20_000
    return max(0, min(attention.layers, (budget - 20_000) // per_layer))


def _rounded_layers(attention: Attention, layers: list[int], heads: list[int] | None = None) -> list[torch.Tensor]:
    """bertviz's input: one (1, heads, T, T) tensor per layer, rounded to 3 decimals only where it will be read."""
    chosen = set(layers)
    out = []
    for index in range(attention.layers):
        layer = attention.weights[index].unsqueeze(0)
        if index in chosen:
            layer = layer.double().round(decimals=3)
        out.append(layer)
    return out


def bertviz_head_view(attention: Attention, layers: list[int], static_url: str = STATIC_VENDOR_URL,
                      rounded: bool = True) -> str:
    """bertviz's head view for `layers` (0-based), offline and escaped. Weights rounded to 3 decimals unless not."""
    from bertviz import head_view

    weights = _rounded_layers(attention, layers) if rounded else [w.unsqueeze(0) for w in attention.weights]
    html = head_view(weights, list(attention.tokens), sentence_b_start=attention.sentence_b_start,
                     include_layers=list(layers), layer=layers[0], html_action="return").data
    return localise_bertviz(html, "head_view", static_url)


def bertviz_model_view(attention: Attention, layers: list[int], heads: list[int] | None = None,
                       static_url: str = STATIC_VENDOR_URL, rounded: bool = True) -> str:
    """bertviz's model view for `layers` and `heads` (0-based), offline and escaped."""
    from bertviz import model_view

    weights = _rounded_layers(attention, layers) if rounded else [w.unsqueeze(0) for w in attention.weights]
    html = model_view(weights, list(attention.tokens), sentence_b_start=attention.sentence_b_start,
                      include_layers=list(layers), include_heads=list(heads) if heads else None,
                      html_action="return").data
    return localise_bertviz(html, "model_view", static_url)


def bertviz_heights(n_tokens: int, layers: int, heads: int) -> tuple[int, int]:
    """Pixel heights of bertviz's head view and of its model view for `layers` layers (from its JS layout)."""
    head_view = int(22.5 * n_tokens + 30 + 60)
    thumbnail = n_tokens * 7 * 12 / heads + 10
    model_view = int(max(layers * thumbnail + 38, 18 * n_tokens + 55) + 40)
    return head_view, model_view


def bertviz_model_view_layers(attention: Attention, budget: int = BERTVIZ_BUDGET_BYTES) -> int:
    """How many layers the model view may show next to a one-layer head view within `budget` (0: none)."""
    if not bertviz_layers_that_fit(attention, budget=budget):
        return 0
    return bertviz_layers_that_fit(attention, budget=budget - bertviz_size_estimate(attention, 1) + 20_000)


# ---- standalone SVG of the current selection, for papers (bertviz has no export: jessevig/bertviz #13, #33) ----

HEAD_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
                "#17becf", "#393b79", "#ad494a", "#637939", "#8c6d31", "#843c39", "#7b4173")


def head_view_svg(tokens: list[str], lines: Lines, title: str) -> str:
    """The line view of one head (or one mean) as a standalone SVG: exactly the lines the page draws (the same
    threshold, focus token and cap), with every token on both sides."""
    from bertlens.svg import lines_svg

    note = f"{len(lines.weight):,} lines of weight ≥ the threshold"
    if lines.dropped:
        note += f"; {lines.dropped:,} weaker lines not drawn"
    return lines_svg(title, tokens, lines.query.tolist(), lines.key.tolist(), lines.weight.tolist(), note=note)


def model_view_svg(attention: Attention, layers: list[int], min_weight: float = 0.05,
                   max_lines: int = 400) -> str:
    """bertviz's model view for `layers` (0-based) as a standalone SVG: one small line view per head, a row per
    layer, each head in its own colour; the tokens label the first head of each row (and are listed in the file's
    description). Each head keeps its `max_lines` strongest lines of weight >= `min_weight`."""
    from bertlens.svg import Document, text_width

    tokens = list(attention.tokens)
    t = len(tokens)
    pitch = max(1.0, min(9.0, 280.0 / t))
    label_px = min(9.0, pitch * 1.05)
    show_labels = label_px >= 5.0
    label_w = (max(text_width(token, label_px) for token in tokens) + 6) if show_labels else 0.0
    cell_w, gap, pad = 70.0, 14.0, 8.0
    cell_h = t * pitch
    title_h, header_h, row_label_w = 34.0, 18.0, 52.0
    heads = attention.heads
    doc = Document()
    title = (f"Attention, layers {', '.join(str(l + 1) for l in layers)}: every head (lines of weight ≥ "
             f"{min_weight:g})")
    doc.text(pad, title_h / 2, title, 15, weight="bold")
    x0 = pad + row_label_w + label_w
    for h in range(heads):
        doc.text(x0 + h * (cell_w + gap) + cell_w / 2, title_h + header_h / 2, f"head {h + 1}", 11, anchor="middle",
                 fill=HEAD_COLOURS[h % len(HEAD_COLOURS)])
    top = title_h + header_h + 4
    for row, layer in enumerate(layers):
        y0 = top + row * (cell_h + gap)
        doc.text(pad, y0 + cell_h / 2, f"layer {layer + 1}", 12, weight="bold")
        if show_labels:
            for i, token in enumerate(tokens):
                doc.text(x0 - 3, y0 + i * pitch + pitch / 2, token, label_px, anchor="end", title=f"{i} {token}")
        for h in range(heads):
            x = x0 + h * (cell_w + gap)
            doc.rect(x, y0, cell_w, cell_h, "#f8f9fa")
            chosen = line_segments(attention.weights[layer, h], min_weight=min_weight, max_lines=max_lines)
            hue = HEAD_COLOURS[h % len(HEAD_COLOURS)]
            for q, k, w in zip(chosen.query.tolist(), chosen.key.tolist(), chosen.weight.tolist()):
                doc.line(x + 2, y0 + q * pitch + pitch / 2, x + cell_w - 2, y0 + k * pitch + pitch / 2, hue,
                         0.3 + 1.2 * w, 0.15 + 0.85 * w)
    width = x0 + heads * (cell_w + gap) + pad
    height = top + len(layers) * (cell_h + gap) + pad
    return doc.render(width, height, title, "tokens: " + " ".join(tokens))
