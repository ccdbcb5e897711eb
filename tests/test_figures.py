"""Figures for papers and labels that fit: the standalone SVGs the core writes (bertlens.svg, the attention views),
the chart builders' cell texts, and the page-wide download script."""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from bertlens.analysis import analyse
from bertlens.attention import attention_of
from bertlens.attention_views import head_view_svg, line_segments, model_view_svg
from bertlens.svg import DIVERGING, Grid, fit_text, grid_svg, lines_svg, text_width

SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = '</text><script>alert(1)</script>&"'


def texts(svg: str) -> list[str]:
    root = ET.fromstring(svg.encode("utf-8"))
    assert root.tag == f"{SVG}svg"
    return ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]


def own_texts(svg: str) -> list[str]:
    """Each <text>'s own string, without its <title> tooltip."""
    root = ET.fromstring(svg.encode("utf-8"))
    return [(t.text or "") + "".join((child.tail or "") for child in t) for t in root.iter(f"{SVG}text")]


def test_fit_text_keeps_what_fits_and_shortens_the_rest():
    assert fit_text("cat", 100, 12) == "cat"
    short = fit_text("Vincitowering", 40, 12)
    assert short.endswith("…") and text_width(short, 12) <= 40 and "Vincitowering".startswith(short[:-1])
    assert fit_text("Vincitowering", 5, 12) == ""
    assert text_width("WWW", 12) > text_width("iii", 12), "wide letters are measured wider"


def test_grid_svg_widens_columns_to_whole_tokens_and_escapes_them():
    tokens = [["Vincitowering", "a", HOSTILE], ["Cravenindustria", "b", "c"]]
    svg = grid_svg(Grid(title="Logit lens", rows=["embeddings", "layer 1"], columns=["1", "2", "3"],
                        values=[[0.9, 0.1, 0.0], [0.5, 0.2, None]], low=0.0, high=1.0, texts=tokens,
                        colour_label="probability"))
    shown = own_texts(svg)
    for row in tokens:
        for token in row:
            assert token in shown, f"{token!r} is not written whole"
    assert "<script>" not in svg, "a token is escaped, never markup"


def test_grid_svg_with_a_fixed_width_shortens_cells_so_neighbours_never_touch():
    words = ["Thenursesaidthat", "overwhelmingly", "x", "said"]
    width, font = 400.0, 14.0
    svg = grid_svg(Grid(title="", rows=["integrated gradients"], columns=[""] * len(words),
                        values=[np.linspace(-1, 1, len(words)).tolist()], low=-1, high=1, scale=DIVERGING,
                        texts=[words]), font_px=font, max_width=width)
    root = ET.fromstring(svg.encode("utf-8"))
    cells = [r for r in root.iter(f"{SVG}rect") if r.get("height") != "100%"]
    cell_width = float(cells[0].get("width"))
    for text in own_texts(svg):
        if text in ("integrated gradients",):
            continue
        assert text_width(text, font) <= cell_width, f"{text!r} is wider than its cell"
    assert any(t.endswith("…") for t in own_texts(svg))


def test_lines_svg_draws_one_line_per_weight_and_both_token_columns():
    tokens = ["[CLS]", "The", HOSTILE, "[SEP]"]
    svg = lines_svg("Layer 1, head 1", tokens, [0, 1, 2], [1, 2, 3], [0.9, 0.5, 0.1])
    root = ET.fromstring(svg.encode("utf-8"))
    assert len(list(root.iter(f"{SVG}line"))) == 3
    shown = own_texts(svg)
    for token in tokens:
        assert shown.count(token) == 2, token


@pytest.fixture(scope="module")
def attention(lm):
    return attention_of(analyse(lm, "The nurse said that [MASK] was late.", attentions=True))


def test_head_view_svg_is_the_lines_the_page_draws(attention):
    lines = line_segments(attention.weights[1, 2], min_weight=0.1)
    svg = head_view_svg(list(attention.tokens), lines, "Layer 2, head 3")
    root = ET.fromstring(svg.encode("utf-8"))
    assert len(list(root.iter(f"{SVG}line"))) == len(lines.weight)
    assert set(attention.tokens) <= set(own_texts(svg))
    assert "Layer 2, head 3" in texts(svg)


def test_model_view_svg_has_every_head_of_the_chosen_layers(attention):
    svg = model_view_svg(attention, [0, 1], min_weight=0.0, max_lines=1000)
    root = ET.fromstring(svg.encode("utf-8"))
    t, heads = attention.n_tokens, attention.heads
    assert len(list(root.iter(f"{SVG}line"))) == 2 * heads * t * t, "min weight 0: every weight is a line"
    shown = own_texts(svg)
    assert {f"head {h + 1}" for h in range(heads)} <= set(shown) and {"layer 1", "layer 2"} <= set(shown)
    assert set(attention.tokens) <= set(shown)
    assert " ".join(attention.tokens) in root.find(f"{SVG}desc").text


def test_the_download_script_survives_streamlits_sanitiser():
    from components.figure_export import file_name, script

    body = script().removeprefix("<script>").removesuffix("</script>")
    assert not re.search(r"<[/\w!]", body), "DOMPurify drops a script holding '<' before a letter, '/' or '!'"
    assert file_name("attention-head-view-Layer 1, head 2") == "bertlens-attention-head-view-Layer-1-head-2"
    assert file_name("../../etc/passwd") == "bertlens-etc-passwd"


def test_nie_grid_svg_writes_every_heads_effect_in_the_one_format():
    """In the one number format and the page's one unit, % of the ratio."""
    from bertlens.numbers import significant
    from components.heads_view import nie_svg

    grid = np.random.default_rng(3).normal(0, 0.1, (3, 4))
    grid[1, 2] = 4.5e-5
    shown = own_texts(nie_svg(grid))
    for value in grid.ravel():
        assert significant(100 * float(value), 2, sign=True) + "%" in shown
    assert "+0.0045%" in shown and {"layer 1", "layer 3", "head"} <= set(shown)
