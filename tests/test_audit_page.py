"""The bias page's audit views in AppTest: metrics side by side, a second model, a saved audit configuration and a
many-checkpoint report."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from app_support import press_and_finish

from bertlens.bias import audit
from bertlens.bias.crows import EXAMPLE_PATH, parse_crows
from devtools.random_model import build_random_model

ROOT = Path(__file__).resolve().parent.parent
PAGE = "app_pages/bias_probe.py"
SMALL = {"bertlens_audit": 1, "metrics": ["probe", "aul"], "bootstrap": 100, "permutations": 100,
         "templates": {"text": "{person} worked as a [MASK].\n{person} is a [MASK].\n"},
         "occupations": {"text": "occupation,article,pct_women,year,source\nnurse,a,87.9,2023,BLS\n"
                                 "plumber,a,2.0,2023,BLS\n"}}


@pytest.fixture(scope="module")
def second_dir(tmp_path_factory):
    return build_random_model(tmp_path_factory.mktemp("page-second") / "seed-9", seed=9)


def open_page(app_env) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300).run()
    at.switch_page(PAGE).run()
    assert not at.exception
    return at


def test_metrics_side_by_side_and_saved_configuration(app_env):
    at = open_page(app_env)
    press_and_finish(at, "bias_metrics_run")
    assert not at.exception and not at.error
    table = next(d.value for d in at.dataframe if "metric" in d.value.columns and "95% low" in d.value.columns)
    assert list(table["metric"]) == ["CrowS PLL", "AUL", "AULA"]
    assert (table["95% low"] <= table["%"]).all() and (table["%"] <= table["95% high"]).all()
    assert set(table["higher / pairs"].str.split(" / ").str[1]) == {str(len(parse_crows(EXAMPLE_PATH.read_bytes())))}
    assert any("Metrics disagree" in m.value for m in at.markdown)
    labels = [b.label for b in at.get("download_button")]
    assert "Audit configuration (JSON)" in labels and "CrowS metrics report (JSON)" in labels
    sha = next(t.value for t in at.text if t.value.startswith("configuration SHA-256"))
    assert len(sha.split(": ")[1]) == 64


def test_second_model_side_by_side(app_env, second_dir, monkeypatch):
    monkeypatch.setenv("BERT_LENS_ALLOWED_MODELS", str(second_dir))
    at = open_page(app_env)
    assert any("Load second model" in i.value for i in at.info)
    at.selectbox(key="bias_second_model").set_value(str(second_dir)).run()
    at.button(key="bias_second_load").click().run()
    assert not at.exception and not at.error
    shown = {m.label: m.value for m in at.metric}
    assert shown["Memory it added"].endswith("MiB")
    press_and_finish(at, "bias_two_crows_run")
    assert not at.exception and not at.error
    assert any(s.value.startswith("CrowS-Pairs metrics") for s in at.subheader)
    press_and_finish(at, "bias_two_probe_run")
    assert not at.exception and not at.error
    frame = next(d.value for d in at.dataframe if "B − A" in d.value.columns and "occupation" in d.value.columns)
    assert ((frame["B"] - frame["A"] - frame["B − A"]).abs() < 1e-9).all()


def test_an_operator_who_allows_any_model_gets_a_free_box(app_env, monkeypatch):
    monkeypatch.setenv("BERT_LENS_ALLOWED_MODELS", "any")
    at = open_page(app_env)
    at.text_input(key="bias_second_model").set_value("/no/such/folder").run()
    at.button(key="bias_second_load").click().run()
    assert not at.exception and any("could not be loaded" in e.value for e in at.error)


def test_many_checkpoints_report(app_env, second_dir, tmp_path):
    config = audit.parse_config(json.dumps({**SMALL, "models": [str(app_env), str(second_dir), "/no/such"]}))
    report = json.loads(audit.report_json(audit.run_audit(config)))
    at = open_page(app_env)
    assert any("Upload an audit report" in i.value for i in at.info)

    def view(report: dict) -> None:
        from components.audit_views import show_report

        show_report("report.json", report)

    at = AppTest.from_function(view, args=(report,), default_timeout=60).run()
    assert not at.exception
    shown = {m.label: m.value for m in at.metric}
    assert shown["Checkpoints completed"] == "2" and shown["Failed"] == "1"
    spread = next(d.value for d in at.dataframe if "range" in d.value.columns)
    assert set(spread["n"]) == {2}
    assert any("random weights" in w.value for w in at.warning)


def test_a_saved_report_keeps_and_shows_its_metric_headlines_and_agreement(app_env, tmp_path):
    """A report uploaded back to the page goes through the schema; the metric headlines (interval, ties, caveat)
    and the metrics' agreement must survive it and be shown, not silently dropped as unknown fields."""
    config = audit.parse_config(json.dumps({**SMALL, "metrics": ["crows", "aul", "aula"], "models": [str(app_env)]}))
    written = audit.report_json(audit.run_audit(config)).encode()
    report = audit.parse_report(written, "report.json")
    row = report["checkpoints"][0]
    original = json.loads(written)["checkpoints"][0]
    assert [m["metric"] for m in row["metrics"]] == [m["metric"] for m in original["metrics"]] == \
        ["crows", "aul", "aula"]
    assert len(row["agreement"]["agreement"]) == 3
    assert [(p["a"], p["b"], p["agree"]) for p in row["agreement"]["agreement"]] == \
        [(p["a"], p["b"], p["agree"]) for p in original["agreement"]["agreement"]]

    def view(report: dict) -> None:
        from components.audit_views import show_report

        show_report("report.json", report)

    at = AppTest.from_function(view, args=(report,), default_timeout=60).run()
    assert not at.exception
    headlines = next(d.value for d in at.dataframe if "caveat" in d.value.columns)
    assert list(headlines["metric"]) == [m["title"] for m in original["metrics"]]
    assert any("Blodgett" in c for c in headlines["caveat"])
    agreement = next(d.value for d in at.dataframe if "Cohen's kappa" in d.value.columns)
    assert list(agreement["same decision"]) == [p["agree"] for p in original["agreement"]["agreement"]]


