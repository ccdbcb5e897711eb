"""`python -m bertlens ...`: the same core as the pages, for scripted audits. One module per verb.

Exit codes: 0 success, 2 bad input, 3 weights unavailable, 4 broken model folder or missing head, 1 an unexpected
failure (one line on stderr; BERT_LENS_DEBUG=1 shows the traceback). No traceback reaches a user otherwise.

Every file a verb reads is a regular file of at most 5 MB (the app's upload limit); `--max-file-mb N` raises that
for one run.
"""
from __future__ import annotations

import argparse
import os
import sys

from bertlens.cli import (attention, audit, bench, bias, counterfactual, debias, download, embed, explain, fill_mask,
                          info, mediate, methods, nsp, pronouns, random_model, run, seat, stereoset)
from bertlens.cli.common import common_options, forget_transform
from bertlens.errors import BertLensError, InputError, WeightsUnavailable
from bertlens.settings import check_environment
from bertlens.text import visible

MAX_FILE_MB = 4096

VERBS = (fill_mask, nsp, download, info, attention, explain, mediate, bias, counterfactual, pronouns, stereoset, audit,
         methods, run, bench, random_model, seat, debias, embed)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bertlens", description="Look inside bert-large-cased.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    common = common_options()
    for verb in VERBS:
        verb.register(sub, common)
    for verb_parser in sub.choices.values():
        verb_parser.add_argument("--max-file-mb", type=int, default=None, metavar="MB",
                                 help="the most megabytes one input file may have (default 5, the app's upload "
                                      "limit)")
    return parser


def _file_limit(args: argparse.Namespace) -> int | None:
    mb = getattr(args, "max_file_mb", None)
    if mb is None:
        return None
    if not 1 <= mb <= MAX_FILE_MB:
        raise InputError(f"--max-file-mb must be from 1 to {MAX_FILE_MB}; got {mb}.")
    return mb * 1024 * 1024


def main(argv: list[str] | None = None) -> int:
    from bertlens.bias.files import file_limit

    args = build_parser().parse_args(argv)
    forget_transform()
    try:
        check_environment()
        with file_limit(_file_limit(args)):
            return int(args.func(args) or 0)
    except WeightsUnavailable as exc:
        print(str(exc), file=sys.stderr)
        return 3
    except InputError as exc:
        print(f"error: {visible(str(exc), keep=chr(10))}", file=sys.stderr)
        return 2
    except BertLensError as exc:
        print(f"error: {visible(str(exc), keep=chr(10))}", file=sys.stderr)
        return 4
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except (RecursionError, MemoryError) as exc:
        print(f"error: the input is too large or too deeply nested to process ({type(exc).__name__}).",
              file=sys.stderr)
        return 2
    except Exception as exc:  # the last line of defence: one line, never a traceback (unless asked for)
        if os.environ.get("BERT_LENS_DEBUG"):
            raise
        lines = str(exc).strip().splitlines()
        print(f"error: an unexpected failure: {type(exc).__name__}: {lines[0] if lines else ''} "
              "(BERT_LENS_DEBUG=1 shows the details; please report it).", file=sys.stderr)
        return 1
