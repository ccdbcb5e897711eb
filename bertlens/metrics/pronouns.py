"""The pronoun probe: P(she) against P(he) at a masked pronoun in occupation sentences (Winogender-style)."""
from __future__ import annotations

import math
import statistics
from typing import Any, Mapping, Sequence

from bertlens.bias.occupations import load_occupations
from bertlens.bias.pronouns import load_pronoun_templates, run_pronoun_probe
from bertlens.metrics.probe import BOOTSTRAP, SEED
from bertlens.model import LoadedModel
from bertlens.registry import ConfigSpec, Context, Cost, Method, tokens_of, register
from bertlens.results import ItemDecision, MetricResult


STATISTICS_WEIGHT = 10.0
"""The bootstrap per occupation costs about ten times `Pace`'s reference kernel per resampled value
(scripts/estimate_measure.py on the tiny model, where the model's share of the time is small)."""


@register
class PronounProbe(Method):
    kind = "metric"
    name = "pronouns"
    title = "Pronoun probe"
    data = "pronoun_templates"
    order = 40
    transforms = frozenset({"projection", "self_debias"})
    summary = ("Mean over occupations of log P(she) − log P(he) at the masked pronoun (> 0 leans female), with "
               "each occupation's bootstrap interval over templates")
    caveat = "P(they) is reported beside she and he; a model may avoid gendered pronouns altogether."
    needs = frozenset({"mlm"})
    spec = ConfigSpec((SEED, BOOTSTRAP))

    def estimate(self, lm: LoadedModel, inputs: Sequence[str] | None, config: Mapping[str, Any]) -> Cost:
        """Every template with every occupation, one masked row each, in one batch; a bootstrap over templates for
        every occupation."""
        templates = list(inputs) if inputs else load_pronoun_templates()
        occupations = len(load_occupations())
        tokens = sum(tokens_of(lm, t) for t in templates) / max(len(templates), 1) + 1
        rows = len(templates) * occupations
        return Cost(1.0, round(tokens), rows, elements=STATISTICS_WEIGHT * int(config.get("bootstrap", 2000)) * rows)

    def run(self, lm: LoadedModel, inputs: Sequence[str] | None, config: Mapping[str, Any],
            context: Context) -> MetricResult:
        context.progress(0, 1, "Scoring every pronoun sentence in one batch")
        result = run_pronoun_probe(lm, list(inputs) if inputs else None, bootstrap=config["bootstrap"],
                                   seed=config["seed"])
        decisions = tuple(ItemDecision(o.occupation, o.occupation,
                                       None if o.ci_low <= 0 <= o.ci_high else o.skew > 0, o.skew)
                          for o in result.occupations)
        skews = [o.skew for o in result.occupations]
        return MetricResult(self.name, self.title, statistics.fmean(skews) if skews else math.nan, "nats",
                            math.nan, math.nan, "", len(skews), 0, 0.0, self.summary, self.caveat, decisions,
                            (), True, result)
