"""The logit lens: the MLM head applied to every layer's hidden state at the mask."""
from __future__ import annotations

from typing import Any, Mapping

from bertlens.explain import LENS_TOP_K, MAX_LENS_TOP_K, ExplainInput, Lens, logit_lens
from bertlens.model import LoadedModel
from bertlens.registry import ConfigSpec, Context, Method, Param, register
from bertlens.results import ExplainerResult


@register
class LogitLens(Method):
    kind = "explainer"
    data = "masked_text"
    result_type = Lens
    name = "lens"
    title = "Logit lens"
    order = 10
    heavy = False
    summary = "What the MLM head would predict at the mask from each layer's hidden state."
    caveat = ("The head was trained on the last layer only: earlier layers are off its distribution, so read their "
              "predictions as a rough probe.")
    needs = frozenset({"mlm", "hidden_states"})
    spec = ConfigSpec((
        Param("top_k", "int", LENS_TOP_K, 1, MAX_LENS_TOP_K, help="candidates shown per layer", slider=True),
        Param("bias", "bool", True, help="include the decoder's output bias (a word-frequency prior)"),
    ))

    def run(self, lm: LoadedModel, inputs: ExplainInput, config: Mapping[str, Any],
            context: Context) -> ExplainerResult:
        lens = logit_lens(lm, inputs.full_analysis(lm), inputs.target, config["top_k"], config["bias"])
        return ExplainerResult(self.name, inputs.target.label, detail=lens)
