"""`--debias DIR` on the command line: every verb that runs the model sees it through the fit
(`LoadedModel.with_transform`), names it in its output, and refuses, in one line, a fit it cannot take.

Each verb's numbers are checked against the same core call made here on `lm.with_transform(fit)`, and against
the intact model (they must differ); Self-Debias at a [MASK] against `self_debias.log_probs`, which the
transcription of bias-bench's `get_token_logits_self_debiasing` checks (tests/test_debias.py)."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

from bertlens.bias.files import DATA
from bertlens.cli import main
from bertlens.debias import fit as fitting, self_debias, store

TEXT = "The man said that [MASK] is a nurse."


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def fits(lm, tmp_path_factory):
    """A LEACE fit at layer 1 (so later layers and the heads read changed states) and a Self-Debias fit, saved."""
    folder = tmp_path_factory.mktemp("fits")
    leace = store.save(fitting.fit(lm, "leace", layers=[1]), folder / "leace")
    self = store.save(fitting.fit(lm, "self_debias"), folder / "self")
    return {"leace": str(leace), "self": str(self)}


def cli_json(capsys, *argv: str) -> dict:
    code = main([*argv, "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return json.loads(captured.out)


def one_error(err: str) -> bool:
    lines = [line for line in err.splitlines() if not line.startswith("warning: this model has RANDOM weights")]
    return len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err


def test_fill_mask_through_a_fit_equals_the_model_seen_through_it(lm, fits, capsys):
    from bertlens.fill_mask import fill_mask

    fit = store.load(fits["leace"], lm)
    document = cli_json(capsys, "fill-mask", TEXT, "--top-k", "5", "--debias", fits["leace"])
    assert document["debias"]["name"] == "Debiased: LEACE at layer 1" == fit.name
    seen = [(c["token_id"], c["log_probability"]) for c in document["result"]["masks"][0]["candidates"]]
    expected = fill_mask(lm.with_transform(fit), TEXT, top_k=5).masks[0].candidates
    assert seen == [(c.token_id, c.log_probability) for c in expected]
    intact = fill_mask(lm, TEXT, top_k=5).masks[0].candidates
    assert [c.log_probability for c in intact] != [p for _, p in seen]
    assert main(["fill-mask", TEXT, "--debias", fits["leace"]]) == 0
    assert capsys.readouterr().out.splitlines()[0].startswith("transform: Debiased: LEACE at layer 1")


def test_fill_mask_through_self_debias_equals_bias_benchs_rescaling(lm, fits, capsys):
    document = cli_json(capsys, "fill-mask", TEXT, "--top-k", "5", "--show-special", "--debias", fits["self"])
    assert document["debias"]["method"] == "self_debias"
    expected = self_debias.log_probs(lm, [TEXT])[0]
    values, ids = expected.topk(5)
    candidates = document["result"]["masks"][0]["candidates"]
    assert [c["token_id"] for c in candidates] == ids.tolist()
    assert [c["log_probability"] for c in candidates] == pytest.approx(values.tolist(), abs=1e-5)
    intact = cli_json(capsys, "fill-mask", TEXT, "--top-k", "5", "--show-special")
    assert "debias" not in intact
    assert [c["log_probability"] for c in intact["result"]["masks"][0]["candidates"]] != \
        pytest.approx([c["log_probability"] for c in candidates], abs=1e-5)


def test_mlm_scoring_metrics_take_self_debias_at_each_mask(lm, fits, capsys):
    """The pronoun probe scores through `bertlens.scoring`: each of its rows is self-debiased at its mask."""
    from bertlens.bias.pronouns import PRONOUNS, fill, load_pronoun_templates, pronoun_ids
    from bertlens.bias.occupations import load_occupations

    document = cli_json(capsys, "pronouns", "--debias", fits["self"], "--bootstrap", "10")
    assert document["debias"]["name"] == "Debiased: Self-Debias"
    first = document["result"]["sentences"][0]
    text = fill(load_pronoun_templates()[0], load_occupations()[0].name)
    assert first["text"] == text
    rescaled = self_debias.log_probs(lm, [text])[0]
    expected = [float(rescaled[t]) for t in pronoun_ids(lm, text)]
    seen = [first[f"log_p_{p}"] for p in PRONOUNS]
    assert seen == pytest.approx(expected, abs=1e-5)
    intact = cli_json(capsys, "pronouns", "--bootstrap", "10")["result"]["sentences"][0]
    assert [intact[f"log_p_{p}"] for p in PRONOUNS] != pytest.approx(expected, abs=1e-5)


@pytest.mark.parametrize("verb", ["nsp", "attention", "pronouns", "counterfactual", "crows", "probe", "explain",
                                  "stereoset", "run"])
def test_each_verb_through_a_fit_equals_the_core_on_the_model_seen_through_it(lm, fits, capsys, tmp_path, verb):
    from bertlens.bias.crows import load_crows, score_crows
    from bertlens.bias.counterfactual import counterfactual
    from bertlens.bias.pronouns import run_pronoun_probe
    from bertlens.bias.probe import run_probe
    from bertlens.attention import extract, head_statistics
    from bertlens.explanation import explain
    from bertlens.nsp import rank_next_sentences

    from bertlens.bias.stereoset import load_stereoset, score_stereoset
    from tests.stereoset_files import write

    crows_file = str(DATA / "crows_example.csv")
    stereo = str(write(tmp_path / "dev.json"))
    fit = store.load(fits["leace"], lm)
    seen_through = lm.with_transform(fit)

    def numbers(model, document=None):
        if verb == "nsp":
            return [r.p_is_next for r in rank_next_sentences(model, "He went home.", ["She slept.", "It rained."])] \
                if document is None else [r["p_is_next"] for r in document["results"]]
        if verb == "attention":
            if document is not None:
                return [row["entropy"] for row in document["statistics"]]
            a = extract(model, "He is a nurse.")
            return [row["entropy"] for row in head_statistics(a.weights, a.tokens).rows()]
        if verb == "pronouns":
            return [o.skew for o in run_pronoun_probe(model, bootstrap=10).occupations] if document is None else \
                [o["skew"] for o in document["result"]["occupations"]]
        if verb == "counterfactual":
            return [counterfactual(model, "He is a [MASK].").js_divergence] if document is None else \
                [document["js_divergence"]]
        if verb == "crows":
            return [s.score_more for s in score_crows(model, load_crows(crows_file)).scores] if document is None \
                else [p["score_more"] for p in document["pairs"]]
        if verb == "stereoset":
            return [score_stereoset(model, load_stereoset(stereo)).overall.ss] if document is None else \
                [document["overall"]["ss"]]
        if verb == "run":
            return [float(np.mean([o.skew for o in run_pronoun_probe(model).occupations]))] if document is None \
                else [document["result"]["value"]]
        if verb == "probe":
            return [o.log_ratio for o in run_probe(model).occupations] if document is None else \
                [o["log_ratio"] for o in document["occupations"]]
        if document is not None:
            return [layer["target_log_prob"] for layer in document["lens"]["layers"]]
        return [layer.target_log_prob for layer in
                explain(model, "He is a [MASK].", "nurse", methods="lens").results["lens"].detail.layers]

    argv = {"nsp": ["nsp", "He went home.", "She slept.", "It rained."], "attention": ["attention", "He is a nurse."],
            "pronouns": ["pronouns", "--bootstrap", "10"], "counterfactual": ["counterfactual", "He is a [MASK]."],
            "crows": ["crows", crows_file], "probe": ["probe"], "stereoset": ["stereoset", stereo],
            "run": ["run", "pronouns"],
            "explain": ["explain", "He is a [MASK].", "--target", "nurse", "--methods", "lens"]}[verb]
    document = cli_json(capsys, *argv, "--debias", fits["leace"])
    named = document.get("debias") or document.get("meta", {}).get("debias")
    assert named["name"] == fit.name and named["model_fingerprint"] == lm.fingerprint()
    seen = numbers(None, document)
    assert seen == pytest.approx(numbers(seen_through), rel=1e-5, abs=1e-7)
    intact = numbers(lm)
    assert not all(math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-9) for a, b in zip(seen, intact))
    assert main([*argv, "--debias", fits["leace"]]) == 0
    assert capsys.readouterr().out.splitlines()[0] == f"transform: {fit.name} (from {fits['leace']})"


@pytest.mark.parametrize("argv, fit, fragment", [
    (["nsp", "A.", "B."], "self", "leaves the encodings as they are, which `nsp` reads"),
    (["attention", "A."], "self", "which `attention` reads"),
    (["explain", "He is a [MASK].", "--target", "nurse"], "self", "which `explain` reads"),
    (["seat"], "self", "which `seat` reads"),
    (["mediate", "He is a [MASK].", "--swap", "He=She", "--targets", "nurse,doctor"], "leace",
     "causal mediation patches activations"),
    (["mediate", "He is a [MASK].", "--swap", "He=She", "--targets", "nurse,doctor"], "self", "which `mediate`"),
    (["run", "seat"], "self", "SEAT does not read the MLM's probabilities"),
    (["run", "mediation"], "leace", "cannot run through Debiased: LEACE"),
    (["debias", "fit", "--method", "leace", "--out", "{tmp}"], "leace", "fits on the intact model: drop --debias"),
])
def test_a_fit_a_verb_cannot_take_is_one_line_exit_2(lm, fits, capsys, tmp_path, argv, fit, fragment):
    argv = [a.replace("{tmp}", str(tmp_path / "out")) for a in argv]
    assert main([*argv, "--debias", fits[fit]]) == 2
    err = capsys.readouterr().err
    assert fragment in err and one_error(err), err


def test_a_missing_fit_folder_is_one_line_exit_2(tmp_path, capsys):
    assert main(["fill-mask", TEXT, "--debias", str(tmp_path / "nowhere")]) == 2
    err = capsys.readouterr().err
    assert "fit.json" in err and one_error(err)


def test_debias_eval_before_and_after_are_each_metric_on_the_intact_and_the_debiased_model(lm, fits, capsys,
                                                                                            tmp_path):
    """Each metric's `before` is the bias module run here on the intact model, its `after` the same on
    `lm.with_transform(fit)`; CrowS's difference interval is the paired comparison of the two runs' decisions."""
    from bertlens.bias import seat
    from bertlens.bias.compare import paired_decisions
    from bertlens.bias.crows import load_crows, score_crows
    from bertlens.bias.probe import run_probe
    from bertlens.bias.pronouns import run_pronoun_probe
    from bertlens.bias.stereoset import load_stereoset, score_stereoset
    from bertlens.metrics.crows import CrowsPll
    from bertlens.registry import Context
    from tests.stereoset_files import write

    stereo = write(tmp_path / "dev.json")
    document = cli_json(capsys, "debias", "eval", fits["leace"], "--samples", "200", "--pairs", "4",
                        "--data", f"stereoset={stereo}")
    fit = store.load(fits["leace"], lm)
    debiased = lm.with_transform(fit)
    assert document["debias"]["name"] == fit.name and document["crows_pairs"] == 4
    by = {m["metric"]: m for m in document["metrics"]}
    assert list(by) == ["seat", "crows", "probe", "pronouns", "stereoset"]

    tests = seat.shipped_gender_tests()
    expected = [seat.mean_absolute_effect(seat.run(model, tests, n_samples=200, seed=0)) for model in (lm, debiased)]
    pairs = load_crows(DATA / "crows_example.csv")[:4]
    crows = [score_crows(model, pairs) for model in (lm, debiased)]
    probe = [float(run_probe(model).notable_count) for model in (lm, debiased)]
    pronouns = [float(np.mean([o.skew for o in run_pronoun_probe(model).occupations])) for model in (lm, debiased)]
    data = load_stereoset(stereo)
    stereoset = [score_stereoset(model, data).overall for model in (lm, debiased)]
    for name, (before, after) in {"seat": expected, "crows": [c.overall.metric for c in crows], "probe": probe,
                                  "pronouns": pronouns, "stereoset": [s.ss for s in stereoset]}.items():
        assert by[name]["before"]["value"] == pytest.approx(before, rel=1e-9), name
        assert by[name]["after"]["value"] == pytest.approx(after, rel=1e-9), name
        assert by[name]["difference"]["value"] == pytest.approx(after - before, rel=1e-9, abs=1e-12), name
    assert any(by[n]["before"]["value"] != by[n]["after"]["value"] for n in ("seat", "probe", "pronouns"))
    assert by["crows"]["before"]["ci_low"] == pytest.approx(crows[0].overall.ci_low)
    context = Context()
    paired = paired_decisions(CrowsPll().run(lm, pairs, {}, context), CrowsPll().run(debiased, pairs, {}, context))
    assert (by["crows"]["difference"]["ci_low"], by["crows"]["difference"]["ci_high"]) == \
        pytest.approx((paired.ci_low, paired.ci_high))
    assert [t["before"] for t in document["seat"]["tests"]] == \
        pytest.approx([r.effect_size for r in seat.run(lm, tests, n_samples=200, seed=0)])
    from bertlens.bias.stereoset import term_scores

    terms = term_scores(score_stereoset(debiased, data).examples)[1] - \
        term_scores(score_stereoset(lm, data).examples)[1]
    assert terms.mean() == pytest.approx(by["stereoset"]["difference"]["value"])
    rng = np.random.default_rng(0)
    means = terms[rng.integers(0, len(terms), size=(2000, len(terms)))].mean(axis=1)
    assert (by["stereoset"]["difference"]["ci_low"], by["stereoset"]["difference"]["ci_high"]) == \
        pytest.approx(tuple(np.percentile(means, [2.5, 97.5])))
    lms = document["lm_cost"]["stereoset_lms"]
    assert (lms["before"], lms["after"]) == pytest.approx((stereoset[0].lms, stereoset[1].lms))
    assert 0 <= document["lm_cost"]["agreement"] <= 1


def test_debias_eval_with_self_debias_says_which_metrics_it_cannot_reach(lm, fits, capsys):
    from bertlens.bias.pronouns import run_pronoun_probe

    document = cli_json(capsys, "debias", "eval", fits["self"], "--metrics", "seat,pronouns")
    seat_row, pronouns = document["metrics"]
    assert "does not read the MLM's probabilities" in seat_row["not_applicable"]
    after = float(np.mean([o.skew for o in run_pronoun_probe(lm.with_transform(store.load(fits["self"], lm)))
                           .occupations]))
    assert pronouns["after"]["value"] == pytest.approx(after, rel=1e-9)


@pytest.mark.parametrize("argv, fragment", [
    (["--metrics", "nope"], "Unknown metric 'nope'"),
    (["--metrics", "stereoset"], "give --data stereoset=FILE"),
    (["--data", "pairs.csv"], "--data takes KIND=FILE"),
    (["--metrics", "seat", "--data", "crows_pairs=x.csv"], "--data takes KIND=FILE"),
    (["--pairs", "0"], "--pairs must be at least 1"),
])
def test_debias_eval_bad_input_is_one_line_exit_2(fits, capsys, argv, fragment):
    assert main(["debias", "eval", fits["leace"], *argv]) == 2
    err = capsys.readouterr().err
    assert fragment in err and one_error(err), err


def test_an_audit_runs_every_metric_through_each_transform_beside_the_intact_model(lm, tiny_model_dir, fits,
                                                                                   capsys, tmp_path):
    """"debias" in an audit configuration: a method fitted per checkpoint and a fit folder beside the configuration;
    each column's figures are the metric run here on `lm.with_transform(fit)`, and the HTML report shows them."""
    import shutil

    from bertlens.bias import audit, seat
    from bertlens.bias.crows import load_crows, score_crows
    from bertlens.bias.pronouns import run_pronoun_probe

    shutil.copytree(fits["leace"], tmp_path / "fits" / "leace")
    (tmp_path / "audit.json").write_text(json.dumps({
        "bertlens_audit": 1, "models": [str(tiny_model_dir)], "metrics": ["crows", "pronouns", "seat"],
        "debias": [{"method": "leace", "layers": [2]}, {"dir": "fits/leace"}, {"method": "self_debias"},
                   {"method": "inlp", "layers": [9]}]}))
    html = tmp_path / "report.html"
    report = cli_json(capsys, "audit", str(tmp_path / "audit.json"), "--html", str(html))
    [row] = report["checkpoints"]
    leace2, leace1, self_debiased, failed = row["transforms"]
    assert [leace2["name"], leace1["name"], self_debiased["name"]] == \
        ["Debiased: LEACE at layer 2", "Debiased: LEACE at layer 1", "Debiased: Self-Debias"]
    assert failed["status"] == "failed" and "Layer 9 is outside the model" in failed["reason"]

    def figures(model) -> dict[str, float]:
        pairs = load_crows(DATA / "crows_example.csv")
        return {"crows": score_crows(model, pairs).overall.metric,
                "pronouns": float(np.mean([o.skew for o in run_pronoun_probe(model).occupations])),
                "seat": seat.mean_absolute_effect(seat.run(model, seat.shipped_gender_tests()))}

    def values(column) -> dict[str, float]:
        return {m["metric"]: m["value"] for m in column["metrics"]}

    assert values(row) == pytest.approx(figures(lm))
    assert values(leace2) == pytest.approx(figures(lm.with_transform(fitting.fit(lm, "leace", layers=[2]))))
    expected = figures(lm.with_transform(store.load(fits["leace"], lm)))
    assert values(leace1) == pytest.approx(expected)
    assert values(leace1) != pytest.approx(values(row))
    assert leace1["debias"]["model_fingerprint"] == lm.fingerprint()
    assert list(self_debiased["not_applicable"]) == ["seat"] and "seat" not in values(self_debiased)
    page = html.read_text()
    assert "Intact and debiased" in page and "Debiased: LEACE at layer 1" in page and "not applicable" in page
    parsed = audit.parse_report(json.dumps(report).encode())
    assert [c["name"] for c in parsed["checkpoints"][0]["transforms"]][:3] == \
        [leace2["name"], leace1["name"], self_debiased["name"]]
    with_flag = cli_json(capsys, "audit", str(tmp_path / "audit.json"), "--debias", fits["self"])
    assert [c["name"] for c in with_flag["checkpoints"][0]["transforms"]][-1] == "Debiased: Self-Debias"


