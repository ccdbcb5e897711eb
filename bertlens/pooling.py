"""Sentence vectors: a layer's hidden states pooled per sentence, in padded batches through the one forward call.

SEAT (`bertlens.bias.seat`), the debiasing fits (`bertlens.debias.fit`) and `python -m bertlens embed` all read
sentences this way, as bias-bench encodes them: the mean over every real token ([CLS] and [SEP] included), which
is the mean of the sentence run alone, or the [CLS] row.
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np
import torch

from bertlens import forward
from bertlens.encoding import token_limit
from bertlens.errors import InputError
from bertlens.model import LoadedModel

POOLS = ("mean", "cls")


def sentence_vectors(lm: LoadedModel, texts: Sequence[str], layer: int | None = None, interventions: Any = None,
                     pool: str = "mean", batch_size: int = 32,
                     progress: Callable[[int, int], None] | None = None) -> np.ndarray:
    """(n, hidden) float64: each text's hidden states leaving `layer` (from 1; the last when None), pooled.
    Raises InputError for an unknown pooling or a text longer than the model reads."""
    if pool not in POOLS:
        raise InputError(f"Pooling must be mean or cls, not '{pool}'.")
    count = lm.config.num_hidden_layers
    layer = count if layer is None else layer
    rows = [lm.tokenizer(text)["input_ids"] for text in texts]
    limit = token_limit(lm)
    for text, row in zip(texts, rows):
        if len(row) > limit:
            raise InputError(f"The sentence '{text[:40]}' is {len(row)} tokens long; the model reads {limit}.")
    order = sorted(range(len(rows)), key=lambda i: len(rows[i]))
    out = np.zeros((len(rows), lm.config.hidden_size))
    last = layer == count
    for start in range(0, len(order), batch_size):
        chunk = order[start:start + batch_size]
        ids, mask, types = forward.padded(lm, [rows[i] for i in chunk])
        with torch.inference_mode():
            output = forward.encoder(lm, ids, types, mask, hidden_states=not last, interventions=interventions)
            hidden = (output.last_hidden if last else output.hidden_states[layer]).float()
            weights = mask.unsqueeze(-1).float()
            pooled = hidden[:, 0] if pool == "cls" else (hidden * weights).sum(dim=1) / weights.sum(dim=1)
        out[chunk] = pooled.cpu().double().numpy()
        if progress is not None:
            progress(min(start + batch_size, len(order)), len(order))
    return out
