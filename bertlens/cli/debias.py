"""`debias fit`: fit a debiasing transform on sentences and save it for `--debias DIR`; `debias eval`: the
registered bias metrics on the intact model and through the fit, with the difference and the language-model cost."""
from __future__ import annotations

import argparse
from typing import Any

from bertlens.cli.common import ProgressBar, load, print_json
from bertlens.errors import InputError


def register(sub, common) -> None:
    from bertlens.debias import METHODS

    p = sub.add_parser("debias", help="debiasing transforms: fit one on sentences (LEACE, INLP, SentenceDebias, "
                                      "Self-Debias)")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    f = actions.add_parser("fit", parents=[common], help="fit a transform and save it to --out DIR")
    f.add_argument("--method", required=True, choices=METHODS)
    f.add_argument("--layers", metavar="L,...", help="layers (from 1) whose output is transformed; default the last")
    f.add_argument("--sentences", metavar="FILE",
                   help="a CSV with text,label (two labels) or plain lines, each doubled by its gender swap "
                        "(default: the shipped templates x word pairs)")
    f.add_argument("--n-classifiers", type=int, default=80, help="INLP: classifiers trained in turn (default 80)")
    f.add_argument("--k", type=int, default=1, help="SentenceDebias: principal directions removed (default 1)")
    f.add_argument("--out", required=True, metavar="DIR", help="folder to write fit.json and transform.safetensors")
    f.set_defaults(func=run_fit)
    e = actions.add_parser("eval", parents=[common],
                           help="bias metrics before and after a fit, with the difference and the language-model cost")
    e.add_argument("fit", metavar="DIR", help="a folder written by debias fit")
    e.add_argument("--metrics", default=",".join(EVAL_METRICS),
                   help="registered metrics compared before and after, comma-separated (default "
                        f"{','.join(EVAL_METRICS)}; stereoset too when --data stereoset=FILE is given)")
    e.add_argument("--data", action="append", default=[], metavar="KIND=FILE",
                   help="an input for a metric (KIND: a kind of input or one of its parts, e.g. word_sets=F, "
                        "crows_pairs=F, stereoset=dev.json, templates=F); default: each kind's shipped data")
    e.add_argument("--pairs", type=int, metavar="N",
                   help="score only the first N CrowS pairs (a quicker look; the output says so)")
    e.add_argument("--heldout", metavar="FILE", help="plain sentences, one a line, for the language-model cost "
                                                     "(default: the shipped 40)")
    e.add_argument("--samples", type=int, default=100_000, help="SEAT's permutations (exact below)")
    e.add_argument("--seed", type=int, default=0)
    e.set_defaults(func=run_eval)


def _intact_only(args: argparse.Namespace, what: str) -> None:
    from bertlens.errors import InputError

    if args.debias:
        raise InputError(f"{what}: drop --debias.")


def run_fit(args: argparse.Namespace) -> int:
    from bertlens.debias.fit import fit, parse_layers
    from bertlens.debias.sentences import read_sentences
    from bertlens.debias.store import save

    _intact_only(args, "debias fit fits on the intact model")
    fitting = read_sentences(args.sentences) if args.sentences and args.method != "self_debias" else None
    lm = load(args)
    layers = parse_layers(args.layers, lm) if args.method != "self_debias" else ()
    options = {"n_classifiers": args.n_classifiers} if args.method == "inlp" else \
        {"k": args.k} if args.method == "sentence_debias" else {}
    result = fit(lm, args.method, layers, fitting, options)
    folder = save(result, args.out)
    if args.json:
        print_json({**result.describe(), "random_weights": lm.info.random_weights, "out": str(folder)})
        return 0
    print(f"model: {lm.info.model_id} ({lm.fingerprint()})" + ("  RANDOM WEIGHTS: meaningless" if
                                                              lm.info.random_weights else ""))
    print(result.name)
    if result.sentences:
        print(f"fitted on {result.sentences} sentences from {result.extra.get('data')} (sha256 "
              f"{result.data_hash[:12]}...)")
    if result.options:
        print("options: " + ", ".join(f"{k}={v}" for k, v in result.options.items()))
    use = f"debias eval {folder}" if args.method == "self_debias" else f"--debias {folder}"
    print(f"saved to {folder} (fit.json, transform.safetensors); use it with {use}")
    return 0


