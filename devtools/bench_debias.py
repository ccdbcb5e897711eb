"""The benchmark's `debias` section: fitting LEACE on the default sentences, and what a fitted transform adds to a
forward pass.

- fit: `bertlens.debias.fit.fit(lm, "leace")` on the shipped templates x word pairs at the last layer (encoding the
  sentences in padded batches, then concept-erasure's closed form), timed once: it is a one-off per model;
- overhead: one 12-token sentence, and a padded batch of the 84 fitting sentences, through `forward.encoder` intact
  and with the LEACE transform at the last layer (an argument of the same call), in interleaved rounds.

`python -m devtools.bench_debias [--size large|heads] [--repeats N]` runs the section alone and prints its rows.
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


def measure(lm: LoadedModel, timed: Callable[[dict[str, Callable[[], Any]]], dict[str, Any]],
            cuda: bool) -> list[dict[str, Any]]:
    """The debias rows, as keyword arguments of devtools.bench.Row, for the float32 model `lm`."""
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
    args = parser.parse_args(argv)
    lm = load_model(Settings(model=str(model_folder(args.size)), device="cpu", dtype="float32"))
    for row in measure(lm, lambda contenders: compare(contenders, args.repeats, lm.device), False):
        ratio = f"  {row['ratio']:.3f}x" if row.get("ratio") else ""
        target = f"  target {row['target']}: {'met' if row.get('met') else 'NOT met'}" if row.get("target") else ""
        print(f"{row['what']}: {row['value']}{ratio}{target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
