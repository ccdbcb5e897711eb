"""A text: what attention and the analysis pass read."""
from __future__ import annotations

from typing import Any, Mapping

from bertlens.kinds import DataKind, Part, register
from bertlens.text import clean


@register
class Text(DataKind):
    name = "text"
    title = "Text"
    parts = (Part("text", "a text"),)
    widget = "text"
    link = "text"
    order = 70

    def parse(self, texts: Mapping[str, str | None], settings: Mapping[str, Any] | None = None) -> str:
        return clean(texts.get("text"))

    def sample(self) -> dict[str, str]:
        return {"text": "The cat sat on the mat."}
