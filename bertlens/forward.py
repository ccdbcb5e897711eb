"""The one forward pass: every encoder run of BERT Lens goes through `encoder`, and the heads through `mlm_logits`
and `nsp_logits`. This module (and `bertlens.interventions`) is the only one that reaches into the model's parts:
the embedding lookup where gradients are taken (`embed_words`), the Q/K projections the attention page shows
(`query_key`) and the MLM head's target rows that mediation reads (`mlm_target_logits`) are here too.

Before this module there were seven forward paths, each with its own idea of padding, precision and batching.
One function gives one place for those rules:

- a single unpadded sequence from the app joins the cross-session batcher (`bertlens.batching`) when the model has
  one, and replays a CUDA graph on a GPU (`bertlens.fast`);
- padded batches, hidden states, attentions and `inputs_embeds` (for gradients) run the eager model;
- interventions (switching heads off, patching activations from another run) are an argument of the call, never a
  hook on the shared model, so two threads, one intervening and one not, never see each other's state
  (`bertlens.interventions`); a debiasing transform rides on the model handle (`LoadedModel.with_transform`) and
  joins the call's interventions here.
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
    if lm.transform is not None:
        interventions = with_transform(lm, interventions)
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
        from bertlens.fast import hidden_states as graph_hidden_states

        inputs = {"input_ids": input_ids, "token_type_ids": token_type_ids}
        last = graph_hidden_states(lm, inputs, unmasked_states)
        if last is None:
            last = lm.model.bert(**inputs).last_hidden_state
        return EncoderOutput(last, pool_of(lm, last) if pooled else None)
    output = lm.model.bert(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids,
                           inputs_embeds=inputs_embeds, output_hidden_states=hidden_states,
                           output_attentions=attentions)
    if attentions and not output.attentions:
        raise RuntimeError("The model returned no attention weights; load it with eager attention.")
    return EncoderOutput(output.last_hidden_state, output.pooler_output if pooled else None,
                         tuple(output.hidden_states) if hidden_states else None,
                         tuple(output.attentions) if attentions else None)


def with_transform(lm: LoadedModel, interventions: "Interventions | None") -> "Interventions | None":
    """`interventions` with the projections of the model's debiasing transform (`LoadedModel.with_transform`) in
    front; unchanged for a transform that leaves the encodings alone (Self-Debias)."""
    added = lm.transform.interventions()
    if added is None:
        return interventions
    if interventions is None:
        return added
    import dataclasses

    return dataclasses.replace(interventions, project=added.project + interventions.project)


def unmasked_states(lm: LoadedModel, input_ids: torch.Tensor, token_type_ids: torch.Tensor) -> torch.Tensor:
    """Last hidden states of one unpadded sequence: embeddings and the layers, without the pooler.

    With no padding the attention mask is all ones, which the eager attention would only add as zeros, so it is
    left out: the pass has no data-dependent branch and can be captured as a CUDA graph (`bertlens.fast`).
    """
    bert = lm.model.bert
    hidden = bert.embeddings(input_ids=input_ids, token_type_ids=token_type_ids)
    return bert.encoder(hidden, attention_mask=None).last_hidden_state


def has_pooler(lm: LoadedModel) -> bool:
    """Whether the checkpoint has the pooler the NSP head reads."""
    return lm.model.bert.pooler is not None


def pool_of(lm: LoadedModel, last_hidden: torch.Tensor) -> torch.Tensor | None:
    """The pooler's output for the [CLS] row, or None when the checkpoint has no pooler."""
    pooler = lm.model.bert.pooler
    return None if pooler is None else pooler(last_hidden)


def mlm_logits(lm: LoadedModel, states: torch.Tensor, bias: bool = True) -> torch.Tensor:
    """The MLM head (transform, tied decoder, bias) on hidden states of any leading shape; float32 logits.

    With `bias=False` the decoder's output bias (a word-frequency prior) is taken off again, in the weights'
    precision, as the logit lens shows it."""
    head = lm.model.cls.predictions
    logits = head(states)
    if not bias:
        logits = logits - head.bias
    return logits.float()


def mlm_target_logits(lm: LoadedModel, states: torch.Tensor, token_ids: Sequence[int]) -> torch.Tensor:
    """The MLM head's logits of `token_ids` only, for hidden states (rows, hidden): (rows, len(token_ids)).

    Only those rows of the tied decoder are computed, in the weights' precision (the whole head, in float32, when
    the decoder is int8-quantised and has no plain weight): mediation reads two targets from hundreds of runs."""
    head = lm.model.cls.predictions
    weight = getattr(head.decoder, "weight", None)
    if isinstance(weight, torch.Tensor):
        index = torch.tensor(list(token_ids), device=states.device)
        return head.transform(states) @ weight[index].T + head.decoder.bias[index]
    return mlm_logits(lm, states)[:, list(token_ids)]


def mlm_log_probs(lm: LoadedModel, states: torch.Tensor) -> torch.Tensor:
    """log-softmax over the vocabulary, taken in float32 whatever the weights' precision."""
    return torch.log_softmax(mlm_logits(lm, states), dim=-1)


def nsp_logits(lm: LoadedModel, pooled_output: torch.Tensor) -> torch.Tensor:
    """(IsNext, NotNext) logits of the NSP head, float32. Label 0 means "B follows A"."""
    return lm.model.cls.seq_relationship(pooled_output).float()


def embed_words(lm: LoadedModel, input_ids: torch.Tensor) -> torch.Tensor:
    """The word-embedding lookup alone, in the weights' precision: the input that gradients are taken at.
    `encoder(inputs_embeds=...)` adds the position and type embeddings to it."""
    return lm.model.bert.embeddings.word_embeddings(input_ids)


def embedding_dtype(lm: LoadedModel) -> torch.dtype:
    """The precision of the embeddings (and of the hidden states the head reads); it stays a float type when the
    Linear layers are int8."""
    return lm.model.bert.embeddings.word_embeddings.weight.dtype


def query_key(lm: LoadedModel, layer: int, hidden: torch.Tensor,
              position: int) -> tuple[torch.Tensor, torch.Tensor, float]:
    """Layer `layer`'s (0-based) query of the token at `position` and keys of every token, from the layer's input
    hidden states (tokens, hidden), split into heads: (heads, head size) and (tokens, heads, head size), in the
    hidden states' precision; and the factor the attention scores q·k are multiplied by. No model run.

    An int8-quantised projection picks its activation scale from all the rows it is given, so there the query is
    projected with every row, as in the model's own run (and a lone row is no input it takes)."""
    module = lm.model.bert.encoder.layer[layer].attention.self
    size = module.attention_head_size
    hidden = hidden.to(lm.device, embedding_dtype(lm))
    if isinstance(getattr(module.query, "weight", None), torch.Tensor):
        query = module.query(hidden[position])
    else:
        query = module.query(hidden)[position]
    key = module.key(hidden)
    return query.view(-1, size), key.view(hidden.shape[0], -1, size), module.scaling


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
