"""`stereoset FILE`: StereoSet's SS, LMS and ICAT per split, per domain and overall, as the authors' code scores BERT
(intrasentence with the MLM head, intersentence with the NSP head), with bootstrap 95% intervals over target terms.
`--models A,B` scores both checkpoints and compares them on the same examples (McNemar's exact test and a paired
bootstrap interval of B − A), as `crows --models` and `probe --models` do."""
from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

from bertlens.errors import InputError


def register(sub, common) -> None:
    s = sub.add_parser("stereoset", parents=[common],
                       help="score a StereoSet file (dev.json layout) with the MLM and NSP heads",
                       description="Scores a StereoSet file in the official layout (dev.json; plain or gzipped) "
                                   "as the authors' code does and prints SS, LMS and ICAT per split, domain and "
                                   "overall with bootstrap 95% intervals over target terms.")
    s.add_argument("file", help="StereoSet JSON (e.g. dev.json from moinnadeem/StereoSet; .json or .json.gz)")
    s.add_argument("--split", choices=("intrasentence", "intersentence", "both"), default="both",
                   help="which items to score (default: both)")
    s.add_argument("--out", help="write the JSON result (the authors' layout plus every sentence's score) to F.json")
    s.add_argument("--bootstrap", type=int, default=2000, help="bootstrap resamples over target terms (0: none)")
    s.add_argument("--seed", type=int, default=0, help="seed of the bootstrap")
    s.add_argument("--predictions", metavar="FILE",
                   help="take every sentence's score from FILE instead of running the model: the authors' "
                        "predictions layout (e.g. their predictions_bert-large-cased_*.json) or a BERT Lens result "
                        "(--out); no weights needed")
    s.add_argument("--models", help="A,B: score both checkpoints and compare them on the same examples (replaces "
                                    "--model)")
    s.set_defaults(func=run)


def check_out(path: str) -> Path:
    from bertlens.outputs import check_output

    if Path(path).suffix.lower() != ".json":
        raise InputError("The StereoSet result is JSON: give --out a name ending in .json.")
    return check_output(path)


def run(args: argparse.Namespace) -> int:
    from bertlens.bias.stereoset import load_stereoset, result_document, score_stereoset
    from bertlens.cli.common import load

    out = check_out(args.out) if args.out else None
    if not 0 <= args.bootstrap <= 100_000:
        raise InputError("--bootstrap must be from 0 to 100,000.")
    data = load_stereoset(args.file)
    if not data.examples(args.split):
        raise InputError(f"'{Path(args.file).name}' has no {'' if args.split == 'both' else args.split + ' '}"
                         "examples.")
    if args.models:
        if args.predictions:
            raise InputError("--predictions scores one set of predictions; give it without --models.")
        return _two_models(args, data, out)
    if args.predictions:
        if args.debias:
            raise InputError("--predictions takes the scores from a file, so no transform applies: drop --debias.")
        document = _from_predictions(args, data)
    else:
        lm = load(args)
        bar = _bar()
        try:
            result = score_stereoset(lm, data, args.split, args.bootstrap, args.seed, progress=bar.update)
        finally:
            bar.close()
        document = result_document(result, lm.info, lm.fingerprint())
        if lm.transform is not None:
            document["debias"] = lm.transform.describe()
    text = json.dumps(document, indent=2, ensure_ascii=False)
    if out is not None:
        from bertlens.outputs import write_atomic

        write_atomic(out, text + "\n")
        print(f"wrote {out}", file=sys.stderr)
    if args.json:
        print(text)
    else:
        print_result(document)
    return 0


