"""`python -m bertlens stereoset FILE` and StereoSet in audit configurations (`"stereoset": INPUT`), with the
audit's HTML report (`audit CONFIG --out report.json --html report.html`)."""
from __future__ import annotations

import gzip
import json

import numpy as np
import pytest

from bertlens.bias import audit
from bertlens.cli import main
from tests import stereoset_files as files


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def dev(tmp_path_factory):
    return files.write(tmp_path_factory.mktemp("stereoset") / "dev.json")


def test_json_mirrors_the_authors_result_and_their_evaluation_agrees(dev, tiny_model_dir, tmp_path, capsys):
    out_path = tmp_path / "result.json"
    code, out, err = run_cli(capsys, "stereoset", str(dev), "--model", str(tiny_model_dir), "--json",
                             "--out", str(out_path), "--bootstrap", "300")
    assert code == 0, err
    doc = json.loads(out)
    assert json.loads(out_path.read_text()) == doc
    assert doc["model"]["random_weights"] is True and "RANDOM" in doc["warning"]
    assert "random weights" in doc["published"]["absent"]
    # the authors' evaluation of our predictions file gives our figures
    scores = {p["id"]: p["score"] for split in ("intrasentence", "intersentence") for p in doc["predictions"][split]}
    theirs = files.evaluate(files.document(), scores)
    for split in ("intrasentence", "intersentence"):
        for domain, figures in theirs[split].items():
            assert doc[split][domain]["ss"] == pytest.approx(figures["SS Score"])
            assert doc[split][domain]["lms"] == pytest.approx(figures["LM Score"])
            assert doc[split][domain]["icat"] == pytest.approx(figures["ICAT Score"])
    assert doc["overall"]["ss"] == pytest.approx(theirs["overall"]["SS Score"])
    assert doc["overall"]["icat"] == pytest.approx(theirs["overall"]["ICAT Score"])
    low, high = doc["intrasentence"]["overall"]["ss_ci"]
    assert low <= doc["intrasentence"]["overall"]["ss"] <= high


def test_one_split_and_the_text_table(dev, tiny_model_dir, capsys):
    code, out, _ = run_cli(capsys, "stereoset", str(dev), "--split", "intersentence", "--model", str(tiny_model_dir),
                           "--json", "--bootstrap", "0")
    doc = json.loads(out)
    assert code == 0 and "intrasentence" not in doc and set(doc["intersentence"]) >= {"race", "overall"}
    assert doc["examples_scored"] == len(files.INTER)
    code, out, _ = run_cli(capsys, "stereoset", str(dev), "--model", str(tiny_model_dir), "--bootstrap", "0")
    assert code == 0 and "intrasentence / gender" in out and "overall (both splits)" in out
    assert "published bert-large-cased figures are not shown" in out


def _broken(tmp_path, change, name="dev.json"):
    doc = files.document()
    change(doc)
    path = tmp_path / name
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


@pytest.mark.parametrize("change, message", [
    (lambda d: d["data"]["intrasentence"][3].update(context="The gentlemen were sneaky."), "'intra3': the context has no BLANK"),
    (lambda d: d["data"]["intersentence"][1]["sentences"][2].pop("gold_label"), "'inter1', sentence 'inter1-s1'"),
    (lambda d: d["data"]["intrasentence"][5].update(id="intra2"), "'intra2': the id is used twice"),
    (lambda d: d.pop("data"), "StereoSet's layout"),
])
def test_bad_input_exits_2_naming_the_example(tmp_path, tiny_model_dir, capsys, change, message):
    code, out, err = run_cli(capsys, "stereoset", str(_broken(tmp_path, change)), "--model", str(tiny_model_dir))
    assert code == 2 and message in err and "Traceback" not in err and not out


