"""The sentences a transform is fitted on, each with one of two labels, and its counterfactual pairs.

- The default set: every shipped probe template (`bertlens/data/templates.txt`) filled with every shipped word pair
  of its role (`word_pairs.csv`), the male and the female version of each (a counterfactual pair), labelled
  "male" and "female". The templates' [MASK] stays: these are the inputs the probe reads.
- A CSV file with a header `text,label`: any two labels; pairs (for SentenceDebias) are the i-th sentence of each
  label, when both labels have as many sentences.
- Plain lines: each line and its gender swap (`bertlens.bias.swaps`) make a pair; a line is labelled by the words
  the swap changed ("male" when they are male words, "female" otherwise).
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from bertlens.bias.config import load_pairs, load_templates, template_role
from bertlens.bias.files import csv_rows, read_text
from bertlens.bias.sentences import fill_slot
from bertlens.bias.swaps import (DEFINITIONAL, FIRST_NAMES, GN_FEMALE, GN_MALE, swap_gender,
                                 word_pairs_from_lists)
from bertlens.errors import InputError

MAX_SENTENCES = 20_000
MAX_CHARS = 2_000


@dataclass(frozen=True)
class FittingSet:
    """Sentences, their labels (two distinct values) and counterfactual pairs (indices into `texts`)."""

    texts: tuple[str, ...]
    labels: tuple[str, ...]
    pairs: tuple[tuple[int, int], ...]
    source: str

    @property
    def classes(self) -> tuple[str, ...]:
        return tuple(sorted(set(self.labels)))

    def digest(self) -> str:
        """sha256 of the texts, labels and pairs: the data hash a saved fit records."""
        payload = json.dumps([self.texts, self.labels, self.pairs], ensure_ascii=False)
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def checked(fitting: FittingSet) -> FittingSet:
    """Raises InputError for an empty set, more than MAX_SENTENCES, or not exactly two labels."""
    if not fitting.texts:
        raise InputError(f"{_start(fitting.source)} has no sentences to fit on.")
    if len(fitting.texts) > MAX_SENTENCES:
        raise InputError(f"{_start(fitting.source)} has {len(fitting.texts):,} sentences; the limit is "
                         f"{MAX_SENTENCES:,}.")
    classes = fitting.classes
    if len(classes) != 2:
        which = f"one label only ('{classes[0]}')" if len(classes) == 1 else f"{len(classes)} labels"
        raise InputError(f"{_start(fitting.source)} has {which}; a transform is fitted on sentences of exactly two "
                         "labels.")
    return fitting


def default_set() -> FittingSet:
    """The shipped templates x word pairs, each pair's two versions."""
    texts, labels, pairs = [], [], []
    word_pairs = load_pairs()
    for template in load_templates():
        role = template_role(template)
        for pair in word_pairs:
            if pair.role != role:
                continue
            pairs.append((len(texts), len(texts) + 1))
            texts += [fill_slot(template, pair.male), fill_slot(template, pair.female)]
            labels += ["male", "female"]
    return checked(FittingSet(tuple(texts), tuple(labels), tuple(pairs),
                              "the default set (the shipped templates x word pairs)"))


def read_sentences(path: str | Path) -> FittingSet:
    """A CSV with `text,label`, or plain lines doubled by gender swaps. Raises InputError."""
    path = Path(path)
    name = f"the sentence file '{path}'"
    text = read_text(path, name)
    first = next((line for line in text.splitlines() if line.strip()), "")
    header = [cell.strip().lower() for cell in next(csv.reader(io.StringIO(first)), [])]
    if "text" in header and "label" in header:
        return _from_csv(text, name)
    return _from_lines(text, name)


def _from_csv(text: str, name: str) -> FittingSet:
    rows = csv_rows(text, name, keep_lines=True)
    header = [cell.strip().lower() for cell in rows[0][1]]
    at_text, at_label = header.index("text"), header.index("label")
    texts, labels = [], []
    for line, row in rows[1:]:
        if not any(cell.strip() for cell in row):
            continue
        if len(row) <= max(at_text, at_label) or not row[at_text].strip() or not row[at_label].strip():
            raise InputError(f"Line {line} of {name} needs a text and a label.")
        texts.append(_sentence(row[at_text], line, name))
        labels.append(row[at_label].strip())
    fitting = checked(FittingSet(tuple(texts), tuple(labels), (), name))
    first, second = ([i for i, label in enumerate(labels) if label == c] for c in fitting.classes)
    pairs = tuple(zip(first, second)) if len(first) == len(second) else ()
    return FittingSet(fitting.texts, fitting.labels, pairs, name)


def _from_lines(text: str, name: str) -> FittingSet:
    texts, labels, pairs = [], [], []
    males = _male_words()
    for line, raw in enumerate(text.splitlines(), 1):
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        sentence = _sentence(raw, line, name)
        try:
            swapped = swap_gender(sentence)
        except InputError:
            raise InputError(f"Line {line} of {name} has no gendered word to swap; give a CSV with text,label "
                             "to fit on other sentences.") from None
        votes = sum(1 if swap.original.lower() in males or swap.original in males else -1
                    for swap in swapped.swaps)
        if votes == 0:
            raise InputError(f"Line {line} of {name} has as many male as female words, so the swap gives it no "
                             "label; give a CSV with text,label.")
        pairs.append((len(texts), len(texts) + 1))
        texts += [sentence, swapped.text]
        labels += ["male", "female"] if votes > 0 else ["female", "male"]
    return checked(FittingSet(tuple(texts), tuple(labels), tuple(pairs), name))


def _sentence(raw: str, line: int, name: str) -> str:
    sentence = " ".join(raw.split())
    if len(sentence) > MAX_CHARS:
        raise InputError(f"Line {line} of {name} is longer than {MAX_CHARS:,} characters.")
    return sentence


@lru_cache(maxsize=1)
def _male_words() -> frozenset[str]:
    """The male side of the swap lists: pronouns, GN-GloVe's and Bolukbasi et al.'s male words, male first names."""
    pairs = word_pairs_from_lists(read_text(GN_MALE), read_text(GN_FEMALE), read_text(DEFINITIONAL))
    names = {row["male"] for row in csv.DictReader(io.StringIO(read_text(FIRST_NAMES)))}
    return frozenset({male.lower() for male, _ in pairs} | {"he", "him", "his", "himself"} | names)


def _start(name: str) -> str:
    return name[:1].upper() + name[1:]
