"""Saved audits: one JSON configuration that re-runs the whole bias audit, on one checkpoint or many.

Configuration (`AuditConfig`, JSON written by `config_json`, read by `parse_config`):
  {"bertlens_audit": 1, "models": [...], "metrics": ["probe", {"name": "aul", "options": {...}}, ...],
   "precision": "float32", "device": "cpu", "seed": 0, "bootstrap": 2000, "permutations": 10000, "min_effect": 0.1,
   "chosen_pairs": [labels] | null, "debias": [{"method": "leace", "layers": [24]}, {"dir": "fits/leace"}],
   "<part>": INPUT, ...}
Each metric reads a registered kind of input (`bertlens.kinds`), and each kind names the configuration keys of its
parts: "templates", "pairs" and "occupations" for the occupation probe, "crows_pairs" for CrowS-style pairs,
"stereoset" for a StereoSet file, and so on for any kind added later. INPUT is null (the shipped file), {"text":
"..."} (inline, as the page saves it) or {"path": "file"}: a path relative to the configuration's folder that stays
inside it (no absolute path, no `~`, no `..` or symbolic link leading out; `bertlens.bias.files.inside`); a
configuration read from text without a file (an upload) takes inline texts only. A kind with no shipped file (a
StereoSet file) must be given when one of its metrics runs. A metric's options are its config spec's (one message
everywhere); the top-level seed, bootstrap, permutations and min_effect are the defaults of the options of those
names. The shape of the JSON is `bertlens.schemas.AuditConfigSchema`. Every input's bytes are hashed (SHA-256) into
the report, and so is the configuration (its canonical JSON: sorted keys, inline texts, paths resolved to their
texts' hashes).

"debias" lists debiasing transforms (`bertlens.debias`): {"method": ..., "layers": [...], "options": {...}} is fitted
on the default set for each checkpoint, {"dir": ...} is a folder written by `debias fit` (relative to the
configuration's folder, as input paths are), loaded for the checkpoint it was fitted on. Every metric runs once on
the intact model and once through each transform (`LoadedModel.with_transform`); the row gets one column per
transform (`transforms`: its name, its fit's description, its scores and headlines), and a metric a transform cannot
reach (SEAT through Self-Debias) is listed as not applicable with the reason.

The report (`run_audit`) has a row per checkpoint (`status` "ok" with its scores, or "failed" with its reason) and
the spread of each score across the checkpoints that completed (n, mean, SD, min, max, range). It holds no
timings, so two runs of one configuration differ only in `date`. `audit_checkpoint` is the unit of work: a plain
function of JSON-able arguments that loads the weights itself, so it runs alike in this process or on a Ray worker
(`bertlens.bias.cluster`). It loops over the configured metrics and their kinds: no metric has a branch here.
"""
from __future__ import annotations

import json
import math
import statistics
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from bertlens import schemas
from bertlens.bias.files import check_size, decode, inside, read_bytes
from bertlens.bias.reports import sha256
from bertlens.errors import BertLensError, InputError, first_line
from bertlens.registry import Context
from bertlens.serialize import jsonable
from bertlens.settings import DEVICES, DTYPES

FORMAT = 1
STATISTICS = ("seed", "bootstrap", "permutations", "min_effect")
"""Top-level settings of a configuration: the default of the option of that name for every metric that has one."""
MAX_MODELS = 200
DECIMALS = 10


def audit_metrics() -> tuple[str, ...]:
    """Every registered metric: each reads a registered kind of input, which an audit configuration can give."""
    from bertlens import registry

    return registry.names("metric")


def _kind_of(metric: str):
    from bertlens import kinds, registry

    return kinds.get(registry.get("metric", metric).data)


def default_metrics(given: Sequence[str] = ()) -> tuple[str, ...]:
    """The metrics an audit runs when its configuration names none: those that declare `audit_default`, whose
    input has a shipped default or is among the `given` configuration keys."""
    from bertlens import registry

    return tuple(m.name for m in registry.methods("metric") if m.audit_default
                 and all(p.key in given for p in _kind_of(m.name).required()))


