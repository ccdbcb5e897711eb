"""`audit`: re-run a saved audit configuration, on its own models or on many (`--models`, `--models-file`), in
sequence here or fanned out over Ray (`--ray [ADDRESS]`)."""
from __future__ import annotations

import argparse
import sys

from bertlens.errors import InputError


def register(sub, common) -> None:
    a = sub.add_parser("audit", help="re-run a saved audit configuration (JSON) on one or many checkpoints")
    a.add_argument("config", help="audit configuration JSON, as saved from the bias page's Export tab")
    a.add_argument("--out", help="write the report to this .json file")
    a.add_argument("--html", help="also write the report as one self-contained .html file (prints to PDF)")
    a.add_argument("--models", help="comma-separated hub ids or folders; replaces the configuration's models")
    a.add_argument("--models-file", help="a file with one checkpoint per line ('#' comments); replaces them too")
    a.add_argument("--ray", nargs="?", const="", default=None, metavar="ADDRESS",
                   help="one Ray task per checkpoint; without ADDRESS a local cluster on 127.0.0.1 (needs ray)")
    a.add_argument("--ray-cpus", type=int, help="CPUs of the local Ray cluster (default: all)")
    a.add_argument("--json", action="store_true", help="print the report as JSON")
    a.add_argument("--debias", action="append", default=[], metavar="DIR",
                   help="also run every metric through this fit (python -m bertlens debias fit), one column beside "
                        "the intact model; repeatable, added to the configuration's \"debias\" list")
    a.set_defaults(func=run_audit)


def run_audit(args: argparse.Namespace) -> int:
    from bertlens.bias import audit
    from bertlens.bias.files import read_text
    from bertlens.export import check_out_path
    from bertlens.outputs import write_atomic

    if args.out:
        if check_out_path(args.out).suffix.lower() != ".json":
            raise InputError("The audit report is JSON: give --out a name ending in .json.")
    if args.html:
        _check_html(args.html)
    config = audit.load_config(args.config)
    if args.models and args.models_file:
        raise InputError("Give --models or --models-file, not both.")
    if args.models:
        config = config.with_models(audit.parse_models(args.models))
    elif args.models_file:
        config = config.with_models(audit.parse_models(read_text(args.models_file)))
    if args.debias:
        config = audit.with_fits(config, args.debias)
    if args.ray is not None:
        from bertlens.bias import cluster

        address = args.ray or None
        cluster.import_ray()
        runner, where = cluster.ray_runner(address, args.ray_cpus), cluster.where(address)
    else:
        from bertlens.cli.common import ProgressBar

        def runner(data, models):
            return audit.run_sequential(data, models, progress=lambda done, total, model: print(
                f"[{done + 1}/{total}] {model}", file=sys.stderr), context=ProgressBar)
        where = "this machine, in sequence"
    report = audit.run_audit(config, runner, where)
    text = audit.report_json(report)
    if args.out:
        write_atomic(args.out, text)
        print(f"wrote {args.out}", file=sys.stderr)
    if args.html:
        from bertlens import report_html

        write_atomic(args.html, report_html.render(report))
        print(f"wrote {args.html}", file=sys.stderr)
    if args.json:
        print(text)
    else:
        print_report(report)
    return 0 if report["completed"] else 4


def _check_html(path: str) -> None:
    from pathlib import Path

    from bertlens.outputs import check_output

    if Path(path).suffix.lower() not in (".html", ".htm"):
        raise InputError("--html writes an HTML file: give it a name ending in .html.")
    check_output(path, what="--html")


def print_report(report: dict) -> None:
    print(f"audit {report['configuration_sha256'][:12]} on {report['ran_on']}: {report['completed']} completed, "
          f"{report.get('stopped', 0)} stopped, {report['failed']} failed")
    for item in report["inputs"]:
        print(f"  input {item['name']:<12} {item['source']:<40.40} sha256 {item['sha256']}")
    if report.get("warning"):
        print(f"warning: {report['warning']}")
    for row in report["checkpoints"]:
        if row["status"] != "ok":
            print(f"- {row['model']}: FAILED: {row['reason']}")
            continue
        print(f"- {row['model']} ({row['fingerprint'][:23]}): {_scores(row['scores'])}")
        for column in row.get("transforms") or []:
            if column["status"] != "ok":
                print(f"  {column['name']}: FAILED: {column['reason']}")
                continue
            print(f"  {column['name']}: {_scores(column['scores'])}")
            for metric, reason in column["not_applicable"].items():
                print(f"    {metric}: not applicable: {reason}")
        for stopped in row.get("stopped") or []:
            print(f"  STOPPED: {stopped}")
        for m in row.get("metrics") or []:
            if isinstance(m.get("threshold"), dict):
                t = m["threshold"]
                verdict = {True: "pass", False: "FAIL"}.get(t.get("pass"), "not judged")
                print(f"  threshold {m.get('title') or m['metric']}: {verdict} ({t.get('rule', '')})")
    for c in report.get("comparisons") or []:
        if c.get("difference") is None:
            continue
        print(f"  {c['title']}: {c['b']} − {c['a']} {c['difference']:+.1f} points [{c['ci_low']:+.1f}, "
              f"{c['ci_high']:+.1f}], McNemar exact p = {c['p_value']:.4g} ({c['a_only']} A only, {c['b_only']} "
              f"B only, of {c['items']})")
    if report["spread"]:
        print(f"\n{'score':<52} {'n':>3} {'mean':>9} {'SD':>9} {'min':>9} {'max':>9} {'range':>9}")
        for s in report["spread"]:
            cells = [f"{s[k]:9.4g}" if s[k] is not None else f"{'-':>9}" for k in ("mean", "sd", "min", "max",
                                                                                    "range")]
            print(f"{s['score']:<52.52} {s['n']:>3} {' '.join(cells)}")


def _scores(scores: dict) -> str:
    return ", ".join(f"{k} = {v:.4g}" if isinstance(v, float) else f"{k} = {v}" for k, v in scores.items())
