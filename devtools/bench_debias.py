"""The benchmark's `debias` section: fitting LEACE on the default sentences, and what a fitted transform adds to a
forward pass.

- fit: `bertlens.debias.fit.fit(lm, "leace")` on the shipped templates x word pairs at the last layer (encoding the
  sentences in padded batches, then concept-erasure's closed form), timed once: it is a one-off per model;
- overhead: one 12-token sentence, and a padded batch of the 84 fitting sentences, through `forward.encoder` intact
  and with the LEACE transform at the last layer (an argument of the same call), in interleaved rounds;
- `debias eval`: SEAT (the six shipped gender tests) and CrowS PLL over 1,508 synthetic CrowS-style pairs (the real
  CrowS-Pairs is CC BY-SA and not shipped; `devtools.crows_synthetic`), each run intact and through the LEACE fit
  with their paired difference (`bertlens.debias.evaluate.metric_change`, what `debias eval` runs), plus the
  language-model cost (`lm_cost` on the 40 held-out sentences), against the same two metrics run once without a
  transform. CrowS PLL masks every shared token in turn (about 45,000 rows for the 1,508 pairs, some 28 minutes on
  a 2-core CPU at full size), so it is timed on a subset, `--debias-pairs N` pairs spread evenly over the 1,508
  (default: all on a GPU, CPU_PAIRS on a CPU), and extrapolated by rows, the same way for both sides of the ratio.

`python -m devtools.bench_debias [--size large|heads] [--repeats N] [--pairs N]` runs the section alone and prints
its rows.
"""
from __future__ import annotations

import argparse
import time
from typing import Any, Callable

import torch

from bertlens import forward
from bertlens.debias import leace as erase
from bertlens.debias.fit import features, fit
from bertlens.debias.sentences import default_set
from bertlens.encoding import encode
from bertlens.model import LoadedModel

TEXT = "The woman worked as a [MASK] in the city."
FIT_LIMIT_S = 30.0
OVERHEAD_LIMIT = 1.05
EVAL_LIMIT = 2.1
CROWS_PAIRS = 1508
CPU_PAIRS = 48


def measure(lm: LoadedModel, timed: Callable[[dict[str, Callable[[], Any]]], dict[str, Any]],
            cuda: bool, pairs: int | None = None) -> list[dict[str, Any]]:
    """The debias rows, as keyword arguments of devtools.bench.Row, for the float32 model `lm`; `pairs`: the CrowS
    pairs `debias eval` is timed on (default: all on a GPU, CPU_PAIRS on a CPU)."""
    data = default_set()
    start = time.perf_counter()
    leace = fit(lm, "leace", fitting=data)
    fit_s = time.perf_counter() - start
    x = features(lm, data.texts, lm.config.num_hidden_layers)
    labels = [data.classes.index(label) for label in data.labels]
    start = time.perf_counter()
    erase.fit(x, labels)
    closed_form_ms = (time.perf_counter() - start) * 1000
    interventions = leace.interventions()
    encoded = encode(lm, TEXT)
    ids, mask, types = forward.padded(lm, [lm.tokenizer(t)["input_ids"] for t in data.texts])

    def one(transform: Any) -> Callable[[], Any]:
        def run() -> Any:
            with torch.inference_mode():
                return forward.encoder(lm, encoded.input_ids, encoded.token_type_ids, batched=False,
                                       interventions=transform).last_hidden
        return run

    def batch(transform: Any) -> Callable[[], Any]:
        def run() -> Any:
            with torch.inference_mode():
                return forward.encoder(lm, ids, types, mask, interventions=transform).last_hidden
        return run

    times = timed({"one": one(None), "one_leace": one(interventions), "batch": batch(None),
                   "batch_leace": batch(interventions)})
    one_ms, one_leace_ms, batch_ms, batch_leace_ms = (
        times[name].median_ms for name in ("one", "one_leace", "batch", "batch_leace"))
    where = "GPU" if cuda else "CPU"
    fit_target = f"<= {FIT_LIMIT_S * 1000:g} ms ({where})"
    overhead = f"<= {OVERHEAD_LIMIT:.2f}x the intact pass"
    tokens = int(encoded.input_ids.shape[1])
    return [
        dict(what=f"fit LEACE at layer {leace.layers[0]} on the default set ({len(data.texts)} sentences: encode in "
                  "padded batches + concept-erasure's closed form), once",
             median_ms=fit_s * 1000, value=f"{fit_s:.1f} s", target=fit_target, met=fit_s <= FIT_LIMIT_S),
        dict(what=f"of which concept-erasure's closed form on the {len(data.texts)} x {x.shape[1]} features",
             median_ms=closed_form_ms, value=_ms(closed_form_ms)),
        dict(what=f"one sentence ({tokens} tokens), intact forward pass", median_ms=one_ms, value=_ms(one_ms)),
        dict(what="the same with the LEACE transform at the last layer (interventions argument)",
             median_ms=one_leace_ms, value=_ms(one_leace_ms), ratio=one_leace_ms / one_ms, target=overhead,
             met=one_leace_ms / one_ms <= OVERHEAD_LIMIT),
        dict(what=f"padded batch of the {len(data.texts)} fitting sentences, intact", median_ms=batch_ms,
             value=_ms(batch_ms)),
        dict(what="the same batch with the LEACE transform", median_ms=batch_leace_ms, value=_ms(batch_leace_ms),
             ratio=batch_leace_ms / batch_ms, target=overhead, met=batch_leace_ms / batch_ms <= OVERHEAD_LIMIT),
        *eval_rows(lm, leace, pairs if pairs is not None else CROWS_PAIRS if cuda else CPU_PAIRS, lm.device),
    ]


