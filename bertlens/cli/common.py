"""What every verb of the command line shares: the model flags, loading with a random-weights warning, JSON."""
from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from bertlens.serialize import jsonable
from bertlens.settings import DEVICES, DTYPES, Settings

JSON_PROPERTIES = ("multi_piece", "p_not_next")


def common_options() -> argparse.ArgumentParser:
    """Flags every model command takes; each also reads its BERT_LENS_* environment variable."""
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument("--model", help="hub id or local folder (BERT_LENS_MODEL; default bert-large-cased)")
    parent.add_argument("--device", choices=DEVICES, help="BERT_LENS_DEVICE; default auto (cuda when present)")
    parent.add_argument("--dtype", choices=DTYPES, help="BERT_LENS_DTYPE; default auto: float32 on every device (exact)")
    parent.add_argument("--json", action="store_true", help="machine-readable output")
    return parent


def settings_from(args: argparse.Namespace) -> Settings:
    return Settings.from_env(model=args.model, device=args.device, dtype=args.dtype)


def load(args: argparse.Namespace):
    from bertlens.model import load_model

    lm = load_model(settings_from(args))
    if lm.info.random_weights and not getattr(args, "json", False):
        print("warning: this model has RANDOM weights; its outputs mean nothing.", file=sys.stderr)
    if lm.info.dtype != "float32":
        print(f"note: running in {lm.info.dtype}, a faster but approximate precision; results and decisions can "
              "differ from float32 (exact, the default).", file=sys.stderr)
    return lm


def print_json(value: Any) -> None:
    print(json.dumps(jsonable(value, JSON_PROPERTIES), indent=2, ensure_ascii=False))