@pytest.mark.parametrize("entries, fragment", [
    ([{"dir": "nowhere"}], "holds no fit"),
    ([{"dir": "../fits"}], "leads outside the configuration's folder"),
    ([{"method": "magic"}], "needs \"method\": one of"),
    ([{"method": "leace", "layers": [0]}], "layers count from 1"),
    ([{"method": "leace", "dir": "x"}], "not both"),
    ([{"method": "leace", "colour": "red"}], "colour"),
])
def test_a_bad_debias_entry_in_an_audit_configuration_is_one_line(tiny_model_dir, tmp_path, capsys, entries,
                                                                  fragment):
    folder = tmp_path / "cfg"
    folder.mkdir()
    (folder / "audit.json").write_text(json.dumps({"bertlens_audit": 1, "models": [str(tiny_model_dir)],
                                                   "metrics": ["seat"], "debias": entries}))
    assert main(["audit", str(folder / "audit.json")]) == 2
    err = capsys.readouterr().err
    assert fragment in err and one_error(err), err


def test_an_uploaded_audit_configuration_cannot_name_a_fit_folder(tiny_model_dir):
    from bertlens.bias import audit
    from bertlens.errors import InputError

    text = json.dumps({"bertlens_audit": 1, "models": [str(tiny_model_dir)], "metrics": ["seat"],
                       "debias": [{"dir": "fits/leace"}]})
    with pytest.raises(InputError, match="no folder to read it from"):
        audit.parse_config(text)


