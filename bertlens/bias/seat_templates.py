"""The shipped SEAT gender tests: Caliskan et al.'s WEAT 6, 7 and 8 word lists, and the same lists put into
SEAT's "semantically bleached" sentence templates (May et al. 2019: "This is X.", "X is here.", ...).

The word lists are those of Caliskan, Bryson and Narayanan (2017), "Semantics derived automatically from language
corpora contain human-like biases", Science 356(6334), supplementary materials (tests 6, 7 and 8, which take them
from Nosek, Banaji and Greenwald's Implicit Association Tests), and the "b" variants SEAT added (May et al. 2019,
"On Measuring Social Biases in Sentence Encoders", NAACL): names and terms exchanged between the tests.

The sentence templates follow SEAT's scheme: a word gets the templates of its kind (a first name, a mass noun, a
count noun with its plural, an adjective, a pronoun by case), and a person noun "is a person" where a thing "is a
thing". When the two target sets end up of different sizes, the longer one is cut to the shorter one's size by a
seeded random choice that keeps the order (SEAT cuts them too, unseeded, so its published files keep another
subset of the longer set). `gender.jsonl` holds the six sentence-level tests, one a line, each with its name. This module is BERT Lens's own code; `python -m bertlens.bias.seat_templates` writes
`bertlens/data/seat/` from it, and a test checks that the shipped files equal what it writes.
"""
from __future__ import annotations

import json
import random
import re
from pathlib import Path

from bertlens.bias.files import DATA

SEAT_DIR = DATA / "seat"
GENDER_FILE = SEAT_DIR / "gender.jsonl"
GENDER_TESTS = ("weat6", "weat6b", "weat7", "weat7b", "weat8", "weat8b")
SETS = ("targ1", "targ2", "attr1", "attr2")
TRUNCATION_SEED = 0

MALE_NAMES = ["John", "Paul", "Mike", "Kevin", "Steve", "Greg", "Jeff", "Bill"]
FEMALE_NAMES = ["Amy", "Joan", "Lisa", "Sarah", "Diana", "Kate", "Ann", "Donna"]
CAREER = ["executive", "management", "professional", "corporation", "salary", "office", "business", "career"]
FAMILY = ["home", "parents", "children", "family", "cousins", "marriage", "wedding", "relatives"]
MALE_TERMS = ["male", "man", "boy", "brother", "he", "him", "his", "son"]
FEMALE_TERMS = ["female", "woman", "girl", "sister", "she", "her", "hers", "daughter"]
MATH = ["math", "algebra", "geometry", "calculus", "equations", "computation", "numbers", "addition"]
ARTS_7 = ["poetry", "art", "dance", "literature", "novel", "symphony", "drama", "sculpture"]
SCIENCE = ["science", "technology", "physics", "chemistry", "Einstein", "NASA", "experiment", "astronomy"]
ARTS_8 = ["poetry", "art", "Shakespeare", "dance", "literature", "novel", "symphony", "drama"]
MALE_KIN = ["brother", "father", "uncle", "grandfather", "son", "he", "his", "him"]
FEMALE_KIN = ["sister", "mother", "aunt", "grandmother", "daughter", "she", "hers", "her"]

WORD_TESTS: dict[str, tuple[tuple[str, list[str]], ...]] = {
    "weat6": (("MaleNames", MALE_NAMES), ("FemaleNames", FEMALE_NAMES), ("Career", CAREER), ("Family", FAMILY)),
    "weat6b": (("MaleTerms", MALE_TERMS), ("FemaleTerms", FEMALE_TERMS), ("Career", CAREER), ("Family", FAMILY)),
    "weat7": (("Math", MATH), ("Arts", ARTS_7), ("MaleTerms", MALE_TERMS), ("FemaleTerms", FEMALE_TERMS)),
    "weat7b": (("Math", MATH), ("Arts", ARTS_7), ("MaleNames", MALE_NAMES), ("FemaleNames", FEMALE_NAMES)),
    "weat8": (("Science", SCIENCE), ("Arts", ARTS_8), ("MaleTerms", MALE_KIN), ("FemaleTerms", FEMALE_KIN)),
    "weat8b": (("Science", SCIENCE), ("Arts", ARTS_8), ("MaleNames", MALE_NAMES), ("FemaleNames", FEMALE_NAMES)),
}

ADJECTIVES = frozenset({"professional"})
MASS_NOUNS = frozenset({"physics", "calculus", "science", "chemistry", "astronomy", "NASA", "poetry", "art",
                        "literature", "math", "algebra", "geometry"})
PLURAL_NOUNS = frozenset({"parents", "children", "cousins", "relatives", "numbers", "equations"})
_PERSON = re.compile(r"\b(?:woman|man|female|male|girl|boy|sister|brother|daughter|son|mother|father|aunt|uncle|"
                     r"grandmother|grandfather)\b")

