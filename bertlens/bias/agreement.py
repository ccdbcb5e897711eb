"""Bias metrics checked against each other on the items they share (Delobelle et al. 2022, "Measuring fairness with
biased rulers", found that metrics for masked language models often disagree).

Each metric's `MetricResult.decisions` says, per item, whether the item counts towards the bias (True), against it
(False) or neither (None: a tie, or no side). For every pair of metrics that scored the same item ids:

- the share of shared items decided the same way (a tie on both sides counts as the same);
- Cohen's kappa over the three categories (for, against, tie): (p_o - p_e) / (1 - p_e), where p_o is that share
  and p_e the agreement expected from each metric's own category frequencies. Kappa is undefined (NaN) when
  p_e = 1, i.e. both metrics put every shared item in the same single category;
- the items on which they disagree.

`headline_table` puts every metric's headline side by side: value, interval, ties, what it measures, its caveat.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import combinations
from typing import Any, Sequence

from bertlens.results import ItemDecision, MetricResult

CATEGORIES = (True, False, None)
NAMES = {True: "for", False: "against", None: "tie"}
SCORE_DIGITS = 6


@dataclass(frozen=True)
class PairAgreement:
    """Two metrics on the items both scored."""

    a: str
    b: str
    shared: int
    agree: int
    kappa: float
    disagreements: tuple[str, ...]

    @property
    def share(self) -> float:
        """% of shared items decided the same way (NaN without shared items)."""
        return 100.0 * self.agree / self.shared if self.shared else math.nan

    def as_dict(self) -> dict[str, Any]:
        return {"a": self.a, "b": self.b, "shared": self.shared, "agree": self.agree, "share": self.share,
                "kappa": self.kappa, "disagreements": list(self.disagreements)}


def cohen_kappa(a: Sequence[bool | None], b: Sequence[bool | None]) -> float:
    """Cohen's kappa of two raters' categorical decisions on the same items, in order. NaN for no items or when
    chance agreement is 1 (both raters use one and the same category throughout)."""
    if len(a) != len(b):
        raise ValueError("Both raters must decide the same items.")
    n = len(a)
    if not n:
        return math.nan
    observed = sum(x == y for x, y in zip(a, b)) / n
    expected = sum((sum(x == c for x in a) / n) * (sum(y == c for y in b) / n) for c in CATEGORIES)
    if math.isclose(expected, 1.0):
        return math.nan
    return (observed - expected) / (1.0 - expected)


def _by_item(result: MetricResult) -> dict[str, ItemDecision]:
    return {d.item: d for d in result.decisions}


def pairwise(results: Sequence[MetricResult]) -> list[PairAgreement]:
    """Agreement of every pair of `results` that share at least one item id, in the order given."""
    decided = [(r.metric, _by_item(r)) for r in results]
    out = []
    for (name_a, items_a), (name_b, items_b) in combinations(decided, 2):
        shared = [item for item in items_a if item in items_b]
        if not shared:
            continue
        da = [items_a[i].decision for i in shared]
        db = [items_b[i].decision for i in shared]
        agree = sum(x == y for x, y in zip(da, db))
        differ = tuple(i for i, x, y in zip(shared, da, db) if x != y)
        out.append(PairAgreement(name_a, name_b, len(shared), agree, cohen_kappa(da, db), differ))
    return out


def disagreeing_items(results: Sequence[MetricResult]) -> list[dict[str, Any]]:
    """The items that at least two of `results` scored and decided differently: item, label, group, and the
    decision ('for', 'against', 'tie', or None when it did not score the item) and score of each metric that shares
    items with another (a metric of its own items, such as StereoSet beside the pair metrics, has no column)."""
    decided = [(r.metric, _by_item(r)) for r in results]
    sharing = {name for p in pairwise(results) for name in (p.a, p.b)}
    decided = [(name, items) for name, items in decided if name in sharing]
    order: dict[str, ItemDecision] = {}
    for _, items in decided:
        for item, d in items.items():
            order.setdefault(item, d)
    out = []
    for item, first in order.items():
        present = {name: items[item] for name, items in decided if item in items}
        if len(present) < 2 or len({d.decision for d in present.values()}) < 2:
            continue
        row: dict[str, Any] = {"item": item, "label": first.label, "group": first.group}
        for name, items in decided:
            d = items.get(item)
            row[name] = NAMES[d.decision] if d is not None else None
            row[f"{name}_score"] = d.score if d is not None else None
        out.append(row)
    return out


def headline_table(results: Sequence[MetricResult]) -> list[dict[str, Any]]:
    """One row per metric: its headline, interval, ties (count and %), what it measures and its caveat."""
    out = []
    for r in results:
        out.append({"metric": r.metric, "title": r.title, "value": r.value, "unit": r.unit, "ci_low": r.ci_low,
                    "ci_high": r.ci_high, "interval": r.interval, "n": r.n, "ties": r.ties, "tie_share": r.tie_share,
                    "neutral": r.neutral, "measures": r.measures, "caveat": r.caveat, "complete": r.complete})
    return out


def agreement_document(results: Sequence[MetricResult]) -> dict[str, Any]:
    """Headlines, pairwise agreement and disagreeing items of `results`, as plain data (NaN as None). Items are
    named by their id in the input (whose SHA-256 the report records), never by their text, and scores are
    rounded to `SCORE_DIGITS` decimals: a report references its inputs and stays small."""
    from bertlens.serialize import jsonable

    compact = [{k: round(v, SCORE_DIGITS) if k.endswith("_score") and isinstance(v, float) else v
                for k, v in row.items() if k != "label"} for row in disagreeing_items(results)]
    return jsonable({"headlines": headline_table(results),
                     "agreement": [p.as_dict() for p in pairwise(results)],
                     "disagreements": compact,
                     "kappa": "Cohen's kappa over three categories (for, against, tie) on the items both metrics "
                              "scored; None where undefined (both metrics put every item in one category)"})
