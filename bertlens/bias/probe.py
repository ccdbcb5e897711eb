"""The occupation probe: for every occupation and template, log P(occupation | female sentence) - log P(occupation |
male sentence), and Kurita et al.'s (2019) association, scored in one batched call.

- Occupation scores are averaged over templates, with a bootstrap 95% CI over templates and a sign-flip permutation
  test over templates, Holm-corrected across occupations (`bertlens.bias.statistics`). An occupation of n
  WordPieces is scored with n masks, chained left to right (`bertlens.scoring.chained_log_probs`); the first piece
  alone is never used.
- Kurita et al. 2019: log P(she | "[MASK] is a nurse.") / P(she | "[MASK] is a [MASK].") minus the same for he.
- A test passing is not an effect worth reporting: the headline (`ProbeResult.notable`) counts the occupations that
  pass Holm's test *and* whose |mean log-ratio| is at least `ProbeConfig.min_effect`.

Positive scores lean female, negative lean male, everywhere. Identical rows run once, so one pass per template side
and article scores every one-piece occupation.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Callable

import numpy as np

from bertlens.bias.config import OCCUPATION_SLOT, ProbeConfig, check_config, default_config, template_role
from bertlens.bias.occupations import check_name
from bertlens.bias.sentences import capitalise_at_start, fill_slot, with_article
from bertlens.bias.statistics import Correlation, bootstrap_ci, correlation, holm, sign_flip_test
from bertlens.fill_mask import piece_ids
from bertlens.model import LoadedModel
from bertlens.scoring import chained_log_probs
from bertlens.text import MASK

ALPHA = 0.05
CORRECTION = "Holm"
DIRECTION = ("Values are log P(o | woman) − log P(o | man), averaged over templates: positive leans female, "
             "negative leans male, 0 is no preference.")
"""The probe's direction, in the one sentence every route (command line, page, JSON, HTML) prints."""

Progress = Callable[[float, str], None]


@dataclass(frozen=True)
class UnitScore:
    """One occupation in one template with one word pair."""

    occupation: str
    template: str
    pair: str
    female_text: str
    male_text: str
    log_p_female: float
    log_p_male: float

    @property
    def log_ratio(self) -> float:
        return self.log_p_female - self.log_p_male


@dataclass(frozen=True)
class KuritaScore:
    """Kurita et al. 2019 for one occupation and template: association = log P(word | target) - log P(word | prior),
    `normalised` = association(female word) - association(male word)."""

    occupation: str
    template: str
    target_text: str
    prior_text: str
    log_p_female: float
    log_p_male: float
    log_prior_female: float
    log_prior_male: float

    @property
    def association_female(self) -> float:
        return self.log_p_female - self.log_prior_female

    @property
    def association_male(self) -> float:
        return self.log_p_male - self.log_prior_male

    @property
    def normalised(self) -> float:
        return self.association_female - self.association_male


@dataclass(frozen=True)
class OccupationScore:
    """An occupation's scores aggregated over templates; `log_ratio` > 0 means the model prefers it for women."""

    occupation: str
    article: str
    pieces: list[str]
    pct_women: float | None
    year: str
    source: str
    log_p_female: float
    log_p_male: float
    log_ratio: float
    ci_low: float
    ci_high: float
    p_value: float
    p_adjusted: float
    kurita: float
    n_templates: int

    @property
    def multi_piece(self) -> bool:
        return len(self.pieces) > 1

    @property
    def significant(self) -> bool:
        return bool(self.p_adjusted < ALPHA)


