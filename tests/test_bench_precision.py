"""The sidebar's Precision choice: it offers honest labels, switches the shared model, and shows the measured
top-10 agreement from the benchmark file."""
from __future__ import annotations

import json
from pathlib import Path

from streamlit.testing.v1 import AppTest

from bertlens.settings import precision_choices

APP = str(Path(__file__).resolve().parent.parent / "app.py")


def sidebar_text(at: AppTest) -> str:
    return " ".join([m.value for m in at.sidebar.markdown] + [c.value for c in at.sidebar.caption])


def test_cpu_choices_start_with_exact_float32():
    choices = precision_choices("cpu")
    assert choices[0].dtype == "float32" and not choices[0].approximate
    assert {c.dtype for c in choices} >= {"float32", "bfloat16", "int8"}
    assert all(c.approximate for c in choices[1:])
    assert "int8" not in {c.dtype for c in precision_choices("cuda")}


def test_precision_picker_defaults_to_float32(app_env):
    at = AppTest.from_file(APP, default_timeout=180).run()
    assert not at.exception
    picker = at.sidebar.selectbox(key="dtype")
    assert picker.label == "Precision" and picker.value == "float32"
    assert [o.split(" ")[0] for o in picker.options] == [c.dtype for c in precision_choices("cpu")]
    assert "**Dtype**: float32" in sidebar_text(at)


def test_chosen_precision_loads_that_model(app_env):
    # AppTest drops the sidebar on reruns of an st.navigation app, so the choice is set before the first run.
    at = AppTest.from_file(APP, default_timeout=180)
    at.session_state["dtype"] = "int8"
    at.run()
    assert not at.exception
    assert at.sidebar.selectbox(key="dtype").value == "int8"
    text = sidebar_text(at)
    assert "**Dtype**: int8" in text
    assert "Top-10 agreement with float32" in text
    at.switch_page("app_pages/fill_mask.py").run()
    assert not at.exception
    assert len(at.dataframe[0].value) == 10


def test_shipped_agreement_table_holds_every_measured_figure():
    """The sidebar's agreement figures are package data stored by `bench --write`; a run that measured no
    precision must not empty them (one such run once left `{"cpu": {}}`, and the sidebar said 'not measured')."""
    from bertlens.settings import AGREEMENT_JSON, agreement_figure

    report = json.loads((Path(__file__).resolve().parent.parent / "docs" / "benchmarks.json").read_text())
    measured = {(kind, row["section"]): row["value"] for kind, run in report.items() for row in run["rows"]
                if row["what"].startswith("top-10 agreement")}
    assert measured, "the benchmark report measured no precision agreement"
    table = json.loads(AGREEMENT_JSON.read_text())
    for (kind, dtype), value in measured.items():
        assert table[kind][dtype] == value, (kind, dtype)
        assert agreement_figure(dtype, prefer=kind) == value
