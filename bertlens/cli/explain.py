"""`python -m bertlens explain TEXT --target WORD [--contrast WORD] [--mask N] [--methods ...] [options] [--json]`.

The methods and their options come from the registry: a new explainer module adds its name to `--methods` and its
options to the flags, without editing this file.
"""
from __future__ import annotations

import argparse
import sys
from typing import Any

from bertlens import registry
from bertlens.cli.common import ProgressBar, add_method_options, load, method_options, print_json
from bertlens.explanation import Explanations, explain
from bertlens.numbers import probability
from bertlens.serialize import jsonable


def register(sub, common) -> None:
    explainers = registry.methods("explainer")
    p = sub.add_parser("explain", parents=[common],
                       help="why this prediction at a [MASK]: " + ", ".join(m.title.lower() for m in explainers))
    p.add_argument("text", help="a text with at least one [MASK]")
    p.add_argument("--target", required=True, help="the one-WordPiece word whose prediction is explained")
    p.add_argument("--contrast", help="explain logit(TARGET) - logit(CONTRAST) instead of log p(TARGET)")
    p.add_argument("--mask", type=int, default=1, help="which [MASK] of the text, counting from 1 (default 1)")
    p.add_argument("--methods", help="comma-separated, default all: " + ", ".join(m.name for m in explainers))
    p.add_argument("--no-bias", action="store_true", help="lens without the decoder bias (same as --bias false)")
    add_method_options(p, explainers)
    p.set_defaults(func=run)


def as_json(result: Explanations, model: dict[str, Any]) -> dict[str, Any]:
    """The export: the target, each method's own record under its registry name, and the comparison."""
    t = result.target
    out: dict[str, Any] = {
        "model": model,
        "target": {"text": t.text, "mask": t.mask_index + 1, "position": t.position, "word": t.word,
                   "contrast": t.contrast, "f": t.label},
    }
    for name, method_result in result.results.items():
        record = jsonable(method_result.detail) if method_result.detail is not None else {
            "tokens": list(method_result.tokens), "scores": method_result.scores}
        if isinstance(record, dict):
            record.pop("target", None)
            record["config"] = dict(result.configs[name])
        out[name] = record
    c = result.comparison
    out["comparison"] = {"words": list(c.words), "scores": dict(zip(c.methods, map(list, c.scores))),
                         "spearman": [{"a": x.a, "b": x.b, "rho": x.rho} for x in c.correlations],
                         "disagreements": list(c.disagreements)}
    return out


def run(args: argparse.Namespace) -> int:
    explainers = registry.methods("explainer")
    options = method_options(args, explainers)
    if args.no_bias:
        options.setdefault("lens", {})["bias"] = False
    lm = load(args)
    bar = ProgressBar("explain")
    try:
        result = explain(lm, args.text, args.target, args.contrast, mask_index=args.mask - 1, methods=args.methods,
                         options=options, context=bar)
    finally:
        bar.close()
    if args.json:
        print_json(as_json(result, lm.info.as_dict()))
        return 0
    t = result.target
    print(f"explained: f = {t.label} at [MASK] {t.mask_index + 1} (token {t.position})")
    lens = result.results.get("lens")
    if lens is not None:
        detail = lens.detail
        print(f"\nlogit lens ({'with' if detail.bias else 'without'} the decoder bias; the head is untrained on "
              "layers before the last):")
        print(f"{'layer':>5} {'target log p':>12} {'rank':>7} {'entropy':>8} {'KL(final||layer)':>17}  top")
        for layer in detail.layers:
            top = " ".join(f"{c.token}({probability(c.probability)})" for c in layer.top)
            print(f"{layer.layer:>5} {layer.target_log_prob:>12.3f} {layer.target_rank:>7} {layer.entropy:>8.3f} "
                  f"{layer.kl_to_final:>17.3f}  {top}")
    ig = result.results.get("integrated_gradients")
    if ig is not None:
        d = ig.detail
        print(f"\nintegrated gradients ({d.steps} steps, baseline {d.baseline}): f(input) = {d.f_input:.4f}, "
              f"f(baseline) = {d.f_baseline:.4f}, completeness gap = {d.completeness_gap:.2e}")
        if not d.complete:
            print(f"warning: the completeness gap is {d.relative_gap:.1%} of |f(input) - f(baseline)|; "
                  "use more --steps.", file=sys.stderr)
    c = result.comparison
    if c.methods:
        print(f"\n{'word':<20}" + "".join(f"{m:>24}" for m in c.methods))
        for w, word in enumerate(c.words):
            print(f"{word[:20]:<20}" + "".join(f"{c.scores[m][w]:>24.4f}" for m in range(len(c.methods))))
        print("\nSpearman rank correlations:")
        for corr in c.correlations:
            print(f"  {corr.a} ~ {corr.b}: " + ("n/a" if corr.rho is None else f"{corr.rho:.2f}"))
        for note in c.disagreements:
            print(f"  {note}")
    print("\nNo method is the truth: each answers a different question about the model.")
    return 0
