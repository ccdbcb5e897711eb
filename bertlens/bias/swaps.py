"""Gender swaps for counterfactual sentences: which words swap, and the rules that swap them.

The default table is built from three licensed lists shipped in `bertlens/data/swaps/` (see the README there):

- GN-GloVe's word lists (Zhao et al. 2018, `uclanlp/gn_glove`, Apache-2.0): 222 male/female words, line-aligned;
- Bolukbasi et al.'s (2016) definitional pairs (`tolga-b/debiaswe`, MIT);
- first names from the US Social Security Administration's 2020 baby-name counts (a US government work, public
  domain): the 50 most given names of each sex that are almost never given to the other sex (under 1%) and are not
  an ordinary lower-case word in bert-large-cased's vocabulary (so no Hope, Grace or June), paired by rank.

Entries with an underscore (multi-word phrases), words the lists misspell and pairs that are not counterparts of each
other (`EXCLUDED`) are left out. A word with several counterparts takes the first one listed.

Rules, applied word by word (a word is a run of letters; `[MASK]` is never touched):

- he ↔ she, himself ↔ herself, hers → his; him → her;
- his → her by the same one-word test as her below ("his book" → "her book"), otherwise hers ("the book is his."
  → "the book is hers.");
- her → his when the next word (after spaces only) can start a noun phrase, or is the [MASK]: "her book", "her
  old car", "her [MASK]"; otherwise him: before punctuation or the end ("I saw her."), or before a function word
  (`OBJECT_CONTEXT`: determiners, pronouns, prepositions, conjunctions, auxiliaries, common adverbs), as in "told
  her that", "gave her the keys". The rule sees one word ahead and no syntax, so it misreads "her" before an
  adjective used predicatively ("made her happy" → "made his happy") and before a noun used as an object
  complement; every swap is returned with the rule that made it, and the page lists them so an auditor can check;
- every other word: looked up lower-cased; first names only when written with a capital (so a surname or a place
  spelled like a first name, such as Jackson or Madison, is swapped too: the swap list shows it);
- capitalisation is kept: "He" → "She", "HIS" → "HER", "Mary" → "John".

Swapping is on text, before tokenisation, so a word of several WordPieces ("stewardess" = "steward ##ess") swaps
as a whole and each version is tokenised on its own.
"""
from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from functools import lru_cache

from bertlens.bias.files import DATA, csv_rows, read_text
from bertlens.errors import InputError
from bertlens.text import MASK

SWAPS = DATA / "swaps"
GN_MALE = SWAPS / "gn_glove_male_word_file.txt"
GN_FEMALE = SWAPS / "gn_glove_female_word_file.txt"
DEFINITIONAL = SWAPS / "debiaswe_definitional_pairs.json"
FIRST_NAMES = SWAPS / "ssa_first_names_2020.csv"
MAX_PAIRS = 2000

PRONOUNS = {"he": "she", "she": "he", "himself": "herself", "herself": "himself", "hers": "his", "him": "her"}
EXCLUDED = frozenset({
    # misspelt in the list
    "godesses", "adultor", "adultors", "adultress", "adultresses", "barnoesses", "mentleman", "heros", "sororal",
    # not counterparts of each other
    "penis", "clitoris", "vagina", "semen", "cialis", "viagra", "sperm", "ovum", "prostate", "beard", "beards",
    "toque", "toques", "macho", "effeminate", "stud", "studs", "minx", "minxes", "blokes", "wenches", "bloke",
    "wench", "gays", "lesbians", "gay", "lesbian", "brideprice", "dowry", "andropause", "menopause", "andrology",
    "obstetrics", "testosterone", "estradiol", "androgen", "estrogen", "masculism", "feminism", "baritone", "mezzo",
    "monastery", "convent", "barbershop", "deer", "doe", "gelding", "bull", "bulls", "cow", "cows", "paramour",
    "priest", "nun", "nuns", "priests", "monk", "monks", "tailor", "seamstress", "chap", "lass", "fella", "hubby",
    "bachelor", "spinster", "maiden", "bachelorette", "master", "mistress", "masters", "mistresses", "suitor",
    "suitress", "stallion", "mare", "manservant", "maid", "maids", "menservants",
    # pronouns: decided by the rules above
    "he", "she", "his", "her", "hers", "him", "himself", "herself",
})
OBJECT_CONTEXT = frozenset("""
a an the this that these those some any every each no my your our their its his her him them me us you it
to and or but nor so yet for of in on at by with from about as into onto over under up down out off than then
because if when while since after before until although though whether where there here again too very also
just now only even still already always never not n't is was are were be been being am has had have do did does
will would shall should can could may might must who whom which what how why yesterday today tomorrow well
""".split())
_TOKEN = re.compile(re.escape(MASK) + r"|[A-Za-z]+")
_ENTRY = re.compile(r"^[a-z]+\.?$")


