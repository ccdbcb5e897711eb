"""StereoSet figures from a predictions file instead of the model: the authors' layout (`{"intrasentence": [{"id",
"score"}, ...], "intersentence": [...]}`, as `eval_discriminative_models.py` writes it) or a BERT Lens result, whose
`predictions` block has that layout.

Why: an auditor can check BERT Lens's scoring against the authors' own predictions for a model (their repository
ships one per model) without weights, and a saved run can be summarised again (another bootstrap, one split)
without running the model again. The figures go through the same `summarise` as a model run.
"""
from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from pathlib import Path

from bertlens.bias.files import check_size, decode, read_bytes
from bertlens.bias.stereoset import (BOOTSTRAP, MAX_EXAMPLES, SPLITS, ExampleScore, StereoSetData, StereoSetResult,
                                     check_split, file_limit, summarise, unpack)
from bertlens.errors import InputError
from bertlens.schemas import parse_json

LAYOUT = '{"intrasentence": [{"id": ..., "score": ...}, ...], "intersentence": [...]}'
ABSENT = ("The published figures are not shown: these scores come from a predictions file, and BERT Lens does not "
          "know which model made them. Compare them with the published table yourself.")
MAX_PREDICTIONS = 3 * MAX_EXAMPLES * len(SPLITS)
SHOWN_MISSING = 3


@dataclass(frozen=True)
class Predictions:
    """Every sentence's score by sentence id, and where they came from."""

    scores: dict[str, float]
    name: str
    sha256: str


def parse_predictions(data: bytes, name: str = "the predictions file") -> Predictions:
    """Read a predictions file (plain or gzipped JSON, its depth bounded, NaN and Infinity refused). Raises
    InputError naming the entry for the wrong layout, an entry without an id or a number as its score, and a
    sentence id given twice (the authors' evaluation would silently keep the last one)."""
    check_size(len(data), name, file_limit())
    digest = hashlib.sha256(data).hexdigest()
    document = parse_json(decode(unpack(data, name, file_limit()), name), name)
    if isinstance(document, dict) and isinstance(document.get("predictions"), dict):
        document = document["predictions"]
    if not isinstance(document, dict) or not any(isinstance(document.get(s), list) for s in SPLITS):
        raise InputError(f"{_start(name)} is not a predictions file: it needs a list under \"intrasentence\" or "
                         f"\"intersentence\". The layout is {LAYOUT} (a BERT Lens result's \"predictions\" has it).")
    scores: dict[str, float] = {}
    for split in SPLITS:
        entries = document.get(split, [])
        if not isinstance(entries, list):
            raise InputError(f"{_start(name)}: \"{split}\" must be a list of {{\"id\", \"score\"}} entries.")
        if len(scores) + len(entries) > MAX_PREDICTIONS:
            raise InputError(f"{_start(name)} has more than {MAX_PREDICTIONS:,} entries.")
        for number, entry in enumerate(entries, 1):
            where = f"{name}, {split} entry {number}"
            if not isinstance(entry, dict) or not isinstance(entry.get("id"), str) or not entry["id"]:
                raise InputError(f"{_start(where)}: each entry needs an \"id\" (a sentence id of the StereoSet file).")
            score = entry.get("score")
            if isinstance(score, bool) or not isinstance(score, (int, float)) or not math.isfinite(score):
                raise InputError(f"{_start(where)} (sentence '{entry['id'][:80]}'): the score must be a finite "
                                 "number.")
            if entry["id"] in scores:
                raise InputError(f"{_start(where)}: sentence '{entry['id'][:80]}' has a score twice. Give each "
                                 "sentence one.")
            scores[entry["id"]] = float(score)
    if not scores:
        raise InputError(f"{_start(name)} has no scores.")
    return Predictions(scores, name, digest)


def load_predictions(path: str | Path) -> Predictions:
    """Read a predictions file from disk (plain or gzipped). Raises InputError."""
    path = Path(path)
    return parse_predictions(read_bytes(path, limit=file_limit()), f"'{path.name}'")


def score_predictions(data: StereoSetData, predictions: Predictions, split: str = "both",
                      resamples: int = BOOTSTRAP, seed: int = 0) -> StereoSetResult:
    """The figures of `split` of `data` from the given scores, as a model run would compute them from its own.
    Raises InputError when a sentence of the split has no score (naming the first few); scores of sentences the
    file does not have are left out, with a warning."""
    check_split(split)
    examples = [e for name in SPLITS if split in ("both", name) for e in getattr(data, name)]
    if not examples:
        raise InputError(f"{_start(data.name)} has no {'' if split == 'both' else split + ' '}examples to score.")
    missing = [(e, s) for e in examples for s in e.sentences if s.id not in predictions.scores]
    if missing:
        named = "; ".join(f"{e.split} example '{e.id}', sentence '{s.id}'" for e, s in missing[:SHOWN_MISSING])
        more = f" and {len(missing) - SHOWN_MISSING:,} more" if len(missing) > SHOWN_MISSING else ""
        raise InputError(f"{_start(predictions.name)} has no score for {len(missing):,} sentence(s) of "
                         f"{data.name}: {named}{more}. Are they the predictions for this file?")
    scored = [ExampleScore(e, tuple(predictions.scores[s.id] for s in e.sentences))  # type: ignore[arg-type]
              for e in examples]
    used = {s.id for e in examples for s in e.sentences}
    warnings = list(data.warnings)
    unused = len(predictions.scores) - len(used)
    if unused:
        warnings.append(f"{_start(predictions.name)} scores {unused:,} sentence(s) that are not in the "
                        f"{'' if split == 'both' else split + ' part of '}{data.name}; they are left out.")
    return summarise(split, scored, len(examples), resamples, seed, warnings=tuple(warnings),
                     file={"name": data.name.strip("'"), "sha256": data.sha256, "version": data.version})


def _start(name: str) -> str:
    return name[:1].upper() + name[1:]
