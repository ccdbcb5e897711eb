"""Saved audits: one JSON configuration that re-runs the whole bias audit, on one checkpoint or many.

Configuration (`AuditConfig`, JSON written by `config_json`, read by `parse_config`):
  {"bertlens_audit": 1, "models": [...], "metrics": ["probe", "crows", "aul", "aula"], "precision": "float32",
   "device": "cpu", "seed": 0, "bootstrap": 2000, "permutations": 10000, "min_effect": 0.1,
   "templates": INPUT, "pairs": INPUT, "chosen_pairs": [labels] | null, "occupations": INPUT, "crows_pairs": INPUT,
   "stereoset": INPUT}
where INPUT is null (the shipped file), {"text": "..."} (inline, as the page saves it) or {"path": "file"}: a path
relative to the configuration's folder that stays inside it (no absolute path, no `~`, no `..` or symbolic link
leading out; `bertlens.bias.files.inside`); a configuration read from text without a file (an upload) takes inline
texts only. StereoSet ships no file: "stereoset" is absent or null unless the audit runs the `stereoset` metric,
and then names the user's dev.json (a path may point at a gzipped file). The shape of the JSON is
`bertlens.schemas.AuditConfigSchema`. Every input's bytes are hashed (SHA-256) into the report, and so is the
configuration (its canonical JSON: sorted keys, inline texts, paths resolved to their texts' hashes).

The report (`run_audit`) has a row per checkpoint (`status` "ok" with its scores, or "failed" with its reason) and
the spread of each score across the checkpoints that completed (n, mean, SD, min, max, range). It holds no
timings, so two runs of one configuration differ only in `date`. `audit_checkpoint` is the unit of work: a plain
function of JSON-able arguments that loads the weights itself, so it runs alike in this process or on a Ray worker
(`bertlens.bias.cluster`).
"""
from __future__ import annotations

import json
import math
import statistics
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Sequence

from bertlens.bias.crows_metrics import pair_metrics
from bertlens import schemas
from bertlens.bias.files import (CROWS_EXAMPLE_PATH, OCCUPATIONS_PATH, PAIRS_PATH, TEMPLATES_PATH, check_size, decode,
                                 inside, read_bytes)
from bertlens.bias.reports import sha256
from bertlens.errors import BertLensError, InputError, first_line
from bertlens.registry import Context
from bertlens.serialize import jsonable
from bertlens.settings import DEVICES, DTYPES

FORMAT = 1
AUDIT_DATA = ("probe", "pairs", "stereoset")
INPUTS = {"templates": TEMPLATES_PATH, "pairs": PAIRS_PATH, "occupations": OCCUPATIONS_PATH,
          "crows_pairs": CROWS_EXAMPLE_PATH, "stereoset": None}
USER_FILE_ONLY = {"stereoset": "stereoset"}
"""Metrics whose input ships with no default file (metric -> input): an audit runs them only when given one."""
MAX_MODELS = 200
DECIMALS = 10


def audit_metrics() -> tuple[str, ...]:
    """Every registered metric an audit can run: those that read the probe's inputs or a pairs file."""
    from bertlens import registry

    return tuple(m.name for m in registry.methods("metric") if m.data in AUDIT_DATA)


def default_metrics() -> tuple[str, ...]:
    """The metrics an audit runs when its configuration names none: every one whose input has a shipped default."""
    return tuple(m for m in audit_metrics() if m not in USER_FILE_ONLY)


@dataclass(frozen=True)
class AuditInput:
    """One input file of an audit: where it came from, its text and the SHA-256 of its bytes."""

    name: str
    source: str
    text: str
    sha256: str


