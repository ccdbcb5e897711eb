"""The result types of the registry's kinds: one for explainers, one for bias metrics.

Every view, export, report and agreement table reads these, so a new method or metric shows up everywhere without
its own plumbing. Each keeps its method's full record in `detail` for the views that draw more than the common part
(the lens's layers, the probe's occupations).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

REPORT_DECIMALS = 10


def rounded(value: float | None) -> float | None:
    """A figure as reports store it: 10 decimals (so reruns compare equal across platforms), None when not finite."""
    return round(float(value), REPORT_DECIMALS) if value is not None and math.isfinite(value) else None


@dataclass(frozen=True)
class ExplainerResult:
    """An explainer's answer for one target: a score per token where the method gives one.

    `completeness_gap` is, for attributions that should sum to f(input) − f(baseline) (integrated gradients),
    the sum minus that difference, as captum's convergence delta; None for methods without such a property."""

    method: str
    target: str
    tokens: tuple[str, ...] = ()
    scores: tuple[float, ...] | None = None
    completeness_gap: float | None = None
    detail: Any = field(default=None, compare=False)


@dataclass(frozen=True)
class ItemDecision:
    """One item of a metric (a pair, an occupation, a StereoSet example) and how the metric decided it.

    `decision` True: the item counts towards the bias the metric measures (the stereotyping sentence scored
    higher); False: against it; None: a tie, or the metric takes no side on this item. `score` is the signed
    difference the decision was read from. `item` is an id stable across metrics scoring the same file, so their
    decisions can be compared."""

    item: str
    label: str
    decision: bool | None
    score: float
    group: str = ""


@dataclass(frozen=True)
class MetricResult:
    """A bias metric's headline with its interval and ties, its per-item decisions, and what it measures.

    `value` is in `unit` ("%" or "nats"); `neutral` is the value of an unbiased model (50 for a % of pairs, 0 for a
    log-ratio), None when there is none."""

    metric: str
    title: str
    value: float
    unit: str
    ci_low: float
    ci_high: float
    interval: str
    n: int
    ties: int = 0
    neutral: float | None = None
    measures: str = ""
    caveat: str = ""
    decisions: tuple[ItemDecision, ...] = ()
    warnings: tuple[str, ...] = ()
    complete: bool = True
    detail: Any = field(default=None, compare=False)

    @property
    def tie_share(self) -> float:
        return 100.0 * self.ties / self.n if self.n else math.nan

    def headline(self) -> dict[str, Any]:
        """The plain-data summary every export and report shows for a metric."""
        return {"metric": self.metric, "title": self.title, "value": self.value, "unit": self.unit,
                "ci_low": self.ci_low, "ci_high": self.ci_high, "interval": self.interval, "n": self.n,
                "ties": self.ties, "neutral": self.neutral, "measures": self.measures, "caveat": self.caveat,
                "complete": self.complete}
