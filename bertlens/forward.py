"""The one forward pass: every encoder run of BERT Lens goes through `encoder`, and the heads through `mlm_logits`
and `nsp_logits`.

Before this module there were seven forward paths, each with its own idea of padding, precision and batching.
One function gives one place for those rules:

- a single unpadded sequence from the app joins the cross-session batcher (`bertlens.batching`) when the model has
  one, and replays a CUDA graph on a GPU (`bertlens.fast`);
- padded batches, hidden states, attentions and `inputs_embeds` (for gradients) run the eager model;
- interventions (switching heads off, patching activations from another run) are an argument of the call, never a
  hook on the shared model, so two threads, one intervening and one not, never see each other's state
  (`bertlens.interventions`).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

import torch

from bertlens.encoder_output import EncoderOutput
from bertlens.model import LoadedModel

if TYPE_CHECKING:
    from bertlens.interventions import Interventions


def encoder(lm: LoadedModel, input_ids: torch.Tensor | None = None, token_type_ids: torch.Tensor | None = None,
            attention_mask: torch.Tensor | None = None, *, inputs_embeds: torch.Tensor | None = None,
            hidden_states: bool = False, attentions: bool = False, pooled: bool = False,
            interventions: "Interventions | None" = None, batched: bool = True) -> EncoderOutput:
    """Run the encoder once on a batch of token ids (or `inputs_embeds`, for gradients).

    `token_type_ids` default to zeros and `attention_mask` to all ones. Call it under `torch.inference_mode()`,
    or `torch.enable_grad()` with `inputs_embeds` that require gradients. `batched=False` keeps a single sequence
    out of the cross-session batcher (the batcher itself runs its batches that way).
    Raises RuntimeError when attentions are asked for but the model was not loaded with eager attention.
    """
    reference = inputs_embeds if inputs_embeds is not None else input_ids
    if reference is None:
        raise ValueError("encoder() needs input_ids or inputs_embeds.")
    shape = reference.shape[:2]
    if token_type_ids is None:
        token_type_ids = torch.zeros(shape, dtype=torch.long, device=reference.device)
    if interventions is not None and not interventions.empty:
        from bertlens.interventions import run_encoder

        return run_encoder(lm, input_ids, token_type_ids, attention_mask, interventions,
                           inputs_embeds=inputs_embeds, hidden_states=hidden_states, attentions=attentions,
                           pooled=pooled)
    plain = inputs_embeds is None and not hidden_states and not attentions
    unpadded = attention_mask is None or bool(attention_mask.all())
    if plain and unpadded and shape[0] == 1:
        if batched and lm.batcher is not None:
            last, pool = lm.batcher.encode(input_ids, token_type_ids)
            return EncoderOutput(last, pool if pooled else None)
        from bertlens.fast import hidden_states as fast_hidden_states

        last = fast_hidden_states(lm, {"input_ids": input_ids, "token_type_ids": token_type_ids})
        return EncoderOutput(last, pool_of(lm, last) if pooled else None)
    output = lm.model.bert(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids,
                           inputs_embeds=inputs_embeds, output_hidden_states=hidden_states,
                           output_attentions=attentions)
    if attentions and not output.attentions:
        raise RuntimeError("The model returned no attention weights; load it with eager attention.")
    return EncoderOutput(output.last_hidden_state, output.pooler_output if pooled else None,
                         tuple(output.hidden_states) if hidden_states else None,
                         tuple(output.attentions) if attentions else None)


def pool_of(lm: LoadedModel, last_hidden: torch.Tensor) -> torch.Tensor | None:
    """The pooler's output for the [CLS] row, or None when the checkpoint has no pooler."""
    pooler = lm.model.bert.pooler
    return None if pooler is None else pooler(last_hidden)


def mlm_logits(lm: LoadedModel, states: torch.Tensor) -> torch.Tensor:
    """The MLM head (transform, tied decoder, bias) on hidden states of any leading shape; float32 logits."""
    return lm.model.cls.predictions(states).float()


def mlm_log_probs(lm: LoadedModel, states: torch.Tensor) -> torch.Tensor:
    """log-softmax over the vocabulary, taken in float32 whatever the weights' precision."""
    return torch.log_softmax(mlm_logits(lm, states), dim=-1)


def nsp_logits(lm: LoadedModel, pooled_output: torch.Tensor) -> torch.Tensor:
    """(IsNext, NotNext) logits of the NSP head, float32. Label 0 means "B follows A"."""
    return lm.model.cls.seq_relationship(pooled_output).float()


def padded(lm: LoadedModel, rows: Sequence[Sequence[int]], types: Sequence[Sequence[int]] | None = None,
           device: torch.device | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(input_ids, attention_mask, token_type_ids) for id rows of different lengths, right-padded with [PAD].

    `types` gives each row's token types (zeros when None)."""
    width = max(len(row) for row in rows)
    ids = torch.full((len(rows), width), lm.tokenizer.pad_token_id, dtype=torch.long)
    mask = torch.zeros_like(ids)
    token_types = torch.zeros_like(ids)
    for j, row in enumerate(rows):
        ids[j, : len(row)] = torch.as_tensor(list(row), dtype=torch.long)
        mask[j, : len(row)] = 1
        if types is not None:
            token_types[j, : len(row)] = torch.as_tensor(list(types[j]), dtype=torch.long)
    device = device or lm.device
    return ids.to(device), mask.to(device), token_types.to(device)
