"""`python -m bertlens stereoset FILE` and StereoSet in audit configurations (`"stereoset": INPUT`), with the
audit's HTML report (`audit CONFIG --out report.json --html report.html`)."""
from __future__ import annotations

import gzip
import json

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
