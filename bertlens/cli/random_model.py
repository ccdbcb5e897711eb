"""`python -m bertlens random-model OUT`: a model to try the app with, without the real weights."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bertlens.errors import InputError

MAX_LAYERS = 48


def register(sub, common) -> None:
    p = sub.add_parser(
        "random-model", help="write a random-weight BERT on the real vocabulary, to try the app without the weights",
        description="Writes a BertForPreTraining with random weights and bert-large-cased's own tokenizer to OUT. "
                    "Its config marks it as random, so every page of the app and every command says that its outputs "
                    "mean nothing. Start the app on it with: BERT_LENS_MODEL=OUT make run")
    p.add_argument("out", metavar="OUT", help="the folder to write (must not exist, or be empty)")
    p.add_argument("--layers", type=int, default=24, help=f"number of layers, 1 to {MAX_LAYERS} (default 24, as "
                                                          "bert-large-cased)")
    p.add_argument("--size", choices=("small", "large"), default="small",
                   help="small: 16 heads on a hidden size of 64, a few MB and fast on any CPU (default); large: "
                        "bert-large-cased's exact sizes, 1.3 GB")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from bertlens.random_model import build_random_model

    if not 1 <= args.layers <= MAX_LAYERS:
        raise InputError(f"--layers must be from 1 to {MAX_LAYERS}; got {args.layers}.")
    out = Path(args.out).expanduser()
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise InputError(f"'{out}' already exists and is not an empty folder; give a new folder.")
    size = "heads" if args.size == "small" else "large"
    folder = build_random_model(out, size=size, seed=args.seed, sharpen=args.size == "small",
                                num_hidden_layers=args.layers)
    print(f"Wrote a random-weight model to {folder}. Its outputs mean nothing; the app says so on every page.\n"
          f"Try the app with it:\n  BERT_LENS_MODEL={folder} make run", file=sys.stderr)
    return 0