@dataclass(frozen=True)
class AuditConfig:
    models: tuple[str, ...]
    metrics: tuple[str, ...] = field(default_factory=default_metrics)
    templates: str | None = None
    pairs: str | None = None
    chosen_pairs: tuple[str, ...] | None = None
    occupations: str | None = None
    crows_pairs: str | None = None
    stereoset: str | None = None
    seed: int = 0
    bootstrap: int = 2000
    permutations: int = 10000
    min_effect: float = 0.1
    precision: str = "float32"
    device: str = "cpu"
    sources: dict[str, str] = field(default_factory=dict, compare=False)
    digests: dict[str, str] = field(default_factory=dict, compare=False)

    def with_models(self, models: Sequence[str]) -> "AuditConfig":
        return replace(self, models=check_models(models))

    def inputs(self) -> list[AuditInput]:
        """Each input's text (the shipped file when not given) with its SHA-256."""
        out = []
        for name, path in INPUTS.items():
            text = getattr(self, name)
            if text is None and path is None:
                continue
            if text is None:
                data = read_bytes(path)
                out.append(AuditInput(name, f"shipped: {path.name}", decode(data, path.name), sha256(data)))
            else:
                out.append(AuditInput(name, self.sources.get(name, "inline"), text,
                                      self.digests.get(name) or sha256(text)))
        return out

    def as_dict(self) -> dict[str, Any]:
        """The configuration as saved: inputs inline (so the file is self-contained)."""
        data = {"bertlens_audit": FORMAT,
                **{k: v for k, v in asdict(self).items() if k not in ("sources", "digests")}}
        for name in INPUTS:
            data[name] = None if data[name] is None else {"text": data[name]}
            if INPUTS[name] is None and data[name] is None:
                del data[name]
        return jsonable(data)

    def canonical(self) -> str:
        """The configuration with every input replaced by its SHA-256: what the configuration hash covers."""
        data = self.as_dict()
        hashes = {i.name: i.sha256 for i in self.inputs()}
        for name in INPUTS:
            if name in data:
                data[name] = {"sha256": hashes[name], "shipped": data[name] is None}
        return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)

    def sha256(self) -> str:
        return sha256(self.canonical())


PROBE_INPUTS = ("templates", "pairs", "occupations")


def stamp(config: AuditConfig, part: str | None = None) -> dict[str, Any]:
    """What every export records: the configuration's SHA-256 and each input's, as "name (source): sha256" lines.
    `part` 'probe' or 'crows' keeps only that part's inputs."""
    names = {"probe": PROBE_INPUTS, "crows": ("crows_pairs",)}.get(part or "", tuple(INPUTS))
    return {"configuration_sha256": config.sha256(),
            "input_sha256": [f"{i.name} ({i.source}): {i.sha256}" for i in config.inputs() if i.name in names]}


def check_models(models: Sequence[str]) -> tuple[str, ...]:
    cleaned = tuple(dict.fromkeys(m.strip() for m in models if m and m.strip()))
    if not cleaned:
        raise InputError("The audit names no model. Give at least one hub id or folder, e.g. "
                         "--models bert-large-cased.")
    if len(cleaned) > MAX_MODELS:
        raise InputError(f"{len(cleaned)} models given; the limit is {MAX_MODELS}.")
    return cleaned


def parse_models(text: str) -> tuple[str, ...]:
    """A comma-separated list, or a models file's text: one checkpoint per line, '#' comments."""
    items = [part for line in text.splitlines() if not line.strip().startswith("#") for part in line.split(",")]
    return check_models(items)


STATISTICS = ("seed", "bootstrap", "permutations", "min_effect")


def statistics_settings(data: dict) -> dict[str, Any]:
    """seed, bootstrap, permutations and min_effect, checked by the probe's config spec, so an audit
    configuration gets the same message as the command line and a link. Raises SpecError."""
    from bertlens import registry

    spec = registry.get("metric", "probe").spec
    return spec.validate({k: data[k] for k in STATISTICS if k in data})


def _input(data: dict, name: str, folder: Path | None) -> tuple[str | None, str | None, str | None]:
    """(text, source, SHA-256 of the file's bytes) of one input; all None for the shipped file."""
    value = data.get(name)
    if value is None:
        return None, None, None
    if isinstance(value, dict) and isinstance(value.get("text"), str):
        return value["text"], "inline", None
    if isinstance(value, dict) and isinstance(value.get("path"), str):
        if folder is None:
            raise InputError(f"'{name}' in the audit configuration names a file, but this configuration has no folder "
                             "to read it from: give the text inline, {\"text\": ...}.")
        path = inside(folder, value["path"], f"'{name}' in the audit configuration")
        if name in USER_FILE_ONLY.values():
            from bertlens.bias.stereoset import file_limit, unpack

            raw = read_bytes(path, limit=file_limit())
            return decode(unpack(raw, f"'{path.name}'", file_limit()), f"'{path.name}'"), value["path"], sha256(raw)
        raw = read_bytes(path)
        return decode(raw, f"'{path.name}'"), value["path"], sha256(raw)
    raise InputError(f"'{name}' in the audit configuration must be null (the shipped file), {{\"text\": ...}} or "
                     f"{{\"path\": ...}}.")


