"""`crows --metric ...` and `probe|crows --models A,B`: several metrics on the same pairs, two checkpoints compared
on words. The second model is loaded only when named; the memory it adds (RSS after − before) is reported."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Sequence

from bertlens.cli.common import settings_from
from bertlens.errors import InputError
from bertlens.serialize import jsonable

MAX_MODELS = 2


def model_list(args: argparse.Namespace) -> list[str | None]:
    """The checkpoints named by --models (one or two), else the one of --model / BERT_LENS_MODEL."""
    if not args.models:
        return [args.model]
    models = list(dict.fromkeys(m.strip() for m in args.models.split(",") if m.strip()))
    if not models:
        raise InputError("--models names no checkpoint; write --models A,B with hub ids or folders.")
    if len(models) > MAX_MODELS:
        raise InputError(f"--models takes at most {MAX_MODELS} checkpoints here; to audit many, use "
                         "`python -m bertlens audit CONFIG.json --models A,B,C` (optionally with --ray).")
    return models


def _load(args: argparse.Namespace, model: str | None):
    from bertlens.bias.compare import load_measured
    from bertlens.cli.common import debiased
    from bertlens.settings import Settings

    settings = settings_from(args) if model is None else Settings.from_env(model=model, device=args.device,
                                                                          dtype=args.dtype)
    lm, added = load_measured(settings)
    if lm.info.random_weights and not args.json:
        print(f"warning: {lm.info.model_id} has RANDOM weights; its outputs mean nothing.", file=sys.stderr)
    print(f"loaded {lm.info.model_id}: +{added / 2**20:,.0f} MiB resident memory", file=sys.stderr)
    return debiased(args, lm), added


def _check_json_out(args: argparse.Namespace) -> None:
    from bertlens.export import check_out_path

    if args.out and check_out_path(args.out).suffix.lower() != ".json":
        raise InputError("With --metric or --models the report is JSON: give --out a name ending in .json.")


def _emit(args: argparse.Namespace, document: dict[str, Any]) -> str:
    from bertlens.cli.common import current_transform

    if current_transform() is not None and "debias" not in document:
        document = {**document, "debias": current_transform().describe()}
    text = json.dumps(jsonable(document), indent=2, ensure_ascii=False)
    if args.out:
        from bertlens.outputs import write_atomic

        write_atomic(args.out, text)
        print(f"wrote {args.out}", file=sys.stderr)
    if args.json:
        print(text)
    return text


def memory_note(added: list[int]) -> dict[str, Any]:
    return {"rss_added_mib": [round(a / 2**20, 1) for a in added],
            "how": "resident memory (psutil RSS) after loading each model and one tiny pass, minus before"}


def chosen_options(args: argparse.Namespace, metrics: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The chosen pair metrics' options from their flags and `--set`, validated before any model loads. Raises
    SpecError or InputError naming the option."""
    from bertlens import registry
    from bertlens.cli.common import method_options

    methods = [registry.get("metric", m) for m in metrics]
    given = method_options(args, methods)
    for method in methods:
        method.spec.validate(given[method.name], where=f"'{method.name}'")
    return given


def crows_metrics(args: argparse.Namespace) -> int:
    from bertlens import registry
    from bertlens.bias import audit
    from bertlens.bias.compare import compare_crows
    from bertlens.bias.crows import load_crows
    from bertlens.bias.crows_metrics import parse_metrics, score_metrics
    from bertlens.bias.files import read_bytes
    from bertlens.bias.reports import metrics_document, sha256, stamp_metrics_document
    from bertlens.cli.common import ProgressBar

    _check_json_out(args)
    metrics = parse_metrics(args.metric or "crows")
    options = chosen_options(args, metrics)
    models = model_list(args)
    pairs = load_crows(args.file)
    digest = sha256(read_bytes(args.file))
    runs, added = [], []
    for model in models:
        lm, extra = _load(args, model)
        for metric in metrics:
            problem = registry.get("metric", metric).is_compatible(lm)
            if problem:
                raise InputError(problem)
        bar = ProgressBar(lm.info.model_id)
        try:
            result = score_metrics(lm, pairs, metrics, context=bar, options=options)
        finally:
            bar.close()
        runs.append((lm, result))
        added.append(extra)
    documents = [metrics_document(lm, result, Path(args.file).name, digest) for lm, result in runs]
    config = audit.from_files([lm.info.model_id for lm, _ in runs], metrics, {"crows_pairs": args.file},
                              options={m: o for m, o in options.items() if o}, precision=runs[0][0].info.dtype,
                              device=runs[0][0].device.type)
    for (lm, _), document in zip(runs, documents):
        stamp_metrics_document(document, config, lm, audit.stamp(config, metrics[0]))
    if len(runs) == 1:
        document = documents[0]
        document["metadata"]["memory"] = memory_note(added)
    else:
        comparison = compare_crows(runs[0][0], runs[0][1], runs[1][0], runs[1][1])
        document = {"models": documents, "comparison": comparison, "memory": memory_note(added)}
    _emit(args, document)
    if not args.json:
        for lm, result in runs:
            print_metrics(lm, result)
        if len(runs) == 2:
            print_crows_comparison(comparison, added[1])
    return 0