@dataclass(frozen=True)
class ProbeResult:
    config: ProbeConfig
    occupations: list[OccupationScore]
    units: list[UnitScore]
    kurita: list[KuritaScore]
    correlations: dict[str, Correlation | None]
    permutation: str
    correction: str
    rows: int
    seconds: float
    method: str
    warnings: list[str] = field(default_factory=list)

    def by_occupation(self) -> dict[str, OccupationScore]:
        return {o.occupation: o for o in self.occupations}

    @property
    def min_effect(self) -> float:
        return self.config.min_effect

    def large_enough(self, score: OccupationScore) -> bool:
        """|mean log-ratio| reaches the configuration's minimum effect size."""
        return bool(abs(score.log_ratio) >= self.min_effect)

    def notable(self, score: OccupationScore) -> bool:
        """Significant after Holm's correction and at least the minimum effect size: what the headline counts."""
        return score.significant and self.large_enough(score)

    @property
    def notable_count(self) -> int:
        return sum(self.notable(o) for o in self.occupations)

    def with_min_effect(self, min_effect: float) -> "ProbeResult":
        """The same scores read with another minimum effect size (no forward pass). Raises InputError for a
        negative or non-finite size."""
        return replace(self, config=check_config(replace(self.config, min_effect=min_effect)))


@dataclass(frozen=True)
class Plan:
    """Every sentence of a probe as (text whose first [MASK] is scored, piece ids), plus where each goes."""

    items: list[tuple[str, list[int]]]
    units: list[tuple[int, int, int, int, int]]
    kurita: list[tuple[int, int, str, str, int, int, int, int]]
    pieces: list[list[str]]


def plan_probe(lm: LoadedModel, config: ProbeConfig) -> Plan:
    """Every sentence to score, before any forward pass. Raises InputError for a bad configuration or an
    occupation the vocabulary cannot spell."""
    check_config(config)
    pieces = [piece_ids(lm, check_name(o.name)) for o in config.occupations]
    items: list[tuple[str, list[int]]] = []
    index: dict[tuple[str, tuple[int, ...]], int] = {}

    def add(text: str, ids: list[int]) -> int:
        key = (text, tuple(ids))
        if key not in index:
            index[key] = len(items)
            items.append((text, ids))
        return index[key]

    units = []
    for t, template in enumerate(config.templates):
        role = template_role(template)
        for p, pair in enumerate(config.pairs):
            if pair.role != role:
                continue
            female, male = fill_slot(template, pair.female), fill_slot(template, pair.male)
            for o, occupation in enumerate(config.occupations):
                units.append((t, p, o, add(with_article(female, occupation.article), pieces[o]),
                              add(with_article(male, occupation.article), pieces[o])))
    kurita = []
    for k, template in enumerate(config.kurita_templates):
        for o, occupation in enumerate(config.occupations):
            placed = with_article(template, occupation.article, OCCUPATION_SLOT)
            target = placed.replace(OCCUPATION_SLOT, occupation.name)
            prior = placed.replace(OCCUPATION_SLOT, " ".join([MASK] * len(pieces[o])))
            ids = {side: piece_ids(lm, capitalise_at_start(target, getattr(config.kurita_pair, side)))
                   for side in ("female", "male")}
            kurita.append((k, o, target, prior, add(target, ids["female"]), add(target, ids["male"]),
                           add(prior, ids["female"]), add(prior, ids["male"])))
    tokens = [lm.tokenizer.convert_ids_to_tokens(p) for p in pieces]
    return Plan(items, units, kurita, tokens)


def run_probe(lm: LoadedModel, config: ProbeConfig | None = None, progress: Progress | None = None,
              batch_size: int = 64) -> ProbeResult:
    """Score every occupation in every template for both sides, batched. Raises InputError for a bad config."""
    lm.require("mlm")
    config = config or default_config()
    plan = plan_probe(lm, config)
    scores, seconds, rows = score_plan(lm, plan, progress, batch_size)
    return assemble(config, plan, scores, seconds, rows, "batched")


