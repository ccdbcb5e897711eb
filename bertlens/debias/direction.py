"""The gender direction, layer by layer, for teaching: what a debiasing transform removes.

At each layer, the counterfactual pairs of the fitting sentences (`sentences.default_set`) are encoded (mean over
tokens, L2-normalised) and centred on each pair's mean, as SentenceDebias does; the first principal direction of
those is the layer's gender direction, with its share of the variance. It is oriented so that the male sentences
lie on its positive side. Two readings on it:

- `gap`: the mean projection of the male sentences' encodings (mean-pooled, not normalised, as the transforms are
  fitted) minus that of the female ones. After LEACE at a layer the two classes have the same mean there, so the
  gap at that layer is 0;
- `occupations`: "This is a/an <occupation>." projected on the direction, centred on the occupations' mean:
  positive leans male, negative female (of this model's encodings, not of the world).

All layers come from one forward pass per batch (`hidden_states`). `interventions` (a fitted transform) changes
the encodings that are read, not the direction, which is taken from the intact model, so the two can be compared.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import torch

from bertlens import forward
from bertlens.bias.occupations import Occupation, load_occupations
from bertlens.debias.sentences import FittingSet, default_set
from bertlens.model import LoadedModel


@dataclass(frozen=True)
class LayerDirection:
    layer: int
    share: float
    gap: float
    occupations: tuple[tuple[str, float], ...]


def all_layers(lm: LoadedModel, texts: Sequence[str], interventions: Any = None, batch_size: int = 32) -> np.ndarray:
    """(layers, n, hidden): each text's mean-pooled hidden states leaving every layer (1..L)."""
    rows = [lm.tokenizer(text)["input_ids"] for text in texts]
    out = np.zeros((lm.config.num_hidden_layers, len(rows), lm.config.hidden_size))
    for start in range(0, len(rows), batch_size):
        ids, mask, types = forward.padded(lm, rows[start:start + batch_size])
        with torch.inference_mode():
            states = forward.encoder(lm, ids, types, mask, hidden_states=True,
                                     interventions=interventions).hidden_states[1:]
            weights = mask.unsqueeze(-1).float()
            for layer, hidden in enumerate(states):
                mean = (hidden.float() * weights).sum(dim=1) / weights.sum(dim=1)
                out[layer, start:start + len(ids)] = mean.cpu().double().numpy()
    return out


def _normalised(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def occupation_sentence(occupation: Occupation) -> str:
    article = occupation.article or ("an" if occupation.name[:1] in "aeiou" else "a")
    return f"This is {article} {occupation.name}."


def gender_directions(lm: LoadedModel, fitting: FittingSet | None = None,
                      occupations: Sequence[Occupation] | None = None, interventions: Any = None
                      ) -> tuple[LayerDirection, ...]:
    """One `LayerDirection` per layer (from 1)."""
    from sklearn.decomposition import PCA

    fitting = fitting or default_set()
    occupations = list(occupations) if occupations is not None else load_occupations()
    male = [a if fitting.labels[a] == "male" else b for a, b in fitting.pairs]
    female = [b if fitting.labels[a] == "male" else a for a, b in fitting.pairs]
    raw = all_layers(lm, fitting.texts)
    intact = _normalised(raw)
    read = raw if interventions is None else all_layers(lm, fitting.texts, interventions)
    jobs = _normalised(all_layers(lm, [occupation_sentence(o) for o in occupations], interventions))
    out = []
    for layer in range(lm.config.num_hidden_layers):
        first, second = intact[layer, male], intact[layer, female]
        means = (first + second) / 2.0
        pca = PCA(n_components=1).fit(np.concatenate([first - means, second - means]))
        v = pca.components_[0]
        if float((first - second).mean(axis=0) @ v) < 0:
            v = -v
        gap = float(read[layer, male].mean(axis=0) @ v - read[layer, female].mean(axis=0) @ v)
        projected = jobs[layer] @ v
        projected = projected - projected.mean()
        out.append(LayerDirection(layer + 1, float(pca.explained_variance_ratio_[0]), gap,
                                  tuple((o.name, float(p)) for o, p in zip(occupations, projected))))
    return tuple(out)
