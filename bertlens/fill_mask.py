"""Fill-mask, split as transformers' pipeline is: preprocess, forward, postprocess.

Unlike the pipeline, the MLM head runs only at the masked positions, special tokens are hidden by default, and a
target word of several WordPieces is scored properly (see `score_words`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch

from bertlens.analysis import Analysis, run
from bertlens.encoding import Encoded, encode
from bertlens.errors import InputError
from bertlens.interventions import Interventions, heads_of, parse_heads
from bertlens.model import LoadedModel
from bertlens.scoring import chained_log_probs
from bertlens.text import MASK, check_masks, check_one_mask, clean, is_punctuation

MAX_TOP_K = 50
MAX_TARGETS = 30
MAX_WORD_CHARS = 100  # BERT's WordPiece reads a longer word as [UNK]


@dataclass(frozen=True)
class Filters:
    """Which candidates to hide. Probabilities stay those of the full softmax; hiding only skips ranks."""

    special: bool = True
    subwords: bool = False
    punctuation: bool = False


@dataclass(frozen=True)
class Candidate:
    token: str
    token_id: int
    probability: float
    log_probability: float


@dataclass(frozen=True)
class MaskPrediction:
    """The candidates for one [MASK], in order of the masks in the text (0-based)."""

    mask_index: int
    position: int
    candidates: list[Candidate]


@dataclass(frozen=True)
class FillMaskResult:
    text: str
    tokens: list[str]
    masks: list[MaskPrediction]
    completed: str
    top_k: int
    filters: Filters = field(default_factory=Filters)
    completed_pair: str | None = None


@dataclass(frozen=True)
class WordScore:
    """A target word's probability at the mask. Several WordPieces are chained left to right:
    P(w) = P(p1 | all masked) * P(p2 | p1, rest masked) * ..."""

    word: str
    pieces: list[str]
    piece_log_probabilities: list[float]
    log_probability: float
    probability: float
    rank: int | None

    @property
    def multi_piece(self) -> bool:
        return len(self.pieces) > 1


def check_top_k(top_k: int) -> int:
    if not isinstance(top_k, int) or not 1 <= top_k <= MAX_TOP_K:
        raise InputError(f"top-k must be a whole number from 1 to {MAX_TOP_K}; got {top_k!r}.")
    return top_k


def preprocess(lm: LoadedModel, text: str) -> Encoded:
    """Validate and tokenise: raises InputError for empty text, no/too many masks, or over 512 tokens."""
    text = clean(text)
    check_masks(text)
    return encode(lm, text)


def forward(lm: LoadedModel, encoded: Encoded, text: str) -> Analysis:
    """The one forward pass: MLM log-probabilities at every [MASK] (and NSP logits), as an `Analysis`."""
    lm.require("mlm")
    return run(lm, encoded, clean(text))


def postprocess(lm: LoadedModel, analysis: Analysis, top_k: int = 10, filters: Filters = Filters()) -> FillMaskResult:
    """The top-k candidates at every [MASK] of `analysis`, read from its log-probabilities without a model run.

    Works for any analysis, a sentence pair or a truncated text included: each [MASK] is completed in its own
    sentence. Raises InputError for a bad top_k, MissingHead when the checkpoint has no MLM head.
    """
    check_top_k(top_k)
    lm.require("mlm")
    log_probs = analysis.mask_log_probs
    hidden_ids = excluded_ids(lm, filters)
    if hidden_ids is not None:
        log_probs = log_probs.clone()
        log_probs[:, hidden_ids] = -math.inf
    values, indices = log_probs.topk(min(top_k, log_probs.shape[-1]), dim=-1)
    masks = []
    for i, (row_values, row_ids) in enumerate(zip(values.tolist(), indices.tolist())):
        candidates = [
            Candidate(lm.tokenizer.convert_ids_to_tokens(t), t, math.exp(v), v)
            for v, t in zip(row_values, row_ids) if v > -math.inf
        ]
        masks.append(MaskPrediction(i, analysis.mask_positions[i], candidates))
    best = [m.candidates[0].token if m.candidates else MASK for m in masks]
    in_pair = [analysis.token_type_ids[m.position] == 1 for m in masks]
    completed = complete(analysis.text, [t for t, b in zip(best, in_pair) if not b])
    completed_pair = None if analysis.pair is None else complete(analysis.pair, [t for t, b in zip(best, in_pair) if b])
    return FillMaskResult(analysis.text, list(analysis.tokens), masks, completed, top_k, filters, completed_pair)


def analyse_masked(lm: LoadedModel, text: str) -> Analysis:
    """`preprocess` then `forward`: the one pass that fill-mask and one-piece target words read."""
    return forward(lm, preprocess(lm, text), text)


def fill_mask(lm: LoadedModel, text: str, top_k: int = 10, filters: Filters = Filters()) -> FillMaskResult:
    """Predict every [MASK] in `text`. Each mask is predicted with the other masks still in place, as
    transformers' pipeline does. Raises InputError for bad text or top_k, MissingHead without an MLM head."""
    check_top_k(top_k)
    return postprocess(lm, analyse_masked(lm, text), top_k, filters)


