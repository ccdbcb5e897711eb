"""`python -m bertlens bench`: BERT Lens against transformers' own code, side by side, on a full-size random model."""
from __future__ import annotations

import argparse
import json
import logging
import shlex
import sys
from pathlib import Path

from bertlens.settings import DEVICES


def register(sub, common) -> None:
    p = sub.add_parser(
        "bench", help="time BERT Lens against transformers on a random-weight bert-large (see docs/benchmarks.md)",
        description="Builds (once, cached) a random-weight model with bert-large-cased's architecture and real "
                    "vocabulary, then times fill-mask, precisions, the bias probe, attention extraction, the result "
                    "cache and model loading against transformers' pipeline on the same weights.")
    p.add_argument("--device", choices=DEVICES, default="auto", help="default: auto (cuda when present)")
    p.add_argument("--model-size", choices=("large", "tiny"), default="large",
                   help="random model to build (tiny: a quick check of the benchmark itself)")
    p.add_argument("--model", help="benchmark this model folder instead of a random one")
    p.add_argument("--seed", type=int, default=0, help="seed of the random model")
    p.add_argument("--cache-dir", type=Path, help="where random models are kept (BERT_LENS_BENCH_CACHE)")
    p.add_argument("--repeats", type=int, default=5, help="timed rounds per comparison (median reported)")
    p.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice, one per core)")
    p.add_argument("--only", help="comma-separated sections: load,fill-mask,bf16,fp16,int8,graphs,profile,probe,attention,cache,concurrency,explain,mediation,audit,aul,stereoset,second-model,jobs")
    p.add_argument("--write", type=Path, metavar="MARKDOWN",
                   help="store the run beside MARKDOWN (.json) and regenerate MARKDOWN, e.g. docs/benchmarks.md")
    p.add_argument("--from-json", type=Path, metavar="FILE", action="append",
                   help="do not run: take the report from FILE (a --json or --write output, e.g. from a GPU "
                        "machine); given several times, each file's sections replace the same sections of the "
                        "earlier ones, per device")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=run)


def benchmark_module():
    """The benchmark (`devtools.bench`) when it is installed beside the package, as in a source checkout. The
    shipped package does not depend on it. Raises InputError when it is missing."""
    import importlib
    import importlib.util

    from bertlens.errors import InputError

    if importlib.util.find_spec("devtools") is None or importlib.util.find_spec("devtools.bench") is None:
        raise InputError("The benchmark ships with BERT Lens's source checkout (its devtools/ folder), which is not "
                         "installed here. Run it from a clone of the repository.")
    return importlib.import_module("devtools.bench")


def run(args: argparse.Namespace) -> int:
    bench = benchmark_module()

    if args.from_json:
        merged: dict[str, bench.BenchReport] = {}
        for path in args.from_json:
            data = json.loads(path.read_text())
            for item in ([data[k] for k in ("cpu", "gpu") if k in data] if "rows" not in data else [data]):
                report = bench.report_from_dict(item)
                kind = bench.device_kind(report)
                merged[kind] = bench.merge_reports(merged[kind], report) if kind in merged else report
        for report in merged.values():
            if args.write:
                bench.store(report, args.write)
    else:
        sections = bench.parse_sections(args.only)
        if args.threads:
            import torch

            torch.set_num_threads(args.threads)
        logging.basicConfig(level=logging.INFO, format="bench: %(message)s", stream=sys.stderr)
        folder = Path(args.model) if args.model else bench.model_folder(args.model_size, args.seed, args.cache_dir)
        command = "python -m bertlens bench " + " ".join(shlex.quote(a) for a in sys.argv[2:]) \
            if sys.argv[1:2] == ["bench"] else "python -m bertlens bench"
        report = bench.run_benchmark(folder, device=args.device, repeats=args.repeats, sections=sections,
                                     command=command.strip())
    if args.write:
        bench.store(report, args.write)
    if args.json:
        print(json.dumps(bench.report_dict(report), indent=2))
    else:
        print(bench.render_text(report))
    return 0
