"""What the attention page sends: thumbnails, lines, bertviz HTML made offline and inert, and its size at 512 tokens."""
from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import numpy as np
import plotly.io
import pytest
import torch

from bertlens import Settings, load_model
from bertlens.attention import extract
from bertlens.attention_views import (GAP, VIEW_BUDGET_BYTES, bertviz_head_view, bertviz_layers_that_fit,
                                      bertviz_model_view, bertviz_size_estimate, line_segments,
                                      thumbnail_grid, thumbnails)
from components.attention_charts import token_labels
from components.safe import plotly_text
from devtools.attention_payload import payload_sizes
from devtools.random_model import build_random_model
from components import attention_charts as charts

ROOT = Path(__file__).resolve().parent.parent
HOSTILE = "</script><img src=x onerror=alert(1)>"


def test_thumbnails_pool_and_scale_each_head():
    weights = torch.zeros(2, 3, 64, 64)
    weights[0, 0, :, 0] = 1.0
    weights[1, 2] = torch.eye(64)
    weights[0, 1] = 1 / 64
    thumbs = thumbnails(weights, size=16)
    assert thumbs.shape == (2, 3, 16, 16) and thumbs.dtype == torch.uint8
    assert thumbs[0, 0, :, 0].tolist() == [GAP - 1] * 16 and thumbs[0, 0, :, 1:].max() == 0
    assert torch.equal(thumbs[1, 2], torch.eye(16, dtype=torch.uint8) * (GAP - 1))
    uniform = thumbs[0, 1]
    assert uniform.min() == uniform.max() == round((GAP - 1) / 8), "a uniform head stays pale"
    sharp = thumbnails(weights * 0 + torch.eye(64) * 0.5 + 0.5 / 64, size=64)
    assert sharp[0, 0].max() == GAP - 1, "a pattern above the floor is scaled to its own maximum"
    assert thumbs[1, 0].max() == 0


def test_short_inputs_keep_full_resolution():
    assert thumbnails(torch.rand(1, 1, 7, 7), size=32).shape == (1, 1, 7, 7)


def test_grid_places_each_head_in_its_row_and_column():
    thumbs = torch.arange(2 * 3, dtype=torch.uint8).reshape(2, 3, 1, 1).expand(2, 3, 4, 4).contiguous()
    grid = thumbnail_grid(thumbs, gap=1)
    assert grid.shape == (2 * 5 - 1, 3 * 5 - 1)
    for layer in range(2):
        for head in range(3):
            tile = grid[layer * 5: layer * 5 + 4, head * 5: head * 5 + 4]
            assert (tile == layer * 3 + head).all()
    assert (grid[4, :] == GAP).all() and (grid[:, 4] == GAP).all()


def test_line_segments_threshold_cap_and_focus():
    matrix = torch.tensor([[0.7, 0.2, 0.1], [0.0, 0.5, 0.5], [0.04, 0.06, 0.9]])
    lines = line_segments(matrix, min_weight=0.05)
    assert list(zip(lines.query.tolist(), lines.key.tolist()))[:2] == [(2, 2), (0, 0)]
    assert len(lines.weight) == 7 and lines.dropped == 0
    assert np.all(np.diff(lines.weight) <= 0)
    capped = line_segments(matrix, min_weight=0.05, max_lines=3)
    assert len(capped.weight) == 3 and capped.dropped == 4
    focused = line_segments(matrix, min_weight=0.0, query=1)
    assert set(focused.query.tolist()) == {1} and sorted(focused.key.tolist()) == [0, 1, 2]


def test_labels_are_escaped_for_plotly():
    assert plotly_text(HOSTILE) == "&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;"
    assert token_labels(["a", "<b>", "a"]) == ["0 a", "1 &lt;b&gt;", "2 a"]


def hostile_attention(lm, pair=None):
    """WordPiece splits markup into single characters; put the whole payload in one token as well, as another
    tokenizer (or a vocabulary entry) could, so the escaping is tested where it matters."""
    real = extract(lm, f"Look {HOSTILE} here & there [MASK].", pair)
    tokens = list(real.tokens)
    tokens[1] = HOSTILE
    return dataclasses.replace(real, tokens=tokens)


def bertviz_params(html: str) -> dict:
    match = re.search(r"const params = (\{.*?\}); //", html, re.S)
    assert match, "bertviz's params not found"
    return json.loads(match.group(1))


