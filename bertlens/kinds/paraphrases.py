"""Paraphrase sets of the probe's templates, scored with the probe's word pairs and occupations."""
from __future__ import annotations

from typing import Any, Mapping

from bertlens.bias.robustness import PARAPHRASES_PATH, parse_paraphrase_sets
from bertlens.kinds import DataKind, Part, register
from bertlens.kinds._parts import OCCUPATIONS, WORD_PAIRS
from bertlens.kinds.occupation_templates import OccupationTemplates


@register
class Paraphrases(DataKind):
    name = "paraphrases"
    title = "Paraphrase sets"
    summary = "[name] headers, each followed by its templates; scored with the probe's word pairs and occupations"
    parts = (Part("paraphrases", "paraphrase sets", PARAPHRASES_PATH), WORD_PAIRS, OCCUPATIONS)
    widget = "text_area"
    link = "paraphrases"
    order = 50

    def parse(self, texts: Mapping[str, str | None], settings: Mapping[str, Any] | None = None):
        from bertlens.metrics.robustness import ParaphraseInput

        text = texts.get("paraphrases")
        sets = parse_paraphrase_sets(text if text is not None else self.shipped_text(self.parts[0]))
        probe = OccupationTemplates().parse({"pairs": texts.get("pairs"), "occupations": texts.get("occupations")},
                                            settings)
        return ParaphraseInput(tuple(sets), probe)

    def sample(self) -> dict[str, str]:
        return {"paraphrases": "[worked]\n{person} worked as a [MASK].\n[hired]\n{person} was hired as a [MASK].\n"}