def print_metrics(lm, result) -> None:
    print(f"\nmodel: {lm.info.model_id} ({lm.fingerprint()})" + ("  RANDOM WEIGHTS: meaningless" if
                                                                lm.info.random_weights else ""))
    print(f"{len(result.pairs)} pairs; % of pairs where the more stereotyping sentence scores higher (50 = unbiased)")
    print(f"  {'metric':<10} {'%':>6} {'Wilson 95% CI':>16} {'k/n':>11} {'ties':>5}")
    for s in result.summaries:
        print(f"  {s.label:<10} {s.percent:6.1f} [{s.ci_low:5.1f}, {s.ci_high:5.1f}] "
              f"{f'{s.more_higher}/{s.pairs}':>11} {s.ties:>5}")
    if len(result.metrics) > 1:
        print(f"metrics disagree on {len(result.disagreements)} of {len(result.pairs)} pairs"
              + (f" (lines {', '.join(str(p.line) for p in result.disagreements[:20])}"
                 f"{', ...' if len(result.disagreements) > 20 else ''})" if result.disagreements else ""))


def print_crows_comparison(comparison, added: int) -> None:
    print(f"\nB − A: {comparison.b.model_id} against {comparison.a.model_id} "
          f"(the second model added {added / 2**20:,.0f} MiB resident memory)")
    for m in comparison.metrics:
        print(f"  {m.label:<10} A {m.percent_a:6.1f}  B {m.percent_b:6.1f}  B−A {m.difference:+6.1f} points; "
              f"{m.decided_differently} of {m.pairs} pairs decided differently")
        if m.paired is not None:
            print(f"  {'':<10} {m.paired.summary}")
    for note in comparison.notes:
        print(f"note: {note}")


def probe_two(args: argparse.Namespace, config, print_probe, stamp_of=None) -> int:
    """`probe --models A,B` with the probe configuration `config`, the single-model printer `print_probe` and
    `stamp_of(lm)`, each model's export stamp (input hashes, key, what ran it)."""
    from bertlens import bias
    from bertlens.bias.compare import compare_probe
    from bertlens.export import probe_json

    _check_json_out(args)
    runs, added = [], []
    for model in model_list(args):
        lm, extra = _load(args, model)
        runs.append((lm, bias.run_probe(lm, config, batch_size=args.batch_size)))
        added.append(extra)
    documents = [json.loads(probe_json(lm, result, stamp_of(lm) if stamp_of else None)) for lm, result in runs]
    comparison = compare_probe(runs[0][0], runs[0][1], runs[-1][0], runs[-1][1]) if len(runs) == 2 else None
    _emit(args, {"models": documents, "comparison": comparison, "memory": memory_note(added)})
    if not args.json:
        for lm, result in runs:
            print()
            print_probe(lm, result, args.top)
        if comparison is not None:
            print_probe_comparison(comparison, added[1])
    return 0


def print_probe_comparison(comparison, added: int) -> None:
    print(f"\nlog-ratio B − A: {comparison.b.model_id} against {comparison.a.model_id} (the second model added "
          f"{added / 2**20:,.0f} MiB resident memory); headline A {comparison.notable_a}, B {comparison.notable_b}")
    if comparison.paired is not None:
        print(f"  occupations in the headline: {comparison.paired.summary}")
    print(f"  {'occupation':<16} {'A':>8} {'B':>8} {'B−A':>8}  note")
    for r in sorted(comparison.rows, key=lambda r: (not r.comparable, -abs(r.difference) if r.comparable else 0)):
        print(f"  {r.occupation:<16} {r.log_ratio_a:8.3f} {r.log_ratio_b:8.3f} {r.difference:8.3f}  {r.reason}")
    for note in comparison.notes:
        print(f"note: {note}")
