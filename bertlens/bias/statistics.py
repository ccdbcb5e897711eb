"""Statistics of the bias measures, from scipy: bootstrap intervals, the sign-flip test, Holm's correction,
correlations, Wilson intervals for proportions, a two-level (occupations and templates) bootstrap, and McNemar's
exact test with a paired bootstrap for two models' decisions on the same items."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
from scipy import stats

EXACT_PERMUTATION_LIMIT = 16
SMALL_SAMPLE = 30
"""A group (a CrowS-Pairs bias type, a StereoSet domain, an occupation set) with fewer items than this carries
"small_sample": true in every report: its interval is too wide, or too unstable, to read."""
PERMUTATION_BATCH = 1024
LEVEL = 0.95


@dataclass(frozen=True)
class Correlation:
    """Model score against BLS % women: Pearson, Spearman and the least-squares line score = slope * % + intercept."""

    score: str
    n: int
    pearson_r: float
    pearson_p: float
    spearman_rho: float
    spearman_p: float
    slope: float
    intercept: float


def small_sample(n: int | None) -> bool:
    """True when a group of `n` items is below `SMALL_SAMPLE` (an unknown size is not flagged)."""
    return isinstance(n, int) and n < SMALL_SAMPLE


def _mean(x: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.mean(x, axis=axis)


def bootstrap_ci(values: np.ndarray, resamples: int = 2000, seed: int = 0,
                 level: float = LEVEL) -> tuple[np.ndarray, np.ndarray]:
    """Percentile bootstrap CI of the mean over columns (templates), per row (occupation), by
    `scipy.stats.bootstrap`: templates are resampled with replacement, the same resamples for every row. NaN with
    fewer than two columns; a constant row gets its value at both ends."""
    values = np.asarray(values, dtype=float)
    rows, cols = values.shape
    if cols < 2:
        return np.full(rows, np.nan), np.full(rows, np.nan)
    result = stats.bootstrap((values,), _mean, n_resamples=resamples, confidence_level=level, method="percentile",
                             axis=-1, vectorized=True, rng=np.random.default_rng(seed))
    return np.asarray(result.confidence_interval.low), np.asarray(result.confidence_interval.high)


def sign_flip_test(values: np.ndarray, permutations: int = 10000, seed: int = 0) -> tuple[np.ndarray, str]:
    """Two-sided sign-flip permutation test of mean = 0 over columns (templates), per row, by
    `scipy.stats.permutation_test` (one sample, `permutation_type="samples"` flips signs).

    Under the null a template's log-ratio is as likely to be negative as positive. Exact (all 2^T sign patterns)
    for T <= 16 templates, else `permutations` random patterns (scipy adds one to count and total). Returns the
    p-values and a description of the test.
    """
    values = np.asarray(values, dtype=float)
    rows, cols = values.shape
    if cols < 2:
        return np.full(rows, np.nan), "none (one template)"
    exact = cols <= EXACT_PERMUTATION_LIMIT
    result = stats.permutation_test((values,), _mean, permutation_type="samples", vectorized=True, axis=-1,
                                    n_resamples=np.inf if exact else permutations, alternative="two-sided",
                                    batch=PERMUTATION_BATCH, rng=np.random.default_rng(seed))
    if exact:
        label = f"exact sign-flip permutation test over {cols} templates ({2 ** cols} sign patterns)"
    else:
        label = f"sign-flip permutation test over {cols} templates ({permutations} random sign patterns)"
    return np.asarray(result.pvalue, dtype=float).reshape(rows), label


def holm(p_values: np.ndarray) -> np.ndarray:
    """Holm-Bonferroni adjusted p-values (family-wise error control under any dependence between occupations)."""
    p = np.asarray(p_values, dtype=float)
    adjusted = np.full(p.shape, np.nan)
    valid = np.flatnonzero(~np.isnan(p))
    if not len(valid):
        return adjusted
    order = valid[np.argsort(p[valid], kind="stable")]
    m = len(order)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        adjusted[i] = running
    return adjusted


def correlation(score: str, shares: list[float | None], values: list[float]) -> Correlation | None:
    """Pearson and Spearman of `values` against BLS % women, over occupations that have both. None with < 3."""
    pairs = [(s, v) for s, v in zip(shares, values) if s is not None and v is not None and np.isfinite(v)]
    if len(pairs) < 3:
        return None
    x, y = np.array(pairs, dtype=float).T
    if np.ptp(x) == 0 or np.ptp(y) == 0:
        return None
    pearson = stats.pearsonr(x, y)
    spearman = stats.spearmanr(x, y)
    slope, intercept = np.polyfit(x, y, 1)
    return Correlation(score, len(x), float(pearson.statistic), float(pearson.pvalue), float(spearman.statistic),
                       float(spearman.pvalue), float(slope), float(intercept))


def wilson(k: int, n: int, level: float = LEVEL) -> tuple[float, float]:
    """Wilson score interval for the proportion k/n, as fractions (`scipy.stats.binomtest(k, n).proportion_ci`).
    (NaN, NaN) when n is 0."""
    if n <= 0:
        return float("nan"), float("nan")
    interval = stats.binomtest(k, n).proportion_ci(confidence_level=level, method="wilson")
    return float(interval.low), float(interval.high)


def two_level_bootstrap(values: np.ndarray, statistic: Callable[[np.ndarray, np.ndarray], float],
                        resamples: int = 2000, seed: int = 0, level: float = LEVEL) -> tuple[float, float]:
    """Percentile interval of `statistic` under a two-level bootstrap of a rows x columns table (occupations x
    templates): each resample draws rows with replacement and, independently, columns with replacement, and calls
    `statistic(values[rows][:, columns], rows)` (the row indices let it resample row attributes such as the BLS
    share with them). NaN results are left out; (NaN, NaN) with fewer than two rows or columns or when every
    resample is NaN. Resampling templates too widens the interval by the spread that the wording adds."""
    values = np.asarray(values, dtype=float)
    n_rows, n_cols = values.shape
    if n_rows < 2 or n_cols < 2:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    out = np.empty(resamples)
    for b in range(resamples):
        rows = rng.integers(n_rows, size=n_rows)
        cols = rng.integers(n_cols, size=n_cols)
        out[b] = statistic(values[rows][:, cols], rows)
    out = out[np.isfinite(out)]
    if not len(out):
        return float("nan"), float("nan")
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(out, [tail, 100 - tail])
    return float(low), float(high)


@dataclass(frozen=True)
class PairedTest:
    """Two models' yes/no decisions on the same items: McNemar's exact test on the discordant items and a paired
    percentile bootstrap interval of B − A (percentage points of items decided yes)."""

    items: int
    a_only: int
    b_only: int
    p_value: float
    difference: float
    ci_low: float
    ci_high: float
    resamples: int
    seed: int

    @property
    def summary(self) -> str:
        """B − A with its interval and McNemar's p, in one line."""
        from bertlens.numbers import significant

        return (f"B − A {self.difference:+.1f} points [{self.ci_low:+.1f}, {self.ci_high:+.1f}], McNemar exact p = "
                f"{significant(self.p_value)} ({self.a_only} yes for A only, {self.b_only} for B only, of "
                f"{self.items})")

    @property
    def test(self) -> str:
        return (f"McNemar's exact test on {self.a_only + self.b_only} discordant of {self.items} items; B − A: "
                f"paired percentile bootstrap 95% over items, {self.resamples} resamples, seed {self.seed}")


