"""Two checkpoints side by side, compared on words, never on token ids.

The occupation probe scores each occupation as a word (each model splits it into its own WordPieces), and CrowS-Pairs
scores sentences, so both compare across vocabularies: rows are matched by occupation name or by the pair's line.
What cannot be compared is said per row (`reason`):
- an occupation or gendered word that a model's vocabulary can only write with [UNK] (its score there is the
  unknown token's, not the word's);
- with different vocabularies, AUL / AULA / PLL *score values* average or sum over each model's own tokens, so only
  the decisions and the % per metric are compared, not the raw per-pair differences (see `notes`).

Whether B differs from A is tested on the items both decided (`bertlens.bias.statistics.paired_test`): McNemar's
exact test on the items decided differently, and a paired bootstrap interval of B − A in points. `paired_decisions`
does it for any registered metric's `MetricResult`s (StereoSet over examples, CrowS-Pairs over pairs);
`compare_stereoset` for two StereoSet runs as the command line and the two-model tab show them.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from bertlens.bias.crows_metrics import MetricsResult
from bertlens.bias.probe import ProbeResult
from bertlens.bias.statistics import PairedTest, paired_test
from bertlens.model import LoadedModel
from bertlens.results import MetricResult


@dataclass(frozen=True)
class ModelLabel:
    model_id: str
    fingerprint: str
    random_weights: bool
    vocab_size: int

    @classmethod
    def of(cls, lm: LoadedModel) -> "ModelLabel":
        return cls(lm.info.model_id, lm.fingerprint(), lm.info.random_weights, lm.info.vocab_size)


@dataclass(frozen=True)
class OccupationDiff:
    """One occupation under both models; `difference` = B − A (NaN when not comparable, with the reason)."""

    occupation: str
    log_ratio_a: float
    log_ratio_b: float
    pieces_a: tuple[str, ...]
    pieces_b: tuple[str, ...]
    reason: str = ""

    @property
    def comparable(self) -> bool:
        return not self.reason

    @property
    def difference(self) -> float:
        return self.log_ratio_b - self.log_ratio_a if self.comparable else float("nan")


@dataclass(frozen=True)
class ProbeComparison:
    a: ModelLabel
    b: ModelLabel
    same_vocabulary: bool
    rows: list[OccupationDiff]
    notable_a: int
    notable_b: int
    notes: list[str] = field(default_factory=list)
    paired: PairedTest | None = None
    """McNemar on the occupations counted in the headline by one model only; B − A in points of occupations."""


@dataclass(frozen=True)
class MetricDiff:
    """One metric under both models: % decided for sent_more, Wilson intervals, and the pairs decided differently."""

    metric: str
    label: str
    percent_a: float
    ci_a: tuple[float, float]
    percent_b: float
    ci_b: tuple[float, float]
    pairs: int
    decided_differently: int
    paired: PairedTest | None = None

    @property
    def difference(self) -> float:
        return self.percent_b - self.percent_a


@dataclass(frozen=True)
class CrowsComparison:
    a: ModelLabel
    b: ModelLabel
    same_vocabulary: bool
    metrics: list[MetricDiff]
    pair_differences: dict[str, list[tuple[int, float]]]
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class StereoSetComparison:
    """StereoSet under two models on the examples both scored: each model's SS (averaged over target terms, as the
    authors' evaluation.py does) and the paired test over examples (McNemar's exact test on the examples whose
    stereotype sentence scores higher under one model only; B − A in points of examples, a tie counting as not
    higher)."""

    a: ModelLabel
    b: ModelLabel
    ss_a: float
    ss_b: float
    examples: int
    decided_differently: int
    paired: PairedTest
    notes: list[str] = field(default_factory=list)


def compare_stereoset(lm_a: LoadedModel, result_a: Any, lm_b: LoadedModel, result_b: Any, resamples: int = 2000,
                      seed: int = 0) -> StereoSetComparison:
    """Two `StereoSetResult`s matched by (split, example id); an example one run did not score (a stopped run) is
    left out and counted in `notes`."""
    def decisions(result: Any) -> dict[tuple[str, str], bool]:
        return {(e.example.split, e.example.id): e.decision is True for e in result.examples}

    a, b = decisions(result_a), decisions(result_b)
    shared = [item for item in a if item in b]
    test = paired_test([a[i] for i in shared], [b[i] for i in shared], resamples, seed)
    notes = []
    left_out = len(a) + len(b) - 2 * len(shared)
    if left_out:
        notes.append(f"{left_out} example(s) scored by one model only are left out of the paired test.")
    if not same_vocabulary(lm_a, lm_b):
        notes.append("The two models have different vocabularies: each scores every sentence with its own "
                     "WordPieces, so only the decisions are compared, not the raw scores.")

    def ss(result: Any) -> float:
        return result.overall.ss if result.overall else math.nan

    return StereoSetComparison(ModelLabel.of(lm_a), ModelLabel.of(lm_b), ss(result_a), ss(result_b), len(shared),
                               sum(a[i] != b[i] for i in shared), test, notes)


def same_vocabulary(lm_a: LoadedModel, lm_b: LoadedModel) -> bool:
    """True when both tokenizers map every token to the same id (then ids and word pieces agree)."""
    return lm_a.tokenizer.get_vocab() == lm_b.tokenizer.get_vocab()


def _unknown(lm: LoadedModel, pieces: list[str] | tuple[str, ...]) -> bool:
    return lm.tokenizer.unk_token in pieces


def compare_probe(lm_a: LoadedModel, result_a: ProbeResult, lm_b: LoadedModel, result_b: ProbeResult) -> ProbeComparison:
    """Occupations matched by name; an occupation in only one run, or written with [UNK] by a model, is kept with
    its reason and no difference."""
    by_b = {o.occupation: o for o in result_b.occupations}
    rows = []
    for o in result_a.occupations:
        other = by_b.get(o.occupation)
        if other is None:
            rows.append(OccupationDiff(o.occupation, o.log_ratio, float("nan"), tuple(o.pieces), (),
                                       "not in model B's run"))
            continue
        reason = ""
        if _unknown(lm_a, o.pieces) or _unknown(lm_b, other.pieces):
            which = "A" if _unknown(lm_a, o.pieces) else "B"
            reason = f"model {which}'s vocabulary writes it as [UNK], so its score is not the word's"
        elif not (math.isfinite(o.log_ratio) and math.isfinite(other.log_ratio)):
            reason = "no finite score"
        rows.append(OccupationDiff(o.occupation, o.log_ratio, other.log_ratio, tuple(o.pieces), tuple(other.pieces),
                                   reason))
    seen = {o.occupation for o in result_a.occupations}
    rows += [OccupationDiff(o.occupation, float("nan"), o.log_ratio, (), tuple(o.pieces), "not in model A's run")
             for o in result_b.occupations if o.occupation not in seen]
    same = same_vocabulary(lm_a, lm_b)
    notes = []
    if not same:
        split = sum(1 for r in rows if r.comparable and r.pieces_a != r.pieces_b)
        notes.append(f"The two models have different vocabularies ({lm_a.info.vocab_size:,} and "
                     f"{lm_b.info.vocab_size:,} tokens). Occupations are compared as words: each model scores the "
                     f"word with its own WordPieces; {split} occupation(s) split differently.")
    skipped = [r for r in rows if not r.comparable]
    if skipped:
        notes.append(f"{len(skipped)} occupation(s) cannot be compared; the reason is given per row.")
    notable_b = {o.occupation: result_b.notable(o) for o in result_b.occupations}
    shared = [o for o in result_a.occupations if o.occupation in notable_b]
    paired = paired_test([result_a.notable(o) for o in shared], [notable_b[o.occupation] for o in shared],
                         result_a.config.bootstrap, result_a.config.seed)
    return ProbeComparison(ModelLabel.of(lm_a), ModelLabel.of(lm_b), same, rows, result_a.notable_count,
                           result_b.notable_count, notes, paired)


def paired_decisions(result_a: MetricResult, result_b: MetricResult, resamples: int = 2000,
                     seed: int = 0) -> PairedTest:
    """Two runs of one metric compared on the items both decided (matched by item id; a tie counts as no, as in the
    metric's own %)."""
    by_b = {d.item: d.decision is True for d in result_b.decisions}
    shared = [d for d in result_a.decisions if d.item in by_b]
    return paired_test([d.decision is True for d in shared], [by_b[d.item] for d in shared], resamples, seed)


def compare_crows(lm_a: LoadedModel, result_a: MetricsResult, lm_b: LoadedModel,
                  result_b: MetricsResult) -> CrowsComparison:
    """Each metric both runs have, on the pairs both scored (matched by line and sentences)."""
    same = same_vocabulary(lm_a, lm_b)
    key = lambda p: (p.line, p.sent_more, p.sent_less)  # noqa: E731
    pairs_b = {key(p): p for p in result_b.pairs}
    common = [(p, pairs_b[key(p)]) for p in result_a.pairs if key(p) in pairs_b]
    metrics, differences = [], {}
    for metric in (m for m in result_a.metrics if m in result_b.metrics):
        sa, sb = result_a.summary(metric), result_b.summary(metric)
        metrics.append(MetricDiff(metric, sa.label, sa.percent, (sa.ci_low, sa.ci_high), sb.percent,
                                  (sb.ci_low, sb.ci_high), len(common),
                                  sum(pa.decisions[metric] != pb.decisions[metric] for pa, pb in common),
                                  paired_test([pa.decisions[metric] for pa, _ in common],
                                              [pb.decisions[metric] for _, pb in common])))
        if same:
            differences[metric] = [(pa.line, pb.differences[metric] - pa.differences[metric]) for pa, pb in common]
    notes = []
    if not same:
        notes.append("The two models have different vocabularies, so a sentence's PLL, AUL and AULA are sums or "
                     "means over different tokens: the raw score values are not comparable, and only the decisions "
                     "and the % per metric are compared.")
    return CrowsComparison(ModelLabel.of(lm_a), ModelLabel.of(lm_b), same, metrics, differences, notes)


def rss_bytes() -> int:
    """This process's resident memory now (psutil)."""
    import psutil

    return psutil.Process().memory_info().rss


def load_measured(settings) -> tuple[LoadedModel, int]:
    """Load a model (`bertlens.model.load_model`), run one tiny MLM pass so its weights are paged in, and return it
    with the resident memory that added, in bytes (RSS after − RSS before; weights are memory-mapped, so the pass
    is part of the figure). Raises as `load_model` does."""
    import gc

    from bertlens.model import load_model
    from bertlens.scoring import MaskedRow, masked_log_probs

    gc.collect()
    before = rss_bytes()
    lm = load_model(settings)
    if lm.info.has_mlm:
        tok = lm.tokenizer
        masked_log_probs(lm, [MaskedRow((tok.cls_token_id, tok.mask_token_id, tok.sep_token_id), 1, (0,))])
    return lm, max(0, rss_bytes() - before)


def report_comparisons(rows: list[dict[str, Any]], resamples: int = 2000, seed: int = 0) -> list[dict[str, Any]]:
    """Each completed checkpoint B of an audit report against the first, A, for every metric both decided item by
    item (the rows' compact `decisions`): the paired test on the items both decided."""
    from bertlens.bias.reports import expand_decisions
    from bertlens.results import rounded

    ok = [r for r in rows if r.get("status") == "ok" and r.get("decisions")]
    if len(ok) < 2:
        return []
    first, out = ok[0], []
    titles = {m.get("metric"): m.get("title") for m in first.get("metrics") or []}
    for other in ok[1:]:
        for metric, compact in first["decisions"].items():
            if metric not in other["decisions"]:
                continue
            a, b = expand_decisions(compact), expand_decisions(other["decisions"][metric])
            shared = [item for item in a if item in b]
            test = paired_test([a[i] is True for i in shared], [b[i] is True for i in shared], resamples, seed)
            out.append({"metric": metric, "title": titles.get(metric) or metric, "a": first["model"],
                        "b": other["model"], "items": test.items, "a_only": test.a_only, "b_only": test.b_only,
                        "p_value": rounded(test.p_value), "difference": rounded(test.difference),
                        "ci_low": rounded(test.ci_low), "ci_high": rounded(test.ci_high), "test": test.test})
    return out