@dataclass(frozen=True)
class AuditInput:
    """One input file of an audit: where it came from, its text and the SHA-256 of its bytes."""

    name: str
    source: str
    text: str
    sha256: str


@dataclass(frozen=True)
class AuditConfig:
    """An audit: models, metrics with their options, and the inputs' texts by configuration key (a part of a
    registered kind of input; a key not given is the shipped file)."""

    models: tuple[str, ...]
    metrics: tuple[str, ...] = field(default_factory=default_metrics)
    texts: Mapping[str, str] = field(default_factory=dict)
    options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    chosen_pairs: tuple[str, ...] | None = None
    seed: int = 0
    bootstrap: int = 2000
    permutations: int = 10000
    min_effect: float = 0.1
    precision: str = "float32"
    device: str = "cpu"
    thresholds: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    """Optional pass/fail bounds per metric, keyed by its registered name: {"crows": {"max": 55}}."""
    debias: tuple[Mapping[str, Any], ...] = ()
    """Debiasing transforms, each {"method", "layers", "options"} (fitted per checkpoint) or {"dir": folder}
    (resolved), as `_debias_entries` checks them."""
    sources: dict[str, str] = field(default_factory=dict, compare=False)
    digests: dict[str, str] = field(default_factory=dict, compare=False)

    def with_models(self, models: Sequence[str]) -> "AuditConfig":
        return replace(self, models=check_models(models))

    def parts(self) -> list:
        """The `bertlens.kinds.Part`s the chosen metrics read, each once, in metric order."""
        seen: dict[str, Any] = {}
        for metric in self.metrics:
            for part in _kind_of(metric).parts:
                seen.setdefault(part.key, part)
        return list(seen.values())

    def text(self, key: str) -> str | None:
        return self.texts.get(key)

    def inputs(self) -> list[AuditInput]:
        """Each input the metrics read, its text (the shipped file when not given) with its SHA-256."""
        out = []
        for part in self.parts():
            text = self.texts.get(part.key)
            if text is None and part.shipped is None:
                continue
            if text is None:
                data = read_bytes(part.shipped)
                out.append(AuditInput(part.key, f"shipped: {part.shipped.name}", decode(data, part.shipped.name),
                                      sha256(data)))
            else:
                out.append(AuditInput(part.key, self.sources.get(part.key, "inline"), text,
                                      self.digests.get(part.key) or sha256(text)))
        return out

    def metric_options(self, metric: str) -> dict[str, Any]:
        """The metric's validated options: the top-level settings it has an option for, then its own options.
        Raises SpecError or InputError naming the option."""
        from bertlens import registry

        spec = registry.get("metric", metric).spec
        given = {k: getattr(self, k) for k in STATISTICS if k in spec.names()}
        given.update(self.options.get(metric, {}))
        return spec.validate(given, where=f"'{metric}'")

    def settings(self) -> dict[str, Any]:
        """What a kind's parser may read besides texts: the chosen word pairs and the top-level statistics."""
        return {"chosen_pairs": self.chosen_pairs, **{k: getattr(self, k) for k in STATISTICS}}

    def as_dict(self) -> dict[str, Any]:
        """The configuration as saved: inputs inline (so the file is self-contained), null for a shipped file."""
        data: dict[str, Any] = {"bertlens_audit": FORMAT, "models": list(self.models),
                                "metrics": [{"name": m, "options": dict(self.options[m])} if self.options.get(m)
                                            else m for m in self.metrics]}
        data.update({k: getattr(self, k) for k in ("chosen_pairs", *STATISTICS, "precision", "device")})
        if self.thresholds:
            data["thresholds"] = {name: dict(bounds) for name, bounds in self.thresholds.items()}
        if self.debias:
            data["debias"] = [dict(entry) for entry in self.debias]
        for part in self.parts():
            text = self.texts.get(part.key)
            data[part.key] = None if text is None else {"text": text}
        return jsonable(data)

    def canonical(self) -> str:
        """The configuration with every input replaced by its SHA-256: what the configuration hash covers."""
        data = self.as_dict()
        hashes = {i.name: i.sha256 for i in self.inputs()}
        for part in self.parts():
            if part.key in hashes:
                data[part.key] = {"sha256": hashes[part.key], "shipped": data[part.key] is None}
        if "debias" in data:
            data["debias"] = [{"fit_sha256": _fit_digest(e["dir"])} if "dir" in e else e for e in data["debias"]]
        return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)

    def sha256(self) -> str:
        return sha256(self.canonical())


