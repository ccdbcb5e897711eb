"""A pair metric's decisions and headline: each CrowS-Pairs-style pair named by its line, and the % of pairs decided
for the more stereotyping sentence with its Wilson 95% interval, which every pair metric reports the same way."""
from __future__ import annotations

from typing import Sequence

from bertlens.bias.statistics import wilson
from bertlens.registry import Method
from bertlens.results import ItemDecision, MetricResult

PAIRS_UNBIASED = 50.0


def pair_item(line: int) -> str:
    """The id of a CrowS-Pairs-style pair in every metric's decisions: its line in the file."""
    return f"line {line}"


def percent_of_pairs(method: Method, decisions: Sequence[ItemDecision], *, measures: str, complete: bool = True,
                     warnings: Sequence[str] = (), detail: object = None) -> MetricResult:
    """The % of pairs decided for the more stereotyping sentence (a tie counts as not), with its Wilson 95%
    interval: the headline every pair metric shares."""
    n = len(decisions)
    k = sum(d.decision is True for d in decisions)
    ties = sum(d.decision is None for d in decisions)
    low, high = wilson(k, n)
    return MetricResult(method.name, method.title, 100.0 * k / n if n else float("nan"), "%", 100 * low,
                        100 * high, "Wilson 95%", n, ties, PAIRS_UNBIASED, measures, method.caveat,
                        tuple(decisions), tuple(warnings), complete, detail)
