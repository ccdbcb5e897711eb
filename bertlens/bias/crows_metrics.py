"""CrowS-Pairs-style pairs scored by every registered pair metric (`bertlens.metrics`, data "crows_pairs").

Each metric decides, per pair, whether the more stereotyping sentence (sent_more) scores higher; the shipped ones are
CrowS PLL (Nangia et al.'s `metric.py`, a tie counting as not higher) and AUL and AULA (Kaneko & Bollegala's
`evaluate.py`, strictly higher). A new metric module with `data = "crows_pairs"` joins them without any change here.
The figure per metric is the % of all pairs decided for sent_more, with a Wilson 95% interval; 50 is unbiased. Each
metric is also given per bias type (ties counted as not higher) and as the stereotype and anti-stereotype scores
(ties left out), as the authors' `metric.py` reports them for CrowS PLL.
`disagreements` lists the pairs where the chosen metrics decide differently.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

from bertlens import registry
from bertlens.bias.crows import DIRECTIONS, CrowsPair, GroupMetric, group_label
from bertlens.bias.pair_decisions import pair_item
from bertlens.bias.statistics import small_sample, wilson
from bertlens.errors import InputError
from bertlens.model import LoadedModel
from bertlens.registry import Context
from bertlens.results import MetricResult

DATA = "crows_pairs"


def pair_metrics() -> tuple[str, ...]:
    """The names of every registered pair metric, in display order."""
    return registry.names("metric", DATA)


def title(metric: str) -> str:
    return registry.get("metric", metric, DATA).title


@dataclass(frozen=True)
class MetricSummary:
    """% of pairs decided for sent_more under one metric, over the pairs every chosen metric scored, with its
    Wilson 95% interval (in %)."""

    metric: str
    pairs: int
    more_higher: int
    ties: int
    ci_low: float
    ci_high: float
    groups: tuple[GroupMetric, ...] = field(default=(), compare=False)
    """Every pair, each bias type, then the stereotype and anti-stereotype scores (`bertlens.bias.crows`)."""

    @property
    def label(self) -> str:
        return title(self.metric)

    @property
    def percent(self) -> float:
        return 100.0 * self.more_higher / self.pairs if self.pairs else float("nan")


@dataclass(frozen=True)
class PairDecision:
    """One pair under every chosen metric: score(sent_more) − score(sent_less), and whether sent_more wins."""

    line: int
    sent_more: str
    sent_less: str
    direction: str
    bias_type: str
    differences: dict[str, float]
    decisions: dict[str, bool]

    @property
    def disagree(self) -> bool:
        return len(set(self.decisions.values())) > 1


@dataclass(frozen=True)
class MetricsResult:
    metrics: tuple[str, ...]
    results: Mapping[str, MetricResult]
    summaries: list[MetricSummary]
    pairs: list[PairDecision]
    total_pairs: int
    cancelled: bool

    @property
    def disagreements(self) -> list[PairDecision]:
        return [p for p in self.pairs if p.disagree]

    def summary(self, metric: str) -> MetricSummary:
        return next(s for s in self.summaries if s.metric == metric)


def _group(name: str, decisions: Sequence[bool | None], ties_counted: bool = True) -> GroupMetric:
    higher = sum(d is True for d in decisions)
    ties = sum(d is None for d in decisions)
    low, high = wilson(higher, len(decisions) if ties_counted else len(decisions) - ties)
    return GroupMetric(name, len(decisions), higher, ties, ties_counted, 100 * low, 100 * high)


def metric_groups(pairs: Sequence[CrowsPair], decisions: Sequence[bool | None]) -> tuple[GroupMetric, ...]:
    """One metric's % over every pair, per bias type and per direction (ties left out), from its decisions on
    `pairs` (True: sent_more higher, None: a tie): the groups `bertlens.bias.crows.summarise` gives CrowS PLL."""
    rows = list(zip(pairs, decisions))
    types = sorted({p.bias_type for p, _ in rows})
    return (_group("all", [d for _, d in rows]),
            *(_group(t, [d for p, d in rows if p.bias_type == t]) for t in types),
            *(_group(direction, [d for p, d in rows if p.direction == direction], ties_counted=False)
              for direction in DIRECTIONS if any(p.direction == direction for p, _ in rows)))


def group_records(groups: Sequence[GroupMetric]) -> list[dict[str, Any]]:
    """Groups as reports store them; a group of fewer than 30 counted pairs carries "small_sample": true."""
    from bertlens.results import rounded

    return [{"group": g.group, "label": group_label(g), "pairs": g.pairs, "counted": g.denominator,
             "more_higher": g.more_higher, "ties": g.ties, "ties_counted": g.ties_counted,
             "percent": rounded(g.metric), "ci_low": rounded(g.ci_low), "ci_high": rounded(g.ci_high),
             "small_sample": small_sample(g.denominator)} for g in groups]


def parse_metrics(text: str | Sequence[str] | None) -> tuple[str, ...]:
    """'crows,aul,aula' (any order, any subset) into the registry's order. Raises InputError for an unknown or
    empty choice."""
    items = text.split(",") if isinstance(text, str) else list(text or ())
    chosen = [m.strip().lower() for m in items if m and m.strip()]
    known = pair_metrics()
    unknown = [m for m in chosen if m not in known]
    if unknown:
        raise InputError(f"Unknown metric '{unknown[0]}'. Choose one or more of {', '.join(known)}, separated by "
                         "commas (e.g. --metric crows,aul,aula).")
    if not chosen:
        raise InputError(f"No metric chosen. Choose one or more of {', '.join(known)}.")
    return tuple(m for m in known if m in chosen)


def combine(results: Mapping[str, MetricResult], pairs: Sequence[CrowsPair]) -> MetricsResult:
    """Per-pair decisions and per-metric summaries over the pairs that every metric in `results` scored."""
    metrics = tuple(m for m in pair_metrics() if m in results)
    decided = {m: {d.item: d for d in results[m].decisions} for m in metrics}
    scored = [p for p in pairs if all(pair_item(p.line) in decided[m] for m in metrics)]
    rows = []
    for p in scored:
        item = pair_item(p.line)
        rows.append(PairDecision(p.line, p.sent_more, p.sent_less, p.direction, p.bias_type,
                                 {m: decided[m][item].score for m in metrics},
                                 {m: decided[m][item].decision is True for m in metrics}))
    summaries = []
    for m in metrics:
        chosen = [decided[m][pair_item(p.line)] for p in scored]
        k = sum(d.decision is True for d in chosen)
        low, high = wilson(k, len(chosen))
        summaries.append(MetricSummary(m, len(chosen), k, sum(d.decision is None for d in chosen), 100 * low,
                                       100 * high, metric_groups(scored, [d.decision for d in chosen])))
    cancelled = any(not results[m].complete for m in metrics)
    return MetricsResult(metrics, dict(results), summaries, rows, len(pairs), cancelled)


def score_metrics(lm: LoadedModel, pairs: list[CrowsPair], metrics: Sequence[str] | None = None,
                  context: Context | None = None, on_metric: Callable[[str], None] | None = None,
                  options: Mapping[str, Mapping[str, Any]] | None = None) -> MetricsResult:
    """Score `pairs` under each chosen registered pair metric (all by default), one after another, each with its
    `options` (metric name -> option values; defaults for the rest). A run stopped through `context` ends with the
    metrics finished so far. Raises InputError as each metric does, SpecError for an option out of range."""
    metrics = parse_metrics(metrics if metrics is not None else pair_metrics())
    context = context or Context()
    results: dict[str, MetricResult] = {}
    for metric in metrics:
        if context.stopped():
            break
        if on_metric is not None:
            on_metric(metric)
        method = registry.get("metric", metric, DATA)
        config = method.spec.validate((options or {}).get(metric), where=f"'{metric}'")
        results[metric] = method.run(lm, pairs, config, context)
    return combine(results, pairs)
