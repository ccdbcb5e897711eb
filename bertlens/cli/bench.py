"""`python -m bertlens bench`: the benchmark, `python -m devtools.bench`, under its old name and with the same flags.

The benchmark is a dev tool of the source checkout (devtools/), not part of the shipped package, and the core never
imports it. This verb stays for the commands and scripts that already use it: it runs `python -m devtools.bench` in a
child process from the checkout beside the package, and says where the benchmark is when there is none. The flags
are declared here once (`add_arguments`), and the benchmark's own parser reuses them.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from bertlens.errors import InputError
from bertlens.settings import DEVICES

DESCRIPTION = ("Builds (once, cached) a random-weight model with bert-large-cased's architecture and real vocabulary, "
               "then times fill-mask, precisions, the bias probe, attention extraction, the result cache and model "
               "loading against transformers' pipeline on the same weights.")
SECTIONS = ("load,fill-mask,bf16,fp16,int8,graphs,profile,probe,attention,cache,concurrency,explain,mediation,audit,aul,"
            "stereoset,second-model,jobs,debias")


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The benchmark's flags, for this verb and for `python -m devtools.bench`."""
    p.add_argument("--device", choices=DEVICES, default="auto", help="default: auto (cuda when present)")
    p.add_argument("--model-size", choices=("large", "tiny"), default="large",
                   help="random model to build (tiny: a quick check of the benchmark itself)")
    p.add_argument("--model", help="benchmark this model folder instead of a random one")
    p.add_argument("--seed", type=int, default=0, help="seed of the random model")
    p.add_argument("--cache-dir", type=Path, help="where random models are kept (BERT_LENS_BENCH_CACHE)")
    p.add_argument("--repeats", type=int, default=5, help="timed rounds per comparison (median reported)")
    p.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice, one per core)")
    p.add_argument("--only", help=f"comma-separated sections: {SECTIONS}")
    p.add_argument("--write", type=Path, metavar="MARKDOWN",
                   help="store the run beside MARKDOWN (.json) and regenerate MARKDOWN, e.g. docs/benchmarks.md")
    p.add_argument("--from-json", type=Path, metavar="FILE", action="append",
                   help="do not run: take the report from FILE (a --json or --write output, e.g. from a GPU "
                        "machine); given several times, each file's sections replace the same sections of the "
                        "earlier ones, per device")
    p.add_argument("--debias-pairs", type=int, metavar="N",
                   help="debias section: the CrowS pairs `debias eval` is timed on, spread over the 1,508 synthetic "
                        "pairs and extrapolated by rows (default: all on a GPU, 48 on a CPU)")
    p.add_argument("--json", action="store_true", help="machine-readable output")


def register(sub, common) -> None:
    p = sub.add_parser(
        "bench", help="time BERT Lens against transformers on a random-weight bert-large (python -m devtools.bench; "
                      "see docs/benchmarks.md)",
        description=DESCRIPTION + " Runs python -m devtools.bench from the source checkout.")
    add_arguments(p)
    p.set_defaults(func=run)


def forwarded(args: argparse.Namespace) -> list[str]:
    """The benchmark flags set in `args` (those not at their default), as `python -m devtools.bench` takes them."""
    parser = argparse.ArgumentParser(add_help=False)
    add_arguments(parser)
    out: list[str] = []
    for action in parser._actions:
        value = getattr(args, action.dest, action.default)
        if value == action.default:
            continue
        flag = action.option_strings[0]
        if isinstance(action, argparse._StoreTrueAction):
            out.append(flag)
        elif isinstance(action, argparse._AppendAction):
            for item in value:
                out += [flag, str(item)]
        else:
            out += [flag, str(value)]
    return out


def checkout() -> Path | None:
    """The source checkout this package runs from, when it holds the benchmark (devtools/bench.py); else None."""
    root = Path(__file__).resolve().parents[2]
    return root if (root / "devtools" / "bench.py").is_file() else None


def run(args: argparse.Namespace) -> int:
    root = checkout()
    if root is None:
        raise InputError("The benchmark ships with BERT Lens's source checkout (its devtools/ folder), which is not "
                         "installed here. Run `python -m devtools.bench` from a clone of the repository.")
    path = os.environ.get("PYTHONPATH")
    env = {**os.environ, "PYTHONPATH": str(root) + (os.pathsep + path if path else "")}
    return subprocess.run([sys.executable, "-m", "devtools.bench", *forwarded(args)], env=env).returncode
