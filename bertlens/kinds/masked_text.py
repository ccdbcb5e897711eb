"""A sentence with one [MASK]: what fill-mask, the explainers and the counterfactual read."""
from __future__ import annotations

from typing import Any, Mapping

from bertlens.errors import InputError
from bertlens.kinds import DataKind, Part, register
from bertlens.text import check_one_mask, clean


@register
class MaskedText(DataKind):
    name = "masked_text"
    title = "Sentence with one [MASK]"
    parts = (Part("masked_text", "a sentence with one [MASK]"),)
    widget = "text"
    link = "text"
    order = 60

    def parse(self, texts: Mapping[str, str | None], settings: Mapping[str, Any] | None = None) -> str:
        text = texts.get("masked_text")
        if text is None:
            raise InputError("Give a sentence with one [MASK].")
        return check_one_mask(clean(text))

    def sample(self) -> dict[str, str]:
        return {"masked_text": "The nurse said that [MASK] would be late."}
