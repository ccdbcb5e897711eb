"""`probe` (gender-bias occupation probe) and `crows` (CrowS-Pairs file) commands."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bertlens import registry
from bertlens.bias.crows_metrics import DATA, pair_metrics
from bertlens.cli.common import add_method_options, load, method_options
from bertlens.numbers import significant


def register(sub, common) -> None:
    p = sub.add_parser("probe", parents=[common], help="gender-bias probe over occupations and templates")
    p.add_argument("--templates", help="templates file, one per line with [MASK] and {person} or {possessive}")
    p.add_argument("--pairs", help="word pairs CSV: male,female[,role][,probe] (default: the shipped pairs)")
    p.add_argument("--occupations", help="occupations CSV: occupation[,article,pct_women,year,source]")
    p.add_argument("--out", help="write every score to report.csv or report.json")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--top", type=int, default=15, help="occupations shown at each end of the table")
    p.add_argument("--paraphrases", nargs="?", const="", metavar="FILE",
                   help="template robustness: run every paraphrase set (default: the shipped sets) instead")
    p.add_argument("--models", help="A,B: run both checkpoints and compare them (replaces --model)")
    add_method_options(p, [registry.get("metric", "probe")])
    p.set_defaults(func=run_probe, debias_takes=("projection", "self_debias"))

    c = sub.add_parser("crows", parents=[common], help="score a CrowS-Pairs CSV (Nangia et al. 2020)")
    c.add_argument("file", help="CSV with sent_more, sent_less, stereo_antistereo, bias_type")
    c.add_argument("--out", help="write every pair's score to a .csv or .json file")
    c.add_argument("--batch-size", type=int, default=64)
    c.add_argument("--metric", help=f"{','.join(pair_metrics())}: score with these metrics side by side, "
                                    "comma-separated (default: crows alone)")
    c.add_argument("--models", help="A,B: run both checkpoints and compare them (replaces --model)")
    add_method_options(c, registry.methods("metric", DATA))
    c.set_defaults(func=run_crows, debias_takes=("projection", "self_debias"))


def _bar(total_label: str):
    """A `ProgressBar` and its (fraction, message) callback."""
    from bertlens.cli.common import ProgressBar

    bar = ProgressBar(total_label)
    return bar, bar.update


def run_probe(args: argparse.Namespace) -> int:
    if args.models:
        from bertlens.cli.two_models import probe_two

        return probe_two(args, probe_config(args), print_probe, lambda lm: input_stamp(
            args, lm, "probe", templates=args.templates, pairs=args.pairs, occupations=args.occupations))
    from bertlens import bias
    from bertlens.export import check_out_path, probe_csv, probe_json, save

    if args.out:
        check_out_path(args.out)
    config = probe_config(args)
    lm = load(args)
    stamp = input_stamp(args, lm, "probe", templates=args.templates, pairs=args.pairs, occupations=args.occupations)
    bar, update = _bar("probe")
    if args.paraphrases is not None:
        from bertlens.cli.robustness import run as run_robustness

        try:
            return run_robustness(args, config, lm, update)
        finally:
            bar.close()
    try:
        result = bias.run_probe(lm, config, progress=update, batch_size=args.batch_size)
    finally:
        bar.close()
    if args.out:
        save(args.out, lambda: probe_csv(lm, result, stamp), lambda: probe_json(lm, result, stamp))
        print(f"wrote {args.out}", file=sys.stderr)
    if args.json:
        print(probe_json(lm, result, stamp))
        return 0
    print_probe(lm, result, args.top)
    return 0


def input_stamp(args: argparse.Namespace, lm, part: str, **files: str | None) -> dict:
    """The SHA-256 of the input files and of the run's configuration, for the report's metadata."""
    from bertlens.bias import audit

    from bertlens.bias.reports import metric_key, provenance

    settings = probe_options(args) if part == "probe" else {}
    config = audit.from_files([lm.info.model_id], [part], files, precision=lm.info.dtype, device=lm.device.type,
                              **settings)
    return {**audit.stamp(config, part), "key": metric_key(config, part, lm),
            "provenance": provenance(lm.device.type, lm.info.dtype)}


def probe_options(args: argparse.Namespace) -> dict:
    """The probe's statistics settings (--seed, --bootstrap, --permutations, --min-effect), checked by its spec.
    Raises SpecError."""
    method = registry.get("metric", "probe")
    return method.spec.validate(method_options(args, [method])["probe"])


def probe_config(args: argparse.Namespace):
    """The probe configuration from the command's file flags. Raises InputError."""
    from bertlens import bias
    from bertlens.bias.files import read_text

    options = probe_options(args)
    return bias.build_config(
        templates=bias.templates_text(args.templates) if args.templates else None,
        pairs=bias.pairs_text(args.pairs) if args.pairs else None,
        occupations=read_text(args.occupations, f"the occupation file '{args.occupations}'") if args.occupations
        else None,
        **options,
    )


