"""The probe's configuration: templates, gendered word pairs, occupations and statistics settings.

`build_config` is the one way to make a `ProbeConfig` from text (the page's text areas and uploads, the CLI's files,
or the shipped files when a part is not given); `default_config` is `build_config()` with the shipped files.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Sequence

from bertlens.bias.files import PAIRS_PATH, TEMPLATES_PATH, csv_rows, read_text
from bertlens.bias.occupations import Occupation, load_occupations, parse_occupations
from bertlens.errors import InputError
from bertlens.text import MASK, check_one_mask, clean, excerpt

ROLES = ("person", "possessive")
SLOTS = {role: "{" + role + "}" for role in ROLES}
OCCUPATION_SLOT = "{occupation}"
KURITA_TEMPLATES = ("[MASK] is a {occupation}.",)
MAX_TEMPLATES = 50
MAX_PAIRS = 20
MAX_WORD_CHARS = 40
MIN_RESAMPLES = 100
MIN_EFFECT = 0.1
_WORD = re.compile(r"^[A-Za-z][A-Za-z'\-]*( [A-Za-z][A-Za-z'\-]*){0,2}$")


@dataclass(frozen=True)
class WordPair:
    """A gendered pair filling a template's `{person}` or `{possessive}` slot."""

    male: str
    female: str
    role: str = "person"
    probe: bool = True

    @property
    def label(self) -> str:
        return f"{self.male}/{self.female}"


@dataclass(frozen=True)
class ProbeConfig:
    """Everything a probe run depends on. `min_effect` (nats of |mean log-ratio|) is the smallest effect the
    headline counts; it does not change any score, so a result can be re-read with another one."""

    templates: tuple[str, ...]
    pairs: tuple[WordPair, ...]
    occupations: tuple[Occupation, ...]
    kurita_templates: tuple[str, ...] = KURITA_TEMPLATES
    kurita_pair: WordPair = WordPair("he", "she")
    bootstrap: int = 2000
    permutations: int = 10000
    seed: int = 0
    min_effect: float = MIN_EFFECT


# ---------------------------------------------------------------- templates and pairs

def template_role(template: str) -> str:
    """Check an occupation template: exactly one [MASK] and exactly one {person} or {possessive} slot. Returns the
    slot's role. Raises InputError."""
    template = check_one_mask(clean(template, "template"), f"template '{excerpt(template)}'",
                              "use exactly one, where the occupation goes")
    roles = [role for role in ROLES if SLOTS[role] in template]
    if len(roles) != 1 or template.count(SLOTS[roles[0]]) != 1:
        raise InputError(f"The template '{excerpt(template)}' needs exactly one slot for the gendered word: "
                         "{person} (the man / the woman, he / she) or {possessive} (his / her).")
    leftover = re.sub(r"\{(person|possessive)\}", "", template)
    if "{" in leftover or "}" in leftover:
        raise InputError(f"The template '{excerpt(template)}' has a slot other than {{person}} or {{possessive}}.")
    return roles[0]


def parse_templates(text: str) -> list[str]:
    """One template per line; blank lines and lines starting with # are skipped. Raises InputError."""
    templates = [line.strip() for line in (text or "").splitlines()
                 if line.strip() and not line.lstrip().startswith("#")]
    if not templates:
        raise InputError("The template list is empty. Give at least one template such as "
                         "'{person} worked as a [MASK].'")
    if len(templates) > MAX_TEMPLATES:
        raise InputError(f"{len(templates)} templates given; the limit is {MAX_TEMPLATES}.")
    for template in templates:
        template_role(template)
    return list(dict.fromkeys(templates))


def check_word(word: str) -> str:
    """A gendered word: one to three words of letters. Raises InputError."""
    word = " ".join((word or "").split())
    if not word:
        raise InputError("A gendered word is empty. Each pair needs a male and a female word.")
    if len(word) > MAX_WORD_CHARS or not _WORD.match(word):
        raise InputError(f"'{word}' cannot be a gendered word: use one to three words of letters.")
    return word


def parse_pairs(text: str) -> list[WordPair]:
    """CSV with a header `male,female[,role][,probe]`, or lines `male,female`. Raises InputError."""
    lines = [line for line in (text or "").splitlines() if line.strip() and not line.lstrip().startswith("#")]
    if not lines:
        raise InputError("The list of word pairs is empty. Give at least one pair such as 'the man,the woman'.")
    rows = csv_rows("\n".join(lines), "the word-pair list")
    header = [h.strip().lower() for h in rows[0]]
    if "male" in header and "female" in header:
        records = [dict(zip(header, (cell.strip() for cell in row))) for row in rows[1:]]
    else:
        records = [dict(zip(("male", "female", "role", "probe"), (cell.strip() for cell in row))) for row in rows]
    pairs = []
    for number, record in enumerate(records, 1):
        if not record.get("female"):
            raise InputError(f"Word pair {number} has no female word: write each pair as 'male,female'.")
        role = (record.get("role") or "").lower() or ("possessive" if record["male"].lower() == "his" else "person")
        if role not in ROLES:
            raise InputError(f"Word pair {number}: the role must be 'person' or 'possessive', not '{role}'.")
        probe = (record.get("probe") or "yes").lower() not in ("no", "0", "false", "n")
        pairs.append(WordPair(check_word(record["male"]), check_word(record["female"]), role, probe))
    if not pairs:
        raise InputError("The list of word pairs is empty. Give at least one pair such as 'the man,the woman'.")
    if len(pairs) > MAX_PAIRS:
        raise InputError(f"{len(pairs)} word pairs given; the limit is {MAX_PAIRS}.")
    return list(dict.fromkeys(pairs))


