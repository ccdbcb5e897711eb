"""One batched masked-language-model scorer: log P(token) at one masked position of many token rows.

`masked_log_probs` is the runner. Each row is a full id sequence ([CLS] ... [SEP]) with a [MASK] at `position`; the
encoder runs on padded batches and the MLM head only at each row's position. It serves:

- `chained_log_probs`: a word of n WordPieces at a [MASK], chained left to right (fill-mask targets, the bias probe);
- CrowS-Pairs pseudo-log-likelihood (`bertlens.bias.crows`): each shared token masked in turn.

Through Self-Debias (`LoadedModel.with_transform` of a Self-Debias fit) the log-probabilities at each mask are the
self-debiased ones (`bertlens.debias.self_debias.for_model`), so every metric that scores here takes it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import torch

from bertlens import forward
from bertlens.encoding import token_limit
from bertlens.errors import InputError
from bertlens.model import LoadedModel
from bertlens.text import MASK


@dataclass(frozen=True)
class MaskedRow:
    """A token row, the position of its [MASK] and the token ids whose log-probabilities are wanted there."""

    ids: tuple[int, ...]
    position: int
    targets: tuple[int, ...]


def masked_log_probs(lm: LoadedModel, rows: Sequence[MaskedRow], batch_size: int = 64,
                     progress: Callable[[int, int], None] | None = None) -> list[list[float]]:
    """For each row, log P(target | row) at its position, one float per target, in the order given.

    Rows run in the order given, `batch_size` to a padded batch (callers sort by length to waste less padding);
    `progress(done_rows, total_rows)` after each batch. The softmax is taken in float32 whatever the weights'
    precision. Raises InputError when a row is longer than the model accepts.
    """
    limit = token_limit(lm)
    if any(len(row.ids) > limit for row in rows):
        raise InputError(f"A text to score is longer than {limit} tokens.")
    from bertlens.debias import self_debias

    rescaled = self_debias.active(lm)
    out: list[list[float]] = []
    for start in range(0, len(rows), batch_size):
        chunk = rows[start:start + batch_size]
        if rescaled:
            log_probs = self_debias.for_model(lm, [row.ids for row in chunk], [row.position for row in chunk])
        else:
            ids, attention, types = forward.padded(lm, [row.ids for row in chunk])
            with torch.inference_mode():
                hidden = forward.encoder(lm, ids, types, attention).last_hidden
                where = torch.tensor([row.position for row in chunk], device=lm.device)
                log_probs = forward.mlm_log_probs(lm, hidden[torch.arange(len(chunk), device=lm.device),
                                                             where]).cpu()
        for j, row in enumerate(chunk):
            out.append([float(log_probs[j, t]) for t in row.targets])
        if progress is not None:
            progress(min(start + batch_size, len(rows)), len(rows))
    return out


def chained_log_probs(lm: LoadedModel, items: list[tuple[str, list[int]]], batch_size: int = 64,
                      progress: Callable[[int, int], None] | None = None) -> list[list[float]]:
    """For each (text with one [MASK], piece ids): the log-probability of each piece, chained left to right.

    Every step of every item is one row of a padded batch. Identical rows are run once: all one-piece words at the
    same mask share one row, and so do the first steps of all words with the same number of pieces. So n items
    of k pieces cost at most ceil(n*k/batch) passes. `progress(done_rows, total_rows)` is called after each batch.
    Raises InputError when a text with the word in place is longer than the model accepts.
    """
    unique: dict[tuple[int, ...], tuple[int, list[tuple[int, int]]]] = {}
    for item, (text, ids) in enumerate(items):
        before, after = text.split(MASK, 1)
        prefix = lm.tokenizer(before, add_special_tokens=False)["input_ids"]
        suffix = lm.tokenizer(after, add_special_tokens=False)["input_ids"]
        for step in range(len(ids)):
            filled = ids[:step] + [lm.tokenizer.mask_token_id] * (len(ids) - step)
            sequence = (lm.tokenizer.cls_token_id, *prefix, *filled, *suffix, lm.tokenizer.sep_token_id)
            unique.setdefault(sequence, (1 + len(prefix) + step, []))[1].append((item, step))
    limit = token_limit(lm)
    if any(len(sequence) > limit for sequence in unique):
        raise InputError(f"With the target word in place the text is longer than {limit} tokens.")
    ordered = sorted(unique.items(), key=lambda row: len(row[0]))
    rows = [MaskedRow(sequence, position, tuple(items[item][1][step] for item, step in readers))
            for sequence, (position, readers) in ordered]
    values = masked_log_probs(lm, rows, batch_size, progress)
    results: list[list[float]] = [[0.0] * len(ids) for _, ids in items]
    for (_, (_, readers)), row_values in zip(ordered, values):
        for (item, step), value in zip(readers, row_values):
            results[item][step] = value
    return results
