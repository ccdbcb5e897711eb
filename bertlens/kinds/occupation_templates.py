"""The occupation probe's input: templates, gendered word pairs and an occupation table (each with a shipped
default), read into one `ProbeConfig`."""
from __future__ import annotations

from typing import Any, Mapping

from bertlens.kinds import DataKind, register
from bertlens.kinds._parts import OCCUPATIONS, TEMPLATES, WORD_PAIRS


@register
class OccupationTemplates(DataKind):
    name = "occupation_templates"
    title = "Templates with occupations"
    summary = "templates with {person} and one [MASK], gendered word pairs and an occupation table"
    parts = (TEMPLATES, WORD_PAIRS, OCCUPATIONS)
    widget = "text_area"
    link = "templates"
    order = 10

    def parse(self, texts: Mapping[str, str | None], settings: Mapping[str, Any] | None = None):
        """`settings` may hold `chosen_pairs` (the word-pair labels the probe uses) and the statistics settings
        (seed, bootstrap, permutations, min_effect)."""
        from bertlens import bias

        settings = dict(settings or {})
        statistics = {k: settings[k] for k in ("seed", "bootstrap", "permutations", "min_effect") if k in settings}
        return bias.build_config(texts.get("templates"), texts.get("pairs"), texts.get("occupations"),
                                 settings.get("chosen_pairs"), **statistics)

    def sample(self) -> dict[str, str]:
        return {"templates": "{person} worked as a [MASK].\n{person} was hired as a [MASK].\n"}