def stamp(config: AuditConfig, metric: str | None = None) -> dict[str, Any]:
    """What every export records: the configuration's SHA-256 and each input's, as "name (source): sha256" lines.
    `metric` keeps only the inputs that metric reads."""
    names = {p.key for p in _kind_of(metric).parts} if metric else None
    return {"configuration_sha256": config.sha256(),
            "input_sha256": [f"{i.name} ({i.source}): {i.sha256}" for i in config.inputs()
                             if names is None or i.name in names]}


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


def statistics_settings(data: Mapping[str, Any]) -> dict[str, Any]:
    """The top-level settings given (seed, bootstrap, ...), each checked by the first registered metric option of
    its name, so an audit configuration gets the same message as the command line and a link. Raises SpecError."""
    from bertlens import registry

    out = {}
    for name in STATISTICS:
        param = registry.option(name)
        if name in data and param is not None:
            out[name] = param.parse(data[name])
    return out


def _input(data: dict, name: str, folder: Path | None) -> tuple[str | None, str | None, str | None]:
    """(text, source, SHA-256 of the file's bytes) of one input; all None for the shipped file."""
    from bertlens import kinds

    value = data.get(name)
    if value is None:
        return None, None, None
    if isinstance(value, dict) and set(value) == {"text"} and isinstance(value["text"], str):
        return value["text"], "inline", None
    if isinstance(value, dict) and set(value) == {"path"} and isinstance(value["path"], str):
        if folder is None:
            raise InputError(f"'{name}' in the audit configuration names a file, but this configuration has no folder "
                             "to read it from: give the text inline, {\"text\": ...}.")
        path = inside(folder, value["path"], f"'{name}' in the audit configuration")
        kind = kinds.by_part(name)
        text, digest = kind.read(path, kind.part(name))
        return text, value["path"], digest
    raise InputError(f"'{name}' in the audit configuration must be null (the shipped file), {{\"text\": ...}} or "
                     f"{{\"path\": ...}}.")


def _metric_entries(data: dict) -> tuple[tuple[str, ...], dict[str, dict[str, Any]]]:
    """(names, options) from the configuration's "metrics": names, or {"name": ..., "options": {...}} entries."""
    known = audit_metrics()
    given_keys = [k for k in data if data.get(k) is not None]
    entries = data.get("metrics", list(default_metrics(given_keys)))
    problem = f"'metrics' must be a list of some of {', '.join(known)}, each a name or {{\"name\": ..., " \
              f"\"options\": {{...}}}}; got {entries!r}."[:400]
    if not isinstance(entries, list) or not entries:
        raise InputError(problem)
    names, options = [], {}
    for entry in entries:
        if isinstance(entry, dict) and set(entry) <= {"name", "options"} and isinstance(entry.get("name"), str) \
                and isinstance(entry.get("options", {}), dict):
            name, given = entry["name"], entry.get("options", {})
        elif isinstance(entry, str):
            name, given = entry, {}
        else:
            raise InputError(problem)
        if name not in known:
            raise InputError(problem)
        names.append(name)
        if given:
            options[name] = given
    return tuple(m for m in known if m in names), options


