"""`python -m bertlens attention TEXT [--pair B] [--summary] [--json]`: per-head attention statistics."""
from __future__ import annotations

import argparse
import sys

from bertlens.attention import STATISTICS, extract, head_statistics
from bertlens.cli.common import load, print_json


def register(sub, common) -> None:
    p = sub.add_parser("attention", parents=[common],
                       help="per-head attention statistics (entropy, share on [CLS]/[SEP]/self/neighbours/punctuation)")
    p.add_argument("text", help="the text (sentence A of a pair)")
    p.add_argument("--pair", help="sentence B: the input becomes [CLS] A [SEP] B [SEP]")
    p.add_argument("--summary", action="store_true",
                   help="print every head's statistics (default: the tokens and the most extreme head per statistic)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    lm = load(args)
    attention = extract(lm, args.text, args.pair)
    stats = head_statistics(attention.weights, attention.tokens)
    if attention.truncated:
        print(f"warning: the input is {attention.full_length} tokens; only the first {attention.n_tokens} were read.",
              file=sys.stderr)
    if args.json:
        print_json({"model": lm.info, "tokens": attention.tokens, "token_type_ids": attention.token_type_ids,
                    "full_length": attention.full_length, "truncated": attention.truncated,
                    "statistics": stats.rows()})
        return 0
    print(f"{attention.n_tokens} tokens: {' '.join(attention.tokens)}")
    if args.summary:
        print("\nlayer head " + " ".join(f"{name:>11}" for name in STATISTICS))
        for row in stats.rows():
            print(f"{row['layer']:>5} {row['head']:>4} " + " ".join(f"{row[name]:>11.4f}" for name in STATISTICS))
        return 0
    print("\nmost extreme head per statistic (layer, head numbered from 1):")
    for name in STATISTICS:
        table = stats.get(name)
        pick = int(table.argmin()) if name == "entropy" else int(table.argmax())
        layer, head = divmod(pick, table.shape[1])
        kind = "lowest" if name == "entropy" else "highest"
        print(f"  {name:<12} {kind}: layer {layer + 1:>2}, head {head + 1:>2} = {float(table.flatten()[pick]):.4f}")
    print("\nuse --summary for every head, --json for machine-readable output")
    return 0
