"""Tokenising once, with length checks and truncation reported rather than hidden."""
from __future__ import annotations

from dataclasses import dataclass

import torch

from bertlens.errors import InputError
from bertlens.model import LoadedModel
from bertlens.text import MAX_TOKENS


@dataclass
class Encoded:
    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    token_type_ids: torch.Tensor
    offsets: list[tuple[int, int]]
    tokens: list[str]
    full_length: int

    @property
    def truncated(self) -> bool:
        return self.full_length > self.input_ids.shape[-1]

    def model_inputs(self) -> dict[str, torch.Tensor]:
        return {"input_ids": self.input_ids, "attention_mask": self.attention_mask,
                "token_type_ids": self.token_type_ids}


def token_limit(lm: LoadedModel) -> int:
    """The most tokens one input may have: 512, or fewer when the checkpoint has fewer positions or the operator
    set BERT_LENS_MAX_TOKENS (`bertlens.settings.limits`)."""
    from bertlens.settings import limits

    return min(MAX_TOKENS, lm.info.max_positions, limits().max_tokens)


def encode(lm: LoadedModel, text: str, pair: str | None = None, truncate: bool = False) -> Encoded:
    """Tokenise `text` (and `pair`) for the model. Over 512 tokens: truncate, or raise InputError."""
    limit = token_limit(lm)
    tokenizer = lm.tokenizer
    options = dict(return_tensors="pt", return_offsets_mapping=True, return_token_type_ids=True)
    batch = tokenizer(text, pair, truncation=False, **options)
    full_length = batch["input_ids"].shape[-1]
    if full_length > limit:
        if not truncate:
            raise InputError(
                f"The text is {full_length:,} tokens long; the model reads at most {limit} "
                f"({limit - 2} plus [CLS] and [SEP]). Shorten it by about {full_length - limit:,} tokens."
            )
        batch = tokenizer(text, pair, truncation=True, max_length=limit, **options)
    ids = batch["input_ids"]
    return Encoded(
        input_ids=ids.to(lm.device),
        attention_mask=batch["attention_mask"].to(lm.device),
        token_type_ids=batch["token_type_ids"].to(lm.device),
        offsets=[tuple(o) for o in batch["offset_mapping"][0].tolist()],
        tokens=tokenizer.convert_ids_to_tokens(ids[0].tolist()),
        full_length=full_length,
    )
