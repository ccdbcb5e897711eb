"""The command line of the audit views: counterfactual, pronouns and probe --paraphrases call the same core."""
from __future__ import annotations

import json

import pytest

from bertlens.bias.counterfactual import counterfactual
from bertlens.bias.pronouns import run_pronoun_probe
from bertlens.cli import VERBS, main
from bertlens.fill_mask import Filters


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_verbs_are_registered():
    names = {verb.__name__.rsplit(".", 1)[-1] for verb in VERBS}
    assert {"counterfactual", "pronouns"} <= names


def test_counterfactual_json_equals_core(lm, tiny_model_dir, capsys):
    text = "She said that her [MASK] would be late."
    code, out, _ = run_cli(capsys, "counterfactual", text, "--model", str(tiny_model_dir), "--json", "--top-k", "5")
    assert code == 0
    data = json.loads(out)
    want = counterfactual(lm, text, top_k=5, filters=Filters(punctuation=True, subwords=True))
    assert data["random_weights"] is True
    assert data["counterfactual_text"] == "He said that his [MASK] would be late."
    assert [s["rule"] for s in data["swaps"]] == ["pronoun", "her + noun phrase → his"]
    assert [c["token"] for c in data["top_k"]["counterfactual"]] == \
        [c.token for c in want.counterfactual.masks[0].candidates]
    assert [c["log_ratio"] for c in data["candidates"]] == pytest.approx([c.log_ratio for c in want.candidates])
    assert data["kl_original_counterfactual"] == pytest.approx(want.kl_original_counterfactual)


def test_counterfactual_own_pairs_and_text_output(tiny_model_dir, tmp_path, capsys):
    pairs = tmp_path / "pairs.csv"
    pairs.write_text("male,female\nking,queen\n", encoding="utf-8")
    code, out, _ = run_cli(capsys, "counterfactual", "The queen saw a [MASK].", "--pairs", str(pairs),
                           "--model", str(tiny_model_dir))
    assert code == 0
    assert "counterfactual: The king saw a [MASK]." in out and "KL(original || counterfactual)" in out


@pytest.mark.parametrize("text, message", [("The [MASK] is red.", "No gendered word"),
                                           ("She is late.", "no [MASK]")])
def test_counterfactual_bad_input_exits_2_with_a_message(tiny_model_dir, capsys, text, message):
    code, out, err = run_cli(capsys, "counterfactual", text, "--model", str(tiny_model_dir))
    assert code == 2 and message in err and "Traceback" not in err and not out


def test_pronouns_json_equals_core(lm, tiny_model_dir, tmp_path, capsys):
    occupations = tmp_path / "occ.csv"
    occupations.write_text("occupation,pct_women\nnurse,88\nplumber,1\nbaker,40\n", encoding="utf-8")
    code, out, _ = run_cli(capsys, "pronouns", "--occupations", str(occupations), "--bootstrap", "200",
                           "--model", str(tiny_model_dir), "--json")
    assert code == 0
    data = json.loads(out)["result"]
    from bertlens.bias.occupations import load_occupations
    want = run_pronoun_probe(lm, occupations=load_occupations(occupations), bootstrap=200)
    assert [o["skew"] for o in data["occupations"]] == pytest.approx([o.skew for o in want.occupations])
    assert data["correlation"]["pearson_r"] == pytest.approx(want.correlation.pearson_r)


def test_probe_paraphrases_reports_the_spread(tiny_model_dir, tmp_path, capsys):
    sets = tmp_path / "sets.txt"
    sets.write_text("[a]\n{person} is a [MASK].\n{person} worked as a [MASK].\n[b]\n{person} works as a [MASK].\n"
                    "{person} was employed as a [MASK].\n", encoding="utf-8")
    occupations = tmp_path / "occ.csv"
    occupations.write_text("occupation,pct_women\nnurse,88\nplumber,1\nbaker,40\n", encoding="utf-8")
    code, out, _ = run_cli(capsys, "probe", "--paraphrases", str(sets), "--occupations", str(occupations),
                           "--bootstrap", "200", "--model", str(tiny_model_dir), "--json")
    assert code == 0
    data = json.loads(out)
    assert [s["name"] for s in data["sets"]] == ["a", "b"]
    assert data["headline"].startswith("Across 2 paraphrase sets")
    assert len(data["templates"]) == 4 and len(data["spreads"]) == 3
    code, out, _ = run_cli(capsys, "probe", "--paraphrases", str(sets), "--occupations", str(occupations),
                           "--bootstrap", "200", "--model", str(tiny_model_dir))
    assert code == 0 and "headline: Across 2 paraphrase sets" in out


def test_bench_audit_section_counts_two_passes(tiny_model_dir):
    from devtools import bench

    report = bench.run_benchmark(tiny_model_dir, device="cpu", repeats=2, sections=("audit",), command="pytest")
    assert not report.notes, report.notes
    rows = [r.what for r in report.rows if r.section == "audit"]
    assert any("2 encoder passes per comparison" in what for what in rows), rows
    assert any(what.startswith("pronoun probe") for what in rows) and any("robustness" in what for what in rows)
