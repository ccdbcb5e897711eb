"""Figures a class reads (issue 26): orange and blue mean female and male on every chart and nothing else, the
counterfactual chart names its words, fill-mask bars stay on a linear axis, and a fill-mask chart's title and
downloaded file name carry the sentence and the model."""
from __future__ import annotations

import pytest

from bertlens.bias.counterfactual import counterfactual
from bertlens.fill_mask import fill_mask
from bertlens.fill_mask import score_words
from components import bias_robustness, charts, counterfactual_view
from components.bias_charts import FEMALE, MALE
from components.figure_export import chart_config
from components.fill_mask_view import chart_title, model_name


@pytest.mark.parametrize("text, original_colour", [
    ("She said that her [MASK] was late.", FEMALE),
    ("He said that his [MASK] was late.", MALE),
])
def test_the_counterfactual_chart_names_its_words_in_the_gender_colours(lm, text, original_colour):
    result = counterfactual(lm, text)
    fig = counterfactual_view.log_ratios(result.candidates, result.swaps)
    right, left = (a.text for a in fig.layout.annotations)
    originals = {s.original for s in result.swaps}
    replacements = {s.replacement for s in result.swaps}
    assert all(word in right for word in originals) and all(word in left for word in replacements)
    assert "counterfactual" not in right + left
    other = MALE if original_colour == FEMALE else FEMALE
    bars = fig.data[0]
    expected = [original_colour if x > 0 else other for x in bars.x]
    assert list(bars.marker.color) == expected
    assert fig.layout.annotations[0].font.color == original_colour


def test_fill_mask_bars_stay_linear_and_avoid_the_gender_colours(lm):
    text = "The nurse said that [MASK] was tired."
    result = fill_mask(lm, text, top_k=10)
    targets = score_words(lm, text, ["she", "he"])
    values = [c.probability for c in result.masks[0].candidates] + [t.probability for t in targets]
    fig = charts.probability_bars(result.masks[0].candidates, "t", targets)
    assert fig.layout.xaxis.type != "log"
    assert fig.layout.xaxis.range[0] == 0 and fig.layout.xaxis.range[1] >= max(values)
    assert {t.marker.color for t in fig.data}.isdisjoint({FEMALE, MALE, "#3b5bdb", "#e8590c"})
    assert all(t.text is not None and len(t.text) == len(t.x) for t in fig.data), "every bar carries its value"


def test_paraphrase_sets_never_take_orange_or_blue():
    def hue(colour: str) -> float | None:
        """The hue in degrees, or None for a grey (too little saturation to read as a colour)."""
        import colorsys
        r, g, b = (int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5))
        h, s, _ = colorsys.rgb_to_hsv(r, g, b)
        return h * 360 if s > 0.35 else None

    assert hue(FEMALE) is not None and 15 <= hue(FEMALE) <= 45 and 200 <= hue(MALE) <= 235
    for colour in bias_robustness.SET_COLOURS:
        if hue(colour) is None:
            continue
        assert not 15 <= hue(colour) <= 45, f"{colour} reads as orange (female)"
        assert not 200 <= hue(colour) <= 235, f"{colour} reads as blue (male)"


def test_fill_mask_titles_and_file_names_carry_the_sentence_and_the_model():
    title = chart_title("The nurse said that [MASK] was tired.", 0, 1, "/models/bert-large-cased")
    assert "The nurse said that [MASK] was tired." in title and "bert-large-cased" in title
    assert model_name("google/multiberts-seed_0") == "multiberts-seed_0"
    long = chart_title("word " * 40 + "[MASK].", 1, 2, "m")
    assert "[MASK] 2 of 2" in long and len(long.splitlines()[0]) <= 42
    name = chart_config("fill-mask bert-large-cased The nurse said that [MASK] was tired.")
    assert name["toImageButtonOptions"]["filename"] == \
        "bertlens-fill-mask-bert-large-cased-The-nurse-said-that-MASK-was-tired"


def test_explain_lines_take_their_words_gender_colours():
    from components.bias_charts import gender_colour

    assert gender_colour("she", "x") == FEMALE and gender_colour(" He ", "x") == MALE
    assert gender_colour("nurse", "#0c8599") == "#0c8599" and gender_colour(None, "y") == "y"


