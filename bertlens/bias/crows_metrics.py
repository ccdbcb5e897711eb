"""CrowS-Pairs scored by several metrics on the same pairs: CrowS PLL (`crows`), AUL and AULA (`aul`).

Each metric decides, per pair, whether the more stereotyping sentence (sent_more) scores higher:
- crows: the pseudo-log-likelihood of the shared tokens, rounded to 3 decimals, a tie counting as not higher
  (Nangia et al.'s `metric.py`);
- aul, aula: strictly higher, unrounded (Kaneko & Bollegala's `evaluate.py`).
The figure per metric is the % of all pairs decided for sent_more, with a Wilson 95% interval; 50 is unbiased.
`disagreements` lists the pairs where the chosen metrics decide differently.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

from bertlens.bias.aul import AulResult, score_aul
from bertlens.bias.crows import CrowsPair, CrowsResult, score_crows
from bertlens.bias.statistics import wilson
from bertlens.errors import InputError
from bertlens.model import LoadedModel

METRICS = ("crows", "aul", "aula")
LABELS = {"crows": "CrowS PLL", "aul": "AUL", "aula": "AULA"}


@dataclass(frozen=True)
class MetricSummary:
    """% of pairs decided for sent_more under one metric, with its Wilson 95% interval (in %)."""

    metric: str
    pairs: int
    more_higher: int
    ties: int
    ci_low: float
    ci_high: float

    @property
    def label(self) -> str:
        return LABELS[self.metric]

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
    crows: CrowsResult | None
    aul: AulResult | None
    summaries: list[MetricSummary]
    pairs: list[PairDecision]
    total_pairs: int
    cancelled: bool

    @property
    def disagreements(self) -> list[PairDecision]:
        return [p for p in self.pairs if p.disagree]

    def summary(self, metric: str) -> MetricSummary:
        return next(s for s in self.summaries if s.metric == metric)


def parse_metrics(text: str | Sequence[str] | None) -> tuple[str, ...]:
    """'crows,aul,aula' (any order, any subset) into the canonical order. Raises InputError for an unknown or
    empty choice."""
    items = text.split(",") if isinstance(text, str) else list(text or ())
    chosen = [m.strip().lower() for m in items if m and m.strip()]
    unknown = [m for m in chosen if m not in METRICS]
    if unknown:
        raise InputError(f"Unknown metric '{unknown[0]}'. Choose one or more of {', '.join(METRICS)}, separated by "
                         "commas (e.g. --metric crows,aul,aula).")
    if not chosen:
        raise InputError(f"No metric chosen. Choose one or more of {', '.join(METRICS)}.")
    return tuple(m for m in METRICS if m in chosen)


def combine(metrics: Sequence[str], crows: CrowsResult | None, aul: AulResult | None,
            total_pairs: int) -> MetricsResult:
    """Per-pair decisions and per-metric summaries over the pairs that every chosen metric scored."""
    per_metric: dict[str, dict[int, tuple[float, bool, bool]]] = {}
    sources: dict[int, object] = {}
    if "crows" in metrics and crows is not None:
        per_metric["crows"] = {s.line: (s.score_more - s.score_less, s.more_higher, s.tie) for s in crows.scores}
        sources.update((s.line, s) for s in crows.scores)
    for metric in ("aul", "aula"):
        if metric in metrics and aul is not None:
            per_metric[metric] = {}
            for s in aul.scores:
                more, less = s.score(metric)
                per_metric[metric][s.line] = (more - less, more > less, more == less)
                sources.setdefault(s.line, s)
    lines = [line for line in sources if all(line in scored for scored in per_metric.values())]
    pairs = []
    for line in lines:
        source = sources[line]
        pairs.append(PairDecision(line, source.sent_more, source.sent_less, source.direction, source.bias_type,
                                  {m: per_metric[m][line][0] for m in metrics if m in per_metric},
                                  {m: per_metric[m][line][1] for m in metrics if m in per_metric}))
    summaries = []
    for metric in metrics:
        if metric not in per_metric:
            continue
        values = [per_metric[metric][line] for line in lines]
        k = sum(v[1] for v in values)
        low, high = wilson(k, len(values))
        summaries.append(MetricSummary(metric, len(values), k, sum(v[2] for v in values), 100 * low, 100 * high))
    cancelled = bool((crows and crows.cancelled) or (aul and aul.cancelled))
    return MetricsResult(tuple(metrics), crows, aul, summaries, pairs, total_pairs, cancelled)


def score_metrics(lm: LoadedModel, pairs: list[CrowsPair], metrics: Sequence[str] = METRICS, batch_size: int = 64,
                  progress: Callable[[float, str], None] | None = None,
                  should_stop: Callable[[], bool] | None = None) -> MetricsResult:
    """Score `pairs` under each chosen metric (CrowS PLL: one pass per shared token; AUL/AULA: one pass per
    sentence, attention read only for AULA). Raises InputError as `score_crows` and `score_aul` do."""
    metrics = parse_metrics(metrics)
    want_aul = [m for m in metrics if m != "crows"]
    share = 0.8 if "crows" in metrics and want_aul else 1.0

    def part(offset: float, scale: float):
        if progress is None:
            return None
        return lambda fraction, message: progress(offset + scale * fraction, message)

    crows = score_crows(lm, pairs, progress=part(0.0, share), should_stop=should_stop,
                        batch_size=batch_size) if "crows" in metrics else None
    aul = None
    if want_aul and not (crows and crows.cancelled):
        aul = score_aul(lm, pairs, want_aul, batch_size=max(1, batch_size // 2),
                        progress=part(share if crows else 0.0, 1 - share if crows else 1.0), should_stop=should_stop)
    return combine(metrics, crows, aul, len(pairs))