@dataclass(frozen=True)
class SwapTable:
    """Word → counterpart, lower case (`words`), and first names → counterpart as written (`names`); `source` says
    where the table came from."""

    words: tuple[tuple[str, str], ...]
    names: tuple[tuple[str, str], ...]
    source: str

    @property
    def lookup(self) -> dict[str, str]:
        return _lookup(self)


@lru_cache(maxsize=16)
def _lookup(table: SwapTable) -> dict[str, str]:
    return dict(table.words)


@dataclass(frozen=True)
class Swap:
    """One swapped word: where it was in the original text, what replaced it and by which rule."""

    start: int
    end: int
    original: str
    replacement: str
    rule: str


@dataclass(frozen=True)
class Swapped:
    original: str
    text: str
    swaps: tuple[Swap, ...]


def _add(out: dict[str, str], male: str, female: str) -> None:
    """Both directions, the first entry winning for a word with several counterparts."""
    male, female = male.lower().rstrip("."), female.lower().rstrip(".")
    if male == female or male in EXCLUDED or female in EXCLUDED:
        return
    out.setdefault(male, female)
    out.setdefault(female, male)


def word_pairs_from_lists(male_text: str, female_text: str, definitional_json: str) -> list[tuple[str, str]]:
    """(male, female) pairs from GN-GloVe's two line-aligned lists and Bolukbasi et al.'s definitional pairs
    ([female, male] in their file), keeping one-word entries. Raises InputError when the lists do not align."""
    males, females = male_text.split(), female_text.split()
    if len(males) != len(females):
        raise InputError(f"The GN-GloVe lists have {len(males)} male and {len(females)} female words; they must "
                         "align line by line.")
    pairs = [(m, f) for m, f in zip(males, females) if _ENTRY.match(m) and _ENTRY.match(f)]
    for female, male in json.loads(definitional_json):
        if _ENTRY.match(male.lower()) and _ENTRY.match(female.lower()):
            pairs.append((male.lower(), female.lower()))
    return pairs


def default_table() -> SwapTable:
    """The shipped table (GN-GloVe, Bolukbasi et al., SSA first names). Raises InputError if a file is missing."""
    return _default_table()


@lru_cache(maxsize=1)
def _default_table() -> SwapTable:
    pairs = word_pairs_from_lists(read_text(GN_MALE), read_text(GN_FEMALE), read_text(DEFINITIONAL))
    words: dict[str, str] = {}
    for male, female in pairs:
        _add(words, male, female)
    names: dict[str, str] = {}
    for row in csv.DictReader(io.StringIO(read_text(FIRST_NAMES))):
        names.setdefault(row["male"], row["female"])
        names.setdefault(row["female"], row["male"])
    return SwapTable(tuple(sorted(words.items())), tuple(sorted(names.items())),
                     "GN-GloVe word lists (Apache-2.0), Bolukbasi et al. definitional pairs (MIT), US SSA 2020 first "
                     "names (public domain)")


