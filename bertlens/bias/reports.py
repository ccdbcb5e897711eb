"""Reports of CrowS-Pairs scored by several metrics (and by two models), stamped with the SHA-256 of each input.

The JSON document: `metadata` (model, fingerprint, random-weights flag, date, `inputs`: name → sha256), `metrics`
(one record per metric: % decided for sent_more with its Wilson 95% interval), `pairs` (per pair: each metric's
score difference sent_more − sent_less and decision) and `disagreements` (lines where the metrics differ).
"""
from __future__ import annotations

import hashlib
import json
from typing import Any

from bertlens import registry
from bertlens.bias.crows import CAVEAT
from bertlens.bias.crows_metrics import MetricsResult
from bertlens.model import LoadedModel
from bertlens.serialize import jsonable


def definition(metric: str) -> str:
    """What a registered metric measures, as every report states it."""
    method = registry.get("metric", metric)
    return f"{method.title}: {method.summary}"


def sha256(data: bytes | str) -> str:
    """Hex SHA-256 of bytes, or of text encoded as UTF-8."""
    return hashlib.sha256(data.encode("utf-8") if isinstance(data, str) else data).hexdigest()


def metric_records(result: MetricsResult) -> list[dict[str, Any]]:
    return [{"metric": s.metric, "label": s.label, "percent": s.percent, "ci_low": s.ci_low, "ci_high": s.ci_high,
             "more_higher": s.more_higher, "pairs": s.pairs, "ties": s.ties} for s in result.summaries]


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
