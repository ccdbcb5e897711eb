"""Self-Debias (Schick et al. 2021, "Self-Diagnosis and Self-Debiasing") for the masked LM, as bias-bench's
`MaskedLMWrapper.get_token_logits_self_debiasing` computes it (λ = 50, ε = 0.01, its gender prefix).

The text with one [MASK] is run as is and once after each debiasing prefix ("[CLS] <prefix> <text> [SEP]"). For
each vocabulary token, α = max(0, max over prefixes of p_prefixed - p_regular); the regular probabilities are
multiplied by max(exp(-λ α), ε) and renormalised. The result is returned as log-probabilities, as bias-bench
returns them.

bias-bench left-pads the regular row to the prefixed rows' length and shifts its position ids so that it starts
at 0; that is the regular text run alone, which is what is run here (each row in a right-padded batch, its padding
masked), through the one forward call.
"""
from __future__ import annotations

from typing import Sequence

import torch

from bertlens import forward
from bertlens.encoding import token_limit
from bertlens.errors import InputError
from bertlens.model import LoadedModel

GENDER_PREFIX = "The following text discriminates against people because of their gender: "
DECAY = 50.0
EPSILON = 0.01


def rescale(regular: torch.Tensor, prefixed: Sequence[torch.Tensor], decay: float = DECAY,
            epsilon: float = EPSILON) -> torch.Tensor:
    """Log-probabilities from the regular logits (..., vocab) and each prefix's logits."""
    p_regular = regular.softmax(dim=-1)
    p_biased = prefixed[0].softmax(dim=-1)
    for logits in prefixed[1:]:
        p_biased = torch.maximum(p_biased, logits.softmax(dim=-1))
    alpha = torch.clamp(p_biased - p_regular, min=0.0)
    factor = torch.clamp(torch.exp(-alpha * decay), min=epsilon)
    probabilities = p_regular * factor
    return torch.log(probabilities / probabilities.sum(dim=-1, keepdim=True))


def log_probs(lm: LoadedModel, texts: Sequence[str], prefixes: Sequence[str] = (GENDER_PREFIX,),
              decay: float = DECAY, epsilon: float = EPSILON, batch_size: int = 16) -> torch.Tensor:
    """(len(texts), vocab) self-debiased log-probabilities at each text's one [MASK]. Raises InputError for a
    text without exactly one [MASK], no prefix, or a prefixed text longer than the model reads."""
    mask_id = lm.tokenizer.mask_token_id
    rows, positions = [], []
    for text in texts:
        ids = lm.tokenizer(text)["input_ids"]
        if ids.count(mask_id) != 1:
            raise InputError(f"Self-Debias reads one [MASK]; the text '{text[:40]}' has {ids.count(mask_id)}.")
        rows.append(ids)
        positions.append(ids.index(mask_id))
    return log_probs_at(lm, rows, positions, prefixes, decay, epsilon, batch_size)


def active(lm: LoadedModel) -> bool:
    """Whether `lm` is seen through a Self-Debias fit (`LoadedModel.with_transform`)."""
    fit = getattr(lm, "transform", None)
    return fit is not None and fit.method == "self_debias"


def for_model(lm: LoadedModel, rows: Sequence[Sequence[int]], positions: Sequence[int], each: bool = False,
              batch_size: int = 16) -> torch.Tensor:
    """`log_probs_at` with the options of `lm`'s Self-Debias fit: one row per (row, position), or with `each` the
    one row at every one of `positions` (a text with several masks)."""
    options = lm.transform.options
    if each:
        rows = [rows[0]] * len(positions)
    return log_probs_at(lm, rows, positions, (options["prefix"],), float(options["decay"]),
                        float(options["epsilon"]), batch_size)


def log_probs_at(lm: LoadedModel, rows: Sequence[Sequence[int]], positions: Sequence[int],
                 prefixes: Sequence[str] = (GENDER_PREFIX,), decay: float = DECAY, epsilon: float = EPSILON,
                 batch_size: int = 16) -> torch.Tensor:
    """(len(rows), vocab) self-debiased log-probabilities at `positions[i]` of each id row ([CLS] ... [SEP]).
    Raises InputError for no prefix or a prefixed row longer than the model reads."""
    lm.require("mlm")
    if not prefixes:
        raise InputError("Self-Debias needs at least one debiasing prefix.")
    tokenizer = lm.tokenizer
    heads = [tokenizer(" ".join([tokenizer.cls_token, prefix]), add_special_tokens=False)["input_ids"]
             for prefix in prefixes]
    limit = token_limit(lm)
    every_row, every_position = [], []
    for ids, where in zip(rows, positions):
        every_row.append(list(ids))
        every_position.append(where)
        for head in heads:
            every_row.append(head + list(ids[1:]))
            every_position.append(len(head) - 1 + where)
    if any(len(row) > limit for row in every_row):
        raise InputError(f"With the debiasing prefix a text is longer than {limit} tokens.")
    logits = []
    for start in range(0, len(every_row), batch_size):
        ids, mask, types = forward.padded(lm, every_row[start:start + batch_size])
        with torch.inference_mode():
            hidden = forward.encoder(lm, ids, types, mask).last_hidden
            at = torch.tensor(every_position[start:start + batch_size], device=hidden.device)
            logits.append(forward.mlm_logits(lm, hidden[torch.arange(len(at), device=hidden.device), at]).cpu())
    every = torch.cat(logits).view(len(rows), 1 + len(heads), -1)
    return rescale(every[:, 0], [every[:, 1 + j] for j in range(len(heads))], decay, epsilon)
