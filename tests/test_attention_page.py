"""The attention page through AppTest, as a user drives it, including bad input and a checkpoint without heads."""
from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
import torch
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1 import app_test as app_test_module

from devtools.attention_timing import synthetic_text
from devtools.random_model import build_random_model
from browser_support import app_pages

ROOT = Path(__file__).resolve().parent.parent
HOSTILE = "</script><img src=x onerror=alert(1)>"
ATTENTION_PAGE = next(page.script for page in app_pages() if page.name == "attention")


def open_page(**state) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    at.switch_page(ATTENTION_PAGE).run()
    assert not at.exception, at.exception
    return at


def iframes(at: AppTest) -> list[str]:
    """The srcdoc of every st.iframe in the page's main area (the sidebar holds the copy-link button)."""
    return [node.proto.srcdoc for node in at.main.get("iframe")]


class RecordingStorage(MemoryMediaFileStorage):
    """AppTest's in-memory media storage, kept after the run so a test can read what a download button serves."""

    last: "RecordingStorage | None" = None

    def __init__(self, endpoint: str) -> None:
        super().__init__(endpoint)
        RecordingStorage.last = self


def test_default_page_shows_overview_head_and_mask_link(app_env, lm, monkeypatch):
    monkeypatch.setattr(app_test_module, "MemoryMediaFileStorage", RecordingStorage)
    at = open_page()
    subheaders = [s.value for s in at.subheader]
    heads = lm.info.layers * lm.info.heads
    assert f"All {heads} heads" in subheaders and "One head" in subheaders and "The [MASK] link" in subheaders
    assert not at.error
    assert len(at.get("plotly_chart")) >= 5  # thumbnails, statistics, lines, heatmap, mask
    button = at.get("download_button")[0]
    served = RecordingStorage.last.get_file(button.proto.url.rsplit("/", 1)[-1]).content.decode("utf-8")
    rows = list(csv.DictReader(io.StringIO(served)))
    assert len(rows) == heads
    assert {(int(r["layer"]), int(r["head"])) for r in rows} == {(l + 1, h + 1) for l in range(lm.info.layers)
                                                                  for h in range(lm.info.heads)}
    assert all(r["random_weights"] == "true" for r in rows)
    prediction_tables = at.dataframe
    assert prediction_tables, "the fill-mask prediction sits next to the mask chart"


def test_choosing_a_head_and_a_mean(app_env):
    at = open_page()
    at.selectbox(key="att_layer").set_value(2).run()
    at.selectbox(key="att_head").set_value(3).run()
    assert not at.exception
    titles = " ".join(str(c.proto.spec) for c in at.get("plotly_chart"))
    assert "Layer 2, head 3" in titles
    at.radio(key="att_scope").set_value("mean of all heads").run()
    assert "Mean of all" in " ".join(str(c.proto.spec) for c in at.get("plotly_chart"))
    at.radio(key="att_scope").set_value("mean of this layer's heads").run()
    assert "Layer 2, mean of" in " ".join(str(c.proto.spec) for c in at.get("plotly_chart"))


def test_a_clicked_cell_names_its_layer_and_head():
    from components.attention_widgets import head_from_selection

    state = {"selection": {"points": [{"curve_number": 1, "customdata": [2, 4]}], "point_indices": [19],
                           "box": [], "lasso": []}}
    assert head_from_selection(state) == (2, 4)
    as_sent = {"selection": {"points": [{"curve_number": 1, "customdata": {"0": 5, "1": 16}}]}}
    assert head_from_selection(as_sent) == (5, 16)
    assert head_from_selection({"selection": {"points": [{"curve_number": 0, "z": 3}]}}) is None
    assert head_from_selection({"selection": {"points": []}}) is None
    assert head_from_selection(None) is None


@pytest.mark.parametrize("text,pair,message", [
    ("   ", None, "empty"),
    ("A sentence.", "  ", "second sentence (B) is empty"),
    ("", "Only B.", "first sentence (A) is empty"),
])
def test_bad_input_gives_a_clear_message(app_env, text, pair, message):
    at = open_page()
    if pair is not None:
        at.toggle(key="att_pair_on").set_value(True).run()
        at.text_area(key="att_pair").set_value(pair).run()
    at.text_area(key="att_text").set_value(text).run()
    assert not at.exception
    assert any(message in e.value.replace("\\", "") for e in at.error), [e.value for e in at.error]
    assert not at.get("plotly_chart")


def test_over_512_tokens_is_truncated_and_shown(app_env, lm):
    at = open_page()
    at.text_area(key="att_text").set_value(synthetic_text(lm, 530)).run()
    assert not at.exception
    assert any("530 tokens" in w.value and "cut off" in w.value for w in at.warning)
    assert "All" in at.subheader[0].value


def test_markup_in_the_text_stays_inert(app_env):
    at = open_page(att_bertviz=True)
    at.toggle(key="att_pair_on").set_value(True).run()
    at.text_area(key="att_pair").set_value(f"B says {HOSTILE}").run()
    at.text_area(key="att_text").set_value(f"A says {HOSTILE} [MASK].").run()
    assert not at.exception and not at.error
    for node in at.get("markdown"):
        assert "<img" not in node.value
    for chart in at.get("plotly_chart"):
        assert "<img" not in chart.proto.spec and "\\u003cimg" not in chart.proto.spec
    pages = iframes(at)
    assert pages, "the bertviz views are embedded for a short input"
    for html in pages:
        assert "<img" not in html and html.lower().count("</script") == 2
        assert "cdnjs" not in html and "/app/static/vendor/require-2.3.6.js" in html


@pytest.fixture(scope="module")
def base_model_dir(tmp_path_factory):
    return build_random_model(tmp_path_factory.mktemp("base") / "bert-no-heads", size="tiny", head="base")


def test_checkpoint_without_mlm_head_still_opens(app_env, base_model_dir, monkeypatch):
    monkeypatch.setenv("BERT_LENS_MODEL", str(base_model_dir))
    at = open_page()
    assert not at.exception
    assert any(s.value.startswith("All ") for s in at.subheader)
    assert not at.error
    assert any("no trained masked-language-model" in i.value.replace("\\", "") for i in at.info), [i.value for i in at.info]


def test_shorter_text_after_picking_a_late_token(app_env):
    at = open_page()
    at.text_area(key="att_text").set_value("A much longer sentence, with many more tokens than the next one.").run()
    at.selectbox(key="att_focus").set_value(12).run()
    at.selectbox(key="att_qk_token").set_value(14).run()
    at.selectbox(key="att_layer").set_value(2).run()
    at.text_area(key="att_text").set_value("Short.").run()
    assert not at.exception and not at.error
    assert at.selectbox(key="att_layer").value == 2
    assert at.selectbox(key="att_qk_token").value == 0


def test_query_key_view_matches_the_head(app_env, lm):
    from bertlens.analysis import analyse
    from bertlens.attention import extract, query_key

    text, pair = "The cat sat on the mat.", "It slept."
    attention = extract(lm, text, pair)
    analysis = analyse(lm, text, pair, hidden_states=True)
    for layer, head, position in ((0, 0, 0), (1, 3, 5), (lm.info.layers - 1, 1, attention.n_tokens - 1)):
        qk = query_key(lm, analysis, layer, head, position)
        torch.testing.assert_close(qk.weights, attention.weights[layer, head, position])
        torch.testing.assert_close(qk.products.sum(-1) / qk.query.numel() ** 0.5, qk.scores)
    at = open_page()
    at.selectbox(key="att_qk_token").set_value(3).run()
    assert not at.exception
    assert any("how token 3" in c.proto.spec for c in at.get("plotly_chart"))
