from __future__ import annotations

import argparse

from bertlens.cli.common import load, print_json
from bertlens.nsp import rank_next_sentences
from bertlens.numbers import probability


def register(sub, common) -> None:
    p = sub.add_parser("nsp", parents=[common], help="P(sentence B follows sentence A)")
    p.add_argument("a", help="sentence A")
    p.add_argument("b", nargs="+", help="sentence B; several are ranked")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    lm = load(args)
    results = rank_next_sentences(lm, args.a, args.b, sort=len(args.b) > 1)
    if args.json:
        print_json({"model": lm.info, "results": results})
        return 0
    for r in results:
        note = "  (truncated to 512 tokens)" if r.truncated else ""
        print(f"P(IsNext)={probability(r.p_is_next)}  {r.sentence_b}{note}")
    return 0