def _two_models(args: argparse.Namespace, data, out: Path | None) -> int:
    """Each checkpoint of --models scored on `data`, then B against A on the examples both scored."""
    from bertlens.bias.compare import compare_stereoset
    from bertlens.bias.stereoset import result_document, score_stereoset
    from bertlens.cli.two_models import _load, memory_note, model_list
    from bertlens.serialize import jsonable

    runs, added = [], []
    for model in model_list(args):
        lm, extra = _load(args, model)
        bar = _bar()
        try:
            runs.append((lm, score_stereoset(lm, data, args.split, args.bootstrap, args.seed, progress=bar.update)))
        finally:
            bar.close()
        added.append(extra)
    documents = [result_document(result, lm.info, lm.fingerprint()) for lm, result in runs]
    comparison = (compare_stereoset(runs[0][0], runs[0][1], runs[1][0], runs[1][1], max(args.bootstrap, 100),
                                    args.seed) if len(runs) == 2 else None)
    text = json.dumps(jsonable({"models": documents, "comparison": comparison, "memory": memory_note(added)}),
                      indent=2, ensure_ascii=False)
    if out is not None:
        from bertlens.outputs import write_atomic

        write_atomic(out, text + "\n")
        print(f"wrote {out}", file=sys.stderr)
    if args.json:
        print(text)
        return 0
    for (lm, _), document in zip(runs, documents):
        print(f"\nmodel: {lm.info.model_id} ({lm.fingerprint()})"
              + ("  RANDOM WEIGHTS: meaningless" if lm.info.random_weights else ""))
        print_result(document)
    if comparison is not None:
        print_comparison(comparison)
    return 0


def print_comparison(comparison) -> None:
    print(f"\nB − A: {comparison.b.model_id} against {comparison.a.model_id}, on the {comparison.examples} "
          "examples both scored")
    print(f"  SS (over target terms)  A {comparison.ss_a:6.2f}  B {comparison.ss_b:6.2f}")
    print(f"  examples with the stereotype sentence higher: {comparison.paired.summary}")
    print(f"  {comparison.paired.test}")
    for note in comparison.notes:
        print(f"note: {note}")


def _from_predictions(args: argparse.Namespace, data) -> dict:
    """The result document of `data` scored from the --predictions file; no model is loaded."""
    from bertlens.bias.stereoset import result_document
    from bertlens.bias.stereoset_predictions import ABSENT, load_predictions, score_predictions

    predictions = load_predictions(args.predictions)
    document = result_document(score_predictions(data, predictions, args.split, args.bootstrap, args.seed))
    document["scored_from"] = {"predictions": predictions.name.strip("'"), "sha256": predictions.sha256}
    document["published"] = {"absent": ABSENT}
    return document


class _bar:
    """A `ProgressBar` on stderr fed with (done, total, message)."""

    def __init__(self) -> None:
        from bertlens.cli.common import ProgressBar

        self.bar = ProgressBar("stereoset")

    def update(self, done: float, total: float, message: str) -> None:
        self.bar.progress(done, total, message)

    def close(self) -> None:
        self.bar.close()


def _cell(value, ci) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return f"{'-':>22}"
    if ci and ci[0] is not None:
        return f"{value:6.2f} [{ci[0]:6.2f}, {ci[1]:6.2f}]"
    return f"{value:6.2f} {'':>15}"


def print_result(doc: dict) -> None:
    """The figures as a table, then the published comparison or why it is absent."""
    if doc.get("warning"):
        print(f"warning: {doc['warning']}")
    if doc.get("scored_from"):
        print(f"scores taken from {doc['scored_from']['predictions']} (the model was not run)")
    print(f"StereoSet, split {doc['split']}: {doc['examples_scored']} examples; intervals: {doc['interval']}")
    print(f"{'group':<30} {'n':>5} {'terms':>5}  {'SS':<22} {'LMS':<22} {'ICAT':<22}")
    groups = [(f"{split} / {domain}", figs) for split in ("intrasentence", "intersentence") if split in doc
              for domain, figs in doc[split].items()]
    if doc.get("overall") and sum(s in doc for s in ("intrasentence", "intersentence")) == 2:
        groups.append(("overall (both splits)", doc["overall"]))
    for name, f in groups:
        print(f"{name:<30} {f['count']:>5} {f['terms']:>5}  {_cell(f['ss'], f['ss_ci'])} "
              f"{_cell(f['lms'], f['lms_ci'])} {_cell(f['icat'], f['icat_ci'])}")
    published = doc.get("published", {})
    if published.get("rows"):
        print(f"\npublished ({published['source']}):")
        for row in published["rows"]:
            print(f"  {row['split']:<14} {row['domain']:<11} {row['score']:<5} ours {row['ours']:6.2f}  "
                  f"published {row['published']:6.2f}")
    elif published.get("absent"):
        print(f"\n{published['absent']}")
    for note in doc.get("warnings", []):
        print(f"note: {note}")