def parse_config(text: str, folder: Path | None = None, name: str = "the audit configuration", *,
                 resolved_fits: bool = False) -> AuditConfig:
    """Read an audit configuration's JSON text; {"path": ...} inputs and {"dir": ...} fits are read relative to
    `folder`. Checks every field, every metric's options and every input (as the command line does) before any
    model runs. `resolved_fits`: the configuration is one `as_dict` wrote, whose fit folders are already resolved
    (a checkpoint's run). Raises InputError."""
    from bertlens import kinds

    data = schemas.parse_json(text, name)
    if not isinstance(data, dict) or data.get("bertlens_audit") != FORMAT:
        raise InputError(f"{name} is not a BERT Lens audit configuration (it needs \"bertlens_audit\": {FORMAT}). "
                         "Save one from the bias page's Export tab.")
    fields = {"bertlens_audit", "models", "metrics", "chosen_pairs", "precision", "device", "sources", "thresholds",
              "debias", *STATISTICS}
    unknown = sorted(set(data) - fields - set(kinds.part_keys()))
    if unknown:
        raise InputError(f"{name} has unknown field(s): {', '.join(unknown)}.")
    schemas.validate(schemas.AuditConfigSchema, data, name)
    metrics, options = _metric_entries(data)
    models = data.get("models", [])
    if not isinstance(models, list) or not all(isinstance(m, str) for m in models):
        raise InputError("'models' must be a list of hub ids or folders.")
    if data.get("precision", "float32") not in DTYPES or data.get("device", "cpu") not in DEVICES:
        raise InputError(f"'precision' must be one of {', '.join(DTYPES)} and 'device' one of {', '.join(DEVICES)}.")
    chosen = data.get("chosen_pairs")
    if chosen is not None and (not isinstance(chosen, list) or not all(isinstance(c, str) for c in chosen)):
        raise InputError("'chosen_pairs' must be null or a list of labels such as \"he/she\".")
    texts, sources, digests = {}, {}, {}
    for key in kinds.part_keys():
        text, source, digest = _input(data, key, folder)
        if text is not None:
            texts[key] = text
        if source:
            sources[key] = source
        if digest:
            digests[key] = digest
    config = AuditConfig(
        models=check_models(models), metrics=metrics, texts=texts, options=options,
        chosen_pairs=tuple(chosen) if chosen is not None else None, **statistics_settings(data),
        precision=data.get("precision", "float32"), device=data.get("device", "cpu"), sources=sources,
        digests=digests, thresholds=_thresholds(data.get("thresholds"), name),
        debias=_debias_entries(data.get("debias"), folder, name, resolved_fits))
    check_inputs(config)
    return config


def _debias_entries(value: Any, folder: Path | None, name: str, resolved: bool = False
                    ) -> tuple[dict[str, Any], ...]:
    """Each "debias" entry checked: a method of `bertlens.debias.METHODS` with layers (numbers from 1; checked
    against each model when it is fitted) and options, or a fit folder inside the configuration's folder, which
    must hold a fit. Raises InputError."""
    from bertlens.debias import METHODS
    from bertlens.debias.store import FIT_JSON

    if value is None:
        return ()
    out = []
    for entry in value:
        entry = {k: v for k, v in entry.items() if v is not None and v != {}}
        if "dir" in entry:
            if set(entry) != {"dir"}:
                raise InputError(f"A 'debias' entry of {name} is a fit folder, {{\"dir\": ...}}, or a method to fit, "
                                 "{\"method\": ..., \"layers\": [...]}, not both.")
            if resolved:
                path = Path(entry["dir"])
            elif folder is None:
                raise InputError(f"'debias' in {name} names a fit folder, but this configuration has no folder to "
                                 "read it from: give {\"method\": ..., \"layers\": [...]} to fit it instead.")
            else:
                path = inside(folder, entry["dir"], f"'debias' in {name}")
            if not (path / FIT_JSON).is_file():
                raise InputError(f"'debias' in {name}: the folder '{entry['dir']}' holds no fit ({FIT_JSON}); write "
                                 "one with `python -m bertlens debias fit`.")
            out.append({"dir": str(path)})
            continue
        if entry.get("method") not in METHODS:
            raise InputError(f"A 'debias' entry of {name} needs \"method\": one of {', '.join(METHODS)}, or "
                             "\"dir\": a fit folder.")
        if any(layer < 1 for layer in entry.get("layers", [])):
            raise InputError(f"'debias' in {name}: layers count from 1; got {entry['layers']}.")
        out.append({"method": entry["method"], **({"layers": list(entry["layers"])} if entry.get("layers") else {}),
                    **({"options": dict(entry["options"])} if entry.get("options") else {})})
    return tuple(out)


