"""Mediation across the pronoun templates (Vig et al. 2020) as a registered metric: which heads carry the
occupation's gender effect. The computation is `bertlens.bias.occupation_mediation`; `bertlens.mediation` is the
one-pair mediation it repeats.

Per-item decisions say, for each sentence, whether the model already prefers the stereotypical pronoun with the
occupation in place (log y(x) < 0).
"""
from __future__ import annotations

import functools
from typing import Any, Mapping

from bertlens.bias.occupation_mediation import (BOOTSTRAP, OCCUPATIONS, SEED, TemplateEffects, inputs_templates,
                                                mediate_templates)
from bertlens.bias.pronouns import fill
from bertlens.mediation import mediation_cost
from bertlens.model import LoadedModel
from bertlens.registry import ConfigSpec, Context, Cost, Method, Param, tokens_of, register, report_progress
from bertlens.results import ItemDecision, MetricResult


@register
class TemplateMediationMetric(Method):
    kind = "metric"
    name = "mediation"
    title = "Mediation across templates (which heads carry the gender effect)"
    summary = ("Vig et al.'s causal mediation over the pronoun templates: the total effect of swapping an "
               "occupation for the anti-stereotypical gendered noun on P(anti) / P(stereotypical pronoun), and "
               "each head's and layer's natural indirect effect, averaged over occupations and then templates.")
    caveat = ("Effects are relative changes of a probability ratio (0 = no change); a mean over templates is "
              "pulled by large ratios. Stereotypes are read from US labour statistics. Heads of a random-weight "
              "model mean nothing.")
    needs = frozenset({"mlm"})
    data = "pronoun_templates"
    order = 90
    transforms = frozenset()
    spec = ConfigSpec((
        Param("occupations", "int", OCCUPATIONS, low=2, high=64,
              help="how many one-WordPiece occupations: the most male- and female-dominated, half each"),
        Param("bootstrap", "int", BOOTSTRAP, low=100, high=20000, help="bootstrap resamples over templates"),
        Param("seed", "int", SEED, low=0, high=2**31 - 1, help="seed of the bootstrap"),
    ))

    def estimate(self, lm: LoadedModel, inputs: Any, config: Mapping[str, Any]) -> Cost:
        templates = inputs_templates(inputs)
        pairs = len(templates) * int(config.get("occupations", OCCUPATIONS))
        tokens = sum(tokens_of(lm, t) for t in templates) / max(len(templates), 1)
        return mediation_cost(lm.info.layers, lm.info.heads, round(tokens), pairs)

    def run(self, lm: LoadedModel, inputs: Any, config: Mapping[str, Any], context: Context) -> MetricResult:
        config = self.spec.validate(config, where=f"'{self.name}'")
        lm.require("mlm")
        effects = mediate_templates(lm, inputs_templates(inputs), config["occupations"], config["bootstrap"],
                                    config["seed"], progress=functools.partial(report_progress, context),
                                    should_stop=context.stopped)
        return metric_result(effects)


def metric_result(effects: TemplateEffects) -> MetricResult:
    """The registry's result: the mean total effect with its interval, and one decision per sentence."""
    detail = effects.detail
    decisions = []
    for t, template in enumerate(detail.templates):
        for j, choice in enumerate(detail.occupations):
            score = -detail.log_y[t][j]
            decisions.append(ItemDecision(
                item=f"{choice.occupation}|{t + 1}", label=fill(template, choice.occupation),
                decision=None if score == 0 else score > 0, score=score,
                group="female-stereotyped" if choice.female else "male-stereotyped"))
    method = TemplateMediationMetric
    return MetricResult(
        metric=method.name, title=method.title, value=effects.total_effect, unit="relative change",
        ci_low=effects.low, ci_high=effects.high, interval=effects.interval,
        n=len(decisions), ties=sum(1 for d in decisions if d.decision is None), neutral=None,
        measures=("Mean total effect of swapping the occupation for the anti-stereotypical gendered noun on "
                  "P(anti-stereotypical) / P(stereotypical pronoun), over templates; per sentence, whether the "
                  "model prefers the stereotypical pronoun with the occupation in place; per head, the mean NIE."),
        caveat=method.caveat, decisions=tuple(decisions), warnings=effects.warnings,
        complete=effects.complete, detail=detail)
