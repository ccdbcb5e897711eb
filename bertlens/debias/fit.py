"""Fit a transform on sentences, layer by layer.

The features at layer L are the sentences' hidden states leaving layer L, averaged over every real token ([CLS]
and [SEP] included), as bias-bench encodes its fitting sentences. Layers are fitted from the lowest up, each on
features computed with the transforms below it already applied, so the stack removes what is left at each layer.
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from bertlens.debias import METHODS, NAMES, inlp, leace, self_debias, sentence_debias
from bertlens.debias.sentences import FittingSet, checked, default_set
from bertlens.debias.store import Fit, check_layers
from bertlens.errors import InputError
from bertlens.interventions import Interventions, Projection
from bertlens.model import LoadedModel
from bertlens.pooling import sentence_vectors


def parse_layers(value: str | Sequence[int] | None, lm: LoadedModel) -> tuple[int, ...]:
    """Layers written `L[,L...]` (from 1), checked against the model; the last layer when None. Sorted."""
    if value is None or value == "":
        return (lm.config.num_hidden_layers,)
    items = value.split(",") if isinstance(value, str) else list(value)
    layers = set()
    for item in items:
        text = str(item).strip()
        if not text:
            continue
        if not text.lstrip("-").isdigit():
            raise InputError(f"'{text[:20]}' is not a layer: write layer numbers from 1, such as 12,24.")
        layers.add(int(text))
    if not layers:
        raise InputError("Name at least one layer, such as 24.")
    result = tuple(sorted(layers))
    check_layers(result, lm)
    return result


def features(lm: LoadedModel, texts: Sequence[str], layer: int, interventions: Interventions | None = None,
             pool: str = "mean") -> np.ndarray:
    """(n, hidden) float64: each text's hidden states leaving `layer` (from 1), mean over its tokens (or [CLS])."""
    return sentence_vectors(lm, texts, layer, interventions, pool)


def fit(lm: LoadedModel, method: str, layers: Sequence[int] | None = None, fitting: FittingSet | None = None,
        options: dict[str, Any] | None = None, progress: Callable[[str], None] | None = None) -> Fit:
    """Fit `method` at `layers` (from 1; the last by default) on `fitting` (the default set when None).

    Options: INLP `n_classifiers` (80), SentenceDebias `k` (1), Self-Debias `prefix`, `decay` (50), `epsilon`
    (0.01). Raises InputError for an unknown method, a layer outside the model, or unusable sentences."""
    if method not in METHODS:
        raise InputError(f"Unknown method '{method}'; choose one of {', '.join(METHODS)}.")
    options = dict(options or {})
    if method == "self_debias":
        chosen = {"prefix": str(options.get("prefix", self_debias.GENDER_PREFIX)),
                  "decay": float(options.get("decay", self_debias.DECAY)),
                  "epsilon": float(options.get("epsilon", self_debias.EPSILON))}
        return Fit(method, (), chosen, "", lm.fingerprint(), lm.info.model_id, 0)
    fitting = checked(fitting or default_set())
    chosen_layers = tuple(sorted(set(layers))) if layers else (lm.config.num_hidden_layers,)
    check_layers(chosen_layers, lm)
    if method == "inlp":
        options = {"n_classifiers": int(options.get("n_classifiers", inlp.N_CLASSIFIERS))}
        if options["n_classifiers"] < 1:
            raise InputError("INLP needs at least one classifier.")
    elif method == "sentence_debias":
        options = {"k": int(options.get("k", sentence_debias.K))}
        if not fitting.pairs:
            raise InputError(f"SentenceDebias needs counterfactual pairs: {fitting.source} has none (give plain "
                             "lines, which are paired with their swaps, or a CSV with as many sentences of each "
                             "label).")
        if not 1 <= options["k"] <= min(len(fitting.pairs) * 2, lm.config.hidden_size):
            raise InputError(f"SentenceDebias's k must be from 1 to the number of sentences; got {options['k']}.")
    else:
        options = {}
    labels = np.array([fitting.classes.index(label) for label in fitting.labels])
    matrices, offsets = [], []
    for layer in chosen_layers:
        if progress is not None:
            progress(f"{NAMES[method]}: encoding {len(fitting.texts)} sentences at layer {layer}")
        below = Interventions(project=tuple(Projection(l - 1, m, o)
                                            for l, m, o in zip(chosen_layers, matrices, offsets))) if matrices else None
        x = features(lm, fitting.texts, layer, below)
        if method == "leace":
            matrix, offset = leace.fit(x, labels)
        elif method == "inlp":
            matrix, offset = inlp.fit(x, labels, options["n_classifiers"])
        else:
            first = x[[a for a, _ in fitting.pairs]]
            second = x[[b for _, b in fitting.pairs]]
            matrix, offset = sentence_debias.fit(first, second, options["k"])
        matrices.append(matrix)
        offsets.append(offset)
    return Fit(method, chosen_layers, options, fitting.digest(), lm.fingerprint(), lm.info.model_id,
               len(fitting.texts), tuple(matrices), tuple(offsets), {"data": fitting.source})
