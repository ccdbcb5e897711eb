from __future__ import annotations

import argparse
import sys

from bertlens.errors import WeightsUnavailable
from bertlens.model import hub_reachable
from bertlens.settings import Settings

FILES = ["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "vocab.txt"]


def register(sub, common) -> None:
    p = sub.add_parser("download", help="pre-fetch the weights into the Hugging Face cache for offline use")
    p.add_argument("--model", help="hub id (default BERT_LENS_MODEL or bert-large-cased)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from huggingface_hub import snapshot_download

    model = Settings.from_env(model=args.model).model
    if not hub_reachable():
        raise WeightsUnavailable(model, "the Hugging Face hub is not reachable from this machine")
    try:
        path = snapshot_download(model, allow_patterns=FILES)
    except Exception as exc:  # the hub client raises many types; each means "not downloaded"
        raise WeightsUnavailable(model, str(exc).splitlines()[0] if str(exc) else type(exc).__name__) from exc
    print(f"Downloaded {model} to {path}", file=sys.stderr)
    return 0
