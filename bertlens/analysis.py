"""LOCAL STAND-IN for issue 10's one-pass analysis record (the integrator's version replaces it on merge)."""
from __future__ import annotations

from dataclasses import dataclass

import torch

from bertlens.encoding import encode
from bertlens.model import LoadedModel


@dataclass(frozen=True)
class Analysis:
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
    hidden_states: torch.Tensor | None
    attentions: torch.Tensor | None

    @property
    def n_tokens(self) -> int:
        return len(self.input_ids)


def analyse(lm: LoadedModel, text: str, pair: str | None = None, *, truncate: bool = False,
            hidden_states: bool = False, attentions: bool = False) -> Analysis:
    encoded = encode(lm, text, pair, truncate=truncate)
    ids = encoded.input_ids[0].tolist()
    positions = tuple(i for i, t in enumerate(ids) if t == lm.tokenizer.mask_token_id)
    with torch.inference_mode():
        out = lm.model(**encoded.model_inputs(), output_hidden_states=hidden_states, output_attentions=attentions)
        log_probs = torch.log_softmax(out.prediction_logits[0, list(positions)].float(), -1).cpu()
        nsp = out.seq_relationship_logits[0].float().tolist()
        hs = torch.stack(out.hidden_states)[:, 0].float().cpu() if hidden_states else None
        att = torch.stack(out.attentions)[:, 0].float().cpu() if attentions else None
    return Analysis(text, pair, tuple(encoded.tokens), tuple(ids), tuple(encoded.token_type_ids[0].tolist()),
                    tuple(encoded.offsets), encoded.full_length, positions, log_probs, (nsp[0], nsp[1]), hs, att)