def parse_config(text: str, folder: Path | None = None, name: str = "the audit configuration") -> AuditConfig:
    """Read an audit configuration's JSON text; {"path": ...} inputs are read relative to `folder`. Checks every
    field and every input (as the probe and CrowS-Pairs readers do) before any model runs. Raises InputError."""
    data = schemas.parse_json(text, name)
    if not isinstance(data, dict) or data.get("bertlens_audit") != FORMAT:
        raise InputError(f"{name} is not a BERT Lens audit configuration (it needs \"bertlens_audit\": {FORMAT}). "
                         "Save one from the bias page's Export tab.")
    schemas.validate(schemas.AuditConfigSchema, data, name)
    unknown = sorted(set(data) - ({"bertlens_audit"} | set(AuditConfig.__dataclass_fields__)) - {"sources"})
    if unknown:
        raise InputError(f"{name} has unknown field(s): {', '.join(unknown)}.")
    known = audit_metrics()
    metrics = data.get("metrics", [m for m in known if m not in USER_FILE_ONLY or data.get(USER_FILE_ONLY[m])])
    if not isinstance(metrics, list) or not metrics or any(m not in known for m in metrics):
        raise InputError(f"'metrics' must be a list of some of {', '.join(known)}; got {metrics!r}.")
    models = data.get("models", [])
    if not isinstance(models, list) or not all(isinstance(m, str) for m in models):
        raise InputError("'models' must be a list of hub ids or folders.")
    if data.get("precision", "float32") not in DTYPES or data.get("device", "cpu") not in DEVICES:
        raise InputError(f"'precision' must be one of {', '.join(DTYPES)} and 'device' one of {', '.join(DEVICES)}.")
    chosen = data.get("chosen_pairs")
    if chosen is not None and (not isinstance(chosen, list) or not all(isinstance(c, str) for c in chosen)):
        raise InputError("'chosen_pairs' must be null or a list of labels such as \"he/she\".")
    texts, sources, digests = {}, {}, {}
    for input_name in INPUTS:
        texts[input_name], source, digest = _input(data, input_name, folder)
        if source:
            sources[input_name] = source
        if digest:
            digests[input_name] = digest
    config = AuditConfig(
        models=check_models(models), metrics=tuple(m for m in known if m in metrics), **texts,
        chosen_pairs=tuple(chosen) if chosen is not None else None,
        **statistics_settings(data),
        precision=data.get("precision", "float32"), device=data.get("device", "cpu"), sources=sources,
        digests=digests)
    check_inputs(config)
    return config


def from_files(models: Sequence[str], metrics: Sequence[str], files: dict[str, str | None], **settings: Any) -> AuditConfig:
    """The configuration of a command-line run: `files` maps input names (templates, pairs, occupations, crows_pairs)
    to paths (None: the shipped file); the file bytes are hashed. Raises InputError for an unreadable file."""
    texts, sources, digests = {}, {}, {}
    for name, path in files.items():
        if path:
            raw = read_bytes(path)
            texts[name], sources[name], digests[name] = decode(raw, f"'{path}'"), str(path), sha256(raw)
    return AuditConfig(models=check_models(models), metrics=tuple(metrics), **texts, sources=sources,
                       digests=digests, **settings)


def load_config(path: str | Path) -> AuditConfig:
    path = Path(path)
    data = read_bytes(path)
    return parse_config(decode(data, f"'{path.name}'"), path.resolve().parent, f"'{path.name}'")


def config_json(config: AuditConfig) -> str:
    return json.dumps(config.as_dict(), indent=2, ensure_ascii=False)


def probe_config(config: AuditConfig):
    from bertlens import bias

    return bias.build_config(config.templates, config.pairs, config.occupations, config.chosen_pairs,
                             bootstrap=config.bootstrap, permutations=config.permutations, seed=config.seed,
                             min_effect=config.min_effect)


def crows_pairs(config: AuditConfig):
    from bertlens.bias.crows import parse_crows

    source = config.sources.get("crows_pairs", "inline")
    data = config.crows_pairs.encode("utf-8") if config.crows_pairs is not None else read_bytes(CROWS_EXAMPLE_PATH)
    return parse_crows(data, f"'{source if config.crows_pairs is not None else CROWS_EXAMPLE_PATH.name}'")


def check_inputs(config: AuditConfig) -> None:
    """Build the probe configuration and read the pairs the metrics need. Raises InputError naming the part."""
    try:
        if "probe" in config.metrics:
            probe_config(config)
    except InputError as exc:
        raise InputError(f"In the audit's templates, word pairs or occupations: {exc}") from exc
    try:
        if any(m in config.metrics for m in pair_metrics()):
            crows_pairs(config)
    except InputError as exc:
        raise InputError(f"In the audit's CrowS-Pairs file: {exc}") from exc
    if "stereoset" in config.metrics:
        if config.stereoset is None:
            raise InputError("The audit runs the metric 'stereoset' but names no StereoSet file (none is shipped): "
                             "add \"stereoset\": {\"path\": \"dev.json\"} to the configuration.")
        try:
            stereoset_data(config)
        except InputError as exc:
            raise InputError(f"In the audit's StereoSet file: {exc}") from exc


