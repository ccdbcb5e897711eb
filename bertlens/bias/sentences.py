"""Sentences of the probe: a template's slot filled with a gendered word, and the article set for an occupation."""
from __future__ import annotations

import re

from bertlens.bias.config import SLOTS
from bertlens.errors import InputError
from bertlens.text import MASK


def fill_slot(template: str, word: str) -> str:
    """Put `word` in the template's slot, capitalised when it starts the sentence."""
    for slot in SLOTS.values():
        if slot in template:
            index = template.index(slot)
            if not template[:index].strip():
                word = word[:1].upper() + word[1:]
            return template.replace(slot, word, 1)
    raise InputError(f"The template '{template}' has no {{person}} or {{possessive}} slot.")


def with_article(sentence: str, article: str, slot: str = MASK) -> str:
    """'a [MASK]' / 'an [MASK]' (or before another slot) set to the occupation's article, keeping a capital."""
    def fix(match: re.Match) -> str:
        word = article.capitalize() if match.group(1)[0].isupper() else article
        return f"{word} {slot}"

    return re.sub(r"\b([Aa]n?) " + re.escape(slot), fix, sentence, count=1)


def capitalise_at_start(text: str, word: str) -> str:
    """`word` as it should appear at the first [MASK] of `text` (capitalised when that mask starts the text)."""
    return word[:1].upper() + word[1:] if not text[: text.index(MASK)].strip() else word
