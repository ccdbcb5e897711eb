"""SEAT (May et al. 2019): WEAT's association test on sentence encodings, computed as bias-bench does
(`bias_bench/benchmark/seat/seat.py` and `weat.py`, Meade et al. 2022).

- Each sentence is encoded alone: the last layer's hidden states averaged over every token ([CLS] and [SEP]
  included), L2-normalised. Sentences run in padded batches; the mean is over the real tokens only, which is the
  mean of the sentence run alone. A transform (`interventions`, `bertlens.debias`) is an argument of the forward
  call.
- s(w, A, B) = mean cos(w, a) - mean cos(w, b); effect size = (mean over X of s - mean over Y of s) / std over
  X u Y of s, with ddof = 1.
- p-value: a one-sided permutation test over the partitions of X u Y into sets of |X| and |Y|, counting ties as
  exceeding (the conservative test). Exact when there are no more than `n_samples` partitions; otherwise
  `n_samples` - 1 seeded random partitions plus the observed one, as bias-bench counts them (its samples come from
  numpy's global generator, ours from a seeded `numpy.random.Generator`, so sampled p-values agree within
  sampling error, exact ones to the last digit).

Like bias-bench, a sentence given twice in one set counts once (its encodings are keyed by text).

A test file is SEAT's layout: one JSON object with `targ1`, `targ2`, `attr1` and `attr2`, each
`{"category": ..., "examples": [...]}` (bias-bench's files are such objects, spread over several lines), or JSON
lines with one such object a line.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from bertlens.bias.files import read_text
from bertlens.bias.seat_templates import GENDER_FILE, SEAT_DIR, SETS
from bertlens.errors import InputError
from bertlens.model import LoadedModel
from bertlens.pooling import sentence_vectors
from bertlens.schemas import parse_json

GENDER_TESTS = ("sent-weat6", "sent-weat6b", "sent-weat7", "sent-weat7b", "sent-weat8", "sent-weat8b")
N_SAMPLES = 100_000
MAX_EXAMPLES = 5_000
MAX_TESTS = 100
MAX_CHARS = 2_000
_CHUNK = 10_000


@dataclass(frozen=True)
class WordSet:
    category: str
    examples: tuple[str, ...]


@dataclass(frozen=True)
class SeatTest:
    """One test: targets X (`targ1`), Y (`targ2`) and attributes A (`attr1`), B (`attr2`)."""

    name: str
    targ1: WordSet
    targ2: WordSet
    attr1: WordSet
    attr2: WordSet

    @property
    def sizes(self) -> dict[str, int]:
        return {key: len(getattr(self, key).examples) for key in SETS}


@dataclass(frozen=True)
class SeatResult:
    test: str
    effect_size: float
    p_value: float
    sizes: dict[str, int]
    categories: dict[str, str]
    exact: bool
    permutations: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# ---------------------------------------------------------------- reading

def parse_word_sets(text: str, name: str, test: str) -> list[SeatTest]:
    """The tests in SEAT-layout `text` (one JSON object, or one object a line), each named by its "name" key (a
    BERT Lens addition) or else `test` (`test#2`, ... for the later lines of a JSON-lines file). Raises InputError
    naming the file, the line and the set at fault."""
    if not text.strip():
        raise InputError(f"{_start(name)} is empty: give a JSON object with targ1, targ2, attr1 and attr2.")
    try:
        objects = [parse_json(text, name)]
        lines = [0]
    except InputError:
        first = next(line for line in text.splitlines() if line.strip())
        try:
            parse_json(first, name)
        except InputError:
            raise InputError(f"{_start(name)} is neither one JSON object nor JSON lines (one test a line).") from None
        objects, lines = [], []
        for number, line in enumerate(text.splitlines(), 1):
            if line.strip():
                objects.append(parse_json(line, f"line {number} of {name}"))
                lines.append(number)
    if len(objects) > MAX_TESTS:
        raise InputError(f"{_start(name)} has {len(objects)} tests; the limit is {MAX_TESTS}.")
    tests = []
    for index, (data, line) in enumerate(zip(objects, lines)):
        where = f"line {line} of {name}" if line else name
        named = data.get("name") if isinstance(data, dict) else None
        default = test if index == 0 else f"{test}#{index + 1}"
        tests.append(_test(data, where, named.strip()[:80] if isinstance(named, str) and named.strip() else default))
    return tests


def _test(data: Any, where: str, test: str) -> SeatTest:
    if not isinstance(data, dict):
        raise InputError(f"{_start(where)} is not a SEAT test: it must be a JSON object with targ1, targ2, attr1 "
                         "and attr2.")
    sets = []
    for key in SETS:
        if key not in data:
            raise InputError(f"{_start(where)} lacks the set '{key}': a SEAT test has targ1, targ2, attr1 and "
                             "attr2, each {\"category\": ..., \"examples\": [...]}.")
        sets.append(_word_set(data[key], key, where))
    return SeatTest(test, *sets)


def _word_set(value: Any, key: str, where: str) -> WordSet:
    examples = value.get("examples") if isinstance(value, dict) else None
    if not isinstance(examples, list) or not examples:
        raise InputError(f"{_start(where)}: the set '{key}' needs a non-empty list 'examples'.")
    if len(examples) > MAX_EXAMPLES:
        raise InputError(f"{_start(where)}: the set '{key}' has {len(examples)} examples; the limit is "
                         f"{MAX_EXAMPLES}.")
    for example in examples:
        if not isinstance(example, str) or not example.strip() or len(example) > MAX_CHARS:
            raise InputError(f"{_start(where)}: every example of the set '{key}' must be a non-empty text of at "
                             f"most {MAX_CHARS} characters (got {str(example)[:40]!r}).")
    category = value.get("category", key)
    if not isinstance(category, str):
        raise InputError(f"{_start(where)}: the category of the set '{key}' must be a text.")
    unique = tuple(dict.fromkeys(examples))
    if key.startswith("targ") and len(unique) < 2:
        raise InputError(f"{_start(where)}: the target set '{key}' needs at least two different examples.")
    return WordSet(category, unique)


def read_word_sets(path: str | Path) -> list[SeatTest]:
    """The tests of one SEAT file, named after it (`sent-weat6.jsonl` -> `sent-weat6`). Raises InputError."""
    path = Path(path)
    name = f"the SEAT file '{path}'"
    return parse_word_sets(read_text(path, name), name, path.name.split(".")[0] or path.name)


def shipped_gender_tests() -> list[SeatTest]:
    """The six sentence-level gender tests from the shipped `gender.jsonl` (one a line, each named)."""
    name = "the shipped SEAT gender tests"
    return parse_word_sets(read_text(GENDER_FILE, name), name, "gender")


def shipped_tests(names: Sequence[str] = GENDER_TESTS) -> list[SeatTest]:
    """The shipped tests (`bertlens/data/seat/`, see its README): the six sentence-level gender tests by default."""
    return [test for name in names for test in read_word_sets(SEAT_DIR / f"{name}.jsonl")]


# ---------------------------------------------------------------- encoding

def encode(lm: LoadedModel, sentences: Sequence[str], batch_size: int = 32, interventions: Any = None,
           progress: Callable[[int, int], None] | None = None) -> np.ndarray:
    """(n, hidden) float64: each sentence's last-layer hidden states averaged over its tokens ([CLS] and [SEP]
    included), L2-normalised. Raises InputError for a sentence longer than the model reads."""
    out = sentence_vectors(lm, sentences, None, interventions, "mean", batch_size, progress)
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return out / np.where(norms == 0, 1.0, norms)


# ---------------------------------------------------------------- statistics

def cosines(words: np.ndarray, attributes: np.ndarray) -> np.ndarray:
    """(len(words), len(attributes)) cosine similarities."""
    dots = words @ attributes.T
    return dots / np.outer(np.linalg.norm(words, axis=1), np.linalg.norm(attributes, axis=1))


def association(words: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """s(w, A, B) = mean over A of cos(w, a) - mean over B of cos(w, b), for each row w."""
    return cosines(words, a).mean(axis=1) - cosines(words, b).mean(axis=1)


def effect_size(s_x: np.ndarray, s_y: np.ndarray) -> float:
    """(mean s over X - mean s over Y) / std of s over X u Y (ddof = 1)."""
    spread = np.std(np.concatenate([s_x, s_y]), ddof=1)
    return float((s_x.mean() - s_y.mean()) / spread) if spread > 0 else float("nan")


def p_value(s_x: np.ndarray, s_y: np.ndarray, n_samples: int = N_SAMPLES, seed: int = 0) -> tuple[float, bool, int]:
    """(p, exact, partitions counted): the share of partitions (X', Y') of X u Y with sum over X' of s at least
    the observed sum over X (equivalent to s(X', Y', A, B) >= s(X, Y, A, B), as the total is fixed)."""
    s_all = np.concatenate([s_x, s_y])
    n, k = len(s_all), len(s_x)
    observed = s_x.sum()
    tolerance = 1e-12 * max(1.0, float(np.abs(s_all).sum()))
    partitions = math.comb(n, k)
    if partitions <= n_samples:
        hits = 0
        combos = itertools.combinations(range(n), k)
        while True:
            block = np.fromiter(itertools.chain.from_iterable(itertools.islice(combos, _CHUNK)), dtype=np.int64)
            if not block.size:
                break
            hits += int((s_all[block.reshape(-1, k)].sum(axis=1) >= observed - tolerance).sum())
        return hits / partitions, True, partitions
    rng = np.random.default_rng(seed)
    hits, remaining = 1, n_samples - 1
    while remaining:
        size = min(_CHUNK, remaining)
        chosen = np.argsort(rng.random((size, n)), axis=1)[:, :k]
        hits += int((s_all[chosen].sum(axis=1) >= observed - tolerance).sum())
        remaining -= size
    return hits / n_samples, False, n_samples


def run_test(lm: LoadedModel, test: SeatTest, n_samples: int = N_SAMPLES, seed: int = 0, interventions: Any = None,
             batch_size: int = 32) -> SeatResult:
    """One SEAT test on `lm` (with `interventions`, for a transform)."""
    encoded = {key: encode(lm, getattr(test, key).examples, batch_size, interventions) for key in SETS}
    s_x = association(encoded["targ1"], encoded["attr1"], encoded["attr2"])
    s_y = association(encoded["targ2"], encoded["attr1"], encoded["attr2"])
    p, exact, counted = p_value(s_x, s_y, n_samples, seed)
    return SeatResult(test.name, effect_size(s_x, s_y), p, test.sizes,
                      {key: getattr(test, key).category for key in SETS}, exact, counted)


def run(lm: LoadedModel, tests: Sequence[SeatTest], n_samples: int = N_SAMPLES, seed: int = 0,
        interventions: Any = None, progress: Callable[[int, int], None] | None = None) -> tuple[SeatResult, ...]:
    """Every test in order; `progress(done, total)` after each."""
    if n_samples < 2:
        raise InputError("The permutation test needs at least 2 samples.")
    results = []
    for done, test in enumerate(tests, 1):
        results.append(run_test(lm, test, n_samples, seed, interventions))
        if progress is not None:
            progress(done, len(tests))
    return tuple(results)


def mean_absolute_effect(results: Sequence[SeatResult]) -> float:
    """The mean |effect size| over tests: the figure Meade et al. (2022) report for SEAT."""
    return float(np.mean([abs(r.effect_size) for r in results])) if results else float("nan")


def _start(name: str) -> str:
    return name[:1].upper() + name[1:]
