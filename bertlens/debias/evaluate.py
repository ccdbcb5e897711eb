"""What a fitted transform changes: SEAT before and after, and what it costs the language model.

- SEAT (`bertlens.bias.seat`) on the intact model and with the transform (the same tests, seed and samples);
- pseudo-perplexity (Salazar et al. 2020) on a plain held-out sample: every token but [CLS] and [SEP] masked in
  turn, exp(- mean log P(token)), intact and with the transform, with a bootstrap 95% interval of their ratio over
  sentences;
- top-1 fill-mask agreement with the intact model at those same masks, with its bootstrap interval.

A projection (LEACE, INLP, SentenceDebias) is an argument of the forward call; Self-Debias rescales the MLM's
probabilities at each mask (`self_debias.log_probs_at`) and leaves SEAT's encodings as they are.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import torch

from bertlens import forward
from bertlens.bias import seat
from bertlens.bias.files import DATA, read_text
from bertlens.debias import self_debias
from bertlens.debias.store import Fit
from bertlens.encoding import token_limit
from bertlens.errors import InputError
from bertlens.model import LoadedModel

HELDOUT = DATA / "debias" / "heldout.txt"
BOOTSTRAP = 2000
MAX_SENTENCES = 500


@dataclass(frozen=True)
class SeatChange:
    test: str
    before: float
    after: float
    p_before: float
    p_after: float


@dataclass(frozen=True)
class LmCost:
    sentences: int
    tokens: int
    pppl_before: float
    pppl_after: float
    ratio: float
    ratio_low: float
    ratio_high: float
    agreement: float
    agreement_low: float
    agreement_high: float


def read_heldout(path: str | None = None) -> list[str]:
    """One sentence a line (# comments skipped); the shipped sample by default. Raises InputError."""
    name = f"the held-out sample '{path or HELDOUT.name}'"
    lines = [line.strip() for line in read_text(path or HELDOUT, name).splitlines()]
    sentences = [line for line in lines if line and not line.startswith("#")]
    if not sentences:
        raise InputError(f"{name[:1].upper() + name[1:]} has no sentences.")
    if len(sentences) > MAX_SENTENCES:
        raise InputError(f"{name[:1].upper() + name[1:]} has {len(sentences)} sentences; the limit is "
                         f"{MAX_SENTENCES}.")
    return sentences


def seat_change(lm: LoadedModel, fit: Fit, tests: Sequence[seat.SeatTest], n_samples: int = seat.N_SAMPLES,
                seed: int = 0) -> tuple[SeatChange, ...]:
    """Each test's effect size (and p-value) intact and with the transform. Raises InputError for Self-Debias."""
    interventions = fit.interventions()
    if interventions is None:
        raise InputError(f"{fit.name} rescales the MLM's probabilities and leaves the encodings SEAT reads as they "
                         "are; evaluate it on the language-model cost only.")
    before = seat.run(lm, tests, n_samples, seed)
    after = seat.run(lm, tests, n_samples, seed, interventions)
    return tuple(SeatChange(b.test, b.effect_size, a.effect_size, b.p_value, a.p_value)
                 for b, a in zip(before, after))


def _masked_rows(lm: LoadedModel, sentences: Sequence[str]) -> tuple[list[list[int]], list[int], list[int], list[int]]:
    """(rows, positions, true ids, sentence index) with each inner token of each sentence masked in turn."""
    limit = token_limit(lm)
    rows, positions, truth, owner = [], [], [], []
    for index, text in enumerate(sentences):
        ids = lm.tokenizer(text)["input_ids"]
        if len(ids) > limit:
            raise InputError(f"The held-out sentence '{text[:40]}' is longer than {limit} tokens.")
        for position in range(1, len(ids) - 1):
            row = list(ids)
            row[position] = lm.tokenizer.mask_token_id
            rows.append(row)
            positions.append(position)
            truth.append(ids[position])
            owner.append(index)
    if not rows:
        raise InputError("The held-out sentences have no tokens to mask.")
    return rows, positions, truth, owner


def _log_probs(lm: LoadedModel, rows: list[list[int]], positions: list[int], fit: Fit | None,
               batch_size: int = 32) -> torch.Tensor:
    if fit is not None and fit.method == "self_debias":
        options = fit.options
        return self_debias.log_probs_at(lm, rows, positions, (options["prefix"],), options["decay"],
                                        options["epsilon"], batch_size)
    interventions = fit.interventions() if fit is not None else None
    out = []
    for start in range(0, len(rows), batch_size):
        ids, mask, types = forward.padded(lm, rows[start:start + batch_size])
        with torch.inference_mode():
            hidden = forward.encoder(lm, ids, types, mask, interventions=interventions).last_hidden
            at = torch.tensor(positions[start:start + batch_size], device=hidden.device)
            out.append(forward.mlm_log_probs(lm, hidden[torch.arange(len(at), device=hidden.device), at]).cpu())
    return torch.cat(out)


def lm_cost(lm: LoadedModel, fit: Fit, sentences: Sequence[str], bootstrap: int = BOOTSTRAP,
            seed: int = 0) -> LmCost:
    """Pseudo-perplexity intact and with `fit`, and top-1 agreement, on `sentences`."""
    lm.require("mlm")
    rows, positions, truth, owner = _masked_rows(lm, sentences)
    index = torch.tensor(truth)
    intact = _log_probs(lm, rows, positions, None)
    changed = _log_probs(lm, rows, positions, fit)
    rows_range = torch.arange(len(rows))
    before = intact[rows_range, index].double().numpy()
    after = changed[rows_range, index].double().numpy()
    same = (intact.argmax(dim=-1) == changed.argmax(dim=-1)).numpy()
    owner_array = np.array(owner)
    n = len(sentences)
    per = [np.flatnonzero(owner_array == i) for i in range(n)]
    sums_before = np.array([before[p].sum() for p in per])
    sums_after = np.array([after[p].sum() for p in per])
    counts = np.array([len(p) for p in per])
    agree = np.array([same[p].sum() for p in per])
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, n, size=(bootstrap, n))
    tokens = counts[picks].sum(axis=1)
    ratios = np.exp((sums_before[picks].sum(axis=1) - sums_after[picks].sum(axis=1)) / tokens)
    shares = agree[picks].sum(axis=1) / tokens
    pppl_before = math.exp(-before.mean())
    pppl_after = math.exp(-after.mean())
    return LmCost(n, len(rows), pppl_before, pppl_after, pppl_after / pppl_before,
                  float(np.percentile(ratios, 2.5)), float(np.percentile(ratios, 97.5)), float(same.mean()),
                  float(np.percentile(shares, 2.5)), float(np.percentile(shares, 97.5)))


