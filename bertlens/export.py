"""CSV and JSON reports of the bias probe and CrowS-Pairs runs, stamped so that a run can be reproduced.

Every report carries the model id, its revision or the sha256 of its weights (`LoadedModel.fingerprint()`), whether
the weights are random, the templates, word pairs, occupation sources and the date.

CSV layout: metadata rows first, each `#key,value`; then one table whose `record` column says what a row is
(`occupation`, `unit`, `kurita`, `correlation` for the probe; `pair`, `metric` for CrowS-Pairs).

Spreadsheets run a cell that starts with `=`, `+`, `-` or `@` (and tab or carriage return) as a formula, so every
text cell that does is written with a leading apostrophe. Numbers are written as numbers: a negative log-ratio
stays a number. `read_csv_report` undoes the apostrophe, so a report round-trips.

`spreadsheet_safe` (formula neutralising) and `jsonable` (JSON conversion) live in `bertlens.serialize` and serve
every export, not only these reports.
"""
from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TextIO

from bertlens.bias import ProbeResult
from bertlens.bias.crows import CAVEAT, CrowsResult, group_label
from bertlens.bias.probe import DIRECTION
from bertlens.provenance import provenance
from bertlens.errors import InputError
from bertlens.model import LoadedModel
from bertlens.outputs import check_output, write_atomic
from bertlens.serialize import jsonable, neutralise, restore, spreadsheet_safe  # noqa: F401  (re-exported)

FORMATS = (".csv", ".json")
PROBE_COLUMNS = [
    "record", "occupation", "article", "pieces", "multi_piece", "pct_women", "bls_year", "bls_source",
    "template", "pair", "female_text", "male_text", "target_text", "prior_text",
    "log_p_female", "log_p_male", "log_prior_female", "log_prior_male", "log_ratio", "ci_low", "ci_high",
    "p_value", "p_holm", "significant", "large_enough", "significant_and_large_enough", "kurita", "n_templates",
    "score", "n", "pearson_r", "pearson_p", "spearman_rho", "spearman_p", "slope", "intercept",
]
CROWS_COLUMNS = ["record", "line", "bias_type", "direction", "sent_more", "sent_less", "score_more", "score_less",
                 "shared_tokens", "more_higher", "tie", "group", "label", "pairs", "ties", "tie_share",
                 "denominator", "metric", "ci_low", "ci_high", "fewer_than_30"]


def metadata(lm: LoadedModel, **extra: Any) -> dict[str, Any]:
    info = lm.info
    meta = {
        "tool": "BERT Lens",
        "model_id": info.model_id,
        "model_fingerprint": lm.fingerprint(),
        "random_weights": info.random_weights,
        "dtype": info.dtype,
        "precision": "exact (float32)" if info.dtype == "float32" else
        f"reduced ({info.dtype}): scores and decisions may differ from float32, the exact precision",
        "device": info.device,
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "provenance": provenance(lm.device.type, info.dtype),
    }
    if lm.transform is not None:
        meta["debias"] = lm.transform.describe()
    meta.update(extra)
    return meta


def probe_metadata(lm: LoadedModel, result: ProbeResult) -> dict[str, Any]:
    config = result.config
    sources = sorted({f"{o.source} ({o.year or 'year not stated'})" for o in config.occupations if o.source})
    return metadata(
        lm,
        report="gender-bias occupation probe",
        sign=DIRECTION,
        multi_piece="an occupation of n WordPieces is scored with n masks, chained left to right",
        templates=list(config.templates),
        word_pairs=[f"{p.male}/{p.female} ({p.role})" for p in config.pairs],
        kurita_templates=list(config.kurita_templates),
        kurita_pair=f"{config.kurita_pair.male}/{config.kurita_pair.female}",
        occupations=len(config.occupations),
        occupation_sources=sources,
        confidence_interval=f"percentile bootstrap 95% over templates, {config.bootstrap} resamples, seed "
                            f"{config.seed}",
        test=result.permutation,
        correction=f"{result.correction} (family-wise, across occupations), alpha 0.05",
        min_effect=result.min_effect,
        headline=f"{result.notable_count} of {len(result.occupations)} occupations are significant after "
                 f"{result.correction} correction and have |log_ratio| >= {result.min_effect:g} nats",
        method=result.method,
        forward_rows=result.rows,
        seconds=round(result.seconds, 3),
    )


