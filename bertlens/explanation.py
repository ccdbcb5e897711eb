"""Every registered explainer on one target, and how their word scores compare.

The command line's `explain` and any export read this; the Explain page runs the same explainers one by one (the
slow ones as jobs) and compares them with the same `compare_results`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from bertlens import registry
from bertlens.analysis import analyse
from bertlens.errors import InputError
from bertlens.explain import Comparison, ExplainInput, Target, Words, compare, resolve_target, words_of
from bertlens.model import LoadedModel
from bertlens.registry import Context
from bertlens.results import ExplainerResult


@dataclass(frozen=True)
class Explanations:
    """Each chosen explainer's result by name (registry order), the words they score and their comparison."""

    target: Target
    results: Mapping[str, ExplainerResult]
    configs: Mapping[str, Mapping[str, Any]]
    words: Words
    comparison: Comparison


def configs_for(names: Sequence[str], options: Mapping[str, Mapping[str, Any]] | None = None
                ) -> dict[str, dict[str, Any]]:
    """Each method's validated config from `options` (method name -> option values). Raises SpecError."""
    options = options or {}
    return {name: registry.get("explainer", name).spec.validate(options.get(name), where=f"'{name}'")
            for name in names}


def compare_results(words: Words, results: Mapping[str, ExplainerResult]) -> Comparison:
    """The comparison of every result that scores tokens, labelled by each method's title."""
    scores = {registry.get("explainer", name).title: result.scores
              for name, result in results.items() if result.scores is not None}
    return compare(words, scores)


def explain(lm: LoadedModel, text: str, word: str, contrast: str | None = None, mask_index: int = 0, *,
            methods: Sequence[str] | None = None, options: Mapping[str, Mapping[str, Any]] | None = None,
            context: Context | None = None) -> Explanations:
    """Run the chosen explainers (all by default) on the prediction of `word` at the text's mask.

    One analysis pass (hidden states and attentions) feeds the lens, occlusion's f(input) and the rollout.
    Raises InputError for bad input (see `resolve_target`), SpecError for an option out of range, MissingHead
    without an MLM head.
    """
    names = registry.parse_names("explainer", methods)
    configs = configs_for(names, options)
    target = resolve_target(lm, text, word, contrast, mask_index)
    for name in names:
        reason = registry.get("explainer", name).is_compatible(lm)
        if reason:
            raise InputError(reason)
    inputs = ExplainInput(target, analyse(lm, target.text, hidden_states=True, attentions=True))
    context = context or Context()
    results = {name: registry.get("explainer", name).run(lm, inputs, configs[name], context) for name in names}
    words = words_of(inputs.analysis, target)
    return Explanations(target, results, configs, words, compare_results(words, results))
