"""`python -m bertlens explain TEXT --target WORD [--contrast WORD] [--mask N] [--steps 20] [--json]`."""
from __future__ import annotations

import argparse
import sys
from typing import Any

from bertlens.cli.common import load, print_json
from bertlens.explain import DEFAULT_STEPS, LENS_TOP_K, Explanation, explain
from bertlens.numbers import probability


def register(sub, common) -> None:
    p = sub.add_parser("explain", parents=[common],
                       help="why this prediction at a [MASK]: logit lens, integrated gradients, occlusion, "
                            "gradient x input, attention rollout")
    p.add_argument("text", help="a text with at least one [MASK]")
    p.add_argument("--target", required=True, help="the one-WordPiece word whose prediction is explained")
    p.add_argument("--contrast", help="explain logit(TARGET) - logit(CONTRAST) instead of log p(TARGET)")
    p.add_argument("--mask", type=int, default=1, help="which [MASK] of the text, counting from 1 (default 1)")
    p.add_argument("--steps", type=int, default=DEFAULT_STEPS, help="integrated-gradients steps, 1 to 300")
    p.add_argument("--baseline", choices=("mask", "pad"), default="mask",
                   help="integrated-gradients baseline: context tokens replaced by [MASK] (default) or [PAD]")
    p.add_argument("--top-k", type=int, default=5, help="lens candidates per layer (default 5)")
    p.add_argument("--no-bias", action="store_true", help="lens without the decoder bias (a word-frequency prior)")
    p.set_defaults(func=run)


def as_json(result: Explanation, model: dict[str, Any]) -> dict[str, Any]:
    """The export: the keys issue 11 lists, plus the target and the comparison."""
    t, ig = result.target, result.integrated_gradients
    return {
        "model": model,
        "target": {"text": t.text, "mask": t.mask_index + 1, "position": t.position, "word": t.word,
                   "contrast": t.contrast, "f": t.label, "lens_bias": result.lens.bias},
        "lens": [{"layer": layer.layer, "top": [{"token": c.token, "probability": c.probability} for c in layer.top],
                  "target_log_prob": layer.target_log_prob, "target_rank": layer.target_rank,
                  "contrast_log_prob": layer.contrast_log_prob, "contrast_rank": layer.contrast_rank,
                  "entropy": layer.entropy, "kl_to_final": layer.kl_to_final} for layer in result.lens.layers],
        "integrated_gradients": {"tokens": list(ig.tokens), "attributions": list(ig.attributions),
                                 "f_input": ig.f_input, "f_baseline": ig.f_baseline,
                                 "completeness_gap": ig.completeness_gap, "steps": ig.steps, "baseline": ig.baseline},
        "occlusion": {"tokens": list(result.occlusion.tokens), "delta": list(result.occlusion.delta)},
        "gradient_x_input": {"tokens": list(result.gradient_x_input.tokens),
                             "scores": list(result.gradient_x_input.scores)},
        "rollout": {"tokens": list(result.rollout.tokens), "weights": list(result.rollout.weights)},
        "comparison": {"words": list(result.comparison.words),
                       "scores": dict(zip(result.comparison.methods, map(list, result.comparison.scores))),
                       "spearman": [{"a": c.a, "b": c.b, "rho": c.rho} for c in result.comparison.correlations],
                       "disagreements": list(result.comparison.disagreements)},
    }


def run(args: argparse.Namespace) -> int:
    lm = load(args)
    result = explain(lm, args.text, args.target, args.contrast, mask_index=args.mask - 1, steps=args.steps,
                     baseline=args.baseline, top_k=args.top_k, bias=not args.no_bias)
    if args.json:
        print_json(as_json(result, lm.info.as_dict()))
        return 0
    t, ig = result.target, result.integrated_gradients
    print(f"explained: f = {t.label} at [MASK] {t.mask_index + 1} (token {t.position})")
    print(f"\nlogit lens ({'with' if result.lens.bias else 'without'} the decoder bias; the head is untrained on "
          "layers before the last):")
    print(f"{'layer':>5} {'target log p':>12} {'rank':>7} {'entropy':>8} {'KL(final||layer)':>17}  top")
    for layer in result.lens.layers:
        top = " ".join(f"{c.token}({probability(c.probability)})" for c in layer.top[:LENS_TOP_K])
        print(f"{layer.layer:>5} {layer.target_log_prob:>12.3f} {layer.target_rank:>7} {layer.entropy:>8.3f} "
              f"{layer.kl_to_final:>17.3f}  {top}")
    print(f"\nintegrated gradients ({ig.steps} steps, baseline {ig.baseline}): f(input) = {ig.f_input:.4f}, "
          f"f(baseline) = {ig.f_baseline:.4f}, completeness gap = {ig.completeness_gap:.2e}")
    if not ig.complete:
        print(f"warning: the completeness gap is {ig.relative_gap:.1%} of |f(input) - f(baseline)|; "
              "use more --steps.", file=sys.stderr)
    c = result.comparison
    print(f"\n{'word':<20}" + "".join(f"{m:>22}" for m in c.methods))
    for w, word in enumerate(c.words):
        print(f"{word[:20]:<20}" + "".join(f"{c.scores[m][w]:>22.4f}" for m in range(len(c.methods))))
    print("\nSpearman rank correlations:")
    for corr in c.correlations:
        print(f"  {corr.a} ~ {corr.b}: " + ("n/a" if corr.rho is None else f"{corr.rho:.2f}"))
    for note in c.disagreements:
        print(f"  {note}")
    print("\nNo method is the truth: each answers a different question about the model.")
    return 0
