"""`python -m bertlens ...`: the same core as the pages, for scripted audits. One module per verb.

Exit codes: 0 success, 2 bad input, 3 weights unavailable, 4 broken model folder or missing head.
"""
from __future__ import annotations

import argparse
import sys

from bertlens.cli import (attention, audit, bench, bias, counterfactual, download, explain, fill_mask, info, nsp,
                          pronouns, random_model)
from bertlens.cli.common import common_options
from bertlens.errors import BertLensError, InputError, WeightsUnavailable

VERBS = (fill_mask, nsp, download, info, attention, explain, bias, counterfactual, pronouns, audit, bench, random_model)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bertlens", description="Look inside bert-large-cased.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    common = common_options()
    for verb in VERBS:
        verb.register(sub, common)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except WeightsUnavailable as exc:
        print(str(exc), file=sys.stderr)
        return 3
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except BertLensError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 4