def test_occupation_scatters_name_their_most_extreme_points_without_hover():
    import plotly.graph_objects as go

    from components.bias_charts import TOP_LABELS, label_top

    fig = go.Figure()
    ys = [0.1, -2.0, 0.5, 3.0, -0.2, 1.5, -1.0, 0.05, 0.7, -0.9, 2.2]
    names = [f"job{i}" for i in range(len(ys))]
    label_top(fig, [i * 10 for i in range(len(ys))], ys, names)  # spread out: every one of the top 8 fits
    labels = fig.data[-1]
    assert labels.mode == "text" and len(labels.text) == TOP_LABELS
    expected = {names[i] for i in sorted(range(len(ys)), key=lambda i: -abs(ys[i]))[:TOP_LABELS]}
    assert set(labels.text) == expected

    crowded = go.Figure()
    label_top(crowded, [50.0] * len(ys), [3.0] * (len(ys) - 1) + [-4.0], names)
    assert list(crowded.data[-1].text) == [names[-1], names[0]], "labels that would touch are left to the hover"


def test_the_nsp_ranking_wraps_long_sentences_onto_two_lines(lm):
    from bertlens.nsp import next_sentence

    results = [next_sentence(lm, "We missed the bus.", b) for b in
               ("So we walked all the way home through the rain and the wind.", "Penguins swim.")]
    fig = charts.nsp_ranking(results)
    labels = list(fig.data[0].y)
    assert any("<br>" in label for label in labels) and all(len(part) <= 34 for label in labels
                                                              for part in label.split("<br>"))


def test_the_occupation_chart_keeps_the_ten_that_lean_most_when_asked(lm):
    from bertlens import bias
    from components.bias_charts import occupation_ratios

    result = bias.run_probe(lm, bias.default_config())
    everything = occupation_ratios(result)
    assert len(everything.data[0].y) == len(result.occupations)
    top = occupation_ratios(result, top=10)
    expected = sorted(result.occupations, key=lambda o: -abs(o.log_ratio))[:10]
    assert len(top.data[0].y) == 10 and {round(x, 9) for x in top.data[0].x} == \
        {round(o.log_ratio, 9) for o in expected}
    assert "10 of" in top.layout.xaxis.title.text


@pytest.mark.parametrize("n_tokens, font_px, width", [(12, 12, 338), (12, 16, 585), (40, 12, 338), (200, 16, 585)])
def test_the_one_layer_view_names_its_tokens_on_both_axes_without_touching(n_tokens, font_px, width):
    """Labels without hover: each head's rows (the query) and columns (the key) are named, as many as fit."""
    import numpy as np

    from bertlens.attention_views import thumbnails
    from components.attention_charts import layer_figure

    import torch

    tokens = ["[CLS]", *(f"w{i}" for i in range(n_tokens - 2)), "[SEP]"]
    thumbs = thumbnails(torch.rand(1, 16, n_tokens, n_tokens).softmax(-1))[0].numpy()
    fig = layer_figure(thumbs, 1, 4, font_px=font_px, width=width, tokens=tokens)
    x, y, margin = fig.layout.xaxis, fig.layout.yaxis, fig.layout.margin
    assert x.visible and y.visible and x.tickangle == -90
    assert y.ticktext[0] == "[CLS]" and x.ticktext[0] == "[CLS]"
    assert set(x.ticktext) <= set(tokens) and set(y.ticktext) <= set(tokens)
    assert len(y.ticktext) >= 4 * 2, "every row of heads names at least two of its tokens"
    px = (width - margin.l - margin.r) / (x.range[1] - x.range[0])
    for values in (x.tickvals, y.tickvals):
        gaps = np.diff(values) * px
        assert gaps.min() >= max(10, font_px - 2), "two labels touch"
    if n_tokens <= 12 and font_px == 16:
        assert len(x.ticktext) >= 4 * 4, "a short text names most tokens of every head"
    assert len({int(v) for v in fig.layout.yaxis.tickvals}) == len(y.tickvals)
