"""`python -m bertlens mediate TEXT --swap WORD=OTHER --targets T1,T2 [--top K] [--json]`: which heads carry the
effect of a word on the prediction at the [MASK] (causal mediation of one sentence pair, `bertlens.mediation`).

`python -m bertlens mediate --across-templates [--templates F] [--occupations N] [--json]` runs the registered
across-templates metric (`bertlens.metrics.mediation_templates`, computed by `bertlens.bias.occupation_mediation`)
in the foreground, as the app runs it as a job. This module only reads arguments and prints."""
from __future__ import annotations

import argparse
from typing import Any

from bertlens import registry
from bertlens.cli.common import ProgressBar, add_method_options, load, method_options, print_json
from bertlens.errors import InputError
from bertlens.mediation import Mediation, mediate, parse_swap, parse_targets, prepare
from bertlens.metrics.mediation_templates import TemplateMediationMetric
from bertlens.numbers import probability

ACROSS_TEMPLATES = TemplateMediationMetric.name


def register(sub, common) -> None:
    p = sub.add_parser(
        "mediate", parents=[common],
        help="causal mediation: the total effect of a word swap on P(T1)/P(T2) at the [MASK], and the indirect "
             "effect through every head, attention layer and MLP layer",
        description="y = P(T1)/P(T2) at the [MASK]; TE = y(swapped text)/y(text) - 1; the NIE of a head is "
                    "y(text with that head's output taken from the swapped text's run)/y(text) - 1. Layers and "
                    "heads count from 1.")
    p.add_argument("text", nargs="?", help="a text with exactly one [MASK]")
    p.add_argument("--swap", metavar="WORD=OTHER",
                   help="replace every whole-word WORD of the text by OTHER (same number of WordPieces)")
    p.add_argument("--targets", metavar="T1,T2", help="two one-WordPiece words, e.g. she,he")
    p.add_argument("--top", type=int, default=10, help="how many top heads to list (default 10)")
    p.add_argument("--across-templates", action="store_true",
                   help="instead of one text: the mean effects over the pronoun probe's templates and occupations, "
                        "with bootstrap intervals over templates")
    p.add_argument("--templates", help="with --across-templates: a templates file, one per line with {occupation} "
                                       "and [MASK] (default: the pronoun probe's)")
    add_method_options(p, [registry.get("metric", ACROSS_TEMPLATES)])
    p.set_defaults(func=run, debias_takes=(),
                   debias_why="causal mediation patches activations in batched variants of one pass, which a "
                              "projection does not run with")


def as_json(result: Mediation, top: int) -> dict[str, Any]:
    return {
        "numbering": "layers and heads count from 1: heads[l-1][h-1] is layer l, head h",
        "text": result.text, "counterfactual": result.counterfactual, "swap": result.swap,
        "targets": list(result.targets), "tokens": list(result.tokens),
        "counterfactual_tokens": list(result.counterfactual_tokens), "mask_position": result.mask_position,
        "p_targets": list(result.p_targets), "p_targets_counterfactual": list(result.p_targets_counterfactual),
        "y": result.y, "y_counterfactual": result.y_counterfactual,
        "total_effect": result.total_effect,
        "heads": [list(row) for row in result.heads],
        "attention_layers": list(result.attention_layers),
        "mlp_layers": list(result.mlp_layers),
        "top_heads": [{"layer": h.layer, "head": h.head, "nie": h.nie} for h in result.ranked(top)],
    }


