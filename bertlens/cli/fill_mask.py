from __future__ import annotations

import argparse

from bertlens.cli.common import load, print_json
from bertlens.fill_mask import Filters, analyse_masked, check_top_k, postprocess, score_words, switch_heads_off
from bertlens.interventions import parse_heads
from bertlens.numbers import probability


def register(sub, common) -> None:
    p = sub.add_parser("fill-mask", parents=[common], help="predict the [MASK] tokens of a text")
    p.add_argument("text")
    p.add_argument("--top-k", type=int, default=5)
    p.add_argument("--targets", help="comma-separated words to score at the mask (several WordPieces are chained)")
    p.add_argument("--show-special", action="store_true", help="rank special tokens too, as transformers does")
    p.add_argument("--ablate", metavar="L.H[,L.H...]",
                   help="switch these heads off (layers and heads from 1) and show the predictions beside the "
                        "intact model's")
    p.set_defaults(func=run, debias_takes=("projection", "self_debias"))


def run(args: argparse.Namespace) -> int:
    lm = load(args)
    check_top_k(args.top_k)
    if args.ablate is not None:
        return run_switched_off(lm, args, parse_heads(args.ablate, lm.info.layers, lm.info.heads))
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


def run_switched_off(lm, args: argparse.Namespace, heads: tuple[tuple[int, int], ...]) -> int:
    """`fill-mask --ablate`: the predictions with `heads` switched off, beside the intact model's."""
    targets = args.targets.split(",") if args.targets else None
    result = switch_heads_off(lm, args.text, heads, args.top_k, Filters(special=not args.show_special), targets)
    if args.json:
        print_json({"model": lm.info, "ablated": [{"layer": l, "head": h} for l, h in result.heads],
                    "before": result.before, "after": result.after, "targets": result.targets})
        return 0
    print("switched off (layer.head, from 1): " + ", ".join(f"{l}.{h}" for l, h in result.heads))
    print(f"completed, intact:        {result.before.completed}")
    print(f"completed, heads off:     {result.after.completed}")
    for before, after in zip(result.before.masks, result.after.masks):
        print(f"\n[MASK] #{before.mask_index + 1} (token position {before.position})")
        print(f"  {'':>3} {'intact':<20} {'p':>8}   {'heads off':<20} {'p':>8}")
        for rank in range(max(len(before.candidates), len(after.candidates))):
            a = before.candidates[rank] if rank < len(before.candidates) else None
            b = after.candidates[rank] if rank < len(after.candidates) else None
            left = f"{a.token:<20} {probability(a.probability):>8}" if a else " " * 29
            right = f"{b.token:<20} {probability(b.probability):>8}" if b else ""
            print(f"  {rank + 1:>2}. {left}   {right}")
    if result.targets:
        print("\ntargets: intact -> heads off")
        for t in result.targets:
            after = "n/a (several pieces: scored intact only)" if t.after_probability is None else \
                f"p={probability(t.after_probability)} rank={t.after_rank}"
            print(f"  {t.word:<20} p={probability(t.before.probability)} -> {after}")
    return 0