def mcnemar_exact(a_only: int, b_only: int) -> float:
    """Two-sided exact McNemar p-value: under no difference, each discordant item is A-only or B-only with
    probability 1/2, so the smaller count is binomial(n, 1/2); p = min(1, 2 · P(X ≤ min)). 1.0 with no discordant
    item."""
    n = a_only + b_only
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, i) for i in range(min(a_only, b_only) + 1)) / 2 ** n
    return min(1.0, 2 * tail)


def paired_test(a: Sequence[bool], b: Sequence[bool], resamples: int = 2000, seed: int = 0,
                level: float = LEVEL) -> PairedTest:
    """McNemar's exact test and the bootstrap interval of B − A (in points) for decisions on the same items, in the
    same order. An empty list gives NaN for the difference and its interval."""
    if len(a) != len(b):
        raise ValueError("paired decisions need the same items in the same order")
    x = np.asarray(a, dtype=bool)
    y = np.asarray(b, dtype=bool)
    a_only, b_only = int(np.sum(x & ~y)), int(np.sum(~x & y))
    n = len(x)
    if n == 0:
        return PairedTest(0, 0, 0, 1.0, math.nan, math.nan, math.nan, resamples, seed)
    diff = y.astype(float) - x.astype(float)
    rng = np.random.default_rng(seed)
    means = np.array([diff[rng.integers(n, size=n)].mean() for _ in range(resamples)]) * 100
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return PairedTest(n, a_only, b_only, mcnemar_exact(a_only, b_only), float(diff.mean() * 100), float(low),
                      float(high), resamples, seed)