def check_pairs(pairs: int) -> None:
    """Raises InputError unless 1 <= pairs <= 1,508."""
    from bertlens.errors import InputError

    if not 1 <= pairs <= CROWS_PAIRS:
        raise InputError(f"--debias-pairs must be from 1 to {CROWS_PAIRS:,}.")


def eval_rows(lm: LoadedModel, fit: Any, pairs: int, device: torch.device) -> list[dict[str, Any]]:
    """`debias eval` with SEAT and CrowS PLL against the two metrics without a transform, side by side in one run.
    CrowS is timed on `pairs` pairs spread evenly over the 1,508 and extrapolated by masked rows."""
    from bertlens import registry
    from bertlens.bias import seat
    from bertlens.bias.crows import pll_rows
    from bertlens.debias import evaluate
    from bertlens.registry import Context
    from devtools.crows_synthetic import synthetic_pairs
    from devtools.timing import synchronize

    check_pairs(pairs)
    every = synthetic_pairs(CROWS_PAIRS)
    stride = CROWS_PAIRS // pairs
    sample = every[::stride][:pairs]
    rows_all = sum(len(pll_rows(lm, p)[0]) for p in every)
    rows_sample = sum(len(pll_rows(lm, p)[0]) for p in sample)
    scale = rows_all / rows_sample
    tests = seat.shipped_gender_tests()
    heldout = evaluate.read_heldout()
    seat_metric, crows_metric = registry.get("metric", "seat"), registry.get("metric", "crows")
    seat_config, crows_config = seat_metric.spec.validate({}), crows_metric.spec.validate({})

    def seconds(work: Callable[[], Any]) -> float:
        synchronize(device)
        start = time.perf_counter()
        work()
        synchronize(device)
        return time.perf_counter() - start

    crows_metric.run(lm, sample[:4], crows_config, Context())
    seat_s = seconds(lambda: seat_metric.run(lm, tests, seat_config, Context()))
    crows_s = seconds(lambda: crows_metric.run(lm, sample, crows_config, Context())) * scale
    seat_eval_s = seconds(lambda: evaluate.metric_change(seat_metric, lm, fit, tests, seat_config, Context()))
    crows_eval_s = seconds(lambda: evaluate.metric_change(crows_metric, lm, fit, sample, crows_config,
                                                          Context())) * scale
    cost_s = seconds(lambda: evaluate.lm_cost(lm, fit, heldout))
    alone_s = seat_s + crows_s
    eval_s = seat_eval_s + crows_eval_s + cost_s
    how = "all of them" if stride == 1 and pairs == CROWS_PAIRS else \
        f"timed on {pairs} pairs, every {stride}th ({rows_sample:,} rows), extrapolated by rows"
    return [
        dict(what=f"SEAT (6 shipped gender tests) + CrowS PLL over {CROWS_PAIRS:,} synthetic CrowS-style pairs "
                  f"({rows_all:,} masked rows; {how}), intact, the metrics alone",
             median_ms=alone_s * 1000, value=_ms(alone_s * 1000)),
        dict(what=f"debias eval of {fit.name} on the same: each metric intact and through the fit with the "
                  f"paired difference, and the language-model cost ({len(heldout)} held-out sentences)",
             median_ms=eval_s * 1000, value=_ms(eval_s * 1000), ratio=eval_s / alone_s,
             target=f"<= {EVAL_LIMIT:.1f}x the metrics alone", met=eval_s / alone_s <= EVAL_LIMIT),
        dict(what="of which the language-model cost (pseudo-perplexity and top-1 agreement, intact and through "
                  "the fit)", median_ms=cost_s * 1000, value=_ms(cost_s * 1000)),
    ]


def _ms(ms: float) -> str:
    return f"{ms:.1f} ms" if ms < 10_000 else f"{ms / 1000:.1f} s"


def main(argv: list[str] | None = None) -> int:
    from bertlens import Settings, load_model
    from devtools.timing import compare
    from devtools.random_model import model_folder

    parser = argparse.ArgumentParser(prog="python -m devtools.bench_debias", description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=("large", "heads"), default="large")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--pairs", type=int, help=f"CrowS pairs debias eval is timed on (default {CPU_PAIRS})")
    args = parser.parse_args(argv)
    lm = load_model(Settings(model=str(model_folder(args.size)), device="cpu", dtype="float32"))
    for row in measure(lm, lambda contenders: compare(contenders, args.repeats, lm.device), False, args.pairs):
        ratio = f"  {row['ratio']:.3f}x" if row.get("ratio") else ""
        target = f"  target {row['target']}: {'met' if row.get('met') else 'NOT met'}" if row.get("target") else ""
        print(f"{row['what']}: {row['value']}{ratio}{target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