def summary(changes: Sequence[SeatChange]) -> dict[str, Any]:
    """Mean |effect size| before and after, as Meade et al. (2022) report SEAT."""
    before = float(np.mean([abs(c.before) for c in changes])) if changes else math.nan
    after = float(np.mean([abs(c.after) for c in changes])) if changes else math.nan
    return {"before": before, "after": after, "difference": after - before}


@dataclass(frozen=True)
class MetricChange:
    """A registered metric run on the intact model (`before`) and through the fit (`after`), the same inputs and
    options, and `after.value - before.value` with its interval (`difference`): `interval` says how it was taken,
    empty when there is none. `reason` is set instead when the metric cannot run through the fit."""

    metric: str
    title: str
    before: Any = None
    after: Any = None
    difference: float = math.nan
    ci_low: float = math.nan
    ci_high: float = math.nan
    interval: str = ""
    reason: str = ""

    def as_dict(self) -> dict[str, Any]:
        if self.reason:
            return {"metric": self.metric, "title": self.title, "not_applicable": self.reason}
        return {"metric": self.metric, "title": self.title, "unit": self.before.unit,
                "before": _headline(self.before), "after": _headline(self.after),
                "difference": {"value": self.difference, "ci_low": self.ci_low, "ci_high": self.ci_high,
                               "interval": self.interval}}


def _headline(result: Any) -> dict[str, Any]:
    return {"value": result.value, "ci_low": result.ci_low, "ci_high": result.ci_high, "interval": result.interval,
            "n": result.n, "ties": result.ties}


