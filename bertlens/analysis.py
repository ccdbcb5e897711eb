"""One forward pass per input, kept as one frozen record that every view reads.

Fill-mask, target words, NSP, attention and its statistics, the [MASK] link, query x key and the explanation views
all read an `Analysis`; none of them runs the model again. This is how LIT's model outputs and bertviz's views
work: they consume outputs and never run the model themselves.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch

from bertlens import forward
from bertlens.encoding import Encoded, encode
from bertlens.model import LoadedModel
from bertlens.text import clean_pair

if TYPE_CHECKING:
    from bertlens.interventions import Interventions


@dataclass(frozen=True)
class Analysis:
    """Everything one forward pass of `text` (and `pair`) gives. Shared across sessions: treat it as read-only.

    - `mask_log_probs[i]`: the MLM head's log-softmax over the vocabulary at the i-th [MASK] (text order), float32
      on the CPU; None when the checkpoint has no trained MLM head.
    - `nsp_logits`: (IsNext, NotNext) logits of the NSP head for the whole input; None without an NSP head.
    - `hidden_states[l]`: float32 CPU (layers + 1, T, hidden): the embeddings, then each layer's output. Only when
      asked for.
    - `attentions[layer, head, query, key]`: float32 CPU, rows summing to 1. Only when asked for.
    """

    text: str
    pair: str | None
    tokens: tuple[str, ...]
    input_ids: tuple[int, ...]
    token_type_ids: tuple[int, ...]
    offsets: tuple[tuple[int, int], ...]
    full_length: int
    mask_positions: tuple[int, ...]
    mask_log_probs: torch.Tensor | None
    nsp_logits: tuple[float, float] | None
    hidden_states: torch.Tensor | None = None
    attentions: torch.Tensor | None = None

    @property
    def n_tokens(self) -> int:
        return len(self.input_ids)

    @property
    def truncated(self) -> bool:
        return self.full_length > self.n_tokens

    @property
    def sentence_b_start(self) -> int | None:
        """Position of the first token of sentence B, or None for a single text."""
        if self.pair is None or 1 not in self.token_type_ids:
            return None
        return self.token_type_ids.index(1)


def analyse(lm: LoadedModel, text: str | None, pair: str | None = None, *, truncate: bool = False,
            hidden_states: bool = False, attentions: bool = False) -> Analysis:
    """Tokenise once and run the model once on `text` (and `pair`): MLM at every [MASK], NSP, and on request every
    layer's hidden states and attentions.

    Raises InputError for an empty text or an empty side of a pair, and for more than 512 tokens unless
    `truncate` (then the record says it was truncated).
    """
    text, pair = clean_pair(text, pair)
    encoded = encode(lm, text, pair, truncate=truncate)
    return run(lm, encoded, text, pair, hidden_states=hidden_states, attentions=attentions)


def run(lm: LoadedModel, encoded: Encoded, text: str, pair: str | None = None, *, hidden_states: bool = False,
        attentions: bool = False, interventions: "Interventions | None" = None) -> Analysis:
    """The forward pass behind `analyse`, for an input already encoded (and checked) by the caller; with
    `interventions` (heads switched off, for instance), the same pass through the edited model."""
    positions = (encoded.input_ids[0] == lm.tokenizer.mask_token_id).nonzero().squeeze(-1)
    states = weights = None
    want_nsp = lm.info.has_nsp and forward.has_pooler(lm)
    with torch.inference_mode():
        output = forward.encoder(lm, encoded.input_ids, encoded.token_type_ids, encoded.attention_mask,
                                 hidden_states=hidden_states, attentions=attentions, pooled=want_nsp,
                                 interventions=interventions)
        if hidden_states:
            states = torch.stack([h[0] for h in output.hidden_states]).float().cpu()
        if attentions:
            weights = torch.stack([a[0] for a in output.attentions]).float().cpu()
        log_probs = forward.mlm_log_probs(lm, output.last_hidden[0, positions]).cpu() if lm.info.has_mlm else None
        nsp = tuple(forward.nsp_logits(lm, output.pooled)[0].tolist()) if want_nsp else None
    from bertlens.debias import self_debias

    if log_probs is not None and len(positions) and self_debias.active(lm):
        if pair is not None:
            from bertlens.errors import InputError

            raise InputError(f"{lm.transform_name} reads a single text with [MASK]; it does not take a pair.")
        log_probs = self_debias.for_model(lm, [encoded.input_ids[0].tolist()], positions.tolist(), each=True)
    return Analysis(
        text=text,
        pair=pair,
        tokens=tuple(encoded.tokens),
        input_ids=tuple(encoded.input_ids[0].tolist()),
        token_type_ids=tuple(encoded.token_type_ids[0].tolist()),
        offsets=tuple(encoded.offsets),
        full_length=encoded.full_length,
        mask_positions=tuple(positions.tolist()),
        mask_log_probs=log_probs,
        nsp_logits=nsp,
        hidden_states=states,
        attentions=weights,
    )
