from __future__ import annotations

import argparse

from bertlens.cli.common import load, print_json
from bertlens.fill_mask import Filters, analyse_masked, check_top_k, postprocess, score_words
from bertlens.numbers import probability


def register(sub, common) -> None:
    p = sub.add_parser("fill-mask", parents=[common], help="predict the [MASK] tokens of a text")
    p.add_argument("text")
    p.add_argument("--top-k", type=int, default=5)
    p.add_argument("--targets", help="comma-separated words to score at the mask (several WordPieces are chained)")
    p.add_argument("--show-special", action="store_true", help="rank special tokens too, as transformers does")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    lm = load(args)
    check_top_k(args.top_k)
    analysis = analyse_masked(lm, args.text)
    result = postprocess(lm, analysis, top_k=args.top_k, filters=Filters(special=not args.show_special))
    targets = score_words(lm, args.text, args.targets.split(","), analysis=analysis) if args.targets else []
    if args.json:
        print_json({"model": lm.info, "result": result, "targets": targets})
        return 0
    print(f"completed: {result.completed}")
    for mask in result.masks:
        print(f"\n[MASK] #{mask.mask_index + 1} (token position {mask.position})")
        for rank, c in enumerate(mask.candidates, 1):
            print(f"  {rank:>2}. {c.token:<20} p={probability(c.probability)}  log p={c.log_probability:8.3f}  id={c.token_id}")
    if targets:
        print("\ntargets (pieces chained left to right):")
        for t in targets:
            rank = t.rank if t.rank is not None else "n/a (several pieces)"
            print(f"  {t.word:<20} {' '.join(t.pieces):<24} p={probability(t.probability)}  log p={t.log_probability:8.3f}"
                  f"  rank={rank}")
    return 0