def templates_text(path: str | Path | None = None) -> str:
    """The text of a template file (default: the shipped one). Raises InputError."""
    path = Path(path) if path else TEMPLATES_PATH
    return read_text(path, f"the template file '{path}'")


def pairs_text(path: str | Path | None = None) -> str:
    """The text of a word-pair file (default: the shipped one). Raises InputError."""
    path = Path(path) if path else PAIRS_PATH
    return read_text(path, f"the word-pair file '{path}'")


def load_templates(path: str | Path | None = None) -> list[str]:
    return parse_templates(templates_text(path))


def load_pairs(path: str | Path | None = None) -> list[WordPair]:
    return parse_pairs(pairs_text(path))


def probe_pairs(pairs: Sequence[WordPair], chosen: Sequence[str] | None = None) -> tuple[WordPair, ...]:
    """The pairs a probe uses: those whose label is in `chosen`; when `chosen` is None, those marked `probe`, or
    every pair when none is marked. Raises InputError for a label that is not in `pairs` or an empty choice."""
    if chosen is None:
        return tuple(p for p in pairs if p.probe) or tuple(pairs)
    labels = {p.label for p in pairs}
    unknown = [label for label in chosen if label not in labels]
    if unknown:
        raise InputError(f"The word pair {unknown[0]} is not in the list of pairs.")
    picked = tuple(p for p in pairs if p.label in set(chosen))
    if not picked:
        raise InputError("No word pair is chosen for the probe. Choose at least one.")
    return picked


# ---------------------------------------------------------------- the configuration

def check_kurita_template(template: str) -> None:
    check_one_mask(template, f"Kurita template '{excerpt(template)}'", "it needs one, for the gendered word")
    if template.count(OCCUPATION_SLOT) != 1:
        raise InputError(f"The Kurita template '{excerpt(template)}' needs one {MASK} (the gendered word) and one "
                         f"{OCCUPATION_SLOT}.")
    if template.index(MASK) > template.index(OCCUPATION_SLOT):
        raise InputError(f"In the Kurita template '{excerpt(template)}' the {MASK} must come before {OCCUPATION_SLOT}.")


def check_config(config: ProbeConfig) -> ProbeConfig:
    """Everything about a configuration that can be checked without the model. Returns it; raises InputError."""
    if not config.templates:
        raise InputError("The template list is empty. Give at least one template.")
    if not config.pairs:
        raise InputError("The list of word pairs is empty. Choose or type at least one pair.")
    if not config.occupations:
        raise InputError("The occupation list is empty. Give at least one occupation.")
    for template in config.templates:
        role = template_role(template)
        if not any(p.role == role for p in config.pairs):
            raise InputError(f"The template '{excerpt(template)}' has a {{{role}}} slot, but no {role} word pair is chosen.")
    for template in config.kurita_templates:
        check_kurita_template(template)
    if config.bootstrap < MIN_RESAMPLES or config.permutations < MIN_RESAMPLES:
        raise InputError(f"Use at least {MIN_RESAMPLES} bootstrap resamples and {MIN_RESAMPLES} permutations.")
    if not (isinstance(config.min_effect, (int, float)) and math.isfinite(config.min_effect)
            and config.min_effect >= 0):
        raise InputError(f"The minimum effect size must be a number of nats, 0 or more; got {config.min_effect!r}.")
    return config


def build_config(templates: str | None = None, pairs: str | None = None, occupations: str | None = None,
                 chosen_pairs: Sequence[str] | None = None, *, bootstrap: int = 2000, permutations: int = 10000,
                 seed: int = 0, min_effect: float = MIN_EFFECT) -> ProbeConfig:
    """The one way to build a probe configuration, from the texts of the three inputs (None: the shipped file).

    `templates`: one per line (`parse_templates`); `pairs`: the word-pair CSV (`parse_pairs`), of which the probe uses
    those `probe_pairs(pairs, chosen_pairs)` picks; `occupations`: the occupation table (`parse_occupations`).
    Raises InputError for anything the probe could not run.
    """
    word_pairs = parse_pairs(pairs if pairs is not None else pairs_text())
    config = ProbeConfig(
        templates=tuple(parse_templates(templates if templates is not None else templates_text())),
        pairs=probe_pairs(word_pairs, chosen_pairs),
        occupations=tuple(parse_occupations(occupations) if occupations is not None else load_occupations()),
        bootstrap=bootstrap, permutations=permutations, seed=seed, min_effect=min_effect,
    )
    return check_config(config)


def default_config(**overrides) -> ProbeConfig:
    """The shipped templates, the word pairs marked for the probe, and the shipped occupation table; fields given
    as keywords replace those."""
    return replace(build_config(), **overrides)
