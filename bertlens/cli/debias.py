"""`debias fit`: fit a debiasing transform on sentences and save it for `--debias DIR`."""
from __future__ import annotations

import argparse

from bertlens.cli.common import load, print_json


def register(sub, common) -> None:
    from bertlens.debias import METHODS

    p = sub.add_parser("debias", help="debiasing transforms: fit one on sentences (LEACE, INLP, SentenceDebias, "
                                      "Self-Debias)")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    f = actions.add_parser("fit", parents=[common], help="fit a transform and save it to --out DIR")
    f.add_argument("--method", required=True, choices=METHODS)
    f.add_argument("--layers", metavar="L,...", help="layers (from 1) whose output is transformed; default the last")
    f.add_argument("--sentences", metavar="FILE",
                   help="a CSV with text,label (two labels) or plain lines, each doubled by its gender swap "
                        "(default: the shipped templates x word pairs)")
    f.add_argument("--n-classifiers", type=int, default=80, help="INLP: classifiers trained in turn (default 80)")
    f.add_argument("--k", type=int, default=1, help="SentenceDebias: principal directions removed (default 1)")
    f.add_argument("--out", required=True, metavar="DIR", help="folder to write fit.json and transform.safetensors")
    f.set_defaults(func=run_fit)
    e = actions.add_parser("eval", parents=[common], help="a fit's effect on SEAT and its language-model cost")
    e.add_argument("fit", metavar="DIR", help="a folder written by debias fit")
    e.add_argument("--metrics", default="seat", help="metrics to compare before and after (so far: seat)")
    e.add_argument("--data", action="append", default=[], metavar="KIND=FILE",
                   help="an input for a metric, e.g. word_sets=sent-weat6.jsonl (default: the shipped gender tests)")
    e.add_argument("--heldout", metavar="FILE", help="plain sentences, one a line, for the language-model cost "
                                                     "(default: the shipped 40)")
    e.add_argument("--samples", type=int, default=100_000, help="SEAT's permutations (exact below)")
    e.add_argument("--seed", type=int, default=0)
    e.set_defaults(func=run_eval)


def _intact_only(args: argparse.Namespace, what: str) -> None:
    from bertlens.errors import InputError

    if args.debias:
        raise InputError(f"{what}: drop --debias.")


def run_fit(args: argparse.Namespace) -> int:
    from bertlens.debias.fit import fit, parse_layers
    from bertlens.debias.sentences import read_sentences
    from bertlens.debias.store import save

    _intact_only(args, "debias fit fits on the intact model")
    fitting = read_sentences(args.sentences) if args.sentences and args.method != "self_debias" else None
    lm = load(args)
    layers = parse_layers(args.layers, lm) if args.method != "self_debias" else ()
    options = {"n_classifiers": args.n_classifiers} if args.method == "inlp" else \
        {"k": args.k} if args.method == "sentence_debias" else {}
    result = fit(lm, args.method, layers, fitting, options)
    folder = save(result, args.out)
    if args.json:
        print_json({**result.describe(), "random_weights": lm.info.random_weights, "out": str(folder)})
        return 0
    print(f"model: {lm.info.model_id} ({lm.fingerprint()})" + ("  RANDOM WEIGHTS: meaningless" if
                                                              lm.info.random_weights else ""))
    print(result.name)
    if result.sentences:
        print(f"fitted on {result.sentences} sentences from {result.extra.get('data')} (sha256 "
              f"{result.data_hash[:12]}...)")
    if result.options:
        print("options: " + ", ".join(f"{k}={v}" for k, v in result.options.items()))
    use = f"debias eval {folder}" if args.method == "self_debias" else f"--debias {folder}"
    print(f"saved to {folder} (fit.json, transform.safetensors); use it with {use}")
    return 0


EVAL_METRICS = ("seat",)


def run_eval(args: argparse.Namespace) -> int:
    from bertlens.bias import seat
    from bertlens.debias import evaluate
    from bertlens.debias.store import load as load_fit
    from bertlens.errors import InputError

    metrics = [m.strip() for m in args.metrics.split(",") if m.strip()]
    unknown = [m for m in metrics if m not in EVAL_METRICS]
    if unknown:
        raise InputError(f"debias eval compares {', '.join(EVAL_METRICS)} so far; '{unknown[0]}' with a transform is "
                         "not wired yet.")
    files = []
    for item in args.data:
        key, sep, path = item.partition("=")
        if key != "word_sets" or not sep or not path:
            raise InputError(f"--data takes word_sets=FILE; got {item[:80]!r}.")
        files.append(path)
    tests = [t for path in files for t in seat.read_word_sets(path)] if files else seat.shipped_gender_tests()
    heldout = evaluate.read_heldout(args.heldout)
    if not 2 <= args.samples <= 1_000_000:
        raise InputError("--samples must be from 2 to 1,000,000.")
    lm = load(args)
    fit = load_fit(args.fit, lm)
    changes = evaluate.seat_change(lm, fit, tests, args.samples, args.seed) \
        if "seat" in metrics and fit.method != "self_debias" else ()
    cost = evaluate.lm_cost(lm, fit, heldout, seed=args.seed)
    document = {"model": lm.info.model_id, "fingerprint": lm.fingerprint(), "random_weights": lm.info.random_weights,
                "transform": fit.name, "debias": fit.describe(),
                "seat": {**evaluate.summary(changes), "tests": changes} if changes else None,
                "lm_cost": cost}
    if args.json:
        print_json(document)
        return 0
    print(f"model: {lm.info.model_id} ({lm.fingerprint()})" + ("  RANDOM WEIGHTS: meaningless" if
                                                              lm.info.random_weights else ""))
    print(f"transform: {fit.name}")
    if changes:
        total = evaluate.summary(changes)
        print(f"\nSEAT mean |effect size|: before {total['before']:.3f}, after {total['after']:.3f}, difference "
              f"{total['difference']:+.3f} (no interval: each test's effect size is fixed by its sets)")
        print(f"{'test':<24} {'before':>8} {'after':>8} {'p before':>9} {'p after':>9}")
        for c in changes:
            print(f"{c.test[:24]:<24} {c.before:+8.3f} {c.after:+8.3f} {c.p_before:9.3g} {c.p_after:9.3g}")
    elif fit.method == "self_debias":
        print("\nSEAT: not applicable (Self-Debias leaves the encodings SEAT reads as they are)")
    print(f"\nlanguage-model cost on {cost.sentences} held-out sentences ({cost.tokens} masked tokens):")
    print(f"  pseudo-perplexity: before {cost.pppl_before:.4g}, after {cost.pppl_after:.4g}, ratio {cost.ratio:.3f} "
          f"[{cost.ratio_low:.3f}, {cost.ratio_high:.3f}] (bootstrap 95% over sentences)")
    print(f"  top-1 fill-mask agreement with the intact model: {100 * cost.agreement:.1f}% "
          f"[{100 * cost.agreement_low:.1f}, {100 * cost.agreement_high:.1f}]")
    return 0
