"""The "Which heads?" page and the head switches, through AppTest as a user drives them."""
from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from app_support import job_runner, press_and_finish
from browser_support import app_pages
from bertlens.mediation import mediate

ROOT = Path(__file__).resolve().parent.parent
HEADS_PAGE = next(page for page in app_pages() if page.name == "heads")
TEXT = "The nurse said that [MASK] would be late for the meeting."


def open_page(params: dict | None = None, page=HEADS_PAGE) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    if params:
        at.query_params.update(params)
    at.run()
    at.switch_page(page.script).run()
    assert not at.exception, at.exception
    return at


def array_of(value) -> np.ndarray:
    """A plotly array from a figure's JSON: a list, or a typed array {"dtype", "bdata", "shape"}."""
    if isinstance(value, dict) and "bdata" in value:
        import base64

        flat = np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"])
        shape = [int(s) for s in str(value.get("shape", len(flat))).split(",")]
        return flat.reshape(shape).astype(float)
    return np.array(value, dtype=float)


def heatmap_of(at: AppTest, key: str) -> dict:
    chart = next(c for c in at.get("plotly_chart") if c.key == key)
    return json.loads(chart.proto.spec)["data"][0]


def test_page_is_registered():
    assert HEADS_PAGE.url_path == "heads"


def test_a_link_restores_the_inputs_and_starts_nothing(app_env):
    runs = job_runner().runs
    at = open_page({"text": "The doctor said that [MASK] was late.", "swap": "doctor=woman", "targets": "he,she",
                    "stretch": "1", "head": "2.3"})
    assert at.text_area(key="hd_text").value == "The doctor said that [MASK] was late."
    assert at.text_input(key="hd_swap").value == "doctor=woman"
    assert at.toggle(key="hd_stretch").value is True
    assert at.button(key="hd_run").label.replace("\\", "").startswith("Find the heads (")
    assert job_runner().idle() and job_runner().runs == runs
    assert "The woman said that [MASK] was late." in [c.value for c in at.code]


def test_the_map_matches_the_core_and_a_head_links_to_its_attention(app_env, lm):
    at = open_page({"text": TEXT, "swap": "nurse=man", "targets": "she,he", "head": "2.3"})
    at = press_and_finish(at, "hd_run")
    assert not at.error
    want = mediate(lm, TEXT, "nurse=man", "she,he")
    assert at.metric[0].value == f"{want.total_effect:+.1%}"
    heat = heatmap_of(at, "hd_pair_grid")
    assert np.allclose(array_of(heat["z"]), want.grid(), rtol=1e-4, atol=1e-6)
    assert heat["zmin"] == -1.0 and heat["zmax"] == 1.0  # fixed and symmetric unless stretched
    assert "hd_pair_layers" in [c.key for c in at.get("plotly_chart")]
    links = list(at.get("link_button"))
    assert links, "the selected head offers its attention pattern"
    url = urlparse(links[0].proto.url)
    assert url.path == "attention"
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    assert query == {"text": TEXT, "layer": "2", "head": "3"}
    assert any("indirect effect" in m.value for m in at.markdown)
    at.toggle(key="hd_stretch").set_value(True).run()
    heat = heatmap_of(at, "hd_pair_grid")
    top = float(np.abs(want.grid()).max())
    assert heat["zmax"] == pytest.approx(top) and heat["zmin"] == pytest.approx(-top)


def test_every_effect_on_the_page_reads_in_percent(app_env, lm):
    """One unit per page: the total effect, the map's colour bar and hover, the chosen head's caption and the top
    heads' table all give % of the ratio (the table once read -0.0764 beside a headline of -7.6%)."""
    at = open_page({"text": TEXT, "swap": "nurse=man", "targets": "she,he", "head": "2.3"})
    at = press_and_finish(at, "hd_run")
    want = mediate(lm, TEXT, "nurse=man", "she,he")
    assert at.metric[0].value == f"{want.total_effect:+.1%}"
    table = next(d.value for d in at.dataframe if "NIE (%)" in d.value.columns)
    top = want.ranked(10)
    assert np.allclose(table["NIE (%)"], [100 * h.nie for h in top], rtol=1e-4, atol=1e-6)
    assert "NIE" not in table.columns
    column = json.loads(next(d for d in at.dataframe if "NIE (%)" in d.value.columns).proto.columns)
    assert column["NIE (%)"]["type_config"]["format"].endswith("%%")
    heat = heatmap_of(at, "hd_pair_grid")
    bar = heat["colorbar"]
    assert bar["tickformat"].endswith("%") and "NIE in % of the ratio" in bar["title"]["text"]
    assert "±100%" in bar["title"]["text"]
    spec = json.loads(next(c for c in at.get("plotly_chart") if c.key == "hd_pair_grid").proto.spec)
    hovers = spec["data"][1]["hovertext"]
    assert all(re.search(r"NIE [+-]?[\d.e-]+%", h) for h in hovers)
    caption = next(c.value for c in at.caption if c.value.startswith("Layer 2, head 3: NIE")).replace("\\", "")
    assert re.match(r"Layer 2, head 3: NIE [+-]?[\d.e-]+%\.", caption)
    layers = json.loads(next(c for c in at.get("plotly_chart") if c.key == "hd_pair_layers").proto.spec)
    assert layers["layout"]["yaxis"]["tickformat"].endswith("%")
    assert all("%{y:+.2%}" in trace["hovertemplate"] for trace in layers["data"])
    at.toggle(key="hd_stretch").set_value(True).run()
    bar = heatmap_of(at, "hd_pair_grid")["colorbar"]
    assert f"±{100 * float(np.abs(want.grid()).max()):.3g}"[:4] in bar["title"]["text"]


