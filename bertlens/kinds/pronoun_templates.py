"""Pronoun templates: sentences with {occupation} and a masked pronoun (Winogender-style)."""
from __future__ import annotations

from typing import Any, Mapping

from bertlens.bias.pronouns import PRONOUN_TEMPLATES_PATH, parse_pronoun_templates
from bertlens.kinds import DataKind, Part, register


@register
class PronounTemplates(DataKind):
    name = "pronoun_templates"
    title = "Pronoun templates"
    summary = "one sentence a line with {occupation} and one [MASK] where a pronoun goes"
    parts = (Part("pronoun_templates", "pronoun templates, one per line", PRONOUN_TEMPLATES_PATH),)
    widget = "text_area"
    link = "pronoun_templates"
    order = 40

    def parse(self, texts: Mapping[str, str | None], settings: Mapping[str, Any] | None = None):
        text = texts.get("pronoun_templates")
        return None if text is None else tuple(parse_pronoun_templates(text))

    def sample(self) -> dict[str, str]:
        return {"pronoun_templates": "The {occupation} said that [MASK] would be late.\n"}
