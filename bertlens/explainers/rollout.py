"""Attention rollout (Abnar & Zuidema 2020) of the mask's row."""
from __future__ import annotations

from typing import Any, Mapping

from bertlens.explain import ExplainInput, Rollout, rollout
from bertlens.model import LoadedModel
from bertlens.registry import ConfigSpec, Context, Method, Param, register
from bertlens.results import ExplainerResult


@register
class AttentionRollout(Method):
    kind = "explainer"
    data = "masked_text"
    result_type = Rollout
    name = "rollout"
    title = "Attention rollout"
    order = 50
    heavy = False
    summary = "Where the mask's information could have come from, following the attention through the layers."
    caveat = ("It ignores the value vectors and the feed-forward blocks, and has no sign: where information could "
              "flow from, not whether a word pushed the prediction up or down.")
    needs = frozenset({"attentions"})
    spec = ConfigSpec((Param("residual", "float", 0.5, 0.0, 1.0,
                             help="weight of the residual connection: residual·I + (1 − residual)·A", slider=True),))

    def run(self, lm: LoadedModel, inputs: ExplainInput, config: Mapping[str, Any],
            context: Context) -> ExplainerResult:
        result = rollout(inputs.full_analysis(lm), inputs.target, config["residual"])
        return ExplainerResult(self.name, inputs.target.label, result.tokens, result.weights, detail=result)
