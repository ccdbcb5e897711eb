"""Reports: CSV/JSON round trip with provenance, formula neutralisation, and the probe/crows commands."""
from __future__ import annotations

import csv
import io
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bertlens import bias, export, serialize
from bertlens.bias import crows
from bertlens.cli import main
from bertlens.errors import InputError
from bertlens.bias.occupations import Occupation

FORMULA_TEMPLATE = "=HYPERLINK(\"http://x\") {person} worked as a [MASK]."


@pytest.fixture(scope="module")
def probe(lm):
    config = bias.ProbeConfig(
        templates=(FORMULA_TEMPLATE, "{person} is a [MASK].", "@{person} was hired as a [MASK]."),
        pairs=(bias.WordPair("the man", "the woman"),),
        occupations=(Occupation("nurse", "a", 89.6, "2015", "-BLS test source"), Occupation("plumber", "a", 0.7, "",
                                                                                          "BLS"),
                     Occupation("engineer", "an", 10.7, "2015", "+BLS")),
        bootstrap=200,
    )
    return bias.run_probe(lm, config)


@pytest.mark.parametrize("value, expected", [
    ("=1+1", "'=1+1"), ("+41 555", "'+41 555"), ("-2", "'-2"), ("@SUM(A1)", "'@SUM(A1)"), ("\tx", "'\tx"),
    ("\rx", "'\rx"), ("hello", "hello"), ("", ""), ("'=x", "''=x"), ("'hello", "'hello"), (-1.5, -1.5), (3, 3),
])
def test_neutralise(value, expected):
    assert export.neutralise(value) == expected


@given(st.text(max_size=30))
def test_neutralise_round_trips_and_never_starts_a_formula(text):
    cell = export.neutralise(text)
    assert export.restore(cell) == text
    assert not cell or cell[0] not in serialize.TRIGGERS


def test_probe_csv_round_trip(lm, probe):
    text = export.probe_csv(lm, probe)
    meta, rows = export.read_csv_report(text)
    assert meta["model_id"] == lm.info.model_id
    assert meta["model_fingerprint"] == lm.fingerprint() and meta["model_fingerprint"].startswith("sha256 ")
    assert meta["templates"] == list(probe.config.templates)
    assert meta["word_pairs"] == "the man/the woman (person)"
    assert meta["date"][:4].isdigit() and "T" in meta["date"]
    occupations = [r for r in rows if r["record"] == "occupation"]
    assert [r["occupation"] for r in occupations] == [o.occupation for o in probe.occupations]
    for row, score in zip(occupations, probe.occupations):
        assert float(row["log_ratio"]) == score.log_ratio
        assert float(row["ci_low"]) == score.ci_low and float(row["p_holm"]) == score.p_adjusted
        assert row["bls_source"] == score.source and row["bls_year"] == score.year
        assert row["pieces"] == " ".join(score.pieces) and row["multi_piece"] == str(score.multi_piece)
    units = [r for r in rows if r["record"] == "unit"]
    assert len(units) == len(probe.units)
    assert {r["template"] for r in units} == set(probe.config.templates)
    for row, unit in zip(units, probe.units):
        assert float(row["log_p_female"]) == unit.log_p_female and row["female_text"] == unit.female_text
    assert len([r for r in rows if r["record"] == "kurita"]) == len(probe.kurita)
    assert {r["score"] for r in rows if r["record"] == "correlation"} == {"log_ratio", "kurita"}


def test_no_csv_cell_starts_a_formula_but_numbers_stay_numbers(lm, probe):
    text = export.probe_csv(lm, probe)
    cells = [cell for row in csv.reader(io.StringIO(text)) for cell in row]
    text_cells = [c for c in cells if c and not _is_number(c)]
    assert all(c[0] not in serialize.TRIGGERS for c in text_cells)
    assert "'" + FORMULA_TEMPLATE in cells and "'-BLS test source" in cells and "'+BLS" in cells
    assert any(_is_number(c) and c.startswith("-") for c in cells)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def test_probe_json(lm, probe):
    document = json.loads(export.probe_json(lm, probe))
    assert document["meta"]["model_fingerprint"] == lm.fingerprint()
    assert document["meta"]["random_weights"] is True
    assert document["meta"]["templates"] == list(probe.config.templates)
    assert "Holm" in document["meta"]["correction"]
    assert [o["log_ratio"] for o in document["occupations"]] == [o.log_ratio for o in probe.occupations]
    assert len(document["units"]) == len(probe.units)
    assert set(document["correlations"]) == {"log_ratio", "kurita"}


