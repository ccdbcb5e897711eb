"""`python -m bertlens mediate TEXT --swap WORD=OTHER --targets T1,T2 [--top K] [--json]`: which heads carry the
effect of a word on the prediction at the [MASK] (causal mediation, `bertlens.mediation`)."""
from __future__ import annotations

import argparse
import sys
from typing import Any

from bertlens.cli.common import load, print_json
from bertlens.mediation import Mediation, mediate, prepare


def register(sub, common) -> None:
    p = sub.add_parser(
        "mediate", parents=[common],
        help="causal mediation: the total effect of a word swap on P(T1)/P(T2) at the [MASK], and the indirect "
             "effect through every head, attention layer and MLP layer",
        description="y = P(T1)/P(T2) at the [MASK]; TE = y(swapped text)/y(text) - 1; the NIE of a head is "
                    "y(text with that head's output taken from the swapped text's run)/y(text) - 1. Layers and "
                    "heads count from 1.")
    p.add_argument("text", help="a text with exactly one [MASK]")
    p.add_argument("--swap", required=True, metavar="WORD=OTHER",
                   help="replace every whole-word WORD of the text by OTHER (same number of WordPieces)")
    p.add_argument("--targets", required=True, metavar="T1,T2", help="two one-WordPiece words, e.g. she,he")
    p.add_argument("--top", type=int, default=10, help="how many top heads to list (default 10)")
    p.set_defaults(func=run)


def as_json(result: Mediation, top: int) -> dict[str, Any]:
    return {
        "numbering": "layers and heads count from 1: heads[l-1][h-1] is layer l, head h",
        "text": result.text, "counterfactual": result.counterfactual, "swap": result.swap,
        "targets": list(result.targets), "tokens": list(result.tokens),
        "counterfactual_tokens": list(result.counterfactual_tokens), "mask_position": result.mask_position,
        "p_targets": list(result.p_targets), "p_targets_counterfactual": list(result.p_targets_counterfactual),
        "y": result.y, "y_counterfactual": result.y_counterfactual,
        "total_effect": result.total_effect,
        "heads": [list(row) for row in result.heads],
        "attention_layers": list(result.attention_layers),
        "mlp_layers": list(result.mlp_layers),
        "top_heads": [{"layer": h.layer, "head": h.head, "nie": h.nie} for h in result.ranked(top)],
    }


def run(args: argparse.Namespace) -> int:
    from bertlens.errors import InputError

    if not 1 <= args.top <= 384:
        raise InputError(f"--top must be a whole number from 1 to 384; got {args.top}.")
    lm = load(args)
    prepared = prepare(lm, args.text, args.swap, args.targets)
    result = mediate(lm, args.text, args.swap, args.targets, progress=_progress_bar(), prepared=prepared)
    if args.json:
        print_json({"model": lm.info, "fingerprint": lm.fingerprint(), "random_weights": lm.info.random_weights,
                    **as_json(result, args.top)})
        return 0
    t1, t2 = result.targets
    print(f"model: {lm.info.model_id}" + ("  RANDOM WEIGHTS: these effects mean nothing" if lm.info.random_weights
                                         else ""))
    print(f"text:           {result.text}")
    print(f"counterfactual: {result.counterfactual}   (swap {result.swap})")
    print(f"y = P({t1})/P({t2}) at the mask: {result.y:.4g} (P = {result.p_targets[0]:.3g} / "
          f"{result.p_targets[1]:.3g}); counterfactual {result.y_counterfactual:.4g}")
    print(f"total_effect: TE = y(x')/y(x) - 1 = {result.total_effect:+.4f}")
    print(f"\ntop heads (NIE in the direction of the total effect; layer.head from 1):")
    for h in result.ranked(args.top):
        print(f"  {h.layer:>2}.{h.head:<2}  NIE {h.nie:+.4f}")
    print("\nlayer  attention      MLP")
    for layer, (a, m) in enumerate(zip(result.attention_layers, result.mlp_layers), 1):
        print(f"  {layer:>2}   {a:+9.4f}  {m:+9.4f}")
    print("\nA head's natural indirect effect: how much y moves when only that head sees the swapped text.")
    return 0


def _progress_bar():
    if not sys.stderr.isatty():
        return None

    def show(done: float, total: float, message: str = "") -> None:
        width = 30
        filled = int(width * done / total) if total else width
        sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {message[:50]:<50}")
        if done >= total:
            sys.stderr.write("\n")
        sys.stderr.flush()
    return show