def test_other_bad_arguments_exit_2(dev, tmp_path, tiny_model_dir, capsys):
    for args, message in ((("stereoset", str(tmp_path / "missing.json")), "Cannot read"),
                          (("stereoset", str(dev), "--out", str(tmp_path / "r.csv")), "ending in .json"),
                          (("stereoset", str(dev), "--bootstrap", "-1"), "--bootstrap")):
        code, _, err = run_cli(capsys, *args, "--model", str(tiny_model_dir))
        assert code == 2 and message in err


# ------------------------------------------------------------------ audits


def _config(tmp_path, **fields) -> object:
    data = {"bertlens_audit": 1, "models": [], "bootstrap": 200, "permutations": 200, **fields}
    path = tmp_path / "audit.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_audit_runs_stereoset_beside_the_pair_metrics_and_writes_html(dev, tmp_path, tiny_model_dir, capsys):
    gz = tmp_path / "dev.json.gz"
    gz.write_bytes(gzip.compress(dev.read_bytes()))
    config = _config(tmp_path, models=[str(tiny_model_dir)], metrics=["crows", "aul", "aula", "stereoset"],
                     stereoset={"path": "dev.json.gz"})
    report_path, html_path = tmp_path / "report.json", tmp_path / "report.html"
    code, _, err = run_cli(capsys, "audit", str(config), "--out", str(report_path), "--html", str(html_path))
    assert code == 0, err
    report = json.loads(report_path.read_text())
    assert any(i["name"] == "stereoset" and i["source"].endswith("dev.json.gz") for i in report["inputs"])
    row = report["checkpoints"][0]
    assert row["status"] == "ok", row
    assert [m["metric"] for m in row["metrics"]] == ["crows", "aul", "aula", "stereoset"]
    stereo = next(m for m in row["metrics"] if m["metric"] == "stereoset")
    assert stereo["value"] == pytest.approx(row["stereoset"]["overall"]["ss"], abs=1e-9)
    assert stereo["n"] == len(files.INTRA) + len(files.INTER) and "Blodgett" in stereo["caveat"]
    assert row["scores"]["stereoset: ICAT"] == pytest.approx(row["stereoset"]["overall"]["icat"], abs=1e-9)
    pairs = {(p["a"], p["b"]) for p in row["agreement"]["agreement"]}
    assert pairs == {("crows", "aul"), ("crows", "aula"), ("aul", "aula")}  # StereoSet shares no item with them
    for p in row["agreement"]["agreement"]:
        assert p["shared"] > 0 and 0 <= p["agree"] <= p["shared"] and len(p["disagreements"]) == p["shared"] - p["agree"]
    page = html_path.read_text(encoding="utf-8")
    assert "BERT Lens bias audit" in page and "RANDOM weights" in page and "Stereotyping Norwegian Salmon" in page
    assert "StereoSet per split and domain" in page and "Metrics checked against each other" in page
    assert report["configuration_sha256"] in page


def test_audit_without_a_stereoset_file(tmp_path, tiny_model_dir, capsys):
    config = _config(tmp_path, models=[str(tiny_model_dir)], metrics=["crows", "stereoset"])
    code, _, err = run_cli(capsys, "audit", str(config))
    assert code == 2 and "names no StereoSet file" in err
    # a configuration that names no metrics runs every metric with a shipped input, so StereoSet is left out
    parsed = audit.load_config(_config(tmp_path, models=["m"]))
    assert "stereoset" not in parsed.metrics and "crows" in parsed.metrics
    assert "stereoset" not in parsed.as_dict() and "stereoset" not in parsed.canonical()
    bad = _config(tmp_path, models=["m"], metrics=["stereoset"], stereoset={"text": "{\"data\": {}}"})
    code, _, err = run_cli(capsys, "audit", str(bad))
    assert code == 2 and "In the audit's StereoSet file" in err


def test_audit_html_needs_an_html_name(dev, tmp_path, tiny_model_dir, capsys):
    config = _config(tmp_path, models=[str(tiny_model_dir)], metrics=["crows"])
    code, _, err = run_cli(capsys, "audit", str(config), "--html", str(tmp_path / "report.pdf"))
    assert code == 2 and ".html" in err


