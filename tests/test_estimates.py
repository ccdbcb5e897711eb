"""Run buttons' estimates (`bertlens.jobs.Pace`, each method's `Cost`), checked by structure and never by timing:
the model is timed once, an estimate grows with the calls and tokens a run declares, and what a method declares
matches the encoder calls and padded tokens its run makes (counted by a hook on the encoder). How close the
estimates come to the time is measured by scripts/estimate_measure.py, never here."""
from __future__ import annotations

import json

import pytest

from bertlens import kinds, registry
from bertlens.jobs import Pace, first_estimate
from bertlens.registry import FORWARD_AND_BACKWARD, Context, Cost

TOLERANCE = 1.5


class Counted:
    """Encoder calls and their padded tokens (rows x length) while entered."""

    def __init__(self, lm) -> None:
        self.lm, self.calls, self.tokens = lm, 0, 0

    def __enter__(self) -> "Counted":
        def hook(module, args, kwargs) -> None:
            given = kwargs.get("input_ids")
            given = given if given is not None else kwargs.get("inputs_embeds")
            if given is None and args:
                given = args[0]
            self.calls += 1
            self.tokens += int(given.shape[0] * given.shape[1])

        self.handle = self.lm.model.bert.register_forward_pre_hook(hook, with_kwargs=True)
        return self

    def __exit__(self, *exc) -> None:
        self.handle.remove()


def test_the_model_is_timed_once_and_kept_with_it(lm, monkeypatch):
    lm.memo.pop("pace", None)
    timed = []
    real = Pace.measure.__func__

    def measure(cls, model):
        timed.append(model)
        return real(cls, model)

    monkeypatch.setattr(Pace, "measure", classmethod(measure))
    first = Pace.of(lm)
    assert Pace.of(lm) is first and Pace.of(lm.with_transform(None)) is first
    assert len(timed) == 1
    assert first.measured and first.call_s >= 0 and first.token_s > 0 and first.element_s > 0


def test_a_stand_in_without_weights_gets_the_nominal_rate():
    from types import SimpleNamespace

    stand_in = SimpleNamespace(key="toy", info=SimpleNamespace(parameters=1_000_000, device="cpu", dtype="float32"))
    pace = Pace.of(stand_in)
    assert not pace.measured and pace.seconds(Cost(2.0, 8)) == pytest.approx(2 * pace.seconds(Cost(1.0, 8)))


def test_an_estimate_grows_with_calls_tokens_and_statistics():
    pace = Pace(0.1, 0.01, 1e-8)
    one = pace.seconds(Cost(1.0, 10))
    assert pace.seconds(Cost(3.0, 10)) == pytest.approx(3 * one)
    assert pace.seconds(Cost(1.0, 10, rows=4)) == pytest.approx(0.1 + 4 * 10 * 0.01)
    assert pace.seconds(Cost(1.0, 10, elements=1e6)) == pytest.approx(one + 0.01)
    batched = Cost.batched(130, 12, 64)
    assert batched.passes == 3 and batched.passes * batched.rows == pytest.approx(130)
    assert Cost.batched(130, 12, 64, calls_per_batch=3).passes == 9


def test_finished_runs_correct_the_rate_towards_what_they_took():
    pace = Pace(0.1, 0.01)
    cost = Cost(1.0, 10)
    raw = pace.raw_seconds(cost)
    for _ in range(20):
        pace.observe(cost, 4 * raw)
    assert pace.seconds(cost) == pytest.approx(4 * raw, rel=0.01)
    assert pace.raw_seconds(cost) == pytest.approx(raw), "the measured rate itself is kept"


