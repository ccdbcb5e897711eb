"""What one encoder run returns, in a module of its own so that `bertlens.forward` and `bertlens.interventions`
(which `forward.encoder` calls, and which returns this type) can both import it without importing each other."""
from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class EncoderOutput:
    """What one encoder run returns. Tensors stay on the model's device and dtype; callers convert.

    - `last_hidden`: (batch, tokens, hidden);
    - `pooled`: the pooler's (batch, hidden) output when asked for and the checkpoint has a pooler;
    - `hidden_states`: the embeddings then each layer's output, a tuple of (batch, tokens, hidden), when asked for;
    - `attentions`: one (batch, heads, query, key) tensor per layer, when asked for.
    """

    last_hidden: torch.Tensor
    pooled: torch.Tensor | None = None
    hidden_states: tuple[torch.Tensor, ...] | None = None
    attentions: tuple[torch.Tensor, ...] | None = None
