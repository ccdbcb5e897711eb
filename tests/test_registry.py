"""The registry: one class in one module is all a new metric needs. A toy metric module is dropped into
bertlens/metrics/ at test time, and without any other file being edited it appears in `crows --metric`, the bias
page's options, audit-configuration validation and the exports."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from bertlens import registry
from bertlens.bias import audit
from bertlens.bias.crows import parse_crows
from bertlens.errors import InputError
from bertlens.registry import ConfigSpec, Param, SpecError

ROOT = Path(__file__).resolve().parent.parent
TOY = "toy_length"
TOY_MODULE = f'''"""A toy pair metric for the registry test: the longer sentence "wins"; it runs no model."""
from bertlens.bias.pair_decisions import pair_item, percent_of_pairs
from bertlens.registry import Method, register
from bertlens.results import ItemDecision


@register
class ToyLength(Method):
    kind = "metric"
    name = "{TOY}"
    title = "Toy length"
    data = "crows_pairs"
    order = 99
    summary = "% of pairs whose more stereotyping sentence is the longer one"

    def run(self, lm, inputs, config, context):
        decisions = [ItemDecision(pair_item(p.line), p.sent_more,
                                  None if len(p.sent_more) == len(p.sent_less) else len(p.sent_more) > len(p.sent_less),
                                  float(len(p.sent_more) - len(p.sent_less)), p.bias_type) for p in inputs]
        return percent_of_pairs(self, decisions, measures=self.summary)
'''
PAIRS = (b"sent_more,sent_less,stereo_antistereo,bias_type\n"
         b"Women are bad at math.,Men are bad at math.,stereo,gender\n"
         b"The poor man stole it.,The rich man stole it.,stereo,socioeconomic\n"
         b"He cried a lot.,She cried a lot.,antistereo,gender\n")


@pytest.fixture
def toy_metric():
    """The toy module in the metrics folder for the test's duration; removed (and unregistered) afterwards."""
    path = ROOT / "bertlens" / "metrics" / f"{TOY}.py"
    path.write_text(TOY_MODULE, encoding="utf-8")
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)
        registry._REGISTRY["metric"].pop(TOY, None)
        registry._DISCOVERED.discard(f"bertlens.metrics.{TOY}")
        sys.modules.pop(f"bertlens.metrics.{TOY}", None)


def test_a_toy_metric_module_appears_everywhere_without_other_edits(toy_metric, tiny_model_dir, tmp_path, app_env):
    assert TOY in registry.names("metric", "crows_pairs")
    # the command line: --metric lists it and runs it beside CrowS PLL
    pairs = tmp_path / "pairs.csv"
    pairs.write_bytes(PAIRS)
    helped = subprocess.run([sys.executable, "-m", "bertlens", "crows", "--help"], cwd=ROOT, capture_output=True,
                            text=True, timeout=120)
    assert TOY in helped.stdout
    done = subprocess.run([sys.executable, "-m", "bertlens", "crows", str(pairs), "--metric", f"crows,{TOY}",
                           "--json", "--model", str(tiny_model_dir), "--device", "cpu"], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout)
    toy = next(m for m in report["metrics"] if m["metric"] == TOY)
    longer = sum(len(p.sent_more) > len(p.sent_less) for p in parse_crows(PAIRS))
    assert (toy["more_higher"], toy["pairs"]) == (longer, 3)
    assert TOY in report["metadata"]["definitions"]
    # `methods` lists it with its needs and options
    listed = subprocess.run([sys.executable, "-m", "bertlens", "methods", "--json"], cwd=ROOT, capture_output=True,
                            text=True, timeout=120)
    assert TOY in {m["name"] for m in json.loads(listed.stdout)["methods"]}
    # the bias page's metric choice
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=240).run()
    at.switch_page("app_pages/bias_probe.py").run()
    assert not at.exception
    assert TOY in at.multiselect(key="bias_metrics").options or "Toy length" in at.multiselect(
        key="bias_metrics").options
    # audit configurations accept it, and the report carries its headline
    config = audit.parse_config(json.dumps({"bertlens_audit": 1, "models": [str(tiny_model_dir)],
                                            "metrics": [TOY], "crows_pairs": {"text": PAIRS.decode()}}))
    assert config.metrics == (TOY,)
    row = audit.run_audit(config)["checkpoints"][0]
    assert row["status"] == "ok", row
    assert [m["metric"] for m in row["metrics"]] == [TOY] and row["metrics"][0]["value"] == pytest.approx(100 * longer / 3)


