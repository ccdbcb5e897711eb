from __future__ import annotations

import argparse

from bertlens.cli.common import load, print_json


def register(sub, common) -> None:
    p = sub.add_parser("info", parents=[common], help="load the model and print its facts")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    info = load(args).info
    if args.json:
        print_json(info)
        return 0
    for key, value in info.as_dict().items():
        print(f"{key:>15}: {value:,}" if isinstance(value, int) and not isinstance(value, bool) else
              f"{key:>15}: {value}")
    return 0
