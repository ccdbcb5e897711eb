"""`probe --paraphrases [FILE]`: the occupation probe on every paraphrase set of its templates (not a verb of its
own; `bertlens.cli.bias` hands over to `run` when the flag is given)."""
from __future__ import annotations

import argparse

from bertlens.cli.common import print_json


def run(args: argparse.Namespace, config, lm, update) -> int:
    from bertlens.bias.robustness import load_paraphrase_sets, run_robustness

    sets = load_paraphrase_sets(args.paraphrases or None)
    result = run_robustness(lm, sets, config, progress=update, batch_size=args.batch_size)
    if args.json:
        print_json({"model": lm.info.model_id, "fingerprint": lm.fingerprint(),
                    "random_weights": lm.info.random_weights, "headline": result.headline,
                    "sets": result.sets, "templates": result.templates, "spreads": result.spreads,
                    "pooled_two_level_bootstrap": {"mean_abs_log_ratio": result.mean_abs,
                                                   "mean_log_ratio": result.mean_signed,
                                                   "pearson_r": result.pearson, "resamples": result.resamples}})
        return 0
    print(f"model: {lm.info.model_id} ({lm.fingerprint()})" + ("  RANDOM WEIGHTS: meaningless" if
                                                              lm.info.random_weights else ""))
    print(f"{len(sets)} paraphrase sets, {len(result.templates)} templates: {result.rows} forward rows in "
          f"{result.seconds:.1f}s")
    print(f"headline: {result.headline}")
    print(f"\n{'set':<20} {'templates':>9} {'headline':>8} {'significant':>11} {'mean |LR|':>9} {'mean LR':>8} "
          f"{'r(BLS)':>7}")
    for s in result.sets:
        r = f"{s.pearson_r:.3f}" if s.pearson_r is not None else "n/a"
        print(f"{s.name:<20} {s.n_templates:>9} {s.notable:>8} {s.significant:>11} {s.mean_abs_log_ratio:9.3f} "
              f"{s.mean_log_ratio:+8.3f} {r:>7}")
    print(f"\nall templates pooled, 95% two-level bootstrap (occupations and templates resampled, "
          f"{result.resamples} resamples):")
    for name, i in (("mean |log-ratio|", result.mean_abs), ("mean log-ratio", result.mean_signed),
                    ("Pearson r with BLS % women", result.pearson)):
        if i is not None:
            print(f"  {name:<28} {i.estimate:+.3f}  [{i.low:+.3f}, {i.high:+.3f}]")
    print("\nper template (mean over occupations):")
    for t in result.templates:
        r = f"{t.pearson_r:+.2f}" if t.pearson_r is not None else "n/a"
        print(f"  {t.set_name:<14} {t.mean_log_ratio:+.3f}  |{t.mean_abs_log_ratio:.3f}|  r={r}  {t.template}")
    widest = sorted(result.spreads, key=lambda s: -s.set_range)[:10]
    print("\noccupations whose mean moves most between sets (set means):")
    for s in widest:
        print(f"  {s.occupation:<18} " + "  ".join(f"{m:+.3f}" for m in s.set_means)
              + f"   range {s.set_range:.3f}, across templates {s.minimum:+.3f} .. {s.maximum:+.3f}")
    return 0
