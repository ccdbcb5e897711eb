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


def run_fit(args: argparse.Namespace) -> int:
    from bertlens.debias.fit import fit, parse_layers
    from bertlens.debias.sentences import read_sentences
    from bertlens.debias.store import save

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
    print(f"saved to {folder} (fit.json, transform.safetensors); use it with --debias {folder}")
    return 0