def _cases(lm, stereoset_file):
    from bertlens.analysis import analyse
    from bertlens.bias.crows import EXAMPLE_PATH
    from bertlens.bias.stereoset import load_stereoset
    from bertlens.explain import ExplainInput, resolve_target

    target = resolve_target(lm, "The doctor said that [MASK] would be late for the meeting.", "he", "she", 0)
    explain = ExplainInput(target, analyse(lm, target.text, hidden_states=True, attentions=True))
    pairs = tuple(kinds.get("crows_pairs").parse({"crows_pairs": EXAMPLE_PATH.read_text()}))
    probe = kinds.get("occupation_templates")
    return [
        (registry.get("explainer", "occlusion"), explain, 1),
        (registry.get("explainer", "integrated_gradients"), explain, FORWARD_AND_BACKWARD),
        (registry.get("explainer", "gradient_x_input"), explain, FORWARD_AND_BACKWARD),
        (registry.get("metric", "counterfactual"), "She said that her [MASK] would be late.", 1),
        (registry.get("metric", "crows"), pairs, 1),
        (registry.get("metric", "aul"), pairs, 1),
        (registry.get("metric", "probe"), probe.parse(probe.sample()), 1),
        (registry.get("metric", "pronouns"), None, 1),
        (registry.get("metric", "stereoset"), load_stereoset(stereoset_file), 1),
    ]


def test_each_method_declares_the_calls_and_tokens_its_run_makes(lm, tmp_path):
    """`calls_per_pass`: FORWARD_AND_BACKWARD where a declared call is a forward and backward pass (the hook sees
    the forward)."""
    from tests import stereoset_files

    file = stereoset_files.write(tmp_path / "dev.json")
    for method, inputs, calls_per_pass in _cases(lm, file):
        config = method.spec.validate({"bootstrap": 100} if "bootstrap" in method.spec.names() else {})
        cost = method.estimate(lm, inputs, config)
        with Counted(lm) as counted:
            method.run(lm, inputs, config, Context())
        calls = cost.passes / calls_per_pass
        tokens = calls * cost.rows * cost.tokens
        where = f"{method.name}: declared {calls:g} calls, {tokens:.0f} tokens; counted {counted.calls}, " \
                f"{counted.tokens}"
        assert counted.calls / TOLERANCE <= calls <= counted.calls * TOLERANCE, where
        assert counted.tokens / TOLERANCE <= tokens <= counted.tokens * TOLERANCE, where
        assert first_estimate(lm, method, inputs, config) > 0


def test_the_measuring_script_writes_estimate_measured_and_ratio(tmp_path, tiny_model_dir):
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    out = tmp_path / "estimates.json"
    done = subprocess.run([sys.executable, str(root / "scripts" / "estimate_measure.py"), "--model",
                           str(tiny_model_dir), "--only", "counterfactual,occlusion", "--out", str(out)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    rows = json.loads(out.read_text())["jobs"]
    assert [r["job"] for r in rows] == ["counterfactual", "occlusion"]
    for row in rows:
        assert row["ratio"] == pytest.approx(row["measured_s"] / row["estimate_s"], rel=0.01, abs=0.002)
        assert row["counted_forward_calls"] >= 1


def test_the_heads_job_declares_the_layer_work_its_patched_runs_do(lm):
    """Mediation patches layers directly, so its work is counted where every run passes: each layer's feed-forward
    block, in whole-encoder passes (a run patched from a middle layer counts its share)."""
    from bertlens.mediation import PairInput, PairMediation, prepare

    checked = prepare(lm, "The nurse said that [MASK] would be late for the meeting.", "nurse=man", ("she", "he"))
    inputs = PairInput(checked.text, "nurse=man", ("she", "he"))
    layers = lm.model.bert.encoder.layer
    seen = []
    handles = [layer.intermediate.dense.register_forward_pre_hook(lambda m, a: seen.append(a[0].shape[:-1].numel()))
               for layer in layers]
    try:
        PairMediation().run(lm, inputs, {}, Context())
    finally:
        for handle in handles:
            handle.remove()
    cost = PairMediation().estimate(lm, inputs, {})
    counted = sum(seen) / len(layers)
    declared = cost.passes * cost.rows * cost.tokens
    assert counted / TOLERANCE <= declared <= counted * TOLERANCE, (declared, counted)


def test_estimates_count_tokens_with_the_models_own_tokenizer(lm):
    from types import SimpleNamespace

    from bertlens.registry import approx_tokens, tokens_of

    text = "The nurse's colleagues re-scheduled the [MASK] appointment, unsurprisingly."
    assert tokens_of(lm, text) == len(lm.tokenizer(text)["input_ids"]) == tokens_of(lm, text)
    assert tokens_of(SimpleNamespace(), text) == approx_tokens(text)
