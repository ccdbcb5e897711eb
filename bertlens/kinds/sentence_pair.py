"""A sentence pair for next-sentence prediction: sentence A on the first line, sentence B on the second."""
from __future__ import annotations

from typing import Any, Mapping

from bertlens.errors import InputError
from bertlens.kinds import DataKind, Part, register
from bertlens.text import clean


@register
class SentencePair(DataKind):
    name = "sentence_pair"
    title = "Sentence pair"
    summary = "sentence A on the first line, sentence B on the second"
    parts = (Part("sentence_pair", "two lines: sentence A, then sentence B"),)
    widget = "text_area"
    order = 80

    def parse(self, texts: Mapping[str, str | None], settings: Mapping[str, Any] | None = None) -> tuple[str, str]:
        lines = [line.strip() for line in (texts.get("sentence_pair") or "").splitlines() if line.strip()]
        if len(lines) != 2:
            raise InputError(f"A sentence pair is two non-empty lines (sentence A, then sentence B); got "
                             f"{len(lines)}.")
        return clean(lines[0], "sentence A"), clean(lines[1], "sentence B")

    def sample(self) -> dict[str, str]:
        return {"sentence_pair": "I went to the store.\nI bought milk.\n"}
