"""Template robustness: does the occupation probe's finding survive rewording the templates?

Paraphrase sets (`bertlens/data/template_paraphrases.txt`, aligned line by line) are scored in one batched call
(every template of every set, both sides, every occupation), then read four ways:

- per set: the probe's own result on that set alone (`bertlens.bias.probe.assemble`), so its headline count
  (Holm-significant and at least the minimum effect), mean |log-ratio| and correlation with the BLS share;
- the headline: how far those figures move across the sets (their range);
- per template: the mean log-ratio and mean |log-ratio| over occupations, and the template's own correlation;
- per occupation: the spread of its log-ratio across all templates (min, max, standard deviation) and its mean in
  each set.

Uncertainty over all templates pooled is a two-level bootstrap (`statistics.two_level_bootstrap`): occupations and
templates are resampled independently, so the interval includes the variation that the choice of wording adds, not
only the variation across occupations. (The probe's per-occupation interval resamples templates only.)
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from bertlens.bias.config import MAX_TEMPLATES, ProbeConfig, check_config, default_config, template_role
from bertlens.bias.files import DATA, read_text
from bertlens.bias.probe import Plan, ProbeResult, Progress, assemble, plan_probe, score_plan
from bertlens.bias.statistics import two_level_bootstrap
from bertlens.errors import InputError
from bertlens.model import LoadedModel

PARAPHRASES_PATH = DATA / "template_paraphrases.txt"
MAX_SETS = 8
_HEADER = re.compile(r"^\[(.+)\]$")


@dataclass(frozen=True)
class ParaphraseSet:
    name: str
    templates: tuple[str, ...]


@dataclass(frozen=True)
class SetSummary:
    """The probe on one paraphrase set alone."""

    name: str
    n_templates: int
    notable: int
    significant: int
    mean_abs_log_ratio: float
    mean_log_ratio: float
    pearson_r: float | None


@dataclass(frozen=True)
class TemplateSummary:
    template: str
    set_name: str
    mean_log_ratio: float
    mean_abs_log_ratio: float
    pearson_r: float | None


@dataclass(frozen=True)
class OccupationSpread:
    """One occupation's log-ratio across every template of every set."""

    occupation: str
    pct_women: float | None
    mean: float
    minimum: float
    maximum: float
    std: float
    set_means: tuple[float, ...]

    @property
    def set_range(self) -> float:
        return max(self.set_means) - min(self.set_means)


@dataclass(frozen=True)
class Interval:
    estimate: float
    low: float
    high: float


@dataclass(frozen=True)
class RobustnessResult:
    sets: list[SetSummary]
    templates: list[TemplateSummary]
    spreads: list[OccupationSpread]
    pooled: ProbeResult
    mean_abs: Interval
    mean_signed: Interval
    pearson: Interval | None
    resamples: int
    seconds: float
    rows: int
    set_results: tuple[ProbeResult, ...] = ()

    def with_min_effect(self, min_effect: float) -> "RobustnessResult":
        """The same scores read with another minimum effect size (no forward pass). Raises InputError."""
        parts = tuple(r.with_min_effect(min_effect) for r in self.set_results)
        sets = [replace(s, notable=part.notable_count) for s, part in zip(self.sets, parts)]
        return replace(self, sets=sets, set_results=parts, pooled=self.pooled.with_min_effect(min_effect))

    @property
    def notable_range(self) -> tuple[int, int]:
        values = [s.notable for s in self.sets]
        return min(values), max(values)

    @property
    def mean_abs_range(self) -> tuple[float, float]:
        values = [s.mean_abs_log_ratio for s in self.sets]
        return min(values), max(values)

    @property
    def pearson_range(self) -> tuple[float, float] | None:
        values = [s.pearson_r for s in self.sets if s.pearson_r is not None]
        return (min(values), max(values)) if values else None

    @property
    def headline(self) -> str:
        """How much the result moves when the templates change, in one sentence."""
        low, high = self.notable_range
        a, b = self.mean_abs_range
        n = len(self.pooled.occupations)
        text = (f"Across {len(self.sets)} paraphrase sets, the headline count (Holm-significant and |log-ratio| ≥ "
                f"{self.pooled.min_effect:g}) ranges from {low} to {high} of {n} occupations, and the mean "
                f"|log-ratio| from {a:.3f} to {b:.3f} nats")
        r = self.pearson_range
        if r is not None:
            text += f"; the correlation with the BLS share ranges from r = {r[0]:.2f} to {r[1]:.2f}"
        return text + "."