def metric_inputs(names: list[str], data: list[str], pairs: int | None) -> dict[str, Any]:
    """Each metric's parsed input: its kind's shipped data unless `--data` gives a file for it (or a part of it).
    Raises InputError for an unknown metric, a --data key no chosen metric reads, or a kind with no shipped data."""
    from bertlens import kinds, registry
    from bertlens.cli.run import read_data

    known = registry.names("metric")
    unknown = [n for n in names if n not in known]
    if unknown:
        raise InputError(f"Unknown metric '{unknown[0]}'; choose from {', '.join(known)}.")
    methods = [registry.get("metric", n) for n in names]
    chosen = {m.data: kinds.get(m.data) for m in methods if m.data}
    given: dict[str, list[str]] = {}
    for item in data:
        key, sep, path = item.partition("=")
        kind = next((k for k in chosen.values() if key == k.name or key in [p.key for p in k.parts]), None)
        if not sep or not path or kind is None:
            reads = ", ".join(sorted({p.key for k in chosen.values() for p in k.parts}))
            raise InputError(f"--data takes KIND=FILE for a chosen metric's input ({reads}); got {item[:80]!r}.")
        given.setdefault(kind.name, []).append(item)
    out = {}
    for method in methods:
        kind = chosen[method.data]
        texts, sources = read_data(kind, given.get(kind.name, []), None)
        missing = [p.key for p in kind.required() if p.key not in texts]
        if missing:
            raise InputError(f"'{method.name}' reads {kind.title}, which is not shipped: give --data "
                             f"{missing[0]}=FILE.")
        named = [sources[p.key].split(": ")[0] for p in kind.parts if p.key in sources]
        parsed = kind.parse(texts, {"source": f"'{named[0]}'" if named else "the input"})
        if method.data == "crows_pairs" and pairs is not None:
            parsed = list(parsed)[:pairs]
        out[method.name] = parsed
    return out


EVAL_METRICS = ("seat", "crows", "probe", "pronouns")


