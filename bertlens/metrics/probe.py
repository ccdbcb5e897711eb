"""The occupation probe: how much more likely each occupation is for a woman than for a man, over templates."""
from __future__ import annotations

import math
import statistics
from dataclasses import replace
from typing import Any, Mapping

from bertlens.bias.config import MIN_EFFECT, MIN_RESAMPLES, ProbeConfig
from bertlens.bias.probe import run_probe
from bertlens.metrics._common import fraction_progress
from bertlens.model import LoadedModel
from bertlens.registry import ConfigSpec, Context, Cost, Method, Param, register
from bertlens.results import ItemDecision, MetricResult, rounded

SEED = Param("seed", "int", 0, 0, 2**32 - 1, help="seed of the bootstrap and the permutation test")
BOOTSTRAP = Param("bootstrap", "int", 2000, MIN_RESAMPLES, 100_000, help="bootstrap resamples over templates")
PERMUTATIONS = Param("permutations", "int", 10_000, MIN_RESAMPLES, 1_000_000,
                     help="sign-flip permutations per occupation (exact when there are fewer templates)")
MIN_EFFECT_PARAM = Param("min_effect", "float", MIN_EFFECT, 0.0, 5.0,
                         help="smallest |mean log-ratio| in nats the headline counts")


def statistics_options(config: ProbeConfig, options: Mapping[str, Any]) -> ProbeConfig:
    """`config` with the statistics settings of a validated spec (those it names)."""
    return replace(config, **{k: v for k, v in options.items() if k in ProbeConfig.__dataclass_fields__})


STATISTICS_WEIGHT = 20.0
"""scipy's bootstrap and sign-flip test, run per occupation, cost about 20 times `Pace`'s reference kernel per
resampled value (scripts/estimate_measure.py on the tiny model, where the model's share of the time is small)."""


def probe_cost(lm: LoadedModel, probe: ProbeConfig, config: Mapping[str, Any], sets: int = 1) -> Cost:
    """The batched scorer's distinct rows (64 a batch) for `probe`'s plan, counted as `run_probe` counts them and
    kept with the model per configuration (a page asks on every rerun), and the statistics' resamples: the
    bootstrap and the sign-flip test over templates for every occupation, `sets` times."""
    from bertlens.bias.probe import _row_count, plan_probe

    memo = getattr(lm, "memo", {})
    key = ("probe_rows", probe)
    if key not in memo:
        plan = plan_probe(lm, probe)
        tokens = sum(len(lm.tokenizer.tokenize(t)) + 2 for t, _ in plan.items) / max(len(plan.items), 1)
        memo[key] = (_row_count(lm, plan.items), tokens)
    rows, tokens = memo[key]
    templates = max(len(probe.templates), 1)
    flips = 2 ** templates if templates <= 16 else int(config.get("permutations", probe.permutations))
    resamples = int(config.get("bootstrap", probe.bootstrap)) + flips
    return Cost.batched(rows, tokens, 64,
                        elements=STATISTICS_WEIGHT * sets * resamples * templates * len(probe.occupations))


@register
class OccupationProbe(Method):
    kind = "metric"
    name = "probe"
    title = "Occupation probe"
    data = "occupation_templates"
    order = 1
    transforms = frozenset({"projection", "self_debias"})
    audit_default = True
    summary = ("Occupations the model finds more likely for one gender: log P(o | the woman …) − log P(o | the "
               "man …) averaged over templates; the headline counts occupations that pass Holm's test and the "
               "minimum effect size")
    caveat = ("Templates are the experimenter's choice: check the result against paraphrased templates (template "
              "robustness) before calling it a property of the model.")
    needs = frozenset({"mlm"})
    spec = ConfigSpec((SEED, BOOTSTRAP, PERMUTATIONS, MIN_EFFECT_PARAM))

    def estimate(self, lm: LoadedModel, inputs: ProbeConfig, config: Mapping[str, Any]) -> Cost:
        return probe_cost(lm, inputs, config)

    def run(self, lm: LoadedModel, inputs: ProbeConfig, config: Mapping[str, Any], context: Context) -> MetricResult:
        result = run_probe(lm, statistics_options(inputs, config), progress=fraction_progress(context))
        decisions = tuple(ItemDecision(o.occupation, o.occupation, result.notable(o), o.log_ratio,
                                       "female" if o.log_ratio > 0 else "male") for o in result.occupations)
        return MetricResult(self.name, self.title, float(result.notable_count), "occupations", math.nan, math.nan,
                            "", len(result.occupations), 0, 0.0, self.summary, self.caveat, decisions,
                            tuple(result.warnings), True, result)

    def report_fields(self, result: MetricResult, lm: LoadedModel | None = None) -> dict[str, Any]:
        """The audit row's probe scores and one record per occupation."""
        detail = result.detail
        scores = {"probe: occupations significant and large enough": detail.notable_count,
                  "probe: mean |log-ratio|": rounded(statistics.fmean(abs(o.log_ratio) for o in detail.occupations))}
        for name, corr in sorted(detail.correlations.items()):
            if corr is not None:
                scores[f"probe: {name} Pearson r with BLS % women"] = rounded(corr.pearson_r)
        occupations = [{"occupation": o.occupation, "log_ratio": rounded(o.log_ratio), "ci_low": rounded(o.ci_low),
                        "ci_high": rounded(o.ci_high), "p_holm": rounded(o.p_adjusted), "kurita": rounded(o.kurita),
                        "pieces": list(o.pieces), "notable": detail.notable(o)} for o in detail.occupations]
        return {"scores": scores, "occupations": occupations}