def stereoset_data(config: AuditConfig):
    from bertlens.bias.stereoset import parse_stereoset

    name = config.sources.get("stereoset", "inline")
    return parse_stereoset((config.stereoset or "").encode("utf-8"), f"'{Path(name).name}'")


# ---------------------------------------------------------------- one checkpoint

def _round(value: float) -> float | None:
    return round(float(value), DECIMALS) if value is not None and math.isfinite(value) else None


def audit_checkpoint(config_data: dict[str, Any], model: str) -> dict[str, Any]:
    """Run the audit of `config_data` (`AuditConfig.as_dict()`) on one checkpoint, loading its weights here.

    Returns the checkpoint's row (`checkpoint_row`) or {"model", "status": "failed", "reason"} when the weights are
    missing or broken or the model cannot run the audit. Never raises for a bad checkpoint.
    """
    from bertlens import registry
    from bertlens.bias.crows_metrics import score_metrics
    from bertlens.model import load_model
    from bertlens.settings import Settings

    config = parse_config(json.dumps(config_data))
    try:
        lm = load_model(Settings(model=model, device=config.device, dtype=config.precision))
        results = []
        if "probe" in config.metrics:
            probe = registry.get("metric", "probe")
            results.append(probe.run(lm, probe_config(config), statistics_settings(asdict(config)), Context()))
        chosen = [m for m in config.metrics if m in pair_metrics()]
        pairs = crows_pairs(config) if chosen else None
        if chosen:
            metrics = score_metrics(lm, pairs, chosen)
            results.extend(metrics.results[m] for m in metrics.metrics)
        if "stereoset" in config.metrics:
            method = registry.get("metric", "stereoset")
            results.append(method.run(lm, stereoset_data(config), {"bootstrap": config.bootstrap,
                                                                   "seed": config.seed}, Context()))
        return checkpoint_row(model, lm, results, pairs)
    except BertLensError as exc:
        return {"model": model, "status": "failed", "reason": first_line(exc)}
    except Exception as exc:  # a checkpoint that breaks the code must cost one row, not the audit
        return {"model": model, "status": "failed", "reason": f"{type(exc).__name__}: {first_line(exc)}"}


def checkpoint_row(model: str, lm, results: Sequence[Any], pairs: Sequence[Any] | None = None) -> dict[str, Any]:
    """A checkpoint's row from its metrics' results (`MetricResult`s): what `audit_checkpoint` writes and what the
    bias page exports from the results it has. {"model", "status": "ok", "fingerprint", "random_weights", "dtype",
    "vocab_size", "scores": {name: value}, "metrics": [headline per metric], "agreement": metrics checked against
    each other, "occupations": [...] (probe), "crows": [...] (pair metrics over `pairs`), "stereoset": figures}."""
    from bertlens.bias.agreement import agreement_document
    from bertlens.bias.crows_metrics import combine

    row: dict[str, Any] = {"model": model, "status": "ok", "fingerprint": lm.fingerprint(),
                           "random_weights": lm.info.random_weights, "dtype": lm.info.dtype,
                           "vocab_size": lm.info.vocab_size, "scores": {}, "metrics": [], "occupations": [],
                           "crows": []}
    by_name = {r.metric: r for r in results}
    if "probe" in by_name:
        detail = by_name["probe"].detail
        row["scores"]["probe: occupations significant and large enough"] = detail.notable_count
        row["scores"]["probe: mean |log-ratio|"] = _round(statistics.fmean(abs(o.log_ratio)
                                                                           for o in detail.occupations))
        for name, corr in sorted(detail.correlations.items()):
            if corr is not None:
                row["scores"][f"probe: {name} Pearson r with BLS % women"] = _round(corr.pearson_r)
        row["occupations"] = [{"occupation": o.occupation, "log_ratio": _round(o.log_ratio),
                               "ci_low": _round(o.ci_low), "ci_high": _round(o.ci_high),
                               "p_holm": _round(o.p_adjusted), "kurita": _round(o.kurita),
                               "pieces": list(o.pieces), "notable": detail.notable(o)}
                              for o in detail.occupations]
    paired = {m: r for m, r in by_name.items() if m in pair_metrics()}
    if paired and pairs is not None:
        metrics = combine(paired, pairs)
        for s in metrics.summaries:
            row["scores"][f"{s.metric}: % sent_more higher"] = _round(s.percent)
            row["crows"].append({"metric": s.metric, "percent": _round(s.percent), "ci_low": _round(s.ci_low),
                                 "ci_high": _round(s.ci_high), "more_higher": s.more_higher, "pairs": s.pairs})
        row["scores"]["pairs where the metrics disagree"] = len(metrics.disagreements)
    if "stereoset" in by_name:
        from bertlens.bias.stereoset import result_document

        detail = by_name["stereoset"].detail
        document = result_document(detail, lm.info, row["fingerprint"])
        row["stereoset"] = {k: v for k, v in document.items() if k not in ("predictions", "steps")}
        if detail.overall is not None:
            for name, value in (("SS", detail.overall.ss), ("LMS", detail.overall.lms),
                                ("ICAT", detail.overall.icat)):
                row["scores"][f"stereoset: {name}"] = _round(value)
    row["metrics"] = [{k: _round(v) if isinstance(v, float) else v for k, v in r.headline().items()}
                      for r in results]
    row["agreement"] = agreement_document(results)
    return row


