"""AUL and AULA (Kaneko & Bollegala, AAAI 2022), as the authors' `evaluate.py` computes them
(github.com/kanekomasahiro/evaluate_bias_in_mlm, MIT, commit 6b10239).

Nothing is masked: one forward pass of the whole sentence ([CLS] ... [SEP], `tokenizer.encode`), the log-softmax of the
MLM logits at every position, and the log-probability of each position's own token, [CLS] and [SEP] left out.
- AUL: the mean of those log-probabilities.
- AULA: each token's log-probability is first multiplied by the attention it receives, averaged over layers, then
  heads, then query positions (all positions, [CLS] and [SEP] included); the mean is then taken over the tokens
  (`evaluate.py` divides by the number of tokens, not by the sum of the weights).
A pair counts for the stereotype when sent_more's score is strictly higher (`pro_score > anti_score`, no rounding);
the metric is the % of all pairs that do. Sentences run as padded batches; padding is masked, and the attention
averages use each sentence's own positions only, so a batch gives the unbatched figures.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Sequence

import torch

from bertlens import forward
from bertlens.bias.crows import CrowsPair, _ids
from bertlens.errors import InputError
from bertlens.model import LoadedModel

METRICS = ("aul", "aula")
REFERENCE = "kanekomasahiro/evaluate_bias_in_mlm evaluate.py (commit 6b10239), MIT"


@dataclass(frozen=True)
class SentenceScore:
    """AUL and AULA of one sentence (AULA is NaN when attention was not asked for)."""

    aul: float
    aula: float
    tokens: int


@dataclass(frozen=True)
class AulPairScore:
    line: int
    sent_more: str
    sent_less: str
    direction: str
    bias_type: str
    more: SentenceScore
    less: SentenceScore

    def score(self, metric: str) -> tuple[float, float]:
        """(sent_more, sent_less) under `metric` ('aul' or 'aula')."""
        return getattr(self.more, metric), getattr(self.less, metric)

    def more_higher(self, metric: str) -> bool:
        more, less = self.score(metric)
        return more > less


@dataclass(frozen=True)
class AulResult:
    scores: list[AulPairScore]
    metrics: tuple[str, ...]
    total_pairs: int
    cancelled: bool
    seconds: float
    forward_rows: int


def sentence_scores(lm: LoadedModel, sentences: Sequence[Sequence[int]], attention: bool = True,
                    batch_size: int = 32) -> list[SentenceScore]:
    """AUL (and AULA when `attention`) of each token-id sequence ([CLS] ... [SEP]), in the order given.

    Sequences run longest-first in padded batches of `batch_size`; the softmax is taken in float32. Raises
    InputError for a sequence with no token between [CLS] and [SEP].
    """
    if any(len(ids) < 3 for ids in sentences):
        raise InputError("A sentence to score has no token besides [CLS] and [SEP].")
    order = sorted(range(len(sentences)), key=lambda i: -len(sentences[i]))
    out: list[SentenceScore | None] = [None] * len(sentences)
    for start in range(0, len(order), batch_size):
        chunk = order[start:start + batch_size]
        ids, mask, types = forward.padded(lm, [sentences[i] for i in chunk])
        with torch.inference_mode():
            output = forward.encoder(lm, ids, types, mask, attentions=attention)
            logits = forward.mlm_logits(lm, output.last_hidden)
            own = (logits.gather(-1, ids.unsqueeze(-1)).squeeze(-1)
                   - torch.logsumexp(logits, dim=-1)).cpu().double()
            received = None
            if attention:
                received = torch.stack(output.attentions).float().mean(dim=(0, 2)).cpu().double()
        for j, i in enumerate(chunk):
            n = len(sentences[i])
            token_lp = own[j, 1:n - 1]
            aula = float("nan")
            if received is not None:
                weights = received[j, :n, :n].mean(dim=0)[1:n - 1]
                aula = float((token_lp * weights).mean())
            out[i] = SentenceScore(float(token_lp.mean()), aula, n - 2)
    return out  # type: ignore[return-value]


def score_aul(lm: LoadedModel, pairs: list[CrowsPair], metrics: Sequence[str] = METRICS, batch_size: int = 32,
              progress: Callable[[float, str], None] | None = None,
              should_stop: Callable[[], bool] | None = None) -> AulResult:
    """AUL / AULA of both sentences of every pair: one forward pass per distinct sentence, batched.

    `metrics`: a subset of ('aul', 'aula'); attention is computed only for 'aula'. `progress(fraction, message)`
    after each batch; `should_stop()` before each batch ends the run with the pairs whose sentences are all scored.
    Raises InputError for no pairs, an unknown metric or an over-long sentence.
    """
    lm.require("mlm")
    unknown = [m for m in metrics if m not in METRICS]
    if unknown or not metrics:
        raise InputError(f"Unknown AUL metric {unknown[0] if unknown else '(none)'}; choose from {', '.join(METRICS)}.")
    if not pairs:
        raise InputError("There are no pairs to score.")
    started = time.perf_counter()
    encoded = [(_ids(lm, p.sent_more, p.line), _ids(lm, p.sent_less, p.line)) for p in pairs]
    distinct = sorted(dict.fromkeys(tuple(ids) for pair in encoded for ids in pair), key=len, reverse=True)
    step = batch_size * 4
    scored: dict[tuple[int, ...], SentenceScore] = {}
    cancelled = False
    for start in range(0, len(distinct), step):
        if should_stop is not None and should_stop():
            cancelled = True
            break
        chunk = distinct[start:start + step]
        scored.update(zip(chunk, sentence_scores(lm, chunk, "aula" in metrics, batch_size)))
        if progress is not None:
            progress(len(scored) / len(distinct), f"{len(scored)} of {len(distinct)} sentences")
    scores = [AulPairScore(p.line, p.sent_more, p.sent_less, p.direction, p.bias_type, scored[tuple(more)],
                           scored[tuple(less)])
              for p, (more, less) in zip(pairs, encoded) if tuple(more) in scored and tuple(less) in scored]
    return AulResult(scores, tuple(m for m in METRICS if m in metrics), len(pairs), cancelled,
                     time.perf_counter() - started, len(scored))