def _predictions(doc: dict, seed: int = 3) -> dict[str, list[dict]]:
    """Scores for every sentence in the authors' predictions layout, with one stereotype/anti-stereotype tie."""
    rng = np.random.default_rng(seed)
    out = {split: [{"id": s["id"], "score": float(rng.random())} for e in doc["data"][split] for s in e["sentences"]]
           for split in ("intersentence", "intrasentence")}
    gold = {s["gold_label"]: s["id"] for s in doc["data"]["intrasentence"][0]["sentences"]}
    by_id = {p["id"]: p for p in out["intrasentence"]}
    by_id[gold["anti-stereotype"]]["score"] = by_id[gold["stereotype"]]["score"]
    return out


def test_predictions_in_the_authors_layout_give_their_evaluation_without_a_model(dev, tmp_path, capsys):
    predictions = _predictions(files.document())
    path = tmp_path / "predictions_some-model.json"
    path.write_text(json.dumps(predictions), encoding="utf-8")
    code, out, err = run_cli(capsys, "stereoset", str(dev), "--predictions", str(path), "--json", "--bootstrap", "0",
                             "--model", str(tmp_path / "no-such-model"))
    assert code == 0, err
    doc = json.loads(out)
    scores = {p["id"]: p["score"] for split in predictions.values() for p in split}
    theirs = files.evaluate(files.document(), scores)
    for split in ("intrasentence", "intersentence"):
        assert set(doc[split]) == set(theirs[split])
        for domain, figures in theirs[split].items():
            assert doc[split][domain]["ss"] == pytest.approx(figures["SS Score"])
            assert doc[split][domain]["lms"] == pytest.approx(figures["LM Score"])
            assert doc[split][domain]["icat"] == pytest.approx(figures["ICAT Score"])
    for key, name in (("ss", "SS Score"), ("lms", "LM Score"), ("icat", "ICAT Score")):
        assert doc["overall"][key] == pytest.approx(theirs["overall"][name])
    assert doc["intrasentence"]["overall"]["ties"] == 1
    assert doc["scored_from"]["predictions"] == path.name and "model" not in doc
    assert "predictions file" in doc["published"]["absent"]
    code, out, _ = run_cli(capsys, "stereoset", str(dev), "--predictions", str(path), "--bootstrap", "0")
    assert code == 0 and f"scores taken from {path.name}" in out and "predictions file" in out


def test_a_saved_result_summarised_again_equals_the_run(dev, tiny_model_dir, tmp_path, capsys):
    saved = tmp_path / "run.json"
    code, out, err = run_cli(capsys, "stereoset", str(dev), "--model", str(tiny_model_dir), "--json", "--out",
                             str(saved), "--bootstrap", "200", "--seed", "4")
    assert code == 0, err
    run = json.loads(out)
    code, out, err = run_cli(capsys, "stereoset", str(dev), "--predictions", str(saved), "--json", "--bootstrap",
                             "200", "--seed", "4")
    assert code == 0, err
    again = json.loads(out)
    for key in ("overall", "intrasentence", "intersentence", "predictions", "examples_scored", "file"):
        assert again[key] == run[key], key
    code, out, _ = run_cli(capsys, "stereoset", str(dev), "--predictions", str(saved), "--json", "--bootstrap", "0",
                           "--split", "intersentence")
    one = json.loads(out)
    assert code == 0 and "intrasentence" not in one and one["intersentence"]["overall"]["ss"] == \
        run["intersentence"]["overall"]["ss"]
    assert any("not in the intersentence part" in w for w in one["warnings"])