def excluded_ids(lm: LoadedModel, filters: Filters) -> torch.Tensor | None:
    """Token ids hidden by `filters`, computed from the vocabulary (cached on the tokenizer's vocab size)."""
    groups = _token_groups(lm)
    chosen = [groups[name] for name in ("special", "subwords", "punctuation") if getattr(filters, name)]
    if not chosen:
        return None
    return torch.unique(torch.cat(chosen))


def _token_groups(lm: LoadedModel) -> dict[str, torch.Tensor]:
    """Special, ##-piece and punctuation token ids, computed once per loaded model."""
    if "token_groups" not in lm.memo:
        vocab = lm.tokenizer.get_vocab()
        special = set(lm.tokenizer.all_special_ids)
        special |= {i for t, i in vocab.items() if t.startswith("[") and t.endswith("]") and len(t) > 2}
        groups = {
            "special": sorted(special),
            "subwords": sorted(i for t, i in vocab.items() if t.startswith("##")),
            "punctuation": sorted(i for t, i in vocab.items() if is_punctuation(t)),
        }
        lm.memo["token_groups"] = {k: torch.tensor(v, dtype=torch.long) for k, v in groups.items()}
    return lm.memo["token_groups"]


def complete(text: str, tokens: list[str]) -> str:
    """`text` with each [MASK] replaced, in order, by a predicted token; a ##piece joins the word before it.

    Masks beyond the given tokens (cut off by truncation) stay [MASK]."""
    parts = text.split(MASK)
    out = parts[0]
    for index, rest in enumerate(parts[1:]):
        token = tokens[index] if index < len(tokens) else MASK
        if token.startswith("##"):
            out = out.rstrip(" ") + token[2:]
        else:
            out += token
        out += rest
    return out


def score_words(lm: LoadedModel, text: str, words: list[str], analysis: Analysis | None = None) -> list[WordScore]:
    """Score each word at the single [MASK] of `text`, chaining its WordPieces left to right.

    A one-piece word is read from `analysis` (the analysis of `text`; computed here when not given), so scoring
    targets next to a fill-mask costs no extra pass. A word of n pieces is scored with n masks in its place, all
    such rows in one batch. Raises InputError for an empty word list, an empty word, a word the vocabulary cannot
    spell (it becomes [UNK]), or text without exactly one [MASK].
    """
    lm.require("mlm")
    text = check_one_mask(clean(text), "text", "target words are scored at one mask, so keep exactly one")
    words = [w.strip() for w in words if w and w.strip()]
    if not words:
        raise InputError("The list of target words is empty. Type one or more words, separated by commas.")
    if len(words) > MAX_TARGETS:
        raise InputError(f"{len(words)} target words given; the limit is {MAX_TARGETS}.")
    pieces = [piece_ids(lm, w) for w in words]
    chained = iter(chained_log_probs(lm, [(text, p) for p in pieces if len(p) > 1]))
    full = None
    if any(len(p) == 1 for p in pieces):
        if analysis is None or analysis.text != text or analysis.pair is not None:
            analysis = analyse_masked(lm, text)
        full = analysis.mask_log_probs[0]
    scores = []
    for word, ids in zip(words, pieces):
        if len(ids) > 1:
            lps, rank = next(chained), None
        else:
            lps, rank = [float(full[ids[0]])], int((full > full[ids[0]]).sum().item()) + 1
        total = sum(lps)
        scores.append(WordScore(word, lm.tokenizer.convert_ids_to_tokens(ids), lps, total, math.exp(total), rank))
    return scores


