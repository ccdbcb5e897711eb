"""The pronoun probe, Winogender-style (Rudinger et al. 2018) for a masked language model: an occupation sentence
with the pronoun masked ("The nurse said that [MASK] would be late.") and the model's P(he), P(she), P(they) there.

Per occupation, over templates:
- `p_he`, `p_she`, `p_they`: the mean probability (each over the whole vocabulary, so they need not sum to 1);
- `skew`: the mean of log P(she) - log P(he) (> 0 leans female, as everywhere in BERT Lens), with a percentile
  bootstrap 95% interval over templates (`bertlens.bias.statistics.bootstrap_ci`);
- the skew's correlation with the BLS share of women (`bertlens.bias.statistics.correlation`), as the occupation
  probe reports it.

Every sentence is one row of one batched call to `bertlens.scoring.masked_log_probs` (one padded batch unless
`batch_size` is smaller than the number of sentences); the pronouns are one WordPiece each.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bertlens.bias.files import DATA, read_text
from bertlens.bias.occupations import Occupation, load_occupations
from bertlens.bias.sentences import capitalise_at_start
from bertlens.bias.statistics import Correlation, bootstrap_ci, correlation
from bertlens.errors import InputError
from bertlens.model import LoadedModel
from bertlens.scoring import MaskedRow, masked_log_probs
from bertlens.text import MASK, clean, excerpt

PRONOUN_TEMPLATES_PATH = DATA / "pronoun_templates.txt"
OCCUPATION = "{occupation}"
PRONOUNS = ("he", "she", "they")
MAX_TEMPLATES = 50


@dataclass(frozen=True)
class PronounSentence:
    occupation: str
    template: str
    text: str
    log_p_he: float
    log_p_she: float
    log_p_they: float

    @property
    def skew(self) -> float:
        return self.log_p_she - self.log_p_he


@dataclass(frozen=True)
class PronounScore:
    """One occupation over all templates. `skew` > 0: the model prefers "she" to "he"."""

    occupation: str
    pct_women: float | None
    year: str
    source: str
    p_he: float
    p_she: float
    p_they: float
    skew: float
    ci_low: float
    ci_high: float
    n_templates: int


@dataclass(frozen=True)
class PronounResult:
    templates: tuple[str, ...]
    occupations: list[PronounScore]
    sentences: list[PronounSentence]
    correlation: Correlation | None
    seconds: float
    rows: int
    bootstrap: int
    seed: int


def parse_pronoun_templates(text: str) -> list[str]:
    """One template per line, each with one {occupation} and one [MASK]; # lines skipped. Raises InputError."""
    templates = [line.strip() for line in (text or "").splitlines()
                 if line.strip() and not line.lstrip().startswith("#")]
    if not templates:
        raise InputError("The pronoun template list is empty. Give at least one template such as "
                         "'The {occupation} said that [MASK] would be late.'")
    if len(templates) > MAX_TEMPLATES:
        raise InputError(f"{len(templates)} pronoun templates given; the limit is {MAX_TEMPLATES}.")
    for template in templates:
        clean(template, "template")
        shown = excerpt(template)
        if template.count(MASK) != 1 or template.count(OCCUPATION) != 1:
            raise InputError(f"The pronoun template '{shown}' needs exactly one {OCCUPATION} and one {MASK} "
                             "(where the pronoun goes).")
    return list(dict.fromkeys(templates))


def load_pronoun_templates(path: str | Path | None = None) -> list[str]:
    """The shipped templates, or the file at `path`. Raises InputError."""
    path = Path(path) if path else PRONOUN_TEMPLATES_PATH
    return parse_pronoun_templates(read_text(path, f"the pronoun template file '{path}'"))


def fill(template: str, occupation: str) -> str:
    """The template with the occupation in place, capitalised when it starts the sentence."""
    if not template[: template.index(OCCUPATION)].strip():
        occupation = occupation[:1].upper() + occupation[1:]
    return template.replace(OCCUPATION, occupation)


def pronoun_ids(lm: LoadedModel, text: str) -> tuple[int, ...]:
    """The ids of he, she and they as written at the text's mask (capitalised at the start). Raises InputError
    when the vocabulary splits one of them."""
    ids = []
    for word in PRONOUNS:
        pieces = lm.tokenizer(capitalise_at_start(text, word), add_special_tokens=False)["input_ids"]
        if len(pieces) != 1:
            raise InputError(f"The model's vocabulary has no single token for '{word}'; the pronoun probe needs "
                             "one.")
        ids.append(pieces[0])
    return tuple(ids)


def run_pronoun_probe(lm: LoadedModel, templates: list[str] | None = None,
                      occupations: list[Occupation] | None = None, bootstrap: int = 2000, seed: int = 0,
                      batch_size: int | None = None) -> PronounResult:
    """P(he), P(she), P(they) at the mask of every template filled with every occupation, in one batched call.
    Raises InputError for bad templates or a text over the model's limit; MissingHead without an MLM head."""
    lm.require("mlm")
    templates = templates or load_pronoun_templates()
    occupations = occupations or load_occupations()
    texts = [[fill(t, o.name) for t in templates] for o in occupations]
    rows = []
    for row in texts:
        for text in row:
            ids = lm.tokenizer(text)["input_ids"]
            rows.append(MaskedRow(tuple(ids), ids.index(lm.tokenizer.mask_token_id), pronoun_ids(lm, text)))
    started = time.perf_counter()
    values = np.array(masked_log_probs(lm, rows, batch_size=batch_size or max(len(rows), 1)))
    seconds = time.perf_counter() - started
    values = values.reshape(len(occupations), len(templates), len(PRONOUNS))
    skew = values[:, :, 1] - values[:, :, 0]
    low, high = bootstrap_ci(skew, bootstrap, seed)
    probabilities = np.exp(values).mean(axis=1)
    scores = [PronounScore(o.name, o.pct_women, o.year, o.source, float(probabilities[i, 0]),
                           float(probabilities[i, 1]), float(probabilities[i, 2]), float(skew[i].mean()),
                           float(low[i]), float(high[i]), len(templates))
              for i, o in enumerate(occupations)]
    sentences = [PronounSentence(o.name, t, texts[i][j], *map(float, values[i, j]))
                 for i, o in enumerate(occupations) for j, t in enumerate(templates)]
    corr = correlation("pronoun_skew", [s.pct_women for s in scores], [s.skew for s in scores])
    return PronounResult(tuple(templates), scores, sentences, corr, seconds, len(rows), bootstrap, seed)
