"""What every verb of the command line shares: the model flags, loading with a random-weights warning, JSON."""
from __future__ import annotations

import argparse
import json
import sys
from typing import Any, Sequence

from bertlens.registry import Context, Method
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


def add_method_options(parser: argparse.ArgumentParser, methods: Sequence[Method]) -> None:
    """One flag per option of each method's config spec: `--steps`, or `--METHOD-OPTION` where two methods share an
    option's name. Values are read as text and checked by the spec, so the message is the one a page and an audit
    configuration give."""
    counts: dict[str, int] = {}
    for method in methods:
        for param in method.spec.params:
            counts[param.name] = counts.get(param.name, 0) + 1
    for method in methods:
        group = parser.add_argument_group(f"{method.title} options")
        for param in method.spec.params:
            flag = param.name if counts[param.name] == 1 else f"{method.name}_{param.name}"
            group.add_argument("--" + flag.replace("_", "-"), dest=_dest(method, param.name), metavar="VALUE",
                               help=f"{param.help + '; ' if param.help else ''}{param.allowed()} "
                                    f"(default {param.default})")


def method_options(args: argparse.Namespace, methods: Sequence[Method]) -> dict[str, dict[str, Any]]:
    """The flags given for each method, as method name -> {option: text}; `Method.spec.validate` parses them."""
    out: dict[str, dict[str, Any]] = {}
    for method in methods:
        given = {p.name: getattr(args, _dest(method, p.name)) for p in method.spec.params
                 if getattr(args, _dest(method, p.name), None) is not None}
        out[method.name] = given
    return out


def _dest(method: Method, option: str) -> str:
    return f"option__{method.name}__{option}"


class ProgressBar(Context):
    """The command line's side of a job: the same `Method.run`, in the foreground, with a progress bar on stderr
    (shown only on a terminal)."""

    def __init__(self, title: str) -> None:
        self.title = title
        self.bar = None

    def progress(self, done: float, total: float, message: str = "") -> None:
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(total=total, desc=self.title, file=sys.stderr, disable=None, leave=False)
        self.bar.total = total
        self.bar.n = done
        self.bar.set_postfix_str(message[:40], refresh=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
