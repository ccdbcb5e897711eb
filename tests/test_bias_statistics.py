"""Statistics of the probe on synthetic data: scipy's bootstrap and permutation test against the hand-written
versions they replaced (kept here as the reference), Holm, correlations."""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from bertlens import bias


def hand_bootstrap_ci(values: np.ndarray, resamples: int = 2000, seed: int = 0, level: float = 0.95):
    """The project's previous percentile bootstrap: templates resampled with replacement, same picks every row."""
    values = np.asarray(values, dtype=float)
    rows, cols = values.shape
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, cols, size=(resamples, cols))
    means = values[:, picks].mean(axis=2)
    tail = (1 - level) / 2 * 100
    return np.percentile(means, tail, axis=1), np.percentile(means, 100 - tail, axis=1)


def hand_sign_flip(values: np.ndarray, permutations: int = 10000, seed: int = 0) -> np.ndarray:
    """The project's previous sign-flip test: every sign pattern for <= 16 columns, else random ones with +1."""
    values = np.asarray(values, dtype=float)
    rows, cols = values.shape
    if cols <= 16:
        signs, extra = np.array(list(itertools.product((1.0, -1.0), repeat=cols))), 0
    else:
        signs, extra = np.random.default_rng(seed).choice((1.0, -1.0), size=(permutations, cols)), 1
    observed = np.abs(values.mean(axis=1))
    flipped = np.abs(values @ signs.T / cols)
    hits = (flipped >= observed[:, None] - 1e-12).sum(axis=1)
    return (hits + extra) / (len(signs) + extra)


@pytest.mark.parametrize("cols", [2, 5, 8, 12])
def test_exact_sign_flip_equals_the_hand_written_test(cols):
    rng = np.random.default_rng(cols)
    continuous = rng.normal(0.2, 1.0, size=(40, cols))
    ties = rng.choice((-1.0, 1.0, 0.5, -0.5, 0.0), size=(40, cols))
    for values in (continuous, ties, np.zeros((2, cols))):
        p, label = bias.sign_flip_test(values)
        assert "exact" in label
        assert p.tolist() == hand_sign_flip(values).tolist()


def test_random_sign_flip_agrees_with_the_hand_written_test_within_sampling_error():
    rng = np.random.default_rng(5)
    values = rng.normal(0.15, 1.0, size=(30, 20))
    p, label = bias.sign_flip_test(values, 4000, seed=3)
    assert "random" in label and "4000" in label
    reference = hand_sign_flip(values, 4000, seed=4)
    standard_error = np.sqrt(np.maximum(reference * (1 - reference), 1e-4) / 4000)
    assert np.all(np.abs(p - reference) < 5 * standard_error + 1e-3)


def test_bootstrap_agrees_with_the_hand_written_bootstrap_within_sampling_error():
    rng = np.random.default_rng(11)
    values = rng.normal(0.0, 1.0, size=(50, 12)) * rng.uniform(0.1, 2.0, size=(50, 1))
    low, high = bias.bootstrap_ci(values, 4000, seed=1)
    ref_low, ref_high = hand_bootstrap_ci(values, 4000, seed=2)
    width = ref_high - ref_low
    assert np.all(np.abs(low - ref_low) < 0.1 * width) and np.all(np.abs(high - ref_high) < 0.1 * width)
    assert abs(np.mean(low - ref_low)) < 0.02 * np.mean(width)
    assert np.all(low <= values.mean(axis=1)) and np.all(values.mean(axis=1) <= high)


def test_bootstrap_ci_constant_rows_collapse():
    values = np.tile(np.array([[0.5], [-1.0]]), (1, 10))
    low, high = bias.bootstrap_ci(values, 500, seed=1)
    assert low == pytest.approx([0.5, -1.0]) and high == pytest.approx([0.5, -1.0])


def test_bootstrap_ci_width_and_coverage():
    rng = np.random.default_rng(7)
    values = rng.normal(1.0, 1.0, size=(1, 400))
    low, high = bias.bootstrap_ci(values, 2000, seed=2)
    assert low[0] < values.mean() < high[0]
    assert (low[0] + high[0]) / 2 == pytest.approx(values.mean(), abs=0.1 * (high[0] - low[0]))
    assert high[0] - low[0] == pytest.approx(2 * 1.96 / math.sqrt(400), rel=0.2)
    rows = rng.normal(0.3, 1.0, size=(400, 12))
    low, high = bias.bootstrap_ci(rows, 1000, seed=3)
    coverage = np.mean((low < 0.3) & (0.3 < high))
    assert 0.82 < coverage < 0.98


def test_bootstrap_ci_needs_two_templates():
    low, high = bias.bootstrap_ci(np.ones((3, 1)))
    assert np.isnan(low).all() and np.isnan(high).all()


def test_sign_flip_exact_matches_enumeration():
    rng = np.random.default_rng(0)
    values = rng.normal(0.4, 1.0, size=(5, 8))
    p, label = bias.sign_flip_test(values)
    assert "exact" in label
    for row, p_row in zip(values, p):
        count = 0
        for signs in itertools.product((1, -1), repeat=8):
            count += abs(np.dot(signs, row)) / 8 >= abs(row.mean()) - 1e-12
        assert p_row == pytest.approx(count / 256)


def test_sign_flip_extremes_and_random_mode():
    all_positive = np.abs(np.random.default_rng(1).normal(size=(1, 12))) + 0.1
    p, _ = bias.sign_flip_test(all_positive)
    assert p[0] == pytest.approx(2 / 4096)
    p, label = bias.sign_flip_test(np.abs(np.random.default_rng(2).normal(size=(2, 20))) + 0.1, 2000, seed=1)
    assert "random" in label and (p < 0.01).all() and (p > 0).all()
    null = np.random.default_rng(3).normal(0, 1, size=(300, 10))
    p, _ = bias.sign_flip_test(null)
    assert 0.02 < np.mean(p < 0.05) < 0.09


def test_holm_by_hand():
    adjusted = bias.holm(np.array([0.01, 0.04, 0.03, 0.005]))
    assert adjusted == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert bias.holm(np.array([0.5, 0.9])) == pytest.approx([1.0, 1.0])
    assert np.isnan(bias.holm(np.array([np.nan, 0.01])))[0] and bias.holm(np.array([np.nan, 0.01]))[1] == 0.01


def test_correlation_on_a_line():
    from scipy import stats

    x = [1.0, 20.0, 45.0, 60.0, 90.0]
    y = [0.02 * v - 1 for v in x]
    c = bias.correlation("log_ratio", x, y)
    assert c.pearson_r == pytest.approx(1.0) and c.spearman_rho == pytest.approx(1.0)
    assert c.slope == pytest.approx(0.02) and c.intercept == pytest.approx(-1)
    noisy = [v + e for v, e in zip(y, [0.3, -0.2, 0.5, -0.4, 0.1])]
    c = bias.correlation("log_ratio", x + [None], noisy + [5.0])
    assert c.n == 5 and c.pearson_r == pytest.approx(stats.pearsonr(x, noisy).statistic)
    assert bias.correlation("kurita", [1.0, None], [1.0, 2.0]) is None
