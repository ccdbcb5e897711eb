"""Metrics checked against each other: agreement share, Cohen's kappa and the disagreeing items, on hand-made
decisions whose figures are worked out by hand in each test."""
from __future__ import annotations

import math

import pytest

from bertlens.bias import agreement
from bertlens.results import ItemDecision, MetricResult


def result(name: str, decisions: dict[str, bool | None], value: float = 50.0, ties: int = 0) -> MetricResult:
    items = tuple(ItemDecision(item, f"label of {item}", d, 1.0 if d else -1.0, "g") for item, d in decisions.items())
    return MetricResult(name, name.upper(), value, "%", value - 5, value + 5, "Wilson 95%", len(items), ties, 50.0,
                        f"what {name} measures", f"caveat of {name}", items)


def test_kappa_of_a_two_by_two_table():
    # a: T T T T F F F F T T ; b: T T T F F F F T T F
    a = [True] * 4 + [False] * 4 + [True, True]
    b = [True, True, True, False, False, False, False, True, True, False]
    # agree on 7 of 10; a says T 6/10, b says T 5/10; p_e = .6*.5 + .4*.5 = .5; kappa = (.7 - .5)/(1 - .5) = .4
    assert agreement.cohen_kappa(a, b) == pytest.approx(0.4)


def test_kappa_with_ties_as_a_third_category():
    a = [True, True, None, False, None, False]
    b = [True, None, None, False, False, True]
    # agree on items 0, 2, 3: p_o = 3/6 = .5
    # a: T 2, F 2, tie 2; b: T 2, F 2, tie 2 (of 6): p_e = 3 * (1/3 * 1/3) = 1/3; kappa = (.5 - 1/3)/(2/3) = .25
    assert agreement.cohen_kappa(a, b) == pytest.approx(0.25)


def test_kappa_edge_cases():
    assert agreement.cohen_kappa([True, False], [True, False]) == pytest.approx(1.0)
    assert agreement.cohen_kappa([True, False], [False, True]) == pytest.approx(-1.0)
    assert math.isnan(agreement.cohen_kappa([True] * 3, [True] * 3))  # p_e = 1: undefined
    assert math.isnan(agreement.cohen_kappa([], []))
    with pytest.raises(ValueError):
        agreement.cohen_kappa([True], [True, False])


def test_pairwise_on_shared_items_only():
    crows = result("crows", {"line 2": True, "line 3": True, "line 4": False, "line 5": None, "line 6": True})
    aul = result("aul", {"line 2": True, "line 3": False, "line 4": False, "line 5": None, "line 7": True})
    stereo = result("stereoset", {"intrasentence:a": True, "intrasentence:b": False})
    pairs = agreement.pairwise([crows, aul, stereo])
    assert len(pairs) == 1  # StereoSet shares no item with the pair metrics
    pair = pairs[0]
    # shared: lines 2-5; same on 2, 4, 5 (tie = tie); differ on 3
    assert (pair.a, pair.b, pair.shared, pair.agree) == ("crows", "aul", 4, 3)
    assert pair.share == pytest.approx(75.0)
    assert pair.disagreements == ("line 3",)
    # crows: T 2, F 1, tie 1; aul: T 1, F 2, tie 1 -> p_e = (2*1 + 1*2 + 1*1)/16 = 5/16; kappa = (3/4 - 5/16)/(11/16)
    assert pair.kappa == pytest.approx((0.75 - 5 / 16) / (11 / 16))


def test_disagreeing_items_list_each_metric():
    crows = result("crows", {"line 2": True, "line 3": True, "line 4": None})
    aul = result("aul", {"line 2": True, "line 3": False, "line 4": False})
    aula = result("aula", {"line 2": False, "line 3": False})
    rows = agreement.disagreeing_items([crows, aul, aula])
    assert [r["item"] for r in rows] == ["line 2", "line 3", "line 4"]
    first = rows[0]
    assert (first["crows"], first["aul"], first["aula"]) == ("for", "for", "against")
    assert rows[2]["crows"] == "tie" and rows[2]["aula"] is None and rows[2]["aula_score"] is None
    assert agreement.disagreeing_items([crows]) == []
    alone = result("stereoset", {"intrasentence:a": True})
    assert "stereoset" not in agreement.disagreeing_items([crows, aul, alone])[0]


def test_headline_table_and_document():
    crows = result("crows", {"line 2": True, "line 3": None}, value=60.0, ties=1)
    aul = result("aul", {"line 2": False, "line 3": None}, value=40.0)
    table = agreement.headline_table([crows, aul])
    assert [r["metric"] for r in table] == ["crows", "aul"]
    assert table[0]["ties"] == 1 and table[0]["tie_share"] == pytest.approx(50.0)
    assert table[0]["caveat"] == "caveat of crows" and table[0]["measures"] == "what crows measures"
    assert (table[0]["ci_low"], table[0]["ci_high"]) == (55.0, 65.0)
    doc = agreement.agreement_document([crows, aul])
    assert doc["agreement"][0]["share"] == pytest.approx(50.0)
    # crows: T 1, tie 1; aul: F 1, tie 1 -> p_e = 1/4; kappa = (1/2 - 1/4)/(3/4) = 1/3
    assert doc["agreement"][0]["kappa"] == pytest.approx(1 / 3)
    assert doc["disagreements"][0]["item"] == "line 2"
    undefined = agreement.agreement_document([result("a", {"x": True}), result("b", {"x": True})])
    assert undefined["agreement"][0]["kappa"] is None and undefined["agreement"][0]["share"] == 100.0