def test_the_bench_debias_section_times_debias_eval_against_the_metrics_alone(tiny_model_dir, capsys):
    """No timing is asserted (docs/benchmarks.md holds the figures): only that the section runs on a subset given
    by --debias-pairs, says so, and states its targets; a subset outside the 1,508 pairs is one line, exit 2."""
    from devtools import bench

    report = bench.run_benchmark(tiny_model_dir, device="cpu", repeats=1, sections=("debias",), debias_pairs=6)
    rows = {row.what.split(" (")[0].split(":")[0]: row for row in report.rows}
    alone = next(r for r in report.rows if "the metrics alone" in r.what)
    evaluated = next(r for r in report.rows if r.what.startswith("debias eval of Debiased: LEACE at layer 2"))
    assert "timed on 6 pairs" in alone.what and "1,508 synthetic" in alone.what and alone.median_ms > 0
    assert evaluated.target == "<= 2.1x the metrics alone" and evaluated.ratio == pytest.approx(
        evaluated.median_ms / alone.median_ms)
    assert any(r.what.startswith("fit LEACE") for r in report.rows) and rows
    assert bench.main(["--model", str(tiny_model_dir), "--only", "debias", "--debias-pairs", "0"]) == 2
    assert "--debias-pairs must be from 1 to 1,508" in capsys.readouterr().err