@pytest.mark.parametrize("change, message", [
    (lambda p: p["intrasentence"].pop(4), "has no score for 1 sentence(s)"),
    (lambda p: p["intersentence"].append(dict(p["intersentence"][0])), "has a score twice"),
    (lambda p: p["intersentence"][2].update(score="high"), "intersentence entry 3 (sentence"),
    (lambda p: p["intrasentence"][0].update(score=float("nan")), "NaN is not a JSON number"),
    (lambda p: p["intrasentence"][0].update(score=True), "the score must be a finite number"),
    (lambda p: p.clear(), "is not a predictions file"),
])
def test_bad_predictions_exit_2_naming_the_entry(dev, tmp_path, capsys, change, message):
    predictions = _predictions(files.document())
    change(predictions)
    path = tmp_path / "predictions.json"
    path.write_text(json.dumps(predictions), encoding="utf-8")
    code, out, err = run_cli(capsys, "stereoset", str(dev), "--predictions", str(path))
    assert code == 2 and message in err and "Traceback" not in err and not out


def test_two_models_are_compared_on_the_same_examples_with_mcnemar(dev, tiny_model_dir, tmp_path_factory, capsys):
    """`stereoset --models A,B`: the discordant examples recounted from each model's own predictions, and the
    p-value from scipy's binomial test on them."""
    from scipy.stats import binomtest

    from bertlens.random_model import build_random_model

    other = build_random_model(tmp_path_factory.mktemp("other") / "tiny-seed7", size="tiny", seed=7)
    code, out, err = run_cli(capsys, "stereoset", str(dev), "--models", f"{tiny_model_dir},{other}", "--json",
                             "--bootstrap", "200")
    assert code == 0, err
    doc = json.loads(out)
    examples = [e for split in files.document()["data"].values() for e in split]

    def decisions(model_doc: dict) -> dict[str, bool]:
        scores = {p["id"]: p["score"] for split in ("intrasentence", "intersentence")
                  for p in model_doc["predictions"][split]}
        gold = {e["id"]: {s["gold_label"]: s["id"] for s in e["sentences"]} for e in examples}
        return {i: scores[g["stereotype"]] > scores[g["anti-stereotype"]] for i, g in gold.items()}

    a, b = (decisions(d) for d in doc["models"])
    a_only = sum(a[i] and not b[i] for i in a)
    b_only = sum(b[i] and not a[i] for i in a)
    paired = doc["comparison"]["paired"]
    assert a_only + b_only > 0, "two different random models should disagree somewhere"
    assert (paired["a_only"], paired["b_only"], paired["items"]) == (a_only, b_only, len(examples))
    assert paired["p_value"] == pytest.approx(binomtest(a_only, a_only + b_only).pvalue)
    assert paired["difference"] == pytest.approx(100 * (b_only - a_only) / len(examples))
    assert paired["ci_low"] <= paired["difference"] <= paired["ci_high"]
    code, out, _ = run_cli(capsys, "stereoset", str(dev), "--models", f"{tiny_model_dir},{other}", "--bootstrap",
                           "200")
    assert code == 0 and "McNemar exact p" in out and f"{a_only} yes for A only, {b_only} for B only" in out
    folder = tmp_path_factory.mktemp("two-audit")
    (folder / "dev.json").write_bytes(dev.read_bytes())
    config = _config(folder, models=[str(tiny_model_dir), str(other)], metrics=["stereoset"],
                     stereoset={"path": "dev.json"})
    code, _, err = run_cli(capsys, "audit", str(config), "--out", str(folder / "report.json"))
    assert code == 0, err
    compared = next(c for c in json.loads((folder / "report.json").read_text())["comparisons"]
                    if c["metric"] == "stereoset")
    assert (compared["a_only"], compared["b_only"]) == (a_only, b_only), "the report tests the same examples"
    assert compared["p_value"] == pytest.approx(binomtest(a_only, a_only + b_only).pvalue, abs=1e-6)


def test_two_models_refuse_predictions(dev, tiny_model_dir, capsys):
    code, _, err = run_cli(capsys, "stereoset", str(dev), "--models", f"{tiny_model_dir},{tiny_model_dir}/",
                           "--predictions", str(dev))
    assert code == 2 and "--predictions" in err and "Traceback" not in err