def difference(before: Any, after: Any, resamples: int = BOOTSTRAP, seed: int = 0
               ) -> tuple[float, float, float, str]:
    """(after − before, low, high, how) for two `MetricResult`s of one metric on the same items, paired by item:

    - StereoSet's SS (a mean over target terms of each term's %): a paired bootstrap over the terms, as its own
      interval is taken over terms;
    - a % of items decided yes (CrowS): McNemar's exact test and the paired bootstrap interval of the share decided
      yes, in points (`bias.compare.paired_decisions`, as two checkpoints are compared);
    - a count of items decided yes (the probe's occupations): the same, in items;
    - a mean of the items' scores (the pronoun probe's skew, nats): a paired bootstrap of the mean difference;
    - anything else (SEAT's mean |effect size| over a handful of fixed tests): no interval."""
    from bertlens.bias.compare import paired_decisions

    change = after.value - before.value
    terms = _term_differences(before.detail, after.detail)
    if terms is not None and len(terms) > 1:
        return (change, *_bootstrap_mean(terms, resamples, seed),
                f"paired percentile bootstrap 95% over {len(terms)} target terms, {resamples} resamples, seed {seed}")
    if before.unit == "%" and before.decisions:
        paired = paired_decisions(before, after, resamples, seed)
        return change, paired.ci_low, paired.ci_high, f"{paired.test} (McNemar p = {paired.p_value:.3g})"
    if before.unit == "occupations" and before.decisions:
        paired = paired_decisions(before, after, resamples, seed)
        scale = paired.items / 100.0
        return change, paired.ci_low * scale, paired.ci_high * scale, f"{paired.test}, in items (McNemar p = " \
                                                                     f"{paired.p_value:.3g})"
    scores_after = {d.item: d.score for d in after.decisions}
    shared = [(d.score, scores_after[d.item]) for d in before.decisions if d.item in scores_after]
    mean_of_scores = shared and math.isclose(float(np.mean([b for b, _ in shared])), before.value, rel_tol=1e-9,
                                             abs_tol=1e-12)
    if mean_of_scores and len(shared) > 1:
        diffs = np.array([a - b for b, a in shared])
        return (change, *_bootstrap_mean(diffs, resamples, seed),
                f"paired percentile bootstrap 95% over {len(diffs)} items, {resamples} resamples, seed {seed}")
    return change, math.nan, math.nan, ""


def _bootstrap_mean(diffs: np.ndarray, resamples: int, seed: int) -> tuple[float, float]:
    rng = np.random.default_rng(seed)
    means = diffs[rng.integers(0, len(diffs), size=(resamples, len(diffs)))].mean(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    return float(low), float(high)


def _term_differences(before: Any, after: Any) -> np.ndarray | None:
    """SS after − before per target term, for two StereoSet results on the same terms; None otherwise."""
    from bertlens.bias.stereoset import StereoSetResult, term_scores

    if not isinstance(before, StereoSetResult) or not isinstance(after, StereoSetResult):
        return None
    terms_before, ss_before, _ = term_scores(before.examples)
    terms_after, ss_after, _ = term_scores(after.examples)
    if terms_before != terms_after:
        return None
    return ss_after - ss_before


def metric_change(method: Any, lm: LoadedModel, fit: Fit, inputs: Any, config: dict[str, Any],
                  context: Any) -> MetricChange:
    """`method` (a registered metric) on the intact model and on `lm.with_transform(fit)`, with the same inputs
    and options, and their difference; `reason` instead when the metric cannot run through the fit."""
    debiased = lm.with_transform(fit)
    reason = method.is_compatible(debiased)
    if reason:
        return MetricChange(method.name, method.title, reason=reason)
    before = method.run(lm, inputs, config, context)
    after = method.run(debiased, inputs, config, context)
    change, low, high, how = difference(before, after)
    return MetricChange(method.name, method.title, before, after, change, low, high, how)


def stereoset_lms(change: MetricChange) -> dict[str, Any] | None:
    """StereoSet's language-model score before and after (the share of examples whose meaningful sentences score
    above the unrelated one), with its bootstrap intervals over target terms: a cost, beside pseudo-perplexity."""
    if change.reason or change.before.detail is None or change.before.detail.overall is None:
        return None
    before, after = change.before.detail.overall, change.after.detail.overall
    return {"before": before.lms, "before_ci": list(before.lms_ci), "after": after.lms,
            "after_ci": list(after.lms_ci), "difference": after.lms - before.lms,
            "interval": "bootstrap 95% over target terms"}
