"""SEAT (May et al. 2019) as bias-bench computes it: WEAT's effect size on sentence encodings, per test."""
from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

from bertlens.bias import seat
from bertlens.metrics.probe import SEED
from bertlens.model import LoadedModel
from bertlens.registry import ConfigSpec, Context, Cost, Method, Param, tokens_of, register
from bertlens.results import ItemDecision, MetricResult

SAMPLES = Param("samples", "int", seat.N_SAMPLES, 2, 1_000_000,
                help="random permutations for a test's p-value when there are more partitions (exact below)")
SIGNIFICANCE = 0.05
REFERENCE = "Meade et al. 2022 report 0.620 for bert-base-uncased (mean |effect| over SEAT's gender tests)"


PERMUTATION_WEIGHT = 3.0
"""A test's partitions (drawn, or enumerated when few) cost about three times `Pace`'s reference kernel per element
(scripts/estimate_measure.py on the tiny model, where the model's share of the time is small)."""


@register
class Seat(Method):
    kind = "metric"
    name = "seat"
    title = "SEAT"
    data = "word_sets"
    order = 60
    summary = ("Mean |effect size| over the SEAT tests: (mean s(X) - mean s(Y)) / std s(X u Y), s(w) = mean cos(w, "
               "A) - mean cos(w, B), on mean-pooled last-layer encodings; 0 = no association; each test's "
               f"permutation p-value ({REFERENCE})")
    caveat = ("SEAT reads sentence encodings, not the masked LM; a test is decided at p < 0.05 (one-sided, either "
              "direction), with no correction for the number of tests.")
    spec = ConfigSpec((SAMPLES, SEED))

    def estimate(self, lm: LoadedModel, inputs: Sequence[seat.SeatTest] | None, config: Mapping[str, Any]) -> Cost:
        """Each word set of each test encoded 32 sentences a batch, and each test's permutation test (exact over
        every partition of X u Y when there are at most `samples`)."""
        tests = inputs if inputs else seat.shipped_gender_tests()
        sets = [getattr(t, key).examples for t in tests for key in seat.SETS]
        calls = sum(math.ceil(len(s) / 32) for s in sets if s)
        sentences = [e for s in sets for e in s]
        tokens = sum(tokens_of(lm, e) for e in sentences) / max(len(sentences), 1)
        samples = int(config.get("samples", seat.N_SAMPLES))
        elements = sum(min(samples, math.comb(t.sizes["targ1"] + t.sizes["targ2"], t.sizes["targ1"]))
                       * (t.sizes["targ1"] + t.sizes["targ2"]) for t in tests)
        return Cost(calls, round(tokens), len(sentences) / max(calls, 1), PERMUTATION_WEIGHT * elements)

    def run(self, lm: LoadedModel, inputs: Sequence[seat.SeatTest] | None, config: Mapping[str, Any],
            context: Context) -> MetricResult:
        tests = list(inputs) if inputs else seat.shipped_gender_tests()
        context.progress(0, len(tests), "Encoding the sentences of each test")
        results = seat.run(lm, tests, n_samples=config["samples"], seed=config["seed"],
                           progress=lambda done, total: context.progress(done, total, f"{done} of {total} tests"))
        decisions = tuple(
            ItemDecision(r.test, f"{r.categories['targ1']}/{r.categories['targ2']} vs "
                                 f"{r.categories['attr1']}/{r.categories['attr2']}",
                         True if r.p_value < SIGNIFICANCE else False if r.p_value > 1 - SIGNIFICANCE else None,
                         r.effect_size)
            for r in results)
        value = seat.mean_absolute_effect(results)
        return MetricResult(self.name, self.title, value, "|effect size|", math.nan, math.nan, "", len(results), 0,
                            0.0, self.summary, self.caveat, decisions, (), True, results)
