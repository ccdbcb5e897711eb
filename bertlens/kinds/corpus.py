"""A plain corpus: one sentence a line (blank lines and '#' comments skipped)."""
from __future__ import annotations

from typing import Any, Mapping

from bertlens.errors import InputError
from bertlens.kinds import DataKind, Part, register
from bertlens.text import clean

MAX_SENTENCES = 100_000


@register
class Corpus(DataKind):
    name = "corpus"
    title = "Plain corpus"
    summary = "one sentence a line"
    parts = (Part("corpus", "sentences, one a line"),)
    widget = "text_area"
    order = 90

    def parse(self, texts: Mapping[str, str | None], settings: Mapping[str, Any] | None = None) -> tuple[str, ...]:
        lines = [line.strip() for line in (texts.get("corpus") or "").splitlines()]
        sentences = [line for line in lines if line and not line.startswith("#")]
        if not sentences:
            raise InputError("The corpus is empty: give one sentence a line.")
        if len(sentences) > MAX_SENTENCES:
            raise InputError(f"The corpus has {len(sentences):,} sentences; the limit is {MAX_SENTENCES:,}.")
        return tuple(clean(s, f"line {i + 1} of the corpus") for i, s in enumerate(sentences))

    def sample(self) -> dict[str, str]:
        return {"corpus": "The cat sat on the mat.\nShe went to the market.\n"}
