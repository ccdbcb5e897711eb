"""`seat`: SEAT's sentence-encoder association tests (May et al. 2019), as bias-bench computes them."""
from __future__ import annotations

import argparse

from bertlens.cli.common import load, print_json
from bertlens.numbers import significant


def register(sub, common) -> None:
    p = sub.add_parser("seat", parents=[common], help="SEAT association tests on word-set files (default: the six "
                                                     "shipped gender tests, WEAT 6-8 in sentences)")
    p.add_argument("files", nargs="*", metavar="FILE",
                   help="SEAT test files: targ1, targ2, attr1, attr2, each {\"category\", \"examples\"} (one JSON "
                        "object, or one a line)")
    p.add_argument("--samples", type=int, default=100_000,
                   help="permutations sampled for the p-value when there are more (exact below; default 100000)")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from bertlens.bias import seat
    from bertlens.errors import InputError

    tests = [t for path in args.files for t in seat.read_word_sets(path)] if args.files else seat.shipped_tests()
    if not 2 <= args.samples <= 1_000_000:
        raise InputError("--samples must be from 2 to 1,000,000.")
    lm = load(args)
    results = seat.run(lm, tests, n_samples=args.samples, seed=args.seed)
    transform = lm.transform_name or "intact"
    if args.json:
        print_json({"model": lm.info.model_id, "fingerprint": lm.fingerprint(),
                    "random_weights": lm.info.random_weights, "transform": transform,
                    "debias": lm.transform.describe() if lm.transform is not None else None,
                    "mean_abs_effect_size": seat.mean_absolute_effect(results),
                    "tests": [r.as_dict() for r in results]})
        return 0
    print(f"model: {lm.info.model_id} ({lm.fingerprint()})" + ("  RANDOM WEIGHTS: meaningless" if
                                                              lm.info.random_weights else ""))
    if lm.transform is None:
        print("transform: intact")
    print("effect size: (mean s(X) - mean s(Y)) / std s(X u Y), s(w) = mean cos(w, A) - mean cos(w, B); p: one-sided "
          "permutation test")
    print(f"\n{'test':<24} {'effect':>8} {'p':>9}  {'sizes X/Y/A/B':<18} categories")
    for r in results:
        sizes = "/".join(str(r.sizes[k]) for k in ("targ1", "targ2", "attr1", "attr2"))
        c = r.categories
        p = significant(r.p_value) + ("" if r.exact else "*")
        print(f"{r.test[:24]:<24} {r.effect_size:+8.3f} {p:>9}  {sizes:<18} "
              f"{c['targ1']}/{c['targ2']} vs {c['attr1']}/{c['attr2']}")
    print(f"\nmean |effect size|: {seat.mean_absolute_effect(results):.3f} over {len(results)} test(s)")
    if any(not r.exact for r in results):
        print(f"* p from {args.samples:,} seeded random permutations (seed {args.seed}); others exact")
    return 0

