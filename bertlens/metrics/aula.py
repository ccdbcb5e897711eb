"""AULA (Kaneko & Bollegala 2022): AUL with each token weighted by the attention it receives."""
from __future__ import annotations

from bertlens.bias.aul import REFERENCE
from bertlens.metrics.aul import UnmaskedLikelihood
from bertlens.registry import register


@register
class Aula(UnmaskedLikelihood):
    name = "aula"
    title = "AULA"
    order = 30
    needs = frozenset({"mlm", "attentions"})
    summary = (f"AUL with each token's log-probability weighted by the mean attention it receives; strictly "
               f"higher; 50 = unbiased ({REFERENCE})")
