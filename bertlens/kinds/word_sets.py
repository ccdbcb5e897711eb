"""SEAT word sets (May et al. 2019): targets X, Y and attributes A, B as sentences, in SEAT's layout."""
from __future__ import annotations

import json
from typing import Any, Mapping

from bertlens.bias.seat_templates import GENDER_FILE
from bertlens.kinds import DataKind, Part, register


@register
class WordSets(DataKind):
    name = "word_sets"
    title = "SEAT word sets"
    summary = ("targ1, targ2, attr1, attr2, each {\"category\", \"examples\"}: one JSON object (as bias-bench ships "
               "SEAT's tests), or one a line; the default is the six shipped gender tests (WEAT 6-8 in SEAT's "
               "sentence templates)")
    parts = (Part("word_sets", "SEAT test file (JSON object or JSON lines)", GENDER_FILE, ("json", "jsonl")),)
    order = 60

    def parse(self, texts: Mapping[str, str | None], settings: Mapping[str, Any] | None = None):
        from bertlens.bias.seat import parse_word_sets, shipped_gender_tests

        text = texts.get("word_sets")
        if text is None:
            return tuple(shipped_gender_tests())
        source = str((settings or {}).get("source") or "the word sets")
        stem = source.strip("'").rsplit("/", 1)[-1].split(".")[0] or "seat"
        return tuple(parse_word_sets(text, source, stem))

    def sample(self) -> dict[str, str]:
        words = {"targ1": ("MaleNames", ["This is John.", "This is Paul."]),
                 "targ2": ("FemaleNames", ["This is Amy.", "This is Joan."]),
                 "attr1": ("Career", ["This is an office.", "This is a salary."]),
                 "attr2": ("Family", ["This is a home.", "This is a wedding."])}
        return {"word_sets": json.dumps({key: {"category": c, "examples": e} for key, (c, e) in words.items()})}