def run_eval(args: argparse.Namespace) -> int:
    from bertlens import registry
    from bertlens.debias import evaluate
    from bertlens.debias.store import load as load_fit

    _intact_only(args, "debias eval compares the intact model with the fit of DIR")
    names = list(dict.fromkeys(m.strip() for m in args.metrics.split(",") if m.strip()))
    if any(item.partition("=")[0] in ("stereoset", "stereoset_file") for item in args.data) and \
            "stereoset" not in names and args.metrics == ",".join(EVAL_METRICS):
        names.append("stereoset")
    if not names:
        raise InputError("--metrics names no metric.")
    if args.pairs is not None and args.pairs < 1:
        raise InputError("--pairs must be at least 1.")
    if not 2 <= args.samples <= 1_000_000:
        raise InputError("--samples must be from 2 to 1,000,000.")
    inputs = metric_inputs(names, args.data, args.pairs)
    heldout = evaluate.read_heldout(args.heldout)
    configs = {}
    for name in names:
        method = registry.get("metric", name)
        given = {"seed": args.seed} if "seed" in method.spec.names() else {}
        if "samples" in method.spec.names():
            given["samples"] = args.samples
        configs[name] = method.spec.validate(given, where=f"'{name}'")
    lm = load(args)
    fit = load_fit(args.fit, lm)
    changes = []
    for name in names:
        method = registry.get("metric", name)
        reason = method.is_compatible(lm)
        if reason:
            raise InputError(reason)
        bar = ProgressBar(method.title)
        try:
            changes.append(evaluate.metric_change(method, lm, fit, inputs[name], configs[name], bar))
        finally:
            bar.close()
    cost = evaluate.lm_cost(lm, fit, heldout, seed=args.seed)
    stereoset = next((c for c in changes if c.metric == "stereoset"), None)
    lms = evaluate.stereoset_lms(stereoset) if stereoset is not None else None
    seat_change = next((c for c in changes if c.metric == "seat" and not c.reason), None)
    document = {"model": lm.info.model_id, "fingerprint": lm.fingerprint(), "random_weights": lm.info.random_weights,
                "transform": fit.name, "debias": fit.describe(),
                "crows_pairs": args.pairs, "metrics": [c.as_dict() for c in changes],
                "seat": _seat_tests(seat_change) if seat_change else None,
                "lm_cost": {**cost.__dict__, "stereoset_lms": lms}}
    if args.json:
        print_json(document)
        return 0
    print(f"model: {lm.info.model_id} ({lm.fingerprint()})" + ("  RANDOM WEIGHTS: meaningless" if
                                                              lm.info.random_weights else ""))
    print(f"transform: {fit.name}")
    if args.pairs is not None:
        print(f"CrowS-Pairs: the first {args.pairs} pairs only (--pairs)")
    print(f"\n{'metric':<16} {'before':>26} {'after':>26} {'difference':>26}")
    for c in changes:
        if c.reason:
            print(f"{c.title[:16]:<16} not applicable: {c.reason}")
            continue
        print(f"{c.title[:16]:<16} {_cell(c.before.value, c.before.ci_low, c.before.ci_high):>26} "
              f"{_cell(c.after.value, c.after.ci_low, c.after.ci_high):>26} "
              f"{_cell(c.difference, c.ci_low, c.ci_high, sign=True):>26}  {c.before.unit}")
    for c in changes:
        if not c.reason:
            print(f"  {c.title}: before/after {c.before.interval or 'no interval'}; difference "
                  f"{c.interval or 'no interval'}")
    if seat_change is not None:
        print(f"\n{'SEAT test':<24} {'before':>8} {'after':>8} {'p before':>9} {'p after':>9}")
        for t in _seat_tests(seat_change)["tests"]:
            print(f"{t['test'][:24]:<24} {t['before']:+8.3f} {t['after']:+8.3f} {t['p_before']:9.3g} "
                  f"{t['p_after']:9.3g}")
    print(f"\nlanguage-model cost on {cost.sentences} held-out sentences ({cost.tokens} masked tokens):")
    print(f"  pseudo-perplexity: before {cost.pppl_before:.4g}, after {cost.pppl_after:.4g}, ratio {cost.ratio:.3f} "
          f"[{cost.ratio_low:.3f}, {cost.ratio_high:.3f}] (bootstrap 95% over sentences)")
    print(f"  top-1 fill-mask agreement with the intact model: {100 * cost.agreement:.1f}% "
          f"[{100 * cost.agreement_low:.1f}, {100 * cost.agreement_high:.1f}]")
    if lms is not None:
        print(f"  StereoSet LMS: before {lms['before']:.2f} [{lms['before_ci'][0]:.2f}, {lms['before_ci'][1]:.2f}], "
              f"after {lms['after']:.2f} [{lms['after_ci'][0]:.2f}, {lms['after_ci'][1]:.2f}] ({lms['interval']})")
    return 0


def _cell(value: float, low: float, high: float, sign: bool = False) -> str:
    import math

    text = f"{value:+.3f}" if sign else f"{value:.3f}"
    return text if math.isnan(low) else f"{text} [{low:.3f}, {high:.3f}]"


def _seat_tests(change) -> dict[str, Any]:
    """SEAT per test before and after, and the mean |effect size| as Meade et al. (2022) report it."""
    tests = [{"test": b.test, "before": b.effect_size, "after": a.effect_size, "p_before": b.p_value,
              "p_after": a.p_value} for b, a in zip(change.before.detail, change.after.detail)]
    return {"before": change.before.value, "after": change.after.value,
            "difference": change.after.value - change.before.value, "tests": tests}