def with_fits(config: AuditConfig, folders: Sequence[str]) -> AuditConfig:
    """`config` with the fit folders given on the command line (relative to the working folder) added to its
    "debias" list. Raises InputError for a folder without a fit."""
    added = _debias_entries([{"dir": str(Path(f).resolve())} for f in folders], None, "--debias", resolved=True)
    return replace(config, debias=tuple(config.debias) + added)


def _fit_digest(folder: str) -> str:
    """The SHA-256 of a fit folder's files (fit.json, then the tensors): what the configuration hash covers."""
    import hashlib

    from bertlens.debias.store import FIT_JSON, TENSORS

    digest = hashlib.sha256()
    for file in (FIT_JSON, TENSORS):
        path = Path(folder) / file
        if path.is_file():
            digest.update(read_bytes(path, f"the fit's '{file}'", 512 * 1024 * 1024))
    return digest.hexdigest()


def _thresholds(value: Any, name: str) -> dict[str, dict[str, float]]:
    """{"metric": {"min": x, "max": y}}: each key a registered metric's name, each bound a number. Raises
    InputError."""
    if value is None:
        return {}
    known = audit_metrics()
    if not isinstance(value, dict):
        raise InputError(f"'thresholds' in {name} must map metric names to bounds, e.g. "
                         f"{{\"{known[0]}\": {{\"max\": 55}}}}.")
    out = {}
    for metric, bounds in value.items():
        if metric not in known:
            raise InputError(f"'thresholds' in {name} names '{metric}', which is not a metric; choose among "
                             f"{', '.join(known)}.")
        if (not isinstance(bounds, dict) or not bounds or set(bounds) - {"min", "max"}
                or not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
                           for v in bounds.values())):
            raise InputError(f"'thresholds' for '{metric}' in {name} must be {{\"min\": number, \"max\": number}} "
                             "(either or both).")
        out[metric] = {k: float(v) for k, v in bounds.items()}
    return out


def from_files(models: Sequence[str], metrics: Sequence[str], files: dict[str, str | None], *,
               options: Mapping[str, Mapping[str, Any]] | None = None, **settings: Any) -> AuditConfig:
    """The configuration of a command-line run: `files` maps configuration keys (templates, pairs, occupations,
    crows_pairs, ...) to paths (None: the shipped file); the file bytes are hashed. Sources are the files' names,
    never the auditor's absolute paths. Raises InputError for an unreadable file."""
    from bertlens import kinds

    texts, sources, digests = {}, {}, {}
    for key, path in files.items():
        if path:
            kind = kinds.by_part(key)
            texts[key], digests[key] = kind.read(path, kind.part(key))
            sources[key] = Path(path).name
    return AuditConfig(models=check_models(models), metrics=tuple(metrics), texts=texts, options=dict(options or {}),
                       sources=sources, digests=digests, **settings)


def load_config(path: str | Path) -> AuditConfig:
    path = Path(path)
    data = read_bytes(path)
    return parse_config(decode(data, f"'{path.name}'"), path.resolve().parent, f"'{path.name}'")


def config_json(config: AuditConfig) -> str:
    return json.dumps(config.as_dict(), indent=2, ensure_ascii=False)


def read_inputs(config: AuditConfig) -> dict[str, Any]:
    """Each kind of input the metrics read, parsed once: kind name -> the methods' input. Raises InputError naming
    the kind."""
    out = {}
    for metric in config.metrics:
        kind = _kind_of(metric)
        if kind.name in out:
            continue
        missing = [p.key for p in kind.required() if p.key not in config.texts]
        if missing:
            raise InputError(f"The audit runs the metric '{metric}' but names no {kind.title} (none is shipped): add "
                             f"\"{missing[0]}\": {{\"path\": ...}} to the configuration.")
        texts = {p.key: config.texts.get(p.key) for p in kind.parts}
        settings = {**config.settings(), "source": f"'{Path(config.sources.get(kind.parts[0].key, 'inline')).name}'"}
        try:
            out[kind.name] = kind.parse(texts, settings)
        except InputError as exc:
            raise InputError(f"In the audit's {kind.title} ({', '.join(p.key for p in kind.parts)}): {exc}") from exc
    return out


