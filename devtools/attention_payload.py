"""What the attention page sends to the browser, measured beside bertviz's own views (for the benchmark and
scripts/attention_measure.py)."""
from __future__ import annotations

from typing import Any

from bertlens.analysis import analyse
from bertlens.attention import attention_of, head_statistics, mask_attention, query_key
from devtools.attention_timing import synthetic_text
from bertlens.attention_views import (bertviz_head_view, bertviz_layers_that_fit, bertviz_model_view,
                                      bertviz_model_view_layers, line_segments, thumbnail_grid, thumbnails)
from bertlens.model import LoadedModel


def _json_size(figure: Any) -> int:
    import plotly.io

    return len(plotly.io.to_json(figure, validate=False).encode("utf-8"))


def payload_sizes(lm: LoadedModel, n_tokens: int, bertviz: bool = True,
                  bertviz_full: bool | None = None) -> dict[str, Any]:
    """Bytes sent to the browser for each attention view of one `n_tokens`-token text, next to bertviz's.

    Ours: the plotly figure JSON of the overview (thumbnails + statistics heatmap), of one head (heatmap, line
    view, query x key view) and of the [MASK] link; `page_bytes` is their sum, all the page sends at once
    (Streamlit sends every tab), and `page_with_bertviz_bytes` adds the restricted bertviz views when the user
    switches them on. bertviz: its unrestricted head view and model view of all layers with float32 weights, as a
    notebook user gets them. Those grow with T^2 and reach gigabytes at 512 tokens, so unless `bertviz_full`
    is True (default: only up to 128 tokens) they are measured on one and two layers and extrapolated linearly to
    all layers (`bertviz_extrapolated`); `bertviz=False` skips them (minutes and gigabytes at 512).
    Uses the app's own figure builders (`components.attention_charts`), so run it from the repository root.
    """
    from components import attention_charts as charts

    text = synthetic_text(lm, n_tokens)
    analysis = analyse(lm, text, hidden_states=True, attentions=True)
    attention = attention_of(analysis)
    stats = head_statistics(attention.weights, attention.tokens)
    overview = _json_size(charts.thumbnail_figure(thumbnail_grid(thumbnails(attention.weights)), attention))
    overview += _json_size(charts.statistics_figure(stats, "entropy"))
    head = attention.weights[0, 0]
    heatmap = _json_size(charts.head_heatmap(head, attention.tokens, "Layer 1, head 1"))
    lines = _json_size(charts.line_view(line_segments(head), attention.tokens, "Layer 1, head 1"))
    query_view = _json_size(charts.query_key_figure(query_key(lm, analysis, 0, 0, 1), attention.tokens))
    mask_view = _json_size(charts.mask_figure(mask_attention(attention, 1), attention.tokens, 1))
    full = n_tokens <= 128 if bertviz_full is None else bertviz_full
    sizes: dict[str, Any] = {
        "tokens": attention.n_tokens,
        "layers": attention.layers,
        "heads": attention.heads,
        "overview_bytes": overview,
        "head_heatmap_bytes": heatmap,
        "head_lines_bytes": lines,
        "query_key_bytes": query_view,
        "mask_link_bytes": mask_view,
        "largest_view_bytes": max(overview, heatmap, lines, query_view, mask_view),
        "page_bytes": overview + heatmap + lines + query_view + mask_view,
    }
    model_layers = bertviz_model_view_layers(attention)
    restricted = 0
    if bertviz_layers_that_fit(attention):
        restricted = len(bertviz_head_view(attention, [0]))
        if model_layers:
            restricted += len(bertviz_model_view(attention, list(range(model_layers))))
    sizes["bertviz_restricted_model_view_layers"] = model_layers
    sizes["bertviz_restricted_bytes"] = restricted
    sizes["page_with_bertviz_bytes"] = sizes["page_bytes"] + restricted
    if not bertviz:
        return sizes
    for view, render in (("head_view", bertviz_head_view), ("model_view", bertviz_model_view)):
        if full:
            size = len(render(attention, list(range(attention.layers)), rounded=False))
        else:
            one = len(render(attention, [0], rounded=False))
            two = len(render(attention, [0, 1], rounded=False))
            size = one + (two - one) * (attention.layers - 1)
        sizes[f"bertviz_{view}_bytes"] = size
    sizes["bertviz_extrapolated"] = not full
    return sizes