def probe_records(result: ProbeResult) -> list[dict[str, Any]]:
    """Every score of a probe as flat records (the CSV rows)."""
    records: list[dict[str, Any]] = []
    for o in result.occupations:
        records.append({
            "record": "occupation", "occupation": o.occupation, "article": o.article, "pieces": " ".join(o.pieces),
            "multi_piece": o.multi_piece, "pct_women": o.pct_women, "bls_year": o.year, "bls_source": o.source,
            "log_p_female": o.log_p_female, "log_p_male": o.log_p_male, "log_ratio": o.log_ratio,
            "ci_low": o.ci_low, "ci_high": o.ci_high, "p_value": o.p_value, "p_holm": o.p_adjusted,
            "significant": o.significant, "large_enough": result.large_enough(o),
            "significant_and_large_enough": result.notable(o), "kurita": o.kurita, "n_templates": o.n_templates,
        })
    for u in result.units:
        records.append({
            "record": "unit", "occupation": u.occupation, "template": u.template, "pair": u.pair,
            "female_text": u.female_text, "male_text": u.male_text, "log_p_female": u.log_p_female,
            "log_p_male": u.log_p_male, "log_ratio": u.log_ratio,
        })
    for k in result.kurita:
        records.append({
            "record": "kurita", "occupation": k.occupation, "template": k.template, "target_text": k.target_text,
            "prior_text": k.prior_text, "log_p_female": k.log_p_female, "log_p_male": k.log_p_male,
            "log_prior_female": k.log_prior_female, "log_prior_male": k.log_prior_male, "kurita": k.normalised,
        })
    for c in result.correlations.values():
        if c is not None:
            records.append({"record": "correlation", **asdict(c)})
    return records


def crows_records(result: CrowsResult) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    for s in result.scores:
        records.append({
            "record": "pair", "line": s.line, "bias_type": s.bias_type, "direction": s.direction,
            "sent_more": s.sent_more, "sent_less": s.sent_less, "score_more": s.score_more,
            "score_less": s.score_less, "shared_tokens": s.shared_tokens, "more_higher": s.more_higher,
            "tie": s.tie,
        })
    for g in result.groups:
        records.append({"record": "metric", "group": g.group, "label": group_label(g), "pairs": g.pairs,
                        "more_higher": g.more_higher, "ties": g.ties, "tie_share": g.tie_share,
                        "denominator": g.denominator, "metric": g.metric, "ci_low": g.ci_low, "ci_high": g.ci_high,
                        "fewer_than_30": g.small})
    return records


def crows_metadata(lm: LoadedModel, result: CrowsResult, source: str) -> dict[str, Any]:
    return metadata(
        lm, report="CrowS-Pairs (Nangia et al. 2020)", input=source,
        metric="% of pairs where sent_more scores higher (pseudo-log-likelihood over shared tokens, scores rounded "
               "to 3 decimals as in the authors' metric.py); 50 = unbiased. metric and bias types: ties in the "
               "denominator, counted as not higher; stereotype and anti-stereotype scores: ties left out",
        interval="Wilson 95% (scipy.stats.binomtest(k, n).proportion_ci), in %",
        ties=result.overall.ties, tie_share=result.overall.tie_share,
        caveat=CAVEAT,
        line="the line of the file where the pair's record starts (line 1 is the file's first line)",
        pairs_scored=len(result.scores), pairs_in_file=result.total_pairs, cancelled=result.cancelled,
        seconds=round(result.seconds, 3), warning=list(result.warnings),
    )


def _cell(value: Any) -> Any:
    if isinstance(value, float):
        return "" if math.isnan(value) else repr(value)
    if isinstance(value, (list, tuple)):
        value = " | ".join(str(v) for v in value)
    return neutralise(value) if isinstance(value, str) else value


