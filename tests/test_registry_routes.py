"""Adding a method is one module, and a metric on a new kind of input is two: the toys of `registry_toys` are dropped
into the registry's folders, with no other file edited, and each route finds them with their options: `methods
--json`, the `run` verb, `--set` on the kind's verb, the pages' option widgets, an audit configuration with
options, the JSON report and the HTML report. The existing flags stay as they were."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from bertlens import kinds, registry
from bertlens.bias import audit
from bertlens.errors import InputError
from bertlens.registry import SpecError
from registry_toys import EXPLAINER, KIND, METRIC, toys_installed

ROOT = Path(__file__).resolve().parent.parent
WORDS = "nurse\nengineer\nit\nox\ncarpenter\n"


def cli(*args: str, model: Path | None = None) -> subprocess.CompletedProcess:
    extra = ["--model", str(model), "--device", "cpu"] if model else []
    return subprocess.run([sys.executable, "-m", "bertlens", *args, *extra], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)


def long_share(min_len: int) -> float:
    words = WORDS.split()
    return 100.0 * sum(len(w) >= min_len for w in words) / len(words)


@pytest.fixture(scope="module")
def toys():
    with toys_installed():
        yield


def test_the_registries_find_the_toys_and_methods_lists_them(toys):
    assert KIND in [k.name for k in kinds.kinds()]
    assert registry.get("metric", METRIC).data == KIND
    assert EXPLAINER in registry.names("explainer")
    listed = json.loads(cli("methods", "--json").stdout)
    toy = next(m for m in listed["methods"] if m["name"] == METRIC)
    assert toy["data"] == KIND and [o["name"] for o in toy["config"]] == ["min_len"]
    explainer = next(m for m in listed["methods"] if m["name"] == EXPLAINER)
    assert [o["name"] for o in explainer["config"]] == ["top_k", "steps"]
    assert KIND in [k["name"] for k in listed["kinds"]]


def test_the_run_verb_runs_the_toy_metric_with_its_option(toys, tiny_model_dir, tmp_path):
    words = tmp_path / "words.txt"
    words.write_text(WORDS)
    done = cli("run", METRIC, "--data", f"{KIND}={words}", "--set", "min_len=5", "--json", model=tiny_model_dir)
    assert done.returncode == 0, done.stderr[-2000:]
    document = json.loads(done.stdout)
    assert document["options"] == {"min_len": 5}
    assert document["result"]["value"] == pytest.approx(long_share(5))
    assert document["inputs"][KIND].startswith("words.txt: ")
    again = cli("run", METRIC, "--text", WORDS, "--set", f"{METRIC}.min_len=2", "--json", model=tiny_model_dir)
    assert json.loads(again.stdout)["result"]["value"] == pytest.approx(long_share(2))
    bad = cli("run", METRIC, "--text", WORDS, "--set", "min_len=50", model=tiny_model_dir)
    assert bad.returncode == 2 and "'min_len' must be a whole number from 1 to 20; got '50'." in bad.stderr
    unknown = cli("run", METRIC, "--text", WORDS, "--set", "min_length=3", model=tiny_model_dir)
    assert unknown.returncode == 2 and "Unknown option 'min_length'" in unknown.stderr and "min_len" in unknown.stderr
    empty = cli("run", METRIC, "--text", " \n", model=tiny_model_dir)
    assert empty.returncode == 2 and "The toy word list is empty." in empty.stderr


def test_the_toy_explainer_joins_explain_without_renaming_the_lens_flags(toys, tiny_model_dir):
    helped = cli("explain", "--help").stdout
    assert "--top-k" in helped and "--toy-explainer-top-k" in helped and "--toy-explainer-steps" in helped
    text = "The nurse said that [MASK] was late."
    done = cli("explain", text, "--target", "he", "--methods", f"lens,{EXPLAINER}", "--top-k", "3",
               "--set", f"{EXPLAINER}.top_k=2", "--set", f"{EXPLAINER}.steps=7", "--json", model=tiny_model_dir)
    assert done.returncode == 0, done.stderr[-2000:]
    document = json.loads(done.stdout)
    assert document[EXPLAINER]["config"] == {"top_k": 2, "steps": 7}
    assert document["lens"]["config"]["top_k"] == 3
    scores = document[EXPLAINER]["scores"]
    assert sorted(s for s in scores if s)[-2:] == [7.0 * (len(scores) - 2), 7.0 * (len(scores) - 1)]
    assert sum(1 for s in scores if s) == 2
    bad = cli("run", EXPLAINER, "--text", text, "--target", "he", "--set", "steps=0", model=tiny_model_dir)
    assert bad.returncode == 2 and "'steps' must be a whole number from 1 to 300; got '0'." in bad.stderr


def test_an_audit_configuration_runs_the_toy_with_options_into_the_json_and_html_reports(toys, tiny_model_dir):
    from bertlens import report_html

    text = json.dumps({"bertlens_audit": 1, "models": [str(tiny_model_dir)],
                       "metrics": [{"name": METRIC, "options": {"min_len": 4}}], KIND: {"text": WORDS}})
    config = audit.parse_config(text)
    assert config.metrics == (METRIC,) and config.metric_options(METRIC) == {"min_len": 4}
    assert audit.parse_config(audit.config_json(config)) == config
    report = audit.run_audit(config)
    row = report["checkpoints"][0]
    assert row["status"] == "ok", row
    headline = next(m for m in row["metrics"] if m["metric"] == METRIC)
    assert headline["value"] == pytest.approx(long_share(4))
    assert headline["options"] == {"min_len": 4}
    assert report["configuration"]["metrics"] == [{"name": METRIC, "options": {"min_len": 4}}]
    assert [i["name"] for i in report["inputs"]] == [KIND]
    html = report_html.render(report)
    assert "Toy long words" in html and "min_len" in html
    with pytest.raises(SpecError, match="'min_len' must be a whole number from 1 to 20"):
        audit.parse_config(text.replace('"min_len": 4', '"min_len": 40'))
    with pytest.raises(InputError, match="Unknown option 'min_length'"):
        audit.parse_config(text.replace('"min_len": 4', '"min_length": 4'))
    with pytest.raises(InputError, match="toy word list is empty"):
        audit.parse_config(text.replace(json.dumps(WORDS), '" "'))


def bias_page(params: dict[str, str]) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=240)
    at.query_params.update(params)
    at.run()
    at.switch_page("app_pages/bias_probe.py").run()
    assert not at.exception
    return at


def test_the_pages_draw_the_toys_option_widgets_and_a_link_sets_them(toys, app_env):
    at = bias_page({f"{METRIC}.min_len": "6"})
    widget = at.number_input(key=f"kind_{KIND}_min_len")
    assert widget.value == 6
    assert any(w.key == f"kind_{KIND}_{KIND}" for w in at.text_area)
    bad = bias_page({f"{METRIC}.min_len": "99"})
    assert any(f"'{METRIC}.min_len' must be a whole number from 1 to 20; got '99'." in w.value.replace("\\", "")
               for w in bad.warning)
    assert bad.number_input(key=f"kind_{KIND}_min_len").value == 3
    explain = AppTest.from_file(str(ROOT / "app.py"), default_timeout=240)
    explain.query_params.update({f"{EXPLAINER}.steps": "9"})
    explain.run()
    explain.switch_page("app_pages/explain.py").run()
    assert not explain.exception
    assert explain.number_input(key=f"ex_{EXPLAINER}_steps").value == 9
    assert explain.slider(key="ex_top_k").value == registry.get("explainer", "lens").spec.param("top_k").default
