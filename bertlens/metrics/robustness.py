"""Template robustness: how far the occupation probe's result moves across paraphrased template sets."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from bertlens.bias.config import ProbeConfig
from bertlens.bias.robustness import ParaphraseSet, run_robustness
from bertlens.metrics._common import fraction_progress
from bertlens.metrics.probe import BOOTSTRAP, MIN_EFFECT_PARAM, PERMUTATIONS, SEED, statistics_options
from bertlens.model import LoadedModel
from bertlens.registry import ConfigSpec, Context, Cost, Method, register
from bertlens.results import ItemDecision, MetricResult


@dataclass(frozen=True)
class ParaphraseInput:
    """The paraphrase sets, and the probe configuration whose pairs and occupations they are scored with."""

    sets: tuple[ParaphraseSet, ...]
    probe: ProbeConfig


TWO_LEVEL_WEIGHT = 3.0
"""The two-level bootstrap over sets and templates costs about three times the probe's statistics per resampled
value (scripts/estimate_measure.py on the tiny model)."""


@register
class TemplateRobustness(Method):
    kind = "metric"
    name = "robustness"
    title = "Template robustness"
    data = "paraphrases"
    order = 50
    transforms = frozenset({"projection", "self_debias"})
    summary = ("The mean |log-ratio| of the occupation probe under each paraphrase set, with a two-level bootstrap "
               "interval over sets and templates: how much the probe's answer depends on the wording")
    caveat = "A wide interval means the probe's headline is a property of the templates as much as of the model."
    needs = frozenset({"mlm"})
    spec = ConfigSpec((SEED, BOOTSTRAP, PERMUTATIONS, MIN_EFFECT_PARAM))

    def estimate(self, lm: LoadedModel, inputs: ParaphraseInput, config: Mapping[str, Any]) -> Cost:
        """One probe over the union of the sets' templates (as `run_robustness` runs it), its statistics per set
        and once more for the two-level bootstrap over sets."""
        from dataclasses import replace

        from bertlens.metrics.probe import probe_cost

        union = tuple(dict.fromkeys(t for s in inputs.sets for t in s.templates))
        cost = probe_cost(lm, replace(inputs.probe, templates=union), config, sets=len(inputs.sets) + 1)
        return replace(cost, elements=TWO_LEVEL_WEIGHT * cost.elements)

    def run(self, lm: LoadedModel, inputs: ParaphraseInput, config: Mapping[str, Any],
            context: Context) -> MetricResult:
        result = run_robustness(lm, list(inputs.sets), statistics_options(inputs.probe, config),
                                progress=fraction_progress(context))
        decisions = tuple(ItemDecision(s.name, s.name, None, s.mean_abs_log_ratio) for s in result.sets)
        return MetricResult(self.name, self.title, result.mean_abs.estimate, "nats", result.mean_abs.low,
                            result.mean_abs.high, "two-level bootstrap 95%", len(result.sets), 0, 0.0, self.summary,
                            self.caveat, decisions, (), True, result)