def test_crows_reports(lm):
    result = crows.score_crows(lm, crows.parse_crows(crows.EXAMPLE_PATH.read_bytes()))
    meta, rows = export.read_csv_report(export.crows_csv(lm, result, "example.csv"))
    assert meta["model_fingerprint"] == lm.fingerprint() and meta["input"] == "example.csv"
    pairs = [r for r in rows if r["record"] == "pair"]
    assert [float(r["score_more"]) for r in pairs] == [s.score_more for s in result.scores]
    metrics = {r["group"]: float(r["metric"]) for r in rows if r["record"] == "metric"}
    assert metrics["all"] == result.overall.metric
    document = json.loads(export.crows_json(lm, result, "example.csv"))
    assert len(document["pairs"]) == len(result.scores)


def test_save_checks_the_suffix(tmp_path):
    with pytest.raises(InputError, match=".csv or .json"):
        export.save(tmp_path / "report.xlsx", lambda: "", lambda: "")
    with pytest.raises(InputError, match="does not exist"):
        export.save(tmp_path / "nope" / "r.csv", lambda: "", lambda: "")
    assert export.save(tmp_path / "r.json", lambda: "csv", lambda: "{}").read_text() == "{}"


def test_probe_command_writes_a_report(tiny_model_dir, tmp_path, capsys):
    templates = tmp_path / "t.txt"
    templates.write_text("{person} worked as a [MASK].\n{person} is a [MASK].\n", encoding="utf-8")
    occupations = tmp_path / "o.csv"
    occupations.write_text("occupation,pct_women,year,source\nnurse,89.6,2015,BLS\nfirefighter,3.5,2016,BLS\n"
                           "engineer,10.7,2015,BLS\n", encoding="utf-8")
    out = tmp_path / "report.csv"
    code = main(["probe", "--model", str(tiny_model_dir), "--device", "cpu", "--templates", str(templates),
                 "--occupations", str(occupations), "--out", str(out), "--bootstrap", "200"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "firefighter" in printed and "fire ##fighter" in printed and "Pearson" in printed and "2015" in printed
    meta, rows = export.read_csv_report(out.read_text(encoding="utf-8"))
    assert meta["templates"] == ["{person} worked as a [MASK].", "{person} is a [MASK]."]
    assert len([r for r in rows if r["record"] == "unit"]) == 2 * 3


def test_probe_command_bad_input(tiny_model_dir, tmp_path, capsys):
    templates = tmp_path / "t.txt"
    templates.write_text("{person} worked as a nurse.\n", encoding="utf-8")
    assert main(["probe", "--model", str(tiny_model_dir), "--templates", str(templates)]) == 2
    assert "no [MASK]" in capsys.readouterr().err
    assert main(["probe", "--model", str(tiny_model_dir), "--out", str(tmp_path / "r.xlsx")]) == 2
    assert main(["probe", "--model", str(tiny_model_dir), "--pairs", str(tmp_path / "missing.csv")]) == 2
    assert "Cannot read" in capsys.readouterr().err


def test_crows_command(tiny_model_dir, tmp_path, capsys):
    out = tmp_path / "crows.json"
    assert main(["crows", str(crows.EXAMPLE_PATH), "--model", str(tiny_model_dir), "--out", str(out)]) == 0
    assert "gender" in capsys.readouterr().out
    assert json.loads(out.read_text())["meta"]["pairs_scored"] == 6
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"sent_more\nx\n")
    assert main(["crows", str(bad), "--model", str(tiny_model_dir)]) == 2
    assert "lacks the column" in capsys.readouterr().err


def test_spreadsheet_safe_and_jsonable_are_public_helpers():
    import math

    import numpy as np

    assert export.spreadsheet_safe("=1+1") == "'=1+1" and export.spreadsheet_safe("ok") == "ok"
    assert export.spreadsheet_safe("'-x") == "''-x" and export.restore(export.spreadsheet_safe("'-x")) == "'-x"
    pair = bias.WordPair("he", "she")
    converted = export.jsonable({"pair": pair, 1: (math.nan, np.float32(0.5), np.arange(2)), "inf": math.inf},
                                properties=("label",))
    assert converted == {"pair": {"male": "he", "female": "she", "role": "person", "probe": True,
                                  "label": "he/she"}, "1": [None, 0.5, [0, 1]], "inf": None}
    assert json.loads(json.dumps(converted)) == converted


def test_probe_reports_carry_the_minimum_effect_and_the_headline(lm, probe):
    meta, rows = export.read_csv_report(export.probe_csv(lm, probe.with_min_effect(0.0)))
    assert float(meta["min_effect"]) == 0.0
    occupations = [r for r in rows if r["record"] == "occupation"]
    passing = [r for r in occupations if r["significant_and_large_enough"] == "True"]
    assert passing == [r for r in occupations if r["significant"] == "True"]
    assert meta["headline"].startswith(f"{len(passing)} of {len(occupations)} occupations")
    document = json.loads(export.probe_json(lm, probe.with_min_effect(1e6)))
    assert document["meta"]["min_effect"] == 1e6
    assert not any(o["significant_and_large_enough"] for o in document["occupations"])


def test_crows_reports_carry_ties_intervals_and_the_caveat(lm):
    result = crows.score_crows(lm, crows.parse_crows(crows.EXAMPLE_PATH.read_bytes()))
    meta, rows = export.read_csv_report(export.crows_csv(lm, result, "example.csv"))
    assert "Blodgett" in meta["caveat"] and "Norwegian Salmon" in meta["caveat"]
    assert int(meta["ties"]) == sum(s.tie for s in result.scores)
    pairs = [r for r in rows if r["record"] == "pair"]
    assert [int(r["line"]) for r in pairs] == list(range(2, 2 + len(result.scores)))
    assert [r["tie"] for r in pairs] == [str(s.tie) for s in result.scores]
    metrics = {r["label"]: r for r in rows if r["record"] == "metric"}
    overall = metrics["metric (all pairs)"]
    assert int(overall["ties"]) == int(meta["ties"]) and int(overall["denominator"]) == len(result.scores)
    assert float(overall["ci_low"]) <= float(overall["metric"]) <= float(overall["ci_high"])
    stereo = next(r for label, r in metrics.items() if label.startswith("stereotype score"))
    stereo_scores = [s for s in result.scores if s.direction == "stereo"]
    assert int(stereo["denominator"]) == sum(not s.tie for s in stereo_scores)
    assert any("Fewer than 30" in w for w in (meta["warning"] if isinstance(meta["warning"], list)
                                             else [meta["warning"]]))
    document = json.loads(export.crows_json(lm, result, "example.csv"))
    assert "Blodgett" in document["meta"]["caveat"] and document["meta"]["ties"] == int(meta["ties"])


def test_probe_command_min_effect(tiny_model_dir, tmp_path, capsys):
    templates = tmp_path / "t.txt"
    templates.write_text("{person} worked as a [MASK].\n{person} is a [MASK].\n", encoding="utf-8")
    out = tmp_path / "r.json"
    assert main(["probe", "--model", str(tiny_model_dir), "--templates", str(templates), "--bootstrap", "200",
                 "--min-effect", "0.25", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "|log-ratio| >= 0.25" in printed and "headline:" in printed
    assert json.loads(out.read_text())["meta"]["min_effect"] == 0.25
    assert main(["probe", "--model", str(tiny_model_dir), "--min-effect", "-1"]) == 2
    assert "'min_effect' must be a number from 0 to 5" in capsys.readouterr().err


def test_crows_command_prints_ties_intervals_and_caveat(tiny_model_dir, capsys):
    assert main(["crows", str(crows.EXAMPLE_PATH), "--model", str(tiny_model_dir)]) == 0
    printed = capsys.readouterr().out
    assert "ties:" in printed and "Wilson 95% CI" in printed and "Blodgett" in printed
    assert "stereotype score (stereo, ties left out)" in printed


def test_reports_in_reduced_precision_say_their_decisions_may_differ(lm):
    from bertlens.model import quantize_int8

    pairs = crows.parse_crows(crows.EXAMPLE_PATH.read_bytes())[:2]
    exact = json.loads(export.crows_json(lm, crows.score_crows(lm, pairs), "example.csv"))["meta"]
    assert exact["dtype"] == "float32" and exact["precision"].startswith("exact")
    fast = quantize_int8(lm)
    reduced = json.loads(export.crows_json(fast, crows.score_crows(fast, pairs), "example.csv"))["meta"]
    assert reduced["dtype"] == "int8" and "may differ from float32" in reduced["precision"]
    table = export.crows_csv(fast, crows.score_crows(fast, pairs), "example.csv")
    assert "may differ from float32" in table