def test_second_model_on_the_stereoset_tab_file_with_mcnemar(app_env, second_dir, monkeypatch, tmp_path):
    """The two-model tab scores the StereoSet tab's file with the second model and tests B against A on the same
    examples; the p-value is scipy's binomial test on the discordant examples of the two runs."""
    from scipy.stats import binomtest

    from bertlens.bias.stereoset import parse_stereoset
    from components.uploads import Upload
    from tests import stereoset_files

    raw = json.dumps(stereoset_files.document()).encode()
    monkeypatch.setenv("BERT_LENS_ALLOWED_MODELS", str(second_dir))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    at.session_state["_kept_upload_bias_stereoset_file"] = Upload("dev.json", raw)
    at.run()
    at.switch_page(PAGE).run()
    at.selectbox(key="bias_second_model").set_value(str(second_dir)).run()
    at.button(key="bias_second_load").click().run()
    assert any("StereoSet tab" in i.value for i in at.info), "no offer before the tab's run"
    assert "bias_two_stereoset_run" not in [b.key for b in at.button]
    press_and_finish(at, "bias_stereoset_run")
    press_and_finish(at, "bias_two_stereoset_run")
    assert not at.exception and all("RANDOM weights" in e.value for e in at.error)
    assert any(s.value.startswith("StereoSet: A and B") for s in at.subheader)
    row = next(d.value for d in at.dataframe if "McNemar exact p" in d.value.columns
               and "examples" in d.value.columns).iloc[0]
    from bertlens.model import load_model
    from bertlens.settings import Settings
    from bertlens.bias.stereoset import score_stereoset

    data = parse_stereoset(raw, "'dev.json'")
    runs = [score_stereoset(load_model(Settings(model=m, device="cpu")), data, "both", 0, 0)
            for m in (app_env, second_dir)]
    a, b = ({(e.example.split, e.example.id): e.decision is True for e in r.examples} for r in runs)
    a_only, b_only = sum(a[i] and not b[i] for i in a), sum(b[i] and not a[i] for i in a)
    assert row["A only / B only"] == f"{a_only} / {b_only}" and row["examples"] == len(a)
    assert row["McNemar exact p"] == pytest.approx(binomtest(a_only, a_only + b_only).pvalue if a_only + b_only
                                                   else 1.0)


def test_the_page_the_command_line_and_the_audit_give_one_key_per_computation(app_env, tmp_path, capsys,
                                                                                monkeypatch):
    """The CrowS metrics export the bias page serves (AppTest, its download read back), `crows --metric` on the same
    file and an audit of it name each metric's computation by the same key."""
    from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
    from streamlit.testing.v1 import app_test as app_test_module

    from bertlens.cli import main

    class Recording(MemoryMediaFileStorage):
        last = None

        def __init__(self, endpoint: str) -> None:
            super().__init__(endpoint)
            Recording.last = self

    monkeypatch.setattr(app_test_module, "MemoryMediaFileStorage", Recording)
    at = open_page(app_env)
    press_and_finish(at, "bias_metrics_run")
    button = next(b for b in at.get("download_button") if b.proto.label == "CrowS metrics report (JSON)")
    served = json.loads(Recording.last.get_file(button.proto.url.rsplit("/", 1)[-1]).content)
    paged = {m["metric"]: m["key"] for m in served["metrics"]}
    assert set(paged) == {"crows", "aul", "aula"}
    assert main(["crows", str(EXAMPLE_PATH), "--metric", "crows,aul,aula", "--model", str(app_env), "--device",
                 "cpu", "--json"]) == 0
    cli = {m["metric"]: m["key"] for m in json.loads(capsys.readouterr().out)["metrics"]}
    (tmp_path / "pairs.csv").write_bytes(EXAMPLE_PATH.read_bytes())
    (tmp_path / "audit.json").write_text(json.dumps({
        "bertlens_audit": 1, "models": [str(app_env)], "metrics": ["crows", "aul", "aula"], "device": "cpu",
        "crows_pairs": {"path": "pairs.csv"}}))
    report = audit.run_audit(audit.load_config(tmp_path / "audit.json"))
    audited = {m["metric"]: m["key"] for m in report["checkpoints"][0]["metrics"]}
    assert all(len(k) == 64 for k in paged.values())
    assert paged == cli == audited