def parse_swap_pairs(text: str, source: str = "your pairs") -> SwapTable:
    """A table from CSV lines `male,female` (an optional header `male,female`). A capitalised entry (a name) swaps
    only when written with a capital; others match any capitalisation. Pronouns keep their rules. Raises
    InputError for an empty list, a line without two words or too many lines."""
    rows = [row for row in csv_rows(text or "", "the swap list") if row and not row[0].lstrip().startswith("#")]
    rows = [[cell.strip() for cell in row] for row in rows if any(cell.strip() for cell in row)]
    if rows and [c.lower() for c in rows[0][:2]] == ["male", "female"]:
        rows = rows[1:]
    if not rows:
        raise InputError("The swap list is empty. Give one pair per line: male,female (for example 'king,queen').")
    if len(rows) > MAX_PAIRS:
        raise InputError(f"The swap list has {len(rows)} pairs; the limit is {MAX_PAIRS}.")
    words: dict[str, str] = {}
    names: dict[str, str] = {}
    for number, row in enumerate(rows, 1):
        if len(row) < 2 or not re.fullmatch(r"[A-Za-z]+", row[0]) or not re.fullmatch(r"[A-Za-z]+", row[1]):
            raise InputError(f"Line {number} of the swap list ('{','.join(row)}') is not two single words of "
                             "letters: write male,female.")
        male, female = row[0], row[1]
        if male[0].isupper() and female[0].isupper() and not (male.isupper() and len(male) > 1):
            names.setdefault(male, female)
            names.setdefault(female, male)
        elif male.lower() not in PRONOUNS and male.lower() not in ("his", "her"):
            words.setdefault(male.lower(), female.lower())
            words.setdefault(female.lower(), male.lower())
    return SwapTable(tuple(sorted(words.items())), tuple(sorted(names.items())), source)


def match_case(model: str, word: str) -> str:
    """`word` written with `model`'s capitalisation: all capitals, a capital first letter, or as given."""
    if len(model) > 1 and model.isupper():
        return word.upper()
    if model[:1].isupper():
        return word[:1].upper() + word[1:]
    return word


def _next_word(tokens: list[re.Match], i: int, text: str) -> str | None:
    """The token right after token i when only spaces separate them (a word, or [MASK]); None otherwise."""
    if i + 1 >= len(tokens):
        return None
    between = text[tokens[i].end():tokens[i + 1].start()]
    return tokens[i + 1].group(0) if between.strip() == "" else None


def _pronoun(word: str, following: str | None) -> tuple[str, str] | None:
    lower = word.lower()
    noun_phrase = following is not None and (following == MASK or following.lower() not in OBJECT_CONTEXT)
    if lower == "her":
        return ("his", "her + noun phrase → his") if noun_phrase else ("him", "her as object → him")
    if lower == "his":
        return ("her", "his + noun phrase → her") if noun_phrase else ("hers", "his standing alone → hers")
    if lower in PRONOUNS:
        return PRONOUNS[lower], "pronoun"
    return None


def swap_gender(text: str, table: SwapTable | None = None) -> Swapped:
    """`text` with every gendered word swapped by the rules in the module docstring, capitalisation kept.
    [MASK] is left in place. Raises InputError when no word of the text is in the table."""
    table = table or default_table()
    lookup, names = table.lookup, dict(table.names)
    tokens = list(_TOKEN.finditer(text))
    pieces, swaps, last = [], [], 0
    for i, match in enumerate(tokens):
        word = match.group(0)
        if word == MASK:
            continue
        found = _pronoun(word, _next_word(tokens, i, text))
        if found is None and word in names:
            found = names[word], "first name"
        if found is None and word.lower() in lookup:
            found = lookup[word.lower()], "word list"
        if found is None:
            continue
        replacement = match_case(word, found[0])
        pieces += [text[last:match.start()], replacement]
        last = match.end()
        swaps.append(Swap(match.start(), match.end(), word, replacement, found[1]))
    if not swaps:
        raise InputError("No gendered word found in the text, so there is nothing to swap. Use a sentence with a "
                         "word such as he, she, his, her, man, woman, mother, father or a first name such as "
                         "Mary or John (see the swap list).")
    pieces.append(text[last:])
    return Swapped(text, "".join(pieces), tuple(swaps))