def test_without_the_module_the_name_is_refused_everywhere(tiny_model_dir, tmp_path):
    with pytest.raises(InputError, match=f"'metrics' must be a list of some of"):
        audit.parse_config(json.dumps({"bertlens_audit": 1, "models": ["m"], "metrics": [TOY]}))
    pairs = tmp_path / "pairs.csv"
    pairs.write_bytes(PAIRS)
    done = subprocess.run([sys.executable, "-m", "bertlens", "crows", str(pairs), "--metric", TOY, "--model",
                           str(tiny_model_dir)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and f"Unknown metric '{TOY}'" in done.stderr


@pytest.mark.parametrize("param,value,message", [
    (Param("steps", "int", 20, 1, 300), "301", "'steps' must be a whole number from 1 to 300; got '301'."),
    (Param("steps", "int", 20, 1, 300), 2.5, "'steps' must be a whole number from 1 to 300; got 2.5."),
    (Param("steps", "int", 20, 1, 300), True, "'steps' must be a whole number from 1 to 300; got True."),
    (Param("rate", "float", 0.5, 0.0, 1.0), "nan", "'rate' must be a number from 0 to 1; got 'nan'."),
    (Param("base", "choice", "mask", choices=("mask", "pad")), "cls", "'base' must be one of mask, pad; got 'cls'."),
    (Param("flag", "bool", True), "maybe", "'flag' must be true or false; got 'maybe'."),
])
def test_a_value_outside_the_spec_names_the_field_and_its_range(param, value, message):
    with pytest.raises(SpecError) as info:
        param.parse(value)
    assert str(info.value) == message


def test_spec_parses_text_and_json_alike_and_refuses_unknown_options():
    spec = ConfigSpec((Param("steps", "int", 20, 1, 300), Param("bias", "bool", True)))
    assert spec.validate({"steps": "7", "bias": "false"}) == spec.validate({"steps": 7, "bias": False}) == \
        {"steps": 7, "bias": False}
    assert spec.validate() == {"steps": 20, "bias": True}
    with pytest.raises(InputError, match="Unknown option 'stpes'"):
        spec.validate({"stpes": 3})
    config, notes = spec.lenient({"steps": "0", "bias": "1"})
    assert config == {"steps": 20, "bias": True} and "The link's value was ignored" in notes[0]


def test_the_same_message_from_the_cli_a_link_and_an_audit_configuration(tiny_model_dir):
    expected = "'min_effect' must be a number from 0 to 5; got"
    done = subprocess.run([sys.executable, "-m", "bertlens", "probe", "--min-effect", "9", "--model",
                           str(tiny_model_dir)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and expected in done.stderr
    with pytest.raises(SpecError, match=expected):
        audit.parse_config(json.dumps({"bertlens_audit": 1, "models": ["m"], "min_effect": 9}))
    with pytest.raises(SpecError, match="'seed' must be a whole number from 0 to"):
        audit.parse_config(json.dumps({"bertlens_audit": 1, "models": ["m"], "seed": -1}))


def test_every_registered_method_declares_what_it_needs_and_a_valid_default_config():
    for kind in registry.KINDS:
        for method in registry.methods(kind):
            assert method.title and method.summary, method.name
            assert set(method.needs) <= set(registry.NEEDS)
            assert method.spec.validate() == method.spec.defaults()