@pytest.mark.parametrize("pair", [None, "Second <b>sentence</b>."])
def test_bertviz_html_is_offline_and_inert(lm, pair):
    attention = hostile_attention(lm, pair)
    for html in (bertviz_head_view(attention, [0], "/app/static/vendor"),
                 bertviz_model_view(attention, [0, 1], [0, 2], "/app/static/vendor")):
        assert "cdnjs" not in html and not re.search(r"src=[\"']?https?:", html)
        assert '<script src="/app/static/vendor/require-2.3.6.js"></script>' in html
        assert "'/app/static/vendor/d3-5.7.0.min'" in html and "'/app/static/vendor/jquery-3.7.1.min'" in html
        assert html.lower().count("</script") == 2, "a token must not close the script early"
        assert "<img" not in html
        params = bertviz_params(html)
        shown = params["attention"][0]["left_text"]
        assert shown == attention.tokens, "the escaping must not change the tokens bertviz shows"
        assert HOSTILE in shown


def test_bertviz_weights_are_those_extracted(lm):
    attention = extract(lm, "A short sentence for bertviz.")
    params = bertviz_params(bertviz_head_view(attention, [1], rounded=False))
    assert np.allclose(np.array(params["attention"][0]["attn"][0]), attention.weights[1].numpy(), atol=1e-7)
    rounded = bertviz_params(bertviz_head_view(attention, [1]))
    assert np.allclose(np.array(rounded["attention"][0]["attn"][0]), attention.weights[1].numpy(), atol=5e-4)


def test_vendored_scripts_exist_with_licences():
    vendor = ROOT / "static" / "vendor"
    assert "@license RequireJS 2.3.6" in (vendor / "require-2.3.6.js").read_text()[:300]
    assert "d3js.org v5.7.0" in (vendor / "d3-5.7.0.min.js").read_text()[:200]
    assert "jQuery v3.7.1" in (vendor / "jquery-3.7.1.min.js").read_text()[:200]
    assert (vendor / "LICENSE-d3.txt").is_file() and (vendor / "LICENSE-jquery.txt").is_file()
    config = (ROOT / ".streamlit" / "config.toml").read_text()
    assert re.search(r"^enableStaticServing\s*=\s*true", config, re.M)


def test_figures_escape_tokens(lm):
    attention = hostile_attention(lm)
    matrix = attention.weights[0, 0]
    figures = [charts.head_heatmap(matrix, attention.tokens, "t"),
               charts.line_view(line_segments(matrix), attention.tokens, "t"),
               charts.mask_figure(attention.weights[:, 0, 1], attention.tokens, 1)]
    for figure in figures:
        strings = list(all_strings(json.loads(plotly.io.to_json(figure, validate=False))))
        markup = [s for s in strings if "<" in re.sub(r"</?(br|extra)>", "", s)]
        assert not markup, markup[:3]
        assert any("&lt;/script&gt;&lt;img" in s for s in strings)


def all_strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from all_strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from all_strings(item)


@pytest.fixture(scope="module")
def heads_lm(tmp_path_factory):
    """24 layers x 16 heads like bert-large, with a small hidden size: the same attention shapes, cheaply."""
    folder = build_random_model(tmp_path_factory.mktemp("heads") / "bert-heads", size="heads")
    return load_model(Settings(model=str(folder), device="cpu", dtype="float32"))


def test_payload_at_512_tokens_fits_the_budget(heads_lm):
    sizes = payload_sizes(heads_lm, 512, bertviz=False)
    assert (sizes["tokens"], sizes["layers"], sizes["heads"]) == (512, 24, 16)
    assert sizes["page_bytes"] <= VIEW_BUDGET_BYTES
    assert sizes["page_with_bertviz_bytes"] <= VIEW_BUDGET_BYTES
    assert sizes["largest_view_bytes"] <= VIEW_BUDGET_BYTES
    assert sizes["bertviz_restricted_bytes"] == 0, "bertviz must not be sent at 512 tokens"


def test_page_with_bertviz_fits_at_128_tokens(heads_lm):
    sizes = payload_sizes(heads_lm, 128, bertviz=False)
    assert sizes["bertviz_restricted_bytes"] > 0, "at 128 tokens bertviz's views are offered"
    assert sizes["page_with_bertviz_bytes"] <= VIEW_BUDGET_BYTES


def test_bertviz_size_estimate_bounds_the_real_size(heads_lm):
    attention = extract(heads_lm, "A sentence of a dozen or so tokens, to size bertviz's page.")
    fit = bertviz_layers_that_fit(attention)
    assert 1 <= fit <= 24
    actual = len(bertviz_head_view(attention, list(range(min(fit, 3)))))
    assert actual <= bertviz_size_estimate(attention, min(fit, 3))
    assert actual >= 0.5 * bertviz_size_estimate(attention, min(fit, 3))