def score_plan(lm: LoadedModel, plan: Plan, progress: Progress | None = None,
               batch_size: int = 64) -> tuple[list[float], float, int]:
    """(log P of every planned item, seconds, distinct rows run): one batched chained-scoring run of `plan`,
    reporting `progress(fraction, message)` after each batch."""
    started = time.perf_counter()
    tick = None
    if progress is not None:
        progress(0.0, "starting")

        def tick(done: int, total: int) -> None:
            progress(done / total, f"{done} of {total} forward rows")

    scores = chained_log_probs(lm, plan.items, batch_size=batch_size, progress=tick)
    return [sum(s) for s in scores], time.perf_counter() - started, _row_count(lm, plan.items)


def run_default_probe(lm: LoadedModel, progress: Progress | None = None) -> ProbeResult:
    """The default probe (shipped templates x pairs x occupations), batched: the call the benchmark times."""
    return run_probe(lm, default_config(), progress)


def _row_count(lm: LoadedModel, items: list[tuple[str, list[int]]]) -> int:
    """How many distinct rows the batched scorer ran (for the report)."""
    seen = set()
    for text, ids in items:
        for step in range(len(ids)):
            seen.add((text, tuple(ids[:step]), len(ids) - step))
    return len(seen)


def assemble(config: ProbeConfig, plan: Plan, scores: list[float], seconds: float, rows: int,
             method: str) -> ProbeResult:
    """The result from one log-probability per planned item (`plan.items`), however they were computed."""
    units = []
    n_t, n_o = len(config.templates), len(config.occupations)
    ratio_sum = np.zeros((n_o, n_t))
    ratio_n = np.zeros((n_o, n_t))
    female_sum, male_sum = np.zeros(n_o), np.zeros(n_o)
    for t, p, o, fi, mi in plan.units:
        units.append(UnitScore(config.occupations[o].name, config.templates[t], config.pairs[p].label,
                               plan.items[fi][0], plan.items[mi][0], scores[fi], scores[mi]))
        ratio_sum[o, t] += scores[fi] - scores[mi]
        ratio_n[o, t] += 1
        female_sum[o] += scores[fi]
        male_sum[o] += scores[mi]
    per_template = ratio_sum / ratio_n
    units_per_occupation = ratio_n.sum(axis=1)
    kurita_units = []
    kurita_sum, kurita_n = np.zeros(n_o), np.zeros(n_o)
    for k, o, target, prior, tf, tm, pf, pm in plan.kurita:
        score = KuritaScore(config.occupations[o].name, config.kurita_templates[k], target, prior,
                            scores[tf], scores[tm], scores[pf], scores[pm])
        kurita_units.append(score)
        kurita_sum[o] += score.normalised
        kurita_n[o] += 1
    warnings = []
    mean = per_template.mean(axis=1)
    low, high = bootstrap_ci(per_template, config.bootstrap, config.seed)
    p_values, permutation = sign_flip_test(per_template, config.permutations, config.seed)
    adjusted = holm(p_values)
    if n_t < 2:
        warnings.append("With one template there is no spread over templates: no confidence interval or test.")
    elif n_t < 6:
        warnings.append(f"With {n_t} templates the smallest possible p-value is {2 / 2 ** n_t:.3f}: "
                        "use more templates for a test with any power.")
    kurita = np.divide(kurita_sum, kurita_n, out=np.full(n_o, np.nan), where=kurita_n > 0)
    occupations = []
    for o, occupation in enumerate(config.occupations):
        occupations.append(OccupationScore(
            occupation.name, occupation.article, plan.pieces[o], occupation.pct_women, occupation.year,
            occupation.source, float(female_sum[o] / units_per_occupation[o]),
            float(male_sum[o] / units_per_occupation[o]), float(mean[o]), float(low[o]), float(high[o]),
            float(p_values[o]), float(adjusted[o]), float(kurita[o]), n_t))
    correlations = {
        "log_ratio": correlation("log_ratio", [o.pct_women for o in occupations], [o.log_ratio for o in occupations]),
        "kurita": correlation("kurita", [o.pct_women for o in occupations], [o.kurita for o in occupations]),
    }
    return ProbeResult(config, occupations, units, kurita_units, correlations, permutation, CORRECTION, rows,
                       seconds, method, warnings)