NAME = ("This is {w}.", "That is {w}.", "There is {w}.", "Here is {w}.", "{w} is here.", "{w} is there.",
        "{w} is a person.", "The person's name is {w}.")
SUBJECT = ("{w} is here.", "{w} is there.", "Here {w} is.", "There {w} is.", "{w} is a person.")
OBJECT = ("It is {w}.", "This is {w}.", "That is {w}.")
POSSESSIVE = ("This is {w}.", "That is {w}.", "There is {w}.", "Here is {w}.", "It is {w}.", "{w} is there.",
              "{w} is here.")
ADJECTIVE = ("This is {w}.", "That is {w}.", "They are {w}.")
MASS = ("This is {w}.", "That is {w}.", "There is {w}.", "It is {w}.")
SINGULAR = ("This is {a} {w}.", "That is {a} {w}.", "There is {a} {w}.", "Here is {a} {w}.", "The {w} is here.",
            "The {w} is there.")
PLURAL = ("These are {w}.", "Those are {w}.", "They are {w}.", "The {w} are here.", "The {w} are there.")
SINGULAR_PERSON = ("{a} {w} is a person.",)
PLURAL_PERSON = ("{w} are people.",)
SINGULAR_THING = ("{a} {w} is a thing.", "It is {a} {w}.")
PLURAL_THING = ("{w} are things.",)


def _fill(template: str, word: str) -> str:
    article = "an" if word[:1] in "aeiouAEIOU" else "a"
    sentence = template.format(w=word, a=article)
    return sentence[:1].upper() + sentence[1:]


def _singular(word: str) -> str:
    return "child" if word == "children" else word[:-1] if word.endswith("s") else word


def _plural(word: str) -> str:
    if re.search(r"\bwoman\b", word):
        return re.sub(r"\bwoman\b", "women", word)
    if re.search(r"\bman\b", word):
        return re.sub(r"\bman\b", "men", word)
    if word.endswith("y") and word[-2:-1] not in tuple("aeiou"):
        return word[:-1] + "ies"
    if word.endswith(("ch", "sh", "s")):
        return word + "es"
    return word + "s"


def sentences_for(word: str) -> list[str]:
    """The SEAT sentences of one word, by its kind."""
    if word[:1].isupper() and word != word.upper():
        templates: tuple[str, ...] = NAME
    elif word in ADJECTIVES:
        templates = ADJECTIVE
    elif word in MASS_NOUNS:
        templates = MASS
    elif word in ("he", "she"):
        templates = SUBJECT
    elif word in ("him", "her"):
        templates = OBJECT
    elif word in ("his", "hers"):
        templates = POSSESSIVE
    else:
        singular, plural = (_singular(word), word) if word in PLURAL_NOUNS else (word, _plural(word))
        person = _PERSON.search(word) is not None
        return ([_fill(t, singular) for t in SINGULAR + (SINGULAR_PERSON if person else SINGULAR_THING)]
                + [_fill(t, plural) for t in PLURAL + (PLURAL_PERSON if person else PLURAL_THING)])
    return [_fill(t, word) for t in templates]


def word_test(name: str) -> dict:
    """A word-level test in SEAT's layout."""
    return {key: {"category": category, "examples": list(words)}
            for key, (category, words) in zip(SETS, WORD_TESTS[name])}


def sentence_test(name: str) -> dict:
    """The sentence-level test ("sent-" + name) in SEAT's layout; target sets cut to the same size."""
    test = {key: {"category": value["category"],
                  "examples": [s for word in value["examples"] for s in sentences_for(word)]}
            for key, value in word_test(name).items()}
    first, second = test["targ1"]["examples"], test["targ2"]["examples"]
    size = min(len(first), len(second))
    rng = random.Random(TRUNCATION_SEED)
    for key in ("targ1", "targ2"):
        examples = test[key]["examples"]
        if len(examples) > size:
            kept = sorted(rng.sample(range(len(examples)), size))
            test[key]["examples"] = [examples[i] for i in kept]
    return test


def shipped_files() -> dict[str, str]:
    """File name -> JSON text of every shipped test, as `python -m bertlens.bias.seat_templates` writes them."""
    out = {}
    for name in WORD_TESTS:
        out[f"{name}.jsonl"] = json.dumps(word_test(name), indent=2) + "\n"
        out[f"sent-{name}.jsonl"] = json.dumps(sentence_test(name), indent=2) + "\n"
    out[GENDER_FILE.name] = "".join(json.dumps({"name": f"sent-{name}", **sentence_test(name)}) + "\n"
                                    for name in GENDER_TESTS)
    return out


def write(folder: Path = SEAT_DIR) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for file_name, text in shipped_files().items():
        (folder / file_name).write_text(text, encoding="utf-8")


if __name__ == "__main__":
    write()
