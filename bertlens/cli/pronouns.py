"""`pronouns`: the Winogender-style pronoun probe, P(he), P(she), P(they) at a masked pronoun per occupation."""
from __future__ import annotations

import argparse

from bertlens.cli.common import load, print_json
from bertlens.numbers import significant


def register(sub, common) -> None:
    p = sub.add_parser("pronouns", parents=[common], help="pronoun probe: P(he), P(she), P(they) per occupation")
    p.add_argument("--templates", help="templates file, one per line with {occupation} and [MASK] (the pronoun)")
    p.add_argument("--occupations", help="occupations CSV: occupation[,article,pct_women,year,source]")
    p.add_argument("--bootstrap", type=int, default=2000, help="bootstrap resamples for the skew's 95%% CI")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=run, debias_takes=("projection", "self_debias"))


def run(args: argparse.Namespace) -> int:
    from bertlens.bias.occupations import load_occupations
    from bertlens.bias.pronouns import load_pronoun_templates, run_pronoun_probe

    templates = load_pronoun_templates(args.templates)
    occupations = load_occupations(args.occupations)
    lm = load(args)
    result = run_pronoun_probe(lm, templates, occupations, bootstrap=args.bootstrap, seed=args.seed)
    if args.json:
        print_json({"model": lm.info.model_id, "fingerprint": lm.fingerprint(),
                    "random_weights": lm.info.random_weights, "result": result})
        return 0
    print(f"model: {lm.info.model_id} ({lm.fingerprint()})" + ("  RANDOM WEIGHTS: meaningless" if
                                                              lm.info.random_weights else ""))
    print(f"{len(result.occupations)} occupations x {len(result.templates)} templates: {result.rows} sentences in "
          f"one batched call, {result.seconds:.1f}s")
    print("P: mean over templates; skew = mean log P(she) - log P(he), > 0 leans female; 95% CI: bootstrap over "
          "templates")
    print(f"\n{'occupation':<18} {'% women':>8} {'P(he)':>8} {'P(she)':>8} {'P(they)':>8} {'skew':>7} {'95% CI':>17}")
    for o in sorted(result.occupations, key=lambda o: o.skew):
        share = f"{o.pct_women:.1f}" if o.pct_women is not None else "n/a"
        print(f"{o.occupation:<18} {share:>8} {o.p_he:8.3g} {o.p_she:8.3g} {o.p_they:8.3g} {o.skew:+7.3f} "
              f"[{o.ci_low:+6.2f}, {o.ci_high:+6.2f}]")
    c = result.correlation
    if c is None:
        print("\nskew vs BLS % women: too few occupations with a share to correlate")
    else:
        print(f"\nskew vs BLS % women (n={c.n}): Pearson r={c.pearson_r:.3f} (p={significant(c.pearson_p)}), Spearman "
              f"rho={c.spearman_rho:.3f} (p={significant(c.spearman_p)}), fit {c.slope:.4f} x % + {c.intercept:.3f}")
    print("% women: US Bureau of Labor Statistics (CPS); per-row sources and years in --json.")
    return 0