def piece_ids(lm: LoadedModel, word: str) -> list[int]:
    """The WordPiece ids of `word`; raises InputError when it is empty or not spellable in the vocabulary."""
    shown = word if len(word) <= MAX_WORD_CHARS else word[:40] + "…"
    if len(word) > MAX_WORD_CHARS:
        raise InputError(f"The target word '{shown}' is {len(word):,} characters long; the model reads words of at "
                         f"most {MAX_WORD_CHARS} characters. Separate target words with commas.")
    ids = lm.tokenizer(word, add_special_tokens=False)["input_ids"]
    if not ids:
        raise InputError(f"'{shown}' has no characters the model can read.")
    if lm.tokenizer.unk_token_id in ids:
        raise InputError(f"'{shown}' contains characters outside bert-large-cased's vocabulary (it reads as [UNK]).")
    if MASK in word:
        raise InputError("A target word cannot contain [MASK].")
    return ids


# ---- predictions with heads switched off --------------------------------------------------------------------------

@dataclass(frozen=True)
class TargetShift:
    """A one-piece target word's probability at the mask, intact and with the heads off (None for a word of
    several pieces, which is scored intact only)."""

    word: str
    before: WordScore
    after_probability: float | None
    after_rank: int | None


@dataclass(frozen=True)
class HeadSwitch:
    """Fill-mask with `heads` (1-based (layer, head)) switched off, beside the intact model's predictions.

    A head switched off has its slice of the attention context set to zero at every position."""

    heads: tuple[tuple[int, int], ...]
    before: FillMaskResult
    after: FillMaskResult
    targets: tuple[TargetShift, ...] = ()


def analyse_switched_off(lm: LoadedModel, text: str, heads: tuple[tuple[int, int], ...]) -> Analysis:
    """The analysis of `text` (MLM at every [MASK], NSP) with `heads` (1-based) switched off, as one pass through
    `bertlens.forward.encoder`. Raises InputError as `preprocess` does."""
    lm.require("mlm")
    return run(lm, preprocess(lm, text), clean(text), interventions=Interventions(ablate=heads_of(heads)))


def switch_heads_off(lm: LoadedModel, text: str, heads: tuple[tuple[int, int], ...] | str, top_k: int = 10,
                     filters: Filters = Filters(), targets: list[str] | None = None,
                     intact: Analysis | None = None) -> HeadSwitch:
    """Predictions at every [MASK] with `heads` switched off, beside the intact model's (`intact`: the intact
    analysis of `text`, when the caller has it). `heads` are 1-based pairs or 'L.H,L.H'. Raises InputError for bad
    text, top_k or heads (out of range included)."""
    check_top_k(top_k)
    chosen = parse_heads(heads, lm.info.layers, lm.info.heads)
    if intact is None or intact.text != clean(text) or intact.pair is not None:
        intact = analyse_masked(lm, text)
    switched = analyse_switched_off(lm, text, chosen)
    shifts: list[TargetShift] = []
    if targets:
        for score in score_words(lm, text, targets, analysis=intact):
            if score.multi_piece:
                shifts.append(TargetShift(score.word, score, None, None))
                continue
            row = switched.mask_log_probs[0]
            token = lm.tokenizer.convert_tokens_to_ids(score.pieces[0])
            shifts.append(TargetShift(score.word, score, math.exp(float(row[token])),
                                      int((row > row[token]).sum().item()) + 1))
    return HeadSwitch(chosen, postprocess(lm, intact, top_k, filters), postprocess(lm, switched, top_k, filters),
                      tuple(shifts))