def parse_paraphrase_sets(text: str) -> list[ParaphraseSet]:
    """Sets headed by `[name]` lines, one template per line (# lines skipped). Needs at least two sets, each a
    valid template list. Raises InputError."""
    sets: list[tuple[str, list[str]]] = []
    for number, raw in enumerate((text or "").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        header = _HEADER.match(line)
        if header:
            sets.append((header.group(1).strip(), []))
        elif not sets:
            raise InputError(f"Line {number} of the paraphrase sets comes before any [set name] line.")
        else:
            template_role(line)
            sets[-1][1].append(line)
    if len(sets) < 2:
        raise InputError("Give at least two paraphrase sets, each starting with a [name] line, to compare.")
    if len(sets) > MAX_SETS:
        raise InputError(f"{len(sets)} paraphrase sets given; the limit is {MAX_SETS}.")
    names = [name for name, _ in sets]
    if len(set(names)) != len(names):
        raise InputError("Two paraphrase sets have the same name; give each set its own [name].")
    empty = [name for name, templates in sets if not templates]
    if empty:
        raise InputError(f"The paraphrase set [{empty[0]}] has no templates.")
    return [ParaphraseSet(name, tuple(dict.fromkeys(templates))) for name, templates in sets]


def load_paraphrase_sets(path: str | Path | None = None) -> list[ParaphraseSet]:
    path = Path(path) if path else PARAPHRASES_PATH
    return parse_paraphrase_sets(read_text(path, f"the paraphrase file '{path}'"))


def _subplan(plan: Plan, columns: list[int]) -> Plan:
    """The plan's units of the given template columns, renumbered in that order (items and kurita unchanged)."""
    index = {t: i for i, t in enumerate(columns)}
    units = [(index[t], *rest) for t, *rest in plan.units if t in index]
    return Plan(plan.items, units, plan.kurita, plan.pieces)


def log_ratio_matrix(plan: Plan, scores: list[float], n_occupations: int, n_templates: int) -> np.ndarray:
    """Occupations x templates: the mean over word pairs of log P(female) - log P(male)."""
    total = np.zeros((n_occupations, n_templates))
    count = np.zeros((n_occupations, n_templates))
    for t, _, o, fi, mi in plan.units:
        total[o, t] += scores[fi] - scores[mi]
        count[o, t] += 1
    return total / count


def _pearson(x: np.ndarray, y: np.ndarray) -> float:
    keep = np.isfinite(x) & np.isfinite(y)
    x, y = x[keep], y[keep]
    if len(x) < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return float("nan")
    return float(np.corrcoef(x, y)[0, 1])


def summarise(config: ProbeConfig, sets: list[ParaphraseSet], plan: Plan, scores: list[float], seconds: float,
              rows: int) -> RobustnessResult:
    """The robustness report from one log-probability per planned item of the pooled configuration."""
    columns = {template: t for t, template in enumerate(config.templates)}
    pooled = assemble(config, plan, scores, seconds, rows, "batched")
    matrix = log_ratio_matrix(plan, scores, len(config.occupations), len(config.templates))
    shares = np.array([np.nan if o.pct_women is None else o.pct_women for o in config.occupations])
    summaries, set_means, parts = [], [], []
    for s in sets:
        cols = [columns[t] for t in s.templates]
        part = assemble(replace(config, templates=s.templates), _subplan(plan, cols), scores, seconds, rows,
                        "batched")
        parts.append(part)
        ratios = np.array([o.log_ratio for o in part.occupations])
        corr = part.correlations.get("log_ratio")
        summaries.append(SetSummary(s.name, len(s.templates), part.notable_count,
                                    sum(o.significant for o in part.occupations), float(np.abs(ratios).mean()),
                                    float(ratios.mean()), None if corr is None else corr.pearson_r))
        set_means.append(matrix[:, cols].mean(axis=1))
    set_of = {t: s.name for s in reversed(sets) for t in s.templates}
    templates = []
    for t, template in enumerate(config.templates):
        r = _pearson(shares, matrix[:, t])
        templates.append(TemplateSummary(template, set_of[template], float(matrix[:, t].mean()),
                                         float(np.abs(matrix[:, t]).mean()), None if np.isnan(r) else r))
    spreads = [OccupationSpread(o.name, o.pct_women, float(matrix[i].mean()), float(matrix[i].min()),
                                float(matrix[i].max()), float(matrix[i].std(ddof=1)) if matrix.shape[1] > 1 else 0.0,
                                tuple(float(m[i]) for m in set_means))
               for i, o in enumerate(config.occupations)]

    def interval(statistic) -> Interval:
        low, high = two_level_bootstrap(matrix, statistic, config.bootstrap, config.seed)
        return Interval(float(statistic(matrix, np.arange(len(shares)))), low, high)

    mean_abs = interval(lambda m, rows: float(np.abs(m.mean(axis=1)).mean()))
    mean_signed = interval(lambda m, rows: float(m.mean()))
    pearson = interval(lambda m, rows: _pearson(shares[rows], m.mean(axis=1)))
    return RobustnessResult(summaries, templates, spreads, pooled, mean_abs, mean_signed,
                            None if np.isnan(pearson.estimate) else pearson, config.bootstrap, seconds, rows,
                            tuple(parts))


def run_robustness(lm: LoadedModel, sets: list[ParaphraseSet] | None = None, config: ProbeConfig | None = None,
                   progress: Progress | None = None, batch_size: int = 64) -> RobustnessResult:
    """Score every template of every set in one batched call and summarise (module docstring). `config` gives the
    word pairs, occupations and statistics settings (its templates are replaced by the sets'). Raises InputError
    for bad sets, more templates than a probe allows, or a bad configuration."""
    lm.require("mlm")
    sets = sets or load_paraphrase_sets()
    union = tuple(dict.fromkeys(t for s in sets for t in s.templates))
    config = check_config(replace(config or default_config(), templates=union))
    if len(union) > MAX_TEMPLATES:
        raise InputError(f"The paraphrase sets hold {len(union)} templates; the limit is {MAX_TEMPLATES}.")
    plan = plan_probe(lm, config)
    scores, seconds, rows = score_plan(lm, plan, progress, batch_size)
    return summarise(config, sets, plan, scores, seconds, rows)
