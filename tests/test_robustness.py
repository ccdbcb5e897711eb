"""Template robustness on synthetic scores: the per-set, per-template and per-occupation figures against numpy and
scipy computed here, the two-level bootstrap, and the shipped paraphrase sets."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from scipy import stats

from bertlens import bias
from bertlens.bias.files import TEMPLATES_PATH
from bertlens.bias.probe import plan_probe
from bertlens.bias.robustness import load_paraphrase_sets, parse_paraphrase_sets, summarise
from bertlens.bias.statistics import two_level_bootstrap
from bertlens.errors import InputError

SETS_TEXT = """[plain]
{person} worked as a [MASK].
{person} is a [MASK].
{person} was hired as a [MASK].
[reworded]
{person} was employed as a [MASK].
{person} works as a [MASK].
{person} got a job as a [MASK].
"""
OCCUPATIONS = "occupation,pct_women\nnurse,88\nplumber,1\nteacher,70\nbaker,40\nlawyer,35\n"


@pytest.fixture
def synthetic(lm):
    """The probe's plan for two sets of three templates, and scores whose female - male log-ratio for occupation o
    in template t is a known matrix M[o, t] (the male side scores 0)."""
    sets = parse_paraphrase_sets(SETS_TEXT)
    templates = "\n".join(t for s in sets for t in s.templates)
    config = bias.build_config(templates, "male,female\nthe man,the woman", OCCUPATIONS, bootstrap=500,
                               permutations=500, min_effect=0.5)
    plan = plan_probe(lm, config)
    rng = np.random.default_rng(1)
    matrix = rng.normal(0, 0.3, (5, 6)) + np.array([1.5, -1.2, 0.6, 0.0, 0.1])[:, None]
    matrix[:, 3:] += 0.4
    scores = [0.0] * len(plan.items)
    for t, _, o, female, male in plan.units:
        scores[female] = matrix[o, t]
    return config, sets, plan, scores, matrix


def test_figures_match_the_synthetic_matrix(synthetic):
    config, sets, plan, scores, matrix = synthetic
    result = summarise(config, sets, plan, scores, 1.0, 10)
    shares = np.array([88, 1, 70, 40, 35], dtype=float)
    for s, cols in zip(result.sets, ([0, 1, 2], [3, 4, 5])):
        means = matrix[:, cols].mean(axis=1)
        assert s.n_templates == 3
        assert s.mean_abs_log_ratio == pytest.approx(np.abs(means).mean())
        assert s.mean_log_ratio == pytest.approx(means.mean())
        assert s.pearson_r == pytest.approx(stats.pearsonr(shares, means).statistic)
        assert 0 <= s.notable <= s.significant <= 5
    for t, summary in enumerate(result.templates):
        assert summary.set_name == ("plain" if t < 3 else "reworded")
        assert summary.mean_log_ratio == pytest.approx(matrix[:, t].mean())
        assert summary.mean_abs_log_ratio == pytest.approx(np.abs(matrix[:, t]).mean())
        assert summary.pearson_r == pytest.approx(stats.pearsonr(shares, matrix[:, t]).statistic)
    for o, spread in enumerate(result.spreads):
        assert spread.minimum == pytest.approx(matrix[o].min()) and spread.maximum == pytest.approx(matrix[o].max())
        assert spread.std == pytest.approx(matrix[o].std(ddof=1))
        assert spread.set_means == pytest.approx((matrix[o, :3].mean(), matrix[o, 3:].mean()))
    a, b = result.mean_abs_range
    assert (a, b) == pytest.approx(sorted([np.abs(matrix[:, :3].mean(1)).mean(), np.abs(matrix[:, 3:].mean(1)).mean()]))
    assert result.mean_abs.estimate == pytest.approx(np.abs(matrix.mean(axis=1)).mean())
    assert result.mean_abs.low <= result.mean_abs.estimate <= result.mean_abs.high
    assert f"from {a:.3f} to {b:.3f}" in result.headline
    low, high = result.notable_range
    assert f"ranges from {low} to {high} of 5 occupations" in result.headline


def test_set_result_is_the_probe_on_that_set_alone(synthetic, lm):
    config, sets, plan, scores, matrix = synthetic
    result = summarise(config, sets, plan, scores, 1.0, 10)
    sub_config = replace(config, templates=sets[1].templates)
    sub_plan = plan_probe(lm, sub_config)
    sub_scores = [0.0] * len(sub_plan.items)
    for t, _, o, female, male in sub_plan.units:
        sub_scores[female] = matrix[o, 3 + t]
    direct = bias.probe.assemble(sub_config, sub_plan, sub_scores, 1.0, 10, "batched")
    assert result.sets[1].notable == direct.notable_count
    assert [o.p_value for o in result.set_results[1].occupations] == pytest.approx(
        [o.p_value for o in direct.occupations])


def test_minimum_effect_is_reapplied_without_scores(synthetic):
    config, sets, plan, scores, matrix = synthetic
    result = summarise(config, sets, plan, scores, 1.0, 10)
    loose = result.with_min_effect(0.0)
    assert [s.notable for s in loose.sets] == [s.significant for s in result.sets]
    strict = result.with_min_effect(100.0)
    assert [s.notable for s in strict.sets] == [0, 0]
    assert "≥ 100" in strict.headline


def test_two_level_bootstrap_resamples_templates_too():
    rng = np.random.default_rng(0)
    template_effect = np.tile(rng.normal(0, 1, 8), (30, 1))
    mean = lambda m, rows: float(m.mean())  # noqa: E731
    low, high = two_level_bootstrap(template_effect, mean, 1000, seed=3)
    assert high - low > 0.5, "rows are identical: all the width comes from resampling templates"
    assert np.ptp(template_effect.mean(axis=1)) == 0, "resampling occupations alone would give zero width"
    row_effect = np.tile(rng.normal(0, 1, (30, 1)), (1, 8))
    low2, high2 = two_level_bootstrap(row_effect, mean, 1000, seed=3)
    assert high2 - low2 > 0.2
    constant = np.full((5, 4), 0.7)
    assert two_level_bootstrap(constant, mean, 200) == pytest.approx((0.7, 0.7))
    assert np.isnan(two_level_bootstrap(constant[:1], mean, 200)[0])


def test_two_level_bootstrap_matches_a_direct_resampling():
    values = np.random.default_rng(5).normal(size=(6, 4))
    statistic = lambda m, rows: float(np.abs(m.mean(axis=1)).mean())  # noqa: E731
    rng = np.random.default_rng(11)
    draws = []
    for _ in range(300):
        r = rng.integers(6, size=6)
        c = rng.integers(4, size=4)
        draws.append(np.abs(values[np.ix_(r, c)].mean(axis=1)).mean())
    assert two_level_bootstrap(values, statistic, 300, seed=11) == pytest.approx(tuple(np.percentile(draws, [2.5, 97.5])))


def test_shipped_paraphrase_sets_are_aligned_and_start_with_the_templates():
    sets = load_paraphrase_sets()
    assert len(sets) >= 3
    original = bias.parse_templates(TEMPLATES_PATH.read_text())
    assert list(sets[0].templates) == original
    for s in sets:
        assert len(s.templates) == len(original)
        assert [bias.template_role(t) for t in s.templates] == [bias.template_role(t) for t in original]
    assert len({t for s in sets for t in s.templates}) == sum(len(s.templates) for s in sets)


@pytest.mark.parametrize("text, message", [
    ("[only]\n{person} is a [MASK].", "at least two"),
    ("{person} is a [MASK].\n[a]\n{person} is a [MASK].", "before any"),
    ("[a]\n{person} is a [MASK].\n[a]\n{person} works as a [MASK].", "same name"),
    ("[a]\n{person} is a [MASK].\n[b]\nno slot here [MASK].", "slot"),
    ("[a]\n[b]\n{person} is a [MASK].", "no templates"),
])
def test_bad_paraphrase_sets(text, message):
    with pytest.raises(InputError, match=message):
        parse_paraphrase_sets(text)