def run(args: argparse.Namespace) -> int:
    if not 1 <= args.top <= 384:
        raise InputError(f"--top must be a whole number from 1 to 384; got {args.top}.")
    if args.across_templates:
        return run_templates(args)
    if not args.text or not args.swap or not args.targets:
        raise InputError("Give a text with one [MASK], --swap WORD=OTHER and --targets T1,T2 (or --across-templates).")
    parse_swap(args.swap)
    parse_targets(args.targets)
    lm = load(args)
    prepared = prepare(lm, args.text, args.swap, args.targets)
    bar = ProgressBar("causal mediation")
    try:
        result = mediate(lm, args.text, args.swap, args.targets, progress=bar.progress, prepared=prepared)
    finally:
        bar.close()
    if args.json:
        print_json({"model": lm.info, "fingerprint": lm.fingerprint(), "random_weights": lm.info.random_weights,
                    **as_json(result, args.top)})
        return 0
    t1, t2 = result.targets
    print(f"model: {lm.info.model_id}" + ("  RANDOM WEIGHTS: these effects mean nothing" if lm.info.random_weights
                                         else ""))
    print(f"text:           {result.text}")
    print(f"counterfactual: {result.counterfactual}   (swap {result.swap})")
    print(f"y = P({t1})/P({t2}) at the mask: {result.y:.4g} (P = {probability(result.p_targets[0])} / "
          f"{probability(result.p_targets[1])}); counterfactual {result.y_counterfactual:.4g}")
    print(f"total_effect: TE = y(x')/y(x) - 1 = {result.total_effect:+.4f}")
    print("\ntop heads (NIE in the direction of the total effect; layer.head from 1):")
    for h in result.ranked(args.top):
        print(f"  {h.layer:>2}.{h.head:<2}  NIE {h.nie:+.4f}")
    print("\nlayer  attention      MLP")
    for layer, (a, m) in enumerate(zip(result.attention_layers, result.mlp_layers), 1):
        print(f"  {layer:>2}   {a:+9.4f}  {m:+9.4f}")
    print("\nA head's natural indirect effect: how much y moves when only that head sees the swapped text.")
    return 0


def run_templates(args: argparse.Namespace) -> int:
    """The registered across-templates metric, in the foreground with a progress bar."""
    from bertlens.bias.pronouns import load_pronoun_templates

    method = registry.get("metric", ACROSS_TEMPLATES)
    config = method.spec.validate(method_options(args, [method])[method.name], where=f"'{method.name}'")
    templates = load_pronoun_templates(args.templates) if args.templates else None
    lm = load(args)
    problem = method.is_compatible(lm)
    if problem:
        raise InputError(problem)
    bar = ProgressBar(method.title)
    try:
        result = method.run(lm, templates, config, bar)
    finally:
        bar.close()
    detail = result.detail
    if args.json:
        print_json({"model": lm.info, "fingerprint": lm.fingerprint(), "random_weights": lm.info.random_weights,
                    "numbering": "layers and heads count from 1: heads.mean[l-1][h-1] is layer l, head h",
                    "config": config, "headline": result.headline(), "detail": detail,
                    "decisions": result.decisions, "warnings": result.warnings})
        return 0
    print(f"model: {lm.info.model_id}" + ("  RANDOM WEIGHTS: these effects mean nothing" if lm.info.random_weights
                                         else ""))
    print(f"{len(detail.templates)} templates x {len(detail.occupations)} occupations ({result.n} sentence pairs); "
          "each occupation swapped for the anti-stereotypical gendered noun, y = P(anti) / P(stereotypical "
          "pronoun)")
    print(f"mean total effect: {result.value:+.4f}  95% interval [{result.ci_low:+.4f}, {result.ci_high:+.4f}] "
          f"({result.interval})")
    for warning in result.warnings:
        print(f"note: {warning}")
    print("\ntop heads (mean NIE over templates, 95% interval; layer.head from 1):")
    for h in detail.top_heads[: args.top]:
        low, high = detail.heads.low[h.layer - 1][h.head - 1], detail.heads.high[h.layer - 1][h.head - 1]
        print(f"  {h.layer:>2}.{h.head:<2}  NIE {h.nie:+.4f}  [{low:+.4f}, {high:+.4f}]")
    print("\nlayer  attention      MLP")
    for layer, (a, m) in enumerate(zip(detail.attention_layers.mean, detail.mlp_layers.mean), 1):
        print(f"  {layer:>2}   {a:+9.4f}  {m:+9.4f}")
    return 0