def check_inputs(config: AuditConfig) -> None:
    """Read every input and check every metric's options. Raises InputError (or SpecError) naming the part."""
    read_inputs(config)
    for metric in config.metrics:
        config.metric_options(metric)


# ---------------------------------------------------------------- one checkpoint

def _round(value: float) -> float | None:
    return round(float(value), DECIMALS) if value is not None and math.isfinite(value) else None


def audit_checkpoint(config_data: dict[str, Any], model: str, context: Context | None = None) -> dict[str, Any]:
    """Run the audit of `config_data` (`AuditConfig.as_dict()`) on one checkpoint, loading its weights here.

    Returns the checkpoint's row (`checkpoint_row`) or {"model", "status": "failed", "reason"} when the weights are
    missing or broken or the model cannot run the audit. Never raises for a bad checkpoint. `context` receives each
    metric's per-item progress (the command line's progress bar).
    """
    from bertlens import registry
    from bertlens.model import load_model
    from bertlens.settings import Settings

    config = parse_config(json.dumps(config_data), resolved_fits=True)
    try:
        lm = load_model(Settings(model=model, device=config.device, dtype=config.precision))
        inputs = read_inputs(config)
        results = []
        for metric in config.metrics:
            method = registry.get("metric", metric)
            reason = method.is_compatible(lm)
            if reason:
                raise InputError(reason)
            results.append(method.run(lm, inputs[method.data], config.metric_options(metric), context or Context()))
        options = {m: config.metric_options(m) for m in config.metrics}
        row = checkpoint_row(model, lm, results, inputs, options, config=config)
        if config.debias:
            row["transforms"] = [transform_column(config, entry, lm, inputs, options, context)
                                 for entry in config.debias]
        return row
    except BertLensError as exc:
        return {"model": model, "status": "failed", "reason": first_line(exc)}
    except Exception as exc:  # a checkpoint that breaks the code must cost one row, not the audit
        return {"model": model, "status": "failed", "reason": f"{type(exc).__name__}: {first_line(exc)}"}


def transform_column(config: AuditConfig, entry: Mapping[str, Any], lm, inputs: Mapping[str, Any],
                     options: Mapping[str, Mapping[str, Any]], context: Context | None = None) -> dict[str, Any]:
    """One checkpoint's metrics through one "debias" entry, fitted here or loaded: {"name" (the fit's, "Debiased:
    LEACE at layer 24"), "status", "debias" (the fit's description), "scores", "metrics", "not_applicable"}, or
    {"name", "status": "failed", "reason"} when the fit cannot be made or loaded for this checkpoint (a fit of
    another model, a layer outside it)."""
    from bertlens import registry
    from bertlens.debias import NAMES
    from bertlens.debias.fit import fit as fit_transform
    from bertlens.debias.store import load as load_fit

    label = entry.get("dir") or NAMES.get(str(entry.get("method")), str(entry.get("method")))
    try:
        fit = load_fit(entry["dir"], lm) if "dir" in entry else \
            fit_transform(lm, entry["method"], entry.get("layers"), None, entry.get("options"))
    except BertLensError as exc:
        return {"name": str(label), "status": "failed", "reason": first_line(exc)}
    debiased = lm.with_transform(fit)
    results, skipped = [], {}
    for metric in config.metrics:
        method = registry.get("metric", metric)
        reason = method.is_compatible(debiased)
        if reason:
            skipped[metric] = reason
            continue
        results.append(method.run(debiased, inputs[method.data], options[metric], context or Context()))
    row = checkpoint_row(str(label), debiased, results, inputs, options, config=config)
    return {"name": fit.name, "status": "ok", "debias": fit.describe(), "scores": row["scores"],
            "metrics": row["metrics"], "not_applicable": skipped}


