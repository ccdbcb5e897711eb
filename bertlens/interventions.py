"""Interventions on one forward pass: switching attention heads off, or patching activations from another run.

They are arguments of `bertlens.forward.encoder`, never hooks on the shared model, so a thread that intervenes and
one that does not never see each other's state. Layers and heads count from 0 here; every interface counts from 1.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from bertlens.model import LoadedModel


@dataclass(frozen=True)
class Interventions:
    """`ablate`: the (layer, head) pairs whose slice of the attention context is set to zero."""

    ablate: frozenset[tuple[int, int]] = frozenset()

    @property
    def empty(self) -> bool:
        return not self.ablate


def run_encoder(lm: LoadedModel, input_ids: torch.Tensor | None, token_type_ids: torch.Tensor,
                attention_mask: torch.Tensor | None, interventions: Interventions, *,
                inputs_embeds: torch.Tensor | None = None, hidden_states: bool = False, attentions: bool = False,
                pooled: bool = False):
    raise NotImplementedError("Interventions are not implemented yet.")
