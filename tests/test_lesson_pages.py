"""Page defects a teacher found, through AppTest, each checked against an independent computation:
the home page's model facts (bug 7), mask-a-word for a word of several pieces (bug 6), the examples pickers
going stale (bug 8) and the attention colour scales (bug 4, figure level and on the page)."""
from __future__ import annotations

import base64
import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest
from transformers import AutoTokenizer, BertForMaskedLM, BertForPreTraining

from bertlens.attention import HeadStatistics

APP = str(Path(__file__).resolve().parent.parent / "app.py")


def open_page(page: str | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    if page:
        at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.fixture(scope="module")
def mlm(tiny_model_dir):
    return BertForMaskedLM.from_pretrained(str(tiny_model_dir), attn_implementation="eager").eval()


@pytest.fixture(scope="module")
def tokenizer(tiny_model_dir):
    return AutoTokenizer.from_pretrained(str(tiny_model_dir))


def reference_log_probs(mlm, tokenizer, ids: list[int], position: int) -> torch.Tensor:
    with torch.no_grad():
        logits = mlm(input_ids=torch.tensor([ids])).logits[0, position]
    return torch.log_softmax(logits.double(), -1)


def shown_number(text: str) -> float:
    """A probability as the page prints it: "12.3%" or "4.2e-09"."""
    return float(text[:-1]) / 100 if text.endswith("%") else float(text)


# bug 7
def test_home_reads_the_model_facts_instead_of_hard_coding_them(app_env, tiny_model_dir):
    model = BertForPreTraining.from_pretrained(str(tiny_model_dir))
    parameters = sum(p.numel() for p in model.parameters())
    config = model.config
    at = open_page()
    intro = at.markdown[0].value
    assert "336M" not in " ".join(m.value for m in at.markdown)
    assert f"{parameters / 1e6:,.1f}M parameters" in intro
    assert f"{config.num_hidden_layers} layers" in intro and f"{config.num_attention_heads} attention heads" in intro


# bug 6
def test_mask_a_word_of_two_pieces_is_shown_predicted_and_scored_the_same_way(app_env, mlm, tokenizer):
    text = "The firefighter ran into the burning house."
    pieces = tokenizer.tokenize("firefighter")
    assert len(pieces) == 2, pieces
    at = open_page("app_pages/fill_mask.py")
    at.text_area(key="fm_text").set_value(text).run()
    at.text_input(key="fm_targets").set_value("doctor").run()
    at.button_group(key="fm_mask_word").set_value(1).run()
    assert not at.exception

    shown = "The [MASK] [MASK] ran into the burning house."
    assert shown in [c.value for c in at.code], "the word must be hidden behind one [MASK] per piece"
    assert [t.label for t in at.tabs] == ["[MASK] 1", "[MASK] 2"], "it must be predicted with the same masks"

    prefix = tokenizer("The", add_special_tokens=False)["input_ids"]
    suffix = tokenizer("ran into the burning house.", add_special_tokens=False)["input_ids"]
    fire, fighter = tokenizer.convert_tokens_to_ids(pieces)
    mask = tokenizer.mask_token_id
    first = reference_log_probs(mlm, tokenizer, [tokenizer.cls_token_id, *prefix, mask, mask, *suffix,
                                                 tokenizer.sep_token_id], len(prefix) + 1)
    second = reference_log_probs(mlm, tokenizer, [tokenizer.cls_token_id, *prefix, fire, mask, *suffix,
                                                  tokenizer.sep_token_id], len(prefix) + 2)
    chained = math.exp(float(first[fire] + second[fighter]))

    metric = at.metric[0]
    assert any("2 WordPieces, chained" in c.value.replace("\\", "") for c in at.caption)
    assert not re.fullmatch(r"0(\.0+)?%", metric.value), f"a real probability printed as {metric.value}"
    assert shown_number(metric.value) == pytest.approx(chained, rel=0.06)

    single = reference_log_probs(mlm, tokenizer, [tokenizer.cls_token_id, *prefix, mask, *suffix,
                                                  tokenizer.sep_token_id], len(prefix) + 1)
    doctor = tokenizer.convert_tokens_to_ids("doctor")
    targets = next(d.value for d in at.dataframe if "word" in d.value.columns)
    assert list(targets["word"]) == ["doctor"], "target words must be scored in this flow too"
    assert targets["probability"][0] == pytest.approx(math.exp(float(single[doctor])), rel=1e-4)


# bug 8
@pytest.mark.parametrize("page, preset, edit", [
    ("app_pages/fill_mask.py", "Model card: The woman worked as a [MASK].", ("fm_text", "The girl worked as a [MASK].")),
    ("app_pages/next_sentence.py", "Topic change: the store, then penguins", ("ns_b", "Penguins are birds.")),
])
def test_examples_picker_forgets_an_example_once_the_text_is_edited(app_env, page, preset, edit):
    at = open_page(page)
    picker = at.selectbox(key="fm_preset" if "fill" in page else "ns_preset")
    picker.set_value(preset).run()
    assert at.selectbox(key=picker.key).value == preset
    key, text = edit
    at.text_area(key=key).set_value(text).run()
    assert at.selectbox(key=picker.key).value is None, "the picker still names an example the text no longer holds"
    assert at.text_area(key=key).value == text


# bug 4
def near_uniform(t: int = 12, seed: int = 0) -> torch.Tensor:
    noise = torch.rand((t, t), generator=torch.Generator().manual_seed(seed)) * 0.01
    return torch.softmax(noise, -1)


def test_weight_colour_scales_are_fixed_unless_stretched():
    from components import attention_charts as charts

    matrix = near_uniform()
    values = matrix.numpy()
    tokens = [f"t{i}" for i in range(matrix.shape[0])]
    fixed = charts.head_heatmap(matrix, tokens, "x").data[0]
    assert (fixed.zmin, fixed.zmax) == (0, 1)
    stretched = charts.head_heatmap(matrix, tokens, "x", stretch=True).data[0]
    assert stretched.zmin == pytest.approx(values.min()) and stretched.zmax == pytest.approx(values.max())
    assert "stretched" in stretched.colorbar.title.text
    mask = charts.mask_figure(matrix[None].repeat(3, 1, 1)[:, 0], tokens, 0).data[0]
    assert (mask.zmin, mask.zmax) == (0, 1)


def test_entropy_colour_scale_spans_zero_to_its_maximum():
    from components import attention_charts as charts

    t = 12
    rows = near_uniform(t)
    entropy = float(-(rows * rows.log()).sum(-1).mean())
    values = torch.full((2, 3, 4), 0.3)
    values[0] = entropy
    stats = HeadStatistics(("entropy", "cls"), values[:2])
    heat = charts.statistics_figure(stats, "entropy", None, t).data[0]
    assert heat.zmin == 0 and heat.zmax == pytest.approx(math.log(t))
    share = charts.statistics_figure(stats, "cls", None, t).data[0]
    assert (share.zmin, share.zmax) == (0, 1)


def test_attention_page_heatmap_is_fixed_and_says_so_when_stretched(app_env):
    at = open_page("app_pages/attention.py")

    def heatmap() -> dict:
        specs = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
        return next(s["data"][0] for s in specs if s["layout"].get("yaxis", {}).get("title", {}).get("text")
                    == "attending token (query)")

    assert (heatmap()["zmin"], heatmap()["zmax"]) == (0, 1)
    at.toggle(key="att_stretch").set_value(True).run()
    assert at.toggle(key="att_stretch").label == "Stretch colours to the data"
    z = heatmap()["z"]
    if isinstance(z, dict):  # plotly's typed-array encoding
        z = np.frombuffer(base64.b64decode(z["bdata"]), dtype=z["dtype"])
    z = np.asarray(z, dtype=float)
    assert heatmap()["zmax"] == pytest.approx(z.max()) and heatmap()["zmin"] == pytest.approx(z.min())
    assert "stretched to the data" in heatmap()["colorbar"]["title"]["text"]


def test_lines_default_to_every_token_and_long_inputs_show_one_tokens_lines(app_env):
    at = open_page("app_pages/attention.py")
    focus = at.selectbox(key="att_focus")
    assert focus.index == 0 and focus.options[0] == "every token", "the default must be shown, not a placeholder"

    long_text = " ".join(["the cat sat on the mat"] * 25) + " [MASK] ran . [MASK] ."
    at.text_area(key="att_text").set_value(long_text).run()
    assert not at.exception
    focus = at.selectbox(key="att_focus")
    assert "every token" not in focus.options and focus.index is not None
    assert any("only the chosen token's lines" in c.value for c in at.caption)
    masks = at.selectbox(key="att_mask").options
    assert len(masks) == 2 and all("[[MASK]]" in label and "…" in label for label in masks), masks
    assert "the mat [[MASK]] ran ." in masks[0], "a mask must be shown with its neighbours"


def test_target_words_are_drawn_on_the_fill_mask_chart(app_env, mlm, tokenizer):
    at = open_page("app_pages/fill_mask.py")
    at.text_area(key="fm_text").set_value("The [MASK] barked all night.").run()
    at.text_input(key="fm_targets").set_value("dog, cat").run()
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    drawn = next(t for t in spec["data"] if t.get("name") == "your target words")
    labels = [y.replace("\u200b", "") for y in drawn["y"]]
    assert sorted(labels) == ["cat (target)", "dog (target)"]
    ids = tokenizer("The [MASK] barked all night.")["input_ids"]
    log_probs = reference_log_probs(mlm, tokenizer, ids, ids.index(tokenizer.mask_token_id))
    x = drawn["x"]
    if isinstance(x, dict):
        x = np.frombuffer(base64.b64decode(x["bdata"]), dtype=x["dtype"])
    for label, value in zip(labels, x):
        word = label.split(" ")[0]
        assert value == pytest.approx(math.exp(float(log_probs[tokenizer.convert_tokens_to_ids(word)])), rel=1e-4)
    assert spec["layout"]["showlegend"] is True, "the orange bars need their legend"


def test_ranking_tab_names_the_sentence_a_it_ranks_against(app_env):
    at = open_page("app_pages/next_sentence.py")
    at.text_area(key="ns_a").set_value("The museum opens at nine.").run()
    assert "The museum opens at nine." in [t.value for t in at.text]
    assert any("from the first tab" in c.value for c in at.caption)
    at.text_area(key="ns_rank_a").set_value("We missed the bus.").run()
    assert "We missed the bus." in [t.value for t in at.text]


@pytest.mark.parametrize("page", [None, "app_pages/fill_mask.py", "app_pages/next_sentence.py",
                                  "app_pages/attention.py", "app_pages/explain.py", "app_pages/bias_probe.py",
                                  "app_pages/counterfactual.py"])
def test_every_page_has_a_line_for_the_teacher(app_env, page):
    at = open_page(page)
    assert any("What to notice:" in c.value for c in at.main.caption)
