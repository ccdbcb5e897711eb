"""Integrated gradients (Sundararajan et al. 2017) at the word embeddings."""
from __future__ import annotations

from dataclasses import replace
from typing import Any, Mapping

from bertlens.errors import BertLensError
from bertlens.explain import (BASELINE, MAX_STEPS, STEPS, ExplainInput, input_tokens, integrated_gradients, max_steps,
                              rows_per_batch)
from bertlens.explain import IntegratedGradients as Attributions
from bertlens.model import LoadedModel
from bertlens.registry import FORWARD_AND_BACKWARD, ConfigSpec, Context, Cost, Method, register
from bertlens.results import ExplainerResult


@register
class IntegratedGradients(Method):
    kind = "explainer"
    data = "masked_text"
    result_type = Attributions
    name = "integrated_gradients"
    title = "Integrated gradients"
    order = 20
    summary = ("How much each word moved f along a straight path from a baseline (context words masked) to the "
               "input; the scores add up to f(input) − f(baseline).")
    caveat = "The completeness gap says how well the steps approximate the integral; raise the steps when it is large."
    needs = frozenset({"mlm", "gradients"})
    @property
    def spec(self) -> ConfigSpec:
        """The steps' upper bound is this server's (BERT_LENS_MAX_IG_STEPS can lower it), so the widget, the link
        and the command line all refuse what the run would refuse."""
        try:
            top = max_steps()
        except BertLensError:
            top = MAX_STEPS
        return ConfigSpec((replace(STEPS, high=top, default=min(STEPS.default, top)), BASELINE))

    def estimate(self, lm: LoadedModel, inputs: ExplainInput, config: Mapping[str, Any]) -> Cost:
        """The path's steps + 1 rows, forward and backward, in as many batches as memory allows (as `run` does)."""
        tokens = input_tokens(inputs)
        return Cost.batched(config["steps"] + 1, tokens, rows_per_batch(lm, tokens, gradients=True),
                            FORWARD_AND_BACKWARD)

    def run(self, lm: LoadedModel, inputs: ExplainInput, config: Mapping[str, Any],
            context: Context) -> ExplainerResult:
        def report(done: int, total: int) -> None:
            context.progress(done, total, f"Integrated gradients: pass {done} of {total}")

        ig, _ = integrated_gradients(lm, inputs.target, config["steps"], config["baseline"], report)
        return ExplainerResult(self.name, inputs.target.label, ig.tokens, ig.attributions, ig.completeness_gap,
                               detail=ig)
