from __future__ import annotations

import argparse
import sys

from bertlens.download import download
from bertlens.settings import Settings


def register(sub, common) -> None:
    p = sub.add_parser("download", help="pre-fetch the weights into the Hugging Face cache for offline use")
    p.add_argument("--model", help="hub id (default BERT_LENS_MODEL or bert-large-cased)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    model = Settings.from_env(model=args.model).model
    path = download(model)
    print(f"Downloaded {model} to {path}", file=sys.stderr)
    return 0
