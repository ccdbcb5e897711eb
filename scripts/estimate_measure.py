"""Each run button's estimate beside the time the run takes: every job a page offers with "(about N s)", run once
on its page's default inputs through the method the button runs, with the estimate the button shows on a fresh
server (`bertlens.jobs.first_estimate`: the method's declared `Cost` at the model's measured `Pace`, before any
finished run corrects it). Prints a table and writes JSON (estimate, measured, ratio measured / estimate).

    .venv/bin/python scripts/estimate_measure.py [--model DIR | --size tiny|large] [--only crows,stereoset]
        [--fresh] [--out test-artifacts/estimates.json]

--size tiny (default) builds the small random model tests use; --size large a random bert-large-cased (1.3 GB,
built once, as `python -m bertlens random-model --size large` does). The target is a ratio within 1/1.5 .. 1.5;
run it on a quiet machine: other processes lengthen the jobs and the model's timing by different factors (a lone
pass far more than a batch). Each row also gives the run's declared encoder calls and padded tokens beside those
counted by a hook on the encoder (`counted_at_pace_s`: the counted work at the measured pace), which separates a
wrong declaration from a wrong pace. The heads jobs patch layers directly, so the hook counts nothing there. On a
full-size model on a 2-core CPU the whole list takes about half an hour (most of it "Run over every template" and
SEAT); `--only` picks jobs. Not part of `make test`.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
TARGET = 1.5
# A job estimated under this many seconds runs four times, and the median of the last three is the one measured:
# its first run in a process also pays for what the process does once (the vocabulary's filters, lazy imports:
# 0.1-0.2 s), which a server has done before its visitors press, and which would be a third of a 0.3 s job. The
# first run is reported.
WARM_BELOW_S = 5.0


def jobs(lm, only: set[str]) -> list[tuple[str, str, list[tuple[Any, Any, dict]]]]:
    """(job, the button it is behind, [(method, inputs, config)]) for every job a page offers, on its defaults."""
    from bertlens import kinds, registry
    from bertlens.bias.audit import read_inputs
    from bertlens.bias.crows import EXAMPLE_PATH
    from bertlens.explain import ExplainInput, resolve_target
    from bertlens.analysis import analyse
    from bertlens.mediation import PairInput, PairMediation, prepare
    from devtools.bench_stereoset import subset, synthetic_dev

    def metric(name: str) -> Any:
        return registry.get("metric", name)

    def sample(kind: str) -> Any:
        k = kinds.get(kind)
        return k.parse(k.sample(), {"source": "'the shipped sample'"})

    out: list[tuple[str, str, Callable[[], list[tuple[Any, Any, dict]]]]] = []
    explain_text = "The doctor said that [MASK] would be late for the meeting."

    def explain_runs(names: tuple[str, ...]) -> list[tuple[Any, Any, dict]]:
        target = resolve_target(lm, explain_text, "he", "she", 0)
        given = ExplainInput(target, analyse(lm, target.text, hidden_states=True, attentions=True))
        return [(registry.get("explainer", n), given, registry.get("explainer", n).spec.validate()) for n in names]

    def heads_pair() -> list[tuple[Any, Any, dict]]:
        checked = prepare(lm, "The nurse said that [MASK] would be late for the meeting.", "nurse=man", ("she", "he"))
        return [(PairMediation(), PairInput(checked.text, "nurse=man", ("she", "he")), {})]

    def pair_metrics(names: tuple[str, ...]) -> list[tuple[Any, Any, dict]]:
        pairs = tuple(kinds.get("crows_pairs").parse({"crows_pairs": EXAMPLE_PATH.read_text()},
                                                     {"source": "'the example'"}))
        return [(metric(n), pairs, metric(n).spec.validate()) for n in names]

    def stereoset() -> list[tuple[Any, Any, dict]]:
        return [(metric("stereoset"), subset(synthetic_dev(), 40), metric("stereoset").spec.validate())]

    def audit_runs() -> list[tuple[Any, Any, dict]]:
        from bertlens.bias import audit

        config = audit.from_files(["m"], ("crows", "aul", "pronouns"), {"crows_pairs": str(EXAMPLE_PATH)},
                                  precision=lm.info.dtype, device=lm.device.type)
        inputs = read_inputs(config)
        return [(metric(m), inputs[metric(m).data], config.metric_options(m)) for m in config.metrics]

    def debias(step: str, inputs: Any) -> list[tuple[Any, Any, dict]]:
        from services import debias as service

        return [(getattr(service, step), inputs, {})]

    def one(name: str, kind: str | None = None) -> Callable[[], list[tuple[Any, Any, dict]]]:
        return lambda: [(metric(name), sample(kind) if kind else None, metric(name).spec.validate())]

    out += [
        ("counterfactual", "bias page, Benchmarks: Run Counterfactual sentence (the Counterfactual page's sentence)",
         lambda: [(metric("counterfactual"), "She said that her [MASK] would be late.",
                   metric("counterfactual").spec.validate())]),
        ("gradient_x_input", "Explain: part of 'Run the slower methods'", lambda: explain_runs(("gradient_x_input",))),
        ("integrated_gradients", "Explain: part of 'Run the slower methods'",
         lambda: explain_runs(("integrated_gradients",))),
        ("occlusion", "Explain: part of 'Run the slower methods'", lambda: explain_runs(("occlusion",))),
        ("explain_slower", "Explain: Run the slower methods (all three)",
         lambda: explain_runs(("integrated_gradients", "occlusion", "gradient_x_input"))),
        ("heads_pair", "Which heads?: Find the heads", heads_pair),
        ("heads_templates", "Which heads?: Run over every template", one("mediation")),
        ("probe", "bias page: Run probe", one("probe", "occupation_templates")),
        ("crows", "bias page: Score pairs (CrowS PLL, the example)", lambda: pair_metrics(("crows",))),
        ("compare_metrics", "bias page: Compare metrics (PLL, AUL, AULA on the example)",
         lambda: pair_metrics(("crows", "aul", "aula"))),
        ("pronouns", "bias page: Run pronoun probe", one("pronouns")),
        ("robustness", "bias page: Run robustness check", one("robustness", "paraphrases")),
        ("seat", "bias page, Benchmarks: Run SEAT", one("seat")),
        ("stereoset", "bias page: Score StereoSet (a 1/40 subset of the synthetic dev set)", stereoset),
        ("audit", "audit of crows, aul, pronouns on the example (metrics only; loading not counted)", audit_runs),
        ("debias_fit_leace", "What if we remove it?: Fit (LEACE at the last layer)",
         lambda: debias("FIT", ("leace", (lm.info.layers,)))),
        ("debias_fit_inlp", "What if we remove it?: Fit (INLP at the last layer)",
         lambda: debias("FIT", ("inlp", (lm.info.layers,)))),
        ("debias_direction", "What if we remove it?: Find the gender direction (intact)",
         lambda: debias("DIRECTIONS", "default")),
    ]
    return [(name, button, build) for name, button, build in out if not only or name in only]


class Counted:
    """Encoder calls and their padded tokens while it is entered (a forward pre-hook on the model's encoder), so a
    declared `Cost` can be read against what the run did, apart from the time it took."""

    def __init__(self, lm) -> None:
        self.lm, self.calls, self.tokens, self.layer_tokens = lm, 0, 0, 0

    def __enter__(self) -> "Counted":
        def hook(module, args, kwargs) -> None:
            given = kwargs.get("input_ids") if kwargs.get("input_ids") is not None else kwargs.get("inputs_embeds")
            if given is None and args:
                given = args[0]
            self.calls += 1
            self.tokens += int(given.shape[0] * given.shape[1]) if given is not None else 0

        def layer_hook(module, args) -> None:
            self.layer_tokens += int(args[0].shape[:-1].numel())

        self.handles = [self.lm.model.bert.register_forward_pre_hook(hook, with_kwargs=True)]
        self.handles += [layer.intermediate.dense.register_forward_pre_hook(layer_hook)
                         for layer in self.lm.model.bert.encoder.layer]
        return self

    @property
    def pass_tokens(self) -> float:
        """Tokens through the feed-forward blocks, in whole-encoder passes (what patched runs from a middle layer
        on count as their share)."""
        return self.layer_tokens / len(self.lm.model.bert.encoder.layer)

    def __exit__(self, *exc) -> None:
        for handle in self.handles:
            handle.remove()


def measure(lm, name: str, button: str, runs: list[tuple[Any, Any, dict]], fresh: bool) -> dict[str, Any]:
    from bertlens.jobs import Pace, first_estimate
    from bertlens.registry import Context

    costs = [method.estimate(lm, inputs, config) for method, inputs, config in runs]
    estimate = sum(first_estimate(lm, method, inputs, config) for method, inputs, config in runs)
    again = Pace.measure(lm) if fresh else None

    def timed() -> float:
        started = time.perf_counter()
        for method, inputs, config in runs:
            method.run(lm, inputs, config, Context())
        return time.perf_counter() - started

    cold = timed() if estimate < WARM_BELOW_S else None
    with Counted(lm) as counted:
        measured = timed()
    if cold is not None:  # a short run is at the mercy of one garbage collection: the median of three
        measured = statistics.median([measured, timed(), timed()])
    pace = Pace.of(lm)
    ratio = measured / estimate if estimate > 0 else float("inf")
    return {"job": name, "button": button, "estimate_s": round(estimate, 6), "measured_s": round(measured, 6),
            "first_run_s": round(cold, 6) if cold is not None else None,
            "ratio": round(ratio, 3), "within": 1 / TARGET <= ratio <= TARGET,
            "declared_calls": round(sum(c.passes for c in costs), 1),
            "declared_tokens": round(sum(c.passes * c.rows * c.tokens for c in costs)),
            "declared_elements": round(sum(c.elements for c in costs)),
            "counted_forward_calls": counted.calls, "counted_forward_tokens": counted.tokens,
            "counted_layer_pass_tokens": round(counted.pass_tokens),
            "counted_at_pace_s": round(counted.calls * pace.call_s + counted.tokens * pace.token_s, 3),
            **({"estimate_at_fresh_pace_s": round(sum(again.raw_seconds(c) for c in costs), 3),
                "fresh_pace": again.as_dict()} if again else {})}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="a model folder (default: a random model of --size, built once)")
    parser.add_argument("--size", choices=("tiny", "large"), default="tiny")
    parser.add_argument("--only", default="", help="comma-separated job names")
    parser.add_argument("--out", default=str(ROOT / "test-artifacts" / "estimates.json"))
    parser.add_argument("--fresh", action="store_true",
                        help="also time the model again just before each job (the estimate at that pace shows how "
                             "much of a miss is the machine's load changing since the first timing)")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from bertlens import Settings, load_model
    from bertlens.jobs import Pace

    if args.model:
        folder = args.model
    elif args.size == "large":
        from devtools.random_model import model_folder

        folder = str(model_folder("large"))
    else:
        from bertlens.random_model import build_random_model

        folder = str(ROOT / "test-artifacts" / "estimate-tiny-model")
        if not (Path(folder) / "config.json").is_file():
            build_random_model(Path(folder), size="tiny")
    lm = load_model(Settings(model=folder, device="cpu", batch_window_ms=0))
    started = time.perf_counter()
    pace = Pace.of(lm)
    timing_s = time.perf_counter() - started
    rows = []
    for name, button, build in jobs(lm, {j.strip() for j in args.only.split(",") if j.strip()}):
        row = measure(lm, name, button, build(), args.fresh)
        rows.append(row)
        first = "" if row["first_run_s"] is None else f" (first run {row['first_run_s']:.2f} s)"
        print(f"{name:<22} estimate {row['estimate_s']:8.2f} s  measured {row['measured_s']:8.2f} s  "
              f"ratio {row['ratio']:5.2f}{'' if row['within'] else ' OUT'}"
              f"{first}  calls {row['declared_calls']:g} declared "
              f"/ {row['counted_forward_calls']} forward counted, tokens {row['declared_tokens']} / "
              f"{row['counted_forward_tokens']} ({row['counted_layer_pass_tokens']} by layer)", flush=True)
    out = {"model": folder, "parameters": lm.info.parameters, "layers": lm.info.layers, "device": "cpu",
           "cpu_count": os.cpu_count(), "load_average": os.getloadavg(), "pace": pace.as_dict(),
           "pace_timing_s": round(timing_s, 3), "target": f"measured / estimate within 1/{TARGET:g} .. {TARGET:g}",
           "jobs": rows, "within": sum(r["within"] for r in rows),
           "measured_at": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=2) + "\n")
    print(f"{out['within']} of {len(rows)} within {TARGET:g}x; pace {pace.as_dict()}; wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