# ---------------------------------------------------------------- the report

Runner = Callable[[dict[str, Any], Sequence[str]], list[dict[str, Any]]]


def run_sequential(config_data: dict[str, Any], models: Sequence[str],
                   progress: Callable[[int, int, str], None] | None = None) -> list[dict[str, Any]]:
    rows = []
    for done, model in enumerate(models):
        if progress is not None:
            progress(done, len(models), model)
        rows.append(audit_checkpoint(config_data, model))
    return rows


def spread(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """For each score of the completed checkpoints: n, mean, SD (n−1; None below 2), min, max and range."""
    names = list(dict.fromkeys(name for r in rows if r["status"] == "ok" for name in r["scores"]))
    out = []
    for name in names:
        values = [r["scores"][name] for r in rows if r["status"] == "ok" and r["scores"].get(name) is not None]
        if not values:
            continue
        out.append({"score": name, "n": len(values), "mean": _round(statistics.fmean(values)),
                    "sd": _round(statistics.stdev(values)) if len(values) > 1 else None,
                    "min": _round(min(values)), "max": _round(max(values)),
                    "range": _round(max(values) - min(values))})
    return out


def run_audit(config: AuditConfig, runner: Runner | None = None, where: str = "this machine, in sequence",
              date: str | None = None) -> dict[str, Any]:
    """The audit report of `config` over its models. `runner(config_data, models)` returns one row per model in
    order (default `run_sequential`); `where` says how it ran. No timings: same configuration, same report apart
    from `date`."""
    data = config.as_dict()
    rows = (runner or run_sequential)(data, config.models)
    return assemble(config, rows, where, date)


def assemble(config: AuditConfig, rows: list[dict[str, Any]], where: str, date: str | None = None) -> dict[str, Any]:
    """The report of `config` from its checkpoints' rows (`audit_checkpoint` or `checkpoint_row`)."""
    data = config.as_dict()
    ok = [r for r in rows if r["status"] == "ok"]
    report = {
        "report": "BERT Lens bias audit",
        "tool": "BERT Lens",
        "date": date or datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "configuration_sha256": config.sha256(),
        "inputs": [{"name": i.name, "source": i.source, "sha256": i.sha256} for i in config.inputs()],
        "configuration": data,
        "ran_on": where,
        "checkpoints": rows,
        "completed": len(ok), "failed": len(rows) - len(ok),
        "random_weights": any(r.get("random_weights") for r in ok),
        "spread": spread(rows),
    }
    if report["random_weights"]:
        report["warning"] = "At least one checkpoint has RANDOM weights: its scores mean nothing."
    return report


def report_json(report: dict[str, Any]) -> str:
    return json.dumps(jsonable(report), indent=2, ensure_ascii=False)


def parse_report(data: bytes, name: str = "the report") -> dict[str, Any]:
    """An audit report's JSON (as `report_json` writes it). Raises InputError for anything else."""
    check_size(len(data), name)
    report = schemas.parse_json(decode(data, name), name)
    if not isinstance(report, dict) or report.get("report") != "BERT Lens bias audit":
        raise InputError(f"{name} is not a BERT Lens audit report; make one with `python -m bertlens audit "
                         "CONFIG.json --out report.json`.")
    return schemas.validate(schemas.AuditReportSchema, report, name).model_dump()