@pytest.fixture(scope="module")
def other_fit(tmp_path_factory):
    """A fit made for another model (a random model of another seed: another fingerprint)."""
    from bertlens import Settings, load_model
    from devtools.random_model import build_random_model

    folder = build_random_model(tmp_path_factory.mktemp("other") / "seed9", size="tiny", seed=9)
    other = load_model(Settings(model=str(folder), device="cpu", dtype="float32"))
    return str(store.save(fitting.fit(other, "leace"), tmp_path_factory.mktemp("other-fit") / "leace"))


@pytest.mark.parametrize("case", ["another model: --debias", "another model: eval", "another model: audit",
                                  "layer outside: fit.json", "layer outside: audit", "one label: fit",
                                  "missing set: eval", "missing set: seat", "empty corpus: eval heldout",
                                  "empty corpus: embed", "empty corpus: fit"])
def test_the_issues_bad_inputs_are_one_line_exit_2_on_every_route(lm, fits, other_fit, tmp_path, capsys, case):
    """Issue 27's bad inputs (a fit for another model, sentences with one label only, a layer outside the model, a
    word-set file missing a set, an empty corpus) through the command line, each a one-line message."""
    import shutil

    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n")
    missing = tmp_path / "missing.jsonl"
    missing.write_text(json.dumps({"targ1": {"category": "M", "examples": ["This is John.", "This is Paul."]},
                                   "targ2": {"category": "F", "examples": ["This is Amy.", "This is Joan."]},
                                   "attr1": {"category": "C", "examples": ["This is work.", "This is pay."]}}))
    one_label = tmp_path / "one.csv"
    one_label.write_text("text,label\nHe is here.,m\nHe was there.,m\n")
    outside = tmp_path / "outside"
    shutil.copytree(fits["leace"], outside)
    info = json.loads((outside / "fit.json").read_text())
    (outside / "fit.json").write_text(json.dumps({**info, "layers": [7]}))
    config = tmp_path / "audit.json"
    argv, fragment, code = {
        "another model: --debias": (["fill-mask", TEXT, "--debias", other_fit], "made for another model", 2),
        "another model: eval": (["debias", "eval", other_fit, "--metrics", "seat"], "made for another model", 2),
        "another model: audit": (["audit", str(config), "--debias", other_fit], "made for another model", 0),
        "layer outside: fit.json": (["nsp", "A.", "B.", "--debias", str(outside)], "Layer 7 is outside the model",
                                    2),
        "layer outside: audit": (["audit", str(config)], "Layer 30 is outside the model", 0),
        "one label: fit": (["debias", "fit", "--method", "inlp", "--sentences", str(one_label), "--out",
                            str(tmp_path / "x")], "one label only", 2),
        "missing set: eval": (["debias", "eval", fits["leace"], "--metrics", "seat", "--data",
                               f"word_sets={missing}"], "lacks the set 'attr2'", 2),
        "missing set: seat": (["seat", str(missing)], "lacks the set 'attr2'", 2),
        "empty corpus: eval heldout": (["debias", "eval", fits["leace"], "--metrics", "seat", "--heldout",
                                        str(empty)], "has no sentences", 2),
        "empty corpus: embed": (["embed", str(empty), "--out", str(tmp_path / "x.npy")], "has no sentences", 2),
        "empty corpus: fit": (["debias", "fit", "--method", "leace", "--sentences", str(empty), "--out",
                               str(tmp_path / "x")], "has no sentences", 2),
    }[case]
    config.write_text(json.dumps({"bertlens_audit": 1, "models": [str(lm.info.source)], "metrics": ["seat"],
                                  "debias": [{"method": "leace", "layers": [30]}]}))
    assert main([*argv, "--json"] if argv[0] == "audit" else argv) == code
    captured = capsys.readouterr()
    if code == 2:
        assert fragment in captured.err and one_error(captured.err), captured.err
    else:
        column = json.loads(captured.out)["checkpoints"][0]["transforms"][-1]
        assert column["status"] == "failed" and fragment in column["reason"]
