"""`python -m bertlens methods [--json]`: every registered explainer and metric, with what it needs and its options,
and every registered kind of input with its parts."""
from __future__ import annotations

import argparse

from bertlens import kinds, registry
from bertlens.cli.common import print_json


def register(sub, common) -> None:
    p = sub.add_parser("methods", help="list every registered explainer and bias metric with its needs and options")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    described = [m.describe() for kind in registry.KINDS for m in registry.methods(kind)]
    if args.json:
        print_json({"methods": described, "kinds": [k.describe() for k in kinds.kinds()]})
        return 0
    for kind in registry.KINDS:
        print(f"{kind}s:")
        for method in registry.methods(kind):
            data = f", reads {method.data}" if method.data else ""
            print(f"  {method.name:<22} {method.title}  (needs {', '.join(sorted(method.needs)) or 'nothing'}{data}"
                  f"{'; runs as a job in the app' if method.heavy else ''})")
            if method.summary:
                print(f"      {method.summary}")
            for param in method.spec.params:
                print(f"      --{param.name.replace('_', '-'):<16} {param.allowed()}; default {param.default}"
                      + (f" ({param.help})" if param.help else ""))
    print("kinds of input (--data KIND=FILE for `run`; configuration keys for audits):")
    for kind in kinds.kinds():
        parts = ", ".join(f"{p.key}{'' if p.shipped else ' (required)'}" for p in kind.parts)
        print(f"  {kind.name:<22} {kind.title}  (parts: {parts})")
    return 0