def write_csv(meta: dict[str, Any], records: list[dict[str, Any]], columns: list[str], out: TextIO) -> None:
    writer = csv.writer(out, lineterminator="\n")
    for key, value in meta.items():
        if isinstance(value, dict):  # what ran it: one row per field, "#provenance.torch"
            for name, item in value.items():
                writer.writerow([f"#{key}.{name}", _cell(item)])
            continue
        for item in value if isinstance(value, list) else [value]:
            writer.writerow([f"#{key}", _cell(item)])
    writer.writerow(columns)
    for record in records:
        writer.writerow([_cell(record.get(c, "")) if record.get(c) is not None else "" for c in columns])


def csv_text(meta: dict[str, Any], records: list[dict[str, Any]], columns: list[str]) -> str:
    buffer = io.StringIO()
    write_csv(meta, records, columns, buffer)
    return buffer.getvalue()


def read_csv_report(text: str) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """Metadata (a key seen more than once becomes a list) and the table rows, apostrophes undone. Values stay
    text; numbers parse with float()."""
    meta: dict[str, Any] = {}
    lines = text.splitlines(keepends=True)
    start = 0
    for row in csv.reader(lines):
        if not row or not row[0].startswith("#"):
            break
        start += 1
        key, value = row[0][1:], restore(row[1] if len(row) > 1 else "")
        if key in meta:
            meta[key] = meta[key] if isinstance(meta[key], list) else [meta[key]]
            meta[key].append(value)
        else:
            meta[key] = value
    reader = csv.DictReader(io.StringIO("".join(lines[start:]), newline=""))
    return meta, [{k: restore(v) for k, v in row.items()} for row in reader]


def probe_json(lm: LoadedModel, result: ProbeResult, stamp: dict[str, Any] | None = None) -> str:
    """`stamp`: extra metadata such as the SHA-256 of the inputs and configuration (`bertlens.bias.audit.stamp`)."""
    records = probe_records(result)
    document = {
        "meta": {**probe_metadata(lm, result), **(stamp or {})},
        "occupations": [r for r in records if r["record"] == "occupation"],
        "units": [r for r in records if r["record"] == "unit"],
        "kurita": [r for r in records if r["record"] == "kurita"],
        "correlations": {c.score: asdict(c) for c in result.correlations.values() if c is not None},
        "warnings": result.warnings,
    }
    return json.dumps(jsonable(document), indent=2, ensure_ascii=False)


def probe_csv(lm: LoadedModel, result: ProbeResult, stamp: dict[str, Any] | None = None) -> str:
    return csv_text({**probe_metadata(lm, result), **(stamp or {})}, probe_records(result), PROBE_COLUMNS)


def crows_json(lm: LoadedModel, result: CrowsResult, source: str, stamp: dict[str, Any] | None = None) -> str:
    records = crows_records(result)
    document = {
        "meta": {**crows_metadata(lm, result, source), **(stamp or {})},
        "pairs": [r for r in records if r["record"] == "pair"],
        "metrics": [r for r in records if r["record"] == "metric"],
        "warnings": result.warnings,
    }
    return json.dumps(jsonable(document), indent=2, ensure_ascii=False)


def crows_csv(lm: LoadedModel, result: CrowsResult, source: str, stamp: dict[str, Any] | None = None) -> str:
    return csv_text({**crows_metadata(lm, result, source), **(stamp or {})}, crows_records(result), CROWS_COLUMNS)


def check_out_path(path: str | Path) -> Path:
    """`path` when a .csv or .json report may be written there (`outputs.check_output`: a new path or a regular
    file in a writable folder, never a FIFO, folder or device); InputError in one line otherwise. Called before any
    work."""
    path = Path(path)
    if path.suffix.lower() not in FORMATS:
        raise InputError(f"The report must end in .csv or .json, not '{path.suffix or path.name}'.")
    return check_output(path)


def save(path: str | Path, csv_maker, json_maker) -> Path:
    """Write the CSV or JSON report chosen by the file's suffix. Raises InputError for another suffix."""
    path = check_out_path(path)
    text = csv_maker() if path.suffix.lower() == ".csv" else json_maker()
    return write_atomic(path, text, newline="")
