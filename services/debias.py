"""The app's side of the debiasing lab (`bertlens.debias`): fitting a transform, the gender direction and the
language model's cost, each as a job (`services.jobs`), and the fitted transforms kept on the server.

A fit holds each layer's matrix (hidden x hidden floats): it stays here, in the one result store, under its key
(`Fit.key`); a session keeps only that key (a plain string) and asks for the fit by it (`fit_of`). The store's time
to live counts from the last use, since every use keeps it again.

These methods are not registered (`bertlens.registry`): they are the page's own steps, not metrics that audits,
reports and the command line loop over. SEAT, the probe and CrowS run as their registered metrics on the intact
model and on the model seen through the fit (`LoadedModel.with_transform`), whose key differs, so their results
never mix.
"""
from __future__ import annotations

from typing import Any, Mapping

from bertlens.debias.direction import LayerDirection, gender_directions
from bertlens.debias.evaluate import LmCost, lm_cost, read_heldout
from bertlens.debias.fit import fit
from bertlens.debias.inlp import N_CLASSIFIERS
from bertlens.debias.sentences import default_set
from bertlens.debias.store import Fit
from bertlens.model import LoadedModel
from bertlens.registry import Context, Cost, Method, tokens_of
from services.jobs import runner

KEPT = "debias-fit"


def _mean_tokens(lm: LoadedModel, texts: Any) -> float:
    return sum(tokens_of(lm, t) for t in texts) / max(len(texts), 1)


class FitTransform(Method):
    """Fits a method at some layers on the default fitting set. Inputs: (method, layers)."""

    kind = "metric"
    name = "debias_fit"
    title = "Fit a debiasing transform"

    def estimate(self, lm: LoadedModel, inputs: tuple[str, tuple[int, ...]], config: Mapping[str, Any]) -> Cost:
        """Each fitting sentence encoded once per layer, 32 a batch (`sentence_vectors`). INLP's classifiers
        add, per layer, about 0.4 s at any width and 1.6 s more at bert-large's width for its 80 classifiers, on a
        2-core CPU whose statistics kernel runs at 9.7 ns an element (scripts/estimate_measure.py: 1.8-2.2 s for 80
        classifiers on 84 random or separable 1024-wide vectors, 0.4 s on the tiny model), in proportion to
        `n_classifiers`."""
        method, layers = inputs
        if method == "self_debias":
            return Cost(0.1, 8)
        texts = default_set().texts
        width = lm.info.hidden_size / 1024
        try:
            classifiers = max(1, int(config.get("n_classifiers", N_CLASSIFIERS))) / N_CLASSIFIERS
        except (TypeError, ValueError):  # the fit refuses it in one line; the estimate only guesses
            classifiers = 1.0
        return Cost.batched(len(texts) * max(1, len(layers)), _mean_tokens(lm, texts), 32,
                            elements=(4.5e7 + 1.6e8 * width * width) * classifiers * max(1, len(layers))
                            if method == "inlp" else 0.0)

    def run(self, lm: LoadedModel, inputs: tuple[str, tuple[int, ...]], config: Mapping[str, Any],
            context: Context) -> Fit:
        method, layers = inputs
        steps = [0]

        def progress(message: str) -> None:
            steps[0] += 1
            context.progress(steps[0] - 1, max(1, len(layers)), message)

        return fit(lm.with_transform(None), method, layers, options=dict(config), progress=progress)


class Directions(Method):
    """The gender direction per layer (from the intact model), read on the model as given: intact, or seen through
    its transform (then the gap and the occupations' positions are the transformed model's)."""

    kind = "metric"
    name = "debias_direction"
    title = "The gender direction"

    def estimate(self, lm: LoadedModel, inputs: Any, config: Mapping[str, Any]) -> Cost:
        from bertlens.bias.occupations import load_occupations

        texts = default_set().texts
        rows = len(texts) * (1 if lm.transform is None else 2) + len(load_occupations())
        return Cost.batched(rows, _mean_tokens(lm, texts), 32)

    def run(self, lm: LoadedModel, inputs: Any, config: Mapping[str, Any],
            context: Context) -> tuple[LayerDirection, ...]:
        context.progress(0, 1, "Encoding the gendered pairs and the occupations at every layer")
        transform = lm.transform.interventions() if lm.transform is not None else None
        return gender_directions(lm.with_transform(None), interventions=transform)


class LanguageModelCost(Method):
    """Pseudo-perplexity and top-1 agreement on the shipped held-out sample, intact and through the model's
    transform (`lm` is the model seen through the fit)."""

    kind = "metric"
    name = "debias_lm_cost"
    title = "Language-model cost"

    def estimate(self, lm: LoadedModel, inputs: Any, config: Mapping[str, Any]) -> Cost:
        """Every token of each held-out sentence masked in turn, intact and through the fit, 32 rows a batch."""
        sentences = read_heldout()
        tokens = sum(tokens_of(lm, s) - 2 for s in sentences)
        return Cost.batched(2 * tokens, _mean_tokens(lm, sentences), 32)

    def run(self, lm: LoadedModel, inputs: Any, config: Mapping[str, Any], context: Context) -> LmCost:
        context.progress(0, 1, "Masking every word of the held-out sentences, intact and debiased")
        return lm_cost(lm.with_transform(None), lm.transform, read_heldout())


FIT, DIRECTIONS, COST = FitTransform(), Directions(), LanguageModelCost()


def keep(fitted: Fit) -> str:
    """Keep `fitted` on the server (again, which restarts its time to live); returns its key for the session."""
    runner().store.put((KEPT, fitted.key), fitted)
    return fitted.key


def fit_of(key: str | None) -> Fit | None:
    """The kept fit with `key`, kept again for another while; None when it is unknown or has expired."""
    if not key:
        return None
    fitted = runner().store.get((KEPT, key))
    if fitted is not None:
        keep(fitted)
    return fitted