def test_the_attention_link_opens_that_head(app_env):
    attention = next(page for page in app_pages() if page.name == "attention")
    at = open_page({"text": TEXT, "layer": "2", "head": "3"}, page=attention)
    assert at.selectbox(key="att_layer").value == 2 and at.selectbox(key="att_head").value == 3
    assert at.text_area(key="att_text").value == TEXT


@pytest.mark.parametrize("swap, targets, words", [
    ("nurse=firefighter", "she,he", "changes the number of WordPieces"),
    ("doctor=man", "she,he", "is not a word of the text"),
    ("nurse=man", "she,firefighter", "2 WordPieces"),
    ("nurse", "she,he", "WORD=OTHER"),
])
def test_bad_input_gets_a_message_and_no_run_button(app_env, swap, targets, words):
    at = open_page({"text": TEXT, "swap": swap, "targets": targets})
    assert words in at.error[0].value.replace("\\", "")
    assert "hd_run" not in [b.key for b in at.button]
    if swap == "nurse=firefighter":
        table = at.dataframe[0].value
        assert list(table["original"][:4]) == ["[CLS]", "The", "nurse", "said"]
        assert list(table["after the swap"][:5]) == ["[CLS]", "The", "fire", "##fighter", "said"]


def test_no_mask_or_two_masks_get_a_message(app_env):
    for text, words in (("The nurse said hello.", "no [MASK]"), ("The nurse [MASK] [MASK].", "has 2")):
        at = open_page({"text": text})
        assert words in at.error[0].value.replace("\\", "")


def test_across_templates_runs_as_a_job_and_shows_intervals(app_env):
    at = open_page({"view": "templates", "occupations": "2"})
    assert at.slider(key="hd_occupations").value == 2
    at = press_and_finish(at, "hd_templates_run")
    assert not at.error
    assert at.metric[0].label == "Mean total effect"
    heat = next(c for c in at.get("plotly_chart") if c.key == "hd_templates_grid")
    assert "95% interval" in heat.proto.spec
    assert any(b.key == "hd_templates_json" for b in at.get("download_button"))


def test_presentation_mode_keeps_the_inputs(app_env):
    at = open_page({"text": TEXT, "swap": "nurse=man", "targets": "she,he", "present": "1"})
    assert at.session_state["present"] is True
    assert at.text_input(key="hd_swap").value == "nurse=man"


# ---- head switches on Fill-mask and Explain ------------------------------------------------------------------------

FILL_PAGE = next(page for page in app_pages() if page.name == "fill_mask")


def test_switching_chosen_heads_off_on_fill_mask_shows_old_beside_new(app_env, lm):
    from bertlens.fill_mask import switch_heads_off

    at = open_page({"text": TEXT, "hs_mode": "chosen", "hs_heads": "1.2,2.4"}, page=FILL_PAGE)
    assert at.multiselect(key="fm_hs_heads").value == ["1.2", "2.4"]
    want = switch_heads_off(lm, TEXT, "1.2,2.4", top_k=10)
    table = next(d.value for d in at.dataframe if "heads off" in d.value.columns)
    assert list(table["heads off"]) == [c.token for c in want.after.masks[0].candidates]
    assert list(table["all heads on"]) == [c.token for c in want.before.masks[0].candidates]


def test_top_k_heads_by_nie_switches_the_mediations_top_heads_off(app_env, lm):
    at = open_page({"text": TEXT, "hs_mode": "top", "hs_k": "3", "hs_swap": "nurse=man", "hs_targets": "she,he"},
                   page=FILL_PAGE)
    at = press_and_finish(at, "fm_hs_run")
    top = mediate(lm, TEXT, "nurse=man", "she,he").ranked(3)
    caption = next(c.value for c in at.caption if c.value.startswith("Switched off:"))
    assert caption.startswith("Switched off: " + ", ".join(f"{h.layer}.{h.head} (NIE {h.nie:+.2%})" for h in top))
    assert any("heads off" in d.value.columns for d in at.dataframe)


def test_head_switches_on_explain(app_env):
    explain = next(page for page in app_pages() if page.name == "explain")
    at = open_page({"hs_mode": "chosen", "hs_heads": "1.1"}, page=explain)
    assert at.multiselect(key="ex_hs_heads").value == ["1.1"]
    assert any("heads off" in d.value.columns for d in at.dataframe)


def test_a_head_the_model_lacks_is_dropped_from_a_link(app_env):
    at = open_page({"text": TEXT, "hs_mode": "chosen", "hs_heads": "1.1,24.16"}, page=FILL_PAGE)
    assert at.multiselect(key="fm_hs_heads").value == ["1.1"]