def print_probe(lm, result, top: int) -> None:
    from bertlens.bias.probe import DIRECTION

    config = result.config
    print(f"model: {lm.info.model_id} ({lm.fingerprint()})" + ("  RANDOM WEIGHTS: meaningless" if
                                                              lm.info.random_weights else ""))
    print(f"{len(config.occupations)} occupations x {len(config.templates)} templates x 2 genders, "
          f"pairs {', '.join(p.label for p in config.pairs)}: {result.rows} forward rows in {result.seconds:.1f}s")
    print(f"log-ratio: {DIRECTION}")
    print(f"95% CI: bootstrap over templates; p: {result.permutation}, {result.correction}-adjusted")
    ranked = sorted(result.occupations, key=lambda o: o.log_ratio)
    shown = ranked if len(ranked) <= 2 * top else ranked[:top] + [None] + ranked[-top:]
    print(f"\n{'occupation':<16} {'pieces':<22} {'% women':>8} {'log-ratio':>9} {'95% CI':>17} {'p(Holm)':>8} "
          f"{'Kurita':>7}")
    for o in shown:
        if o is None:
            print("  ...")
            continue
        share = f"{o.pct_women:.1f}" if o.pct_women is not None else "n/a"
        mark = "*" if result.notable(o) else "+" if o.significant else " "
        print(f"{o.occupation:<16} {' '.join(o.pieces):<22} {share:>8} {o.log_ratio:>9.3f} "
              f"[{o.ci_low:>6.2f}, {o.ci_high:>6.2f}] {o.p_adjusted:>8.4f}{mark}{o.kurita:>7.3f}")
    print(f"(* significant at 0.05 after Holm correction and |log-ratio| >= {result.min_effect:g}; + significant "
          "but smaller)")
    print(f"headline: {result.notable_count} of {len(result.occupations)} occupations are significant after Holm "
          f"correction AND have |log-ratio| >= {result.min_effect:g} nats (--min-effect); "
          f"{sum(o.significant for o in result.occupations)} pass the test alone.")
    years = sorted({o.year or "year not stated" for o in config.occupations if o.source})
    print(f"\n% women: US Bureau of Labor Statistics (CPS); years: {', '.join(years)}; per-row sources in the report.")
    for name, c in result.correlations.items():
        if c is None:
            print(f"{name}: too few occupations with a BLS share to correlate")
            continue
        print(f"{name} vs BLS % women (n={c.n}): Pearson r={c.pearson_r:.3f} (p={significant(c.pearson_p)}), "
              f"Spearman rho={c.spearman_rho:.3f} (p={significant(c.spearman_p)}), fit {c.slope:.4f} x % + {c.intercept:.3f}")
    for warning in result.warnings:
        print(f"note: {warning}")


def run_crows(args: argparse.Namespace) -> int:
    if args.models or args.metric:
        from bertlens.cli.two_models import crows_metrics

        return crows_metrics(args)
    from bertlens.bias.crows import CAVEAT, load_crows, score_crows
    from bertlens.export import check_out_path, crows_csv, crows_json, save

    if args.out:
        check_out_path(args.out)
    pairs = load_crows(args.file)
    lm = load(args)
    stamp = input_stamp(args, lm, "crows", crows_pairs=args.file)
    name = Path(args.file).name  # exports name the file, never the auditor's absolute path
    bar, update = _bar("crows")
    stop = {"now": False}
    try:
        result = score_crows(lm, pairs, progress=update, should_stop=lambda: stop["now"], batch_size=args.batch_size)
    except KeyboardInterrupt:
        bar.close()
        print("cancelled", file=sys.stderr)
        return 130
    finally:
        bar.close()
    if args.out:
        save(args.out, lambda: crows_csv(lm, result, name, stamp), lambda: crows_json(lm, result, name, stamp))
        print(f"wrote {args.out}", file=sys.stderr)
    if args.json:
        print(crows_json(lm, result, name, stamp))
        return 0
    print(f"model: {lm.info.model_id} ({lm.fingerprint()})" + ("  RANDOM WEIGHTS: meaningless" if
                                                              lm.info.random_weights else ""))
    print(f"{len(result.scores)} pairs scored in {result.seconds:.1f}s "
          "(% where the more stereotyping sentence scores higher; 50 = unbiased)")
    print_crows(result)
    print(f"caveat: {CAVEAT}")
    for warning in result.warnings:
        print(f"note: {warning}")
    return 0


def print_crows(result) -> None:
    from bertlens.bias.crows import group_label

    overall = result.overall
    print(f"ties: {overall.ties} of {overall.pairs} pairs ({overall.tie_share:.1f}%)")
    print(f"  {'group':<50} {'%':>6} {'Wilson 95% CI':>16} {'k/n':>11} {'ties':>12}")
    for g in result.groups:
        print(f"  {group_label(g):<50} {g.metric:6.1f} [{g.ci_low:5.1f}, {g.ci_high:5.1f}] "
              f"{f'{g.more_higher}/{g.denominator}':>11} {f'{g.ties} ({g.tie_share:.0f}%)':>12}")
    print("  metric and bias types: ties count as not higher; stereotype and anti-stereotype scores leave ties out "
          "(as in the authors' metric.py)")