def checkpoint_row(model: str, lm, results: Sequence[Any], inputs: Mapping[str, Any] | None = None,
                   options: Mapping[str, Mapping[str, Any]] | None = None, *,
                   config: AuditConfig | None = None) -> dict[str, Any]:
    """A checkpoint's row from its metrics' results (`MetricResult`s) and their inputs (kind name -> input, as
    `read_inputs` gives): what `audit_checkpoint` writes and what the bias page exports from the results it has.
    {"model", "status": "ok", "fingerprint", "random_weights", "dtype", "vocab_size", "scores": {label: value},
    "metrics": [headline per metric, with the options it ran with], "agreement": metrics checked against each
    other, and each kind's and metric's own fields (`DataKind.report_fields`)}; with the configuration, each
    headline's key (`bertlens.bias.reports.complete_row`, which every route shares)."""
    from bertlens import kinds, registry
    from bertlens.bias.agreement import agreement_document
    from bertlens.bias.reports import complete_row

    row: dict[str, Any] = {"model": model, "status": "ok", "fingerprint": lm.fingerprint(),
                           "random_weights": lm.info.random_weights, "dtype": lm.info.dtype,
                           "vocab_size": lm.info.vocab_size, "scores": {}, "metrics": []}
    by_kind: dict[str, dict[str, Any]] = {}
    for r in results:
        by_kind.setdefault(registry.get("metric", r.metric).data, {})[r.metric] = r
    for kind_name, group in by_kind.items():
        fields = kinds.get(kind_name).report_fields(group, (inputs or {}).get(kind_name), lm)
        row["scores"].update({label: _round(value) if isinstance(value, float) else value
                              for label, value in fields.pop("scores", {}).items()})
        row.update(fields)
    complete_row(row, results, inputs, lm, config)
    for record in row["metrics"]:
        if options and record["metric"] in options:
            record["options"] = dict(options[record["metric"]])
    row["agreement"] = agreement_document(results)
    return row


# ---------------------------------------------------------------- the report

Runner = Callable[[dict[str, Any], Sequence[str]], list[dict[str, Any]]]


def run_sequential(config_data: dict[str, Any], models: Sequence[str],
                   progress: Callable[[int, int, str], None] | None = None,
                   context: Callable[[str], Context] | None = None) -> list[dict[str, Any]]:
    """Each checkpoint in turn; `context(model)` gives the context that follows its metrics item by item."""
    rows = []
    for done, model in enumerate(models):
        if progress is not None:
            progress(done, len(models), model)
        rows.append(audit_checkpoint(config_data, model, context(model) if context else None))
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
    """The report of `config` from its checkpoints' rows (`audit_checkpoint` or `checkpoint_row`). Inputs are
    named by source, size and SHA-256, and the configuration is recorded by reference (`canonical`), never with
    the inputs' texts; a row with a stopped metric counts as stopped, not completed; the completed checkpoints are
    compared on the same items; metrics are judged against the configuration's thresholds."""
    from bertlens.bias.compare import report_comparisons
    from bertlens.bias.reports import apply_thresholds, provenance

    ok = [r for r in rows if r["status"] == "ok"]
    stopped = [r for r in ok if r.get("stopped")]
    apply_thresholds(ok, config.thresholds)
    report = {
        "report": "BERT Lens bias audit",
        "tool": "BERT Lens",
        "date": date or datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "configuration_sha256": config.sha256(),
        "inputs": [{"name": i.name, "source": i.source, "size": len(i.text.encode("utf-8")), "sha256": i.sha256}
                   for i in config.inputs()],
        "configuration": json.loads(config.canonical()),
        "ran_on": where,
        "provenance": provenance(config.device, config.precision),
        "checkpoints": rows,
        "completed": len(ok) - len(stopped), "stopped": len(stopped), "failed": len(rows) - len(ok),
        "comparisons": report_comparisons(rows, config.bootstrap, config.seed),
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
