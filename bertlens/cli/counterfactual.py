"""`counterfactual`: a sentence with one [MASK] against the same sentence with its gendered words swapped."""
from __future__ import annotations

import argparse

from bertlens.cli.common import load, print_json
from bertlens.numbers import probability, significant


def register(sub, common) -> None:
    p = sub.add_parser("counterfactual", parents=[common],
                       help="swap a sentence's gendered words and compare the predictions at its [MASK]")
    p.add_argument("text", help="a sentence with one [MASK] and at least one gendered word")
    p.add_argument("--pairs", help="swap list CSV: male,female per line (default: the shipped GN-GloVe, "
                                   "Bolukbasi et al. and SSA first-name lists)")
    p.add_argument("--top-k", type=int, default=10)
    p.set_defaults(func=run, debias_takes=("projection", "self_debias"))


def run(args: argparse.Namespace) -> int:
    from bertlens.bias.counterfactual import check_sentence, counterfactual
    from bertlens.bias.files import read_text
    from bertlens.bias.swaps import default_table, parse_swap_pairs, swap_gender
    from bertlens.fill_mask import Filters, check_top_k

    check_top_k(args.top_k)
    table = parse_swap_pairs(read_text(args.pairs, f"the swap list '{args.pairs}'"), args.pairs) if args.pairs \
        else default_table()
    swap_gender(check_sentence(args.text), table)
    lm = load(args)
    result = counterfactual(lm, args.text, table, args.top_k, Filters(punctuation=True, subwords=True))
    if args.json:
        print_json({"model": lm.info.model_id, "fingerprint": lm.fingerprint(),
                    "random_weights": lm.info.random_weights, **vars_of(result)})
        return 0
    print(f"model: {lm.info.model_id} ({lm.fingerprint()})" + ("  RANDOM WEIGHTS: meaningless" if
                                                              lm.info.random_weights else ""))
    print(f"original:       {result.original_text}")
    print(f"counterfactual: {result.counterfactual_text}")
    for s in result.swaps:
        print(f"  {s.original} -> {s.replacement}  ({s.rule})")
    print(f"\n{'rank':>4}  {'original':<20} {'p':>8}   {'counterfactual':<20} {'p':>8}")
    left, right = result.original.masks[0].candidates, result.counterfactual.masks[0].candidates
    for i in range(max(len(left), len(right))):
        a = f"{left[i].token:<20} {probability(left[i].probability):>8}" if i < len(left) else " " * 29
        b = f"{right[i].token:<20} {probability(right[i].probability):>8}" if i < len(right) else ""
        print(f"{i + 1:>4}  {a}   {b}")
    print("\nshared candidates: log P(original) - log P(counterfactual)")
    for c in result.shared:
        print(f"  {c.token:<20} {c.log_ratio:+.3f}")
    print(f"\nKL(original || counterfactual) = {significant(result.kl_original_counterfactual)} nats, "
          f"KL(counterfactual || original) = {significant(result.kl_counterfactual_original)} nats, "
          f"Jensen-Shannon = {significant(result.js_divergence)} nats (max ln 2 = 0.693)")
    print(f"swap list: {result.swap_source}")
    return 0


def vars_of(result) -> dict:
    """The JSON record: texts, swaps, each version's top-k, every candidate's log-ratio and the divergences."""
    return {
        "original_text": result.original_text, "counterfactual_text": result.counterfactual_text,
        "swaps": result.swaps, "swap_source": result.swap_source,
        "top_k": {"original": result.original.masks[0].candidates,
                  "counterfactual": result.counterfactual.masks[0].candidates},
        "candidates": result.candidates,
        "kl_original_counterfactual": result.kl_original_counterfactual,
        "kl_counterfactual_original": result.kl_counterfactual_original,
        "js_divergence": result.js_divergence,
    }
