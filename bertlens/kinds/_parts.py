"""Parts that more than one kind reads: the occupation probe's word pairs and occupation table are also read by the
paraphrase sets, so an audit configures them once."""
from __future__ import annotations

from bertlens.bias.files import OCCUPATIONS_PATH, PAIRS_PATH, TEMPLATES_PATH
from bertlens.kinds import Part

TEMPLATES = Part("templates", "templates, one per line with {person} or {possessive} and one [MASK]", TEMPLATES_PATH)
WORD_PAIRS = Part("pairs", "gendered word pairs (CSV: male, female, role, probe)", PAIRS_PATH, ("csv",))
OCCUPATIONS = Part("occupations", "occupation table (CSV: occupation, article, pct_women, year, source)",
                   OCCUPATIONS_PATH, ("csv",))
