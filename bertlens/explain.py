"""Why did BERT say that? Four views of one prediction at one [MASK].

- **Logit lens**: the whole MLM head (`cls.predictions`: dense, GELU, LayerNorm, tied decoder, bias) applied to
  each of the 25 hidden states (embeddings, then layers 1 to 24) at the mask, read from the one-pass analysis
  record. The head was trained on layer-24 states only, so earlier layers are off its distribution.
- **Integrated gradients** (Sundararajan et al. 2017) at the input word embeddings, with **occlusion** and
  **gradient x input** beside it. The explained quantity is `f = log p(word | mask)`, or the contrast
  `f = logit(A) - logit(B)`, in which the softmax normaliser cancels (Yin & Neubig 2022).
- **Attention rollout** (Abnar & Zuidema 2020): mean over heads, 0.5 A + 0.5 I with rows renormalised, the
  product over layers, the mask's row.

The model is shared by every session and thread: nothing here registers hooks or changes it. Gradients are taken
on a leaf `inputs_embeds` tensor under `torch.enable_grad()` (the parameters never require gradients).

Positions kept in the integrated-gradients baseline ([CLS], [SEP], the explained mask) score 0 in integrated
gradients and occlusion. Word scores sum the scores of a word's WordPieces.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Callable

import torch

from bertlens import forward
from bertlens.analysis import Analysis, analyse
from bertlens.divergence import kl_divergence
from bertlens.encoding import encode
from bertlens.errors import InputError
from bertlens.fill_mask import piece_ids
from bertlens.model import LoadedModel
from bertlens.registry import Param, SpecError
from bertlens.text import MASK, check_masks, clean, count_masks, wrong_mask_spelling

DEFAULT_STEPS = 20
MAX_STEPS = 300
BASELINES = ("mask", "pad")
LENS_TOP_K = 10
MAX_LENS_TOP_K = 30
COMPLETENESS_WARNING = 0.05
DISAGREEMENT_RHO = 0.5
MEMORY_BUDGET = 1.5 * 2**30

Progress = Callable[[int, int], None]


class MultiPieceWord(InputError):
    """A target or contrast word of several WordPieces; `first_piece` is the one-piece word to offer instead."""

    def __init__(self, message: str, role: str, word: str, first_piece: str) -> None:
        super().__init__(message)
        self.role, self.word, self.first_piece = role, word, first_piece


@dataclass(frozen=True)
class Target:
    """What is explained: `f = log p(word | mask)`, or `logit(word) - logit(contrast)` when `contrast` is set.

    `mask_index` counts the text's [MASK] tokens from 0; `position` is that mask's token position."""

    text: str
    mask_index: int
    position: int
    word: str
    token_id: int
    contrast: str | None = None
    contrast_id: int | None = None

    @property
    def label(self) -> str:
        if self.contrast is None:
            return f"log p({self.word} | mask)"
        return f"logit({self.word}) - logit({self.contrast})"


@dataclass(frozen=True)
class ExplainInput:
    """What every explainer reads: the target, and the one-pass analysis (hidden states and attentions) of its
    text when the caller already has it (the app shares it with the attention page). The analysis is derived from
    the target, so it takes no part in equality or in job keys."""

    target: Target
    analysis: Analysis | None = field(default=None, compare=False)

    def full_analysis(self, lm: LoadedModel) -> Analysis:
        if self.analysis is not None:
            return self.analysis
        return analyse(lm, self.target.text, hidden_states=True, attentions=True)


@dataclass(frozen=True)
class LensToken:
    token: str
    token_id: int
    probability: float


@dataclass(frozen=True)
class LensLayer:
    """The head's prediction from one hidden state. `layer` 0 is the embeddings; ranks count from 1."""

    layer: int
    top: tuple[LensToken, ...]
    target_log_prob: float
    target_rank: int
    contrast_log_prob: float | None
    contrast_rank: int | None
    entropy: float
    kl_to_final: float


@dataclass(frozen=True)
class Lens:
    target: Target
    layers: tuple[LensLayer, ...]
    bias: bool


@dataclass(frozen=True)
class IntegratedGradients:
    """Per-token attributions; they sum to `f_input - f_baseline` up to `completeness_gap`."""

    tokens: tuple[str, ...]
    attributions: tuple[float, ...]
    f_input: float
    f_baseline: float
    completeness_gap: float
    steps: int
    baseline: str

    @property
    def relative_gap(self) -> float:
        """|gap| / |f(input) - f(baseline)|; inf when the two are equal and the gap is not 0."""
        change = abs(self.f_input - self.f_baseline)
        if change == 0:
            return 0.0 if self.completeness_gap == 0 else math.inf
        return abs(self.completeness_gap) / change

    @property
    def complete(self) -> bool:
        return self.relative_gap <= COMPLETENESS_WARNING


@dataclass(frozen=True)
class Occlusion:
    """`delta[i] = f(input) - f(input with token i replaced by [MASK])`: > 0 when the token pushed f up."""

    tokens: tuple[str, ...]
    delta: tuple[float, ...]
    f_input: float


@dataclass(frozen=True)
class GradientXInput:
    """`scores[i]` = the word embedding of token i dotted with the gradient of f at the input."""

    tokens: tuple[str, ...]
    scores: tuple[float, ...]


@dataclass(frozen=True)
class Rollout:
    """The mask's row of the rolled-out attention: a weight per token, summing to 1."""

    tokens: tuple[str, ...]
    weights: tuple[float, ...]


@dataclass(frozen=True)
class Words:
    """The words of the text that the methods score: WordPieces merged, [CLS], [SEP] and the explained mask out.

    `pieces[w]` holds the token positions of word `w`."""

    words: tuple[str, ...]
    pieces: tuple[tuple[int, ...], ...]

    def merge(self, token_scores: tuple[float, ...] | list[float]) -> tuple[float, ...]:
        return tuple(float(sum(token_scores[p] for p in group)) for group in self.pieces)


@dataclass(frozen=True)
class Correlation:
    a: str
    b: str
    rho: float | None


@dataclass(frozen=True)
class Comparison:
    """The methods' word scores side by side (`scores[m][w]`) and their Spearman rank correlations."""

    methods: tuple[str, ...]
    words: tuple[str, ...]
    scores: tuple[tuple[float, ...], ...]
    correlations: tuple[Correlation, ...]
    disagreements: tuple[str, ...]


# ----- checking the request ---------------------------------------------------------------------------------------

def max_steps() -> int:
    """The most integrated-gradients steps this server allows: MAX_STEPS, or fewer where the operator set
    BERT_LENS_MAX_IG_STEPS (`bertlens.settings.limits`)."""
    from bertlens.settings import limits

    return min(MAX_STEPS, limits().max_ig_steps)


STEPS = Param("steps", "int", DEFAULT_STEPS, 1, MAX_STEPS, help="points on the path from baseline to input")
BASELINE = Param("baseline", "choice", BASELINES[0], choices=BASELINES, labels=("[MASK]", "[PAD]"),
                 help="context tokens replaced by [MASK] or by [PAD]")


def check_steps(steps: int) -> int:
    """`steps` if it is a whole number from 1 to the server's maximum (`max_steps`); else SpecError, in the words
    every way in (command line, link, audit configuration) uses."""
    value = STEPS.parse(steps)
    top = max_steps()
    if value > top:
        raise SpecError(STEPS.name, f"a whole number from 1 to {top} on this server", steps)
    return value


def check_baseline(baseline: str) -> str:
    return BASELINE.parse(baseline)


def no_mask_message(text: str) -> str:
    """The message for a text without [MASK], with an example that masks its last word."""
    found = list(re.finditer(r"\w+", text))
    example = f" For example: {text[:found[-1].start()]}{MASK}{text[found[-1].end():]}" if found else ""
    return (f"There is no {MASK} in the text. These methods explain the prediction at a mask: put {MASK} where the "
            f"model should guess a word.{example}")


def resolve_target(lm: LoadedModel, text: str, word: str, contrast: str | None = None,
                   mask_index: int = 0) -> Target:
    """Check the request and say what is explained.

    Raises InputError for empty text, no (or a misspelt) [MASK], a mask number out of range, an empty target, a
    target or contrast of several WordPieces (MultiPieceWord, which offers its first piece), a contrast equal to the target,
    or a word outside the vocabulary; over 512 tokens is refused when the text is encoded. MissingHead without an
    MLM head.
    """
    lm.require("mlm")
    text = clean(text)
    if count_masks(text) == 0 and not wrong_mask_spelling(text):
        raise InputError(no_mask_message(text))
    masks = check_masks(text)
    if isinstance(mask_index, bool) or not isinstance(mask_index, int) or not 0 <= mask_index < masks:
        raise InputError(f"The text has {masks} {MASK} token{'s' if masks > 1 else ''}; choose a mask from 1 to "
                         f"{masks} (got {mask_index + 1 if isinstance(mask_index, int) else mask_index!r}).")
    word = (word or "").strip()
    if not word:
        raise InputError("Type the target word: the word whose prediction at the mask should be explained.")
    token_id = _one_piece(lm, word, "target")
    contrast_id = None
    if contrast is not None and contrast.strip():
        contrast = contrast.strip()
        contrast_id = _one_piece(lm, contrast, "contrast")
        if contrast_id == token_id:
            raise InputError(f"The contrast word '{contrast}' is the same WordPiece as the target '{word}'; "
                             "logit(A) - logit(A) is always 0. Choose a different contrast, such as she for he.")
    else:
        contrast = None
    ids = encode(lm, text).input_ids[0].tolist()
    positions = [i for i, t in enumerate(ids) if t == lm.tokenizer.mask_token_id]
    return Target(text, mask_index, positions[mask_index], word, token_id, contrast, contrast_id)


def _one_piece(lm: LoadedModel, word: str, role: str) -> int:
    ids = piece_ids(lm, word)
    if len(ids) > 1:
        pieces = lm.tokenizer.convert_ids_to_tokens(ids)
        raise MultiPieceWord(
            f"The {role} '{word}' is {len(ids)} WordPieces ({' '.join(pieces)}). These methods explain one "
            f"WordPiece at one mask; explain its first piece '{pieces[0]}' instead, or choose a one-piece word.",
            role, word, pieces[0])
    return ids[0]


# ----- logit lens -------------------------------------------------------------------------------------------------

def head_logits(lm: LoadedModel, states: torch.Tensor, bias: bool = True) -> torch.Tensor:
    """The MLM head on `states` (..., hidden), in the model's device and dtype; float32 logits on the CPU.

    With `bias=False` the decoder's output bias (a word-frequency prior) is left out.
    """
    with torch.inference_mode():
        return forward.mlm_logits(lm, states.to(device=lm.device, dtype=forward.embedding_dtype(lm)), bias).cpu()


def logit_lens(lm: LoadedModel, analysis: Analysis, target: Target, top_k: int = LENS_TOP_K,
               bias: bool = True) -> Lens:
    """The head's prediction at the target's mask from every hidden state of `analysis` (run with
    `hidden_states=True`). `kl_to_final` is KL(layer-24 prediction || this layer's), in nats.

    Raises InputError when the analysis holds no hidden states or top_k is outside 1..MAX_LENS_TOP_K.
    """
    if analysis.hidden_states is None:
        raise InputError("The logit lens needs the hidden states: run the analysis with hidden_states=True.")
    if not isinstance(top_k, int) or not 1 <= top_k <= MAX_LENS_TOP_K:
        raise InputError(f"The lens shows from 1 to {MAX_LENS_TOP_K} candidates per layer; got {top_k!r}.")
    log_probs = torch.log_softmax(head_logits(lm, analysis.hidden_states[:, target.position], bias), dim=-1)
    log_probs = log_probs.double()
    probs = log_probs.exp()
    final_lp = log_probs[-1]
    values, indices = probs.topk(top_k, dim=-1)
    layers = []
    for layer in range(log_probs.shape[0]):
        row = log_probs[layer]
        top = tuple(LensToken(lm.tokenizer.convert_ids_to_tokens(int(i)), int(i), float(v))
                    for v, i in zip(values[layer], indices[layer]))
        contrast_lp = None if target.contrast_id is None else float(row[target.contrast_id])
        layers.append(LensLayer(
            layer=layer, top=top,
            target_log_prob=float(row[target.token_id]), target_rank=_rank(row, target.token_id),
            contrast_log_prob=contrast_lp,
            contrast_rank=None if target.contrast_id is None else _rank(row, target.contrast_id),
            entropy=float(-(probs[layer] * row).sum()),
            kl_to_final=kl_divergence(final_lp, row),
        ))
    return Lens(target, tuple(layers), bias)


def _rank(row: torch.Tensor, token_id: int) -> int:
    return int((row > row[token_id]).sum()) + 1


# ----- integrated gradients, gradient x input, occlusion ----------------------------------------------------------

def _ids(lm: LoadedModel, target: Target) -> torch.Tensor:
    """The target text's token ids (1, T); InputError over 512 tokens."""
    return encode(lm, target.text).input_ids


def kept_positions(lm: LoadedModel, input_ids: torch.Tensor, target: Target) -> torch.Tensor:
    """Boolean (T,): [CLS], [SEP] and the explained mask, which the baseline keeps and occlusion never touches."""
    ids = input_ids.reshape(-1)
    kept = (ids == lm.tokenizer.cls_token_id) | (ids == lm.tokenizer.sep_token_id)
    kept[target.position] = True
    return kept


def _f(lm: LoadedModel, embeds: torch.Tensor, target: Target) -> torch.Tensor:
    """f for each row of `embeds` (rows, T, hidden): the whole model from the word embeddings on, float32.

    The rows are unpadded, so no attention mask is passed (an all-ones mask would only add zeros)."""
    hidden = forward.encoder(lm, inputs_embeds=embeds).last_hidden
    logits = forward.mlm_logits(lm, hidden[:, target.position])
    if target.contrast_id is None:
        return torch.log_softmax(logits, dim=-1)[:, target.token_id]
    return logits[:, target.token_id] - logits[:, target.contrast_id]


def f_from_log_probs(log_probs: torch.Tensor, target: Target) -> float:
    """f from a mask's log-softmax row: log p(A), or log p(A) - log p(B) (= logit(A) - logit(B))."""
    value = log_probs[target.token_id]
    if target.contrast_id is not None:
        value = value - log_probs[target.contrast_id]
    return float(value)


def input_tokens(inputs: "ExplainInput") -> int:
    """The explained text's tokens: the analysis's when it is there, else estimated from its words."""
    from bertlens.registry import approx_tokens

    if inputs.analysis is not None:
        return len(inputs.analysis.input_ids)
    return approx_tokens(inputs.target.text)


def rows_per_batch(lm: LoadedModel, length: int, gradients: bool, budget: float = MEMORY_BUDGET) -> int:
    """How many sequences of `length` tokens one pass may hold within about `budget` bytes.

    With gradients every layer's activations are kept for the backward pass; without, only one layer's are alive.
    """
    config = lm.config
    per_layer = 4 * (3 * config.num_attention_heads * length * length
                     + length * (12 * config.hidden_size + 2 * config.intermediate_size))
    per_row = per_layer * (config.num_hidden_layers if gradients else 2)
    return max(1, int(budget // max(per_row, 1)))


def _check_differentiable(lm: LoadedModel) -> None:
    if lm.info.dtype == "int8":
        raise InputError("Integrated gradients and gradient x input need gradients, which the int8 (quantised) "
                         "model cannot give. Choose float32 in the sidebar's precision setting.")


def baseline_ids(lm: LoadedModel, input_ids: torch.Tensor, target: Target, baseline: str) -> torch.Tensor:
    """The baseline's token ids: every context token replaced by [MASK] (or [PAD]); [CLS], [SEP] and the
    explained mask kept. Position and segment embeddings are never changed."""
    check_baseline(baseline)
    token = lm.tokenizer.mask_token_id if baseline == "mask" else lm.tokenizer.pad_token_id
    kept = kept_positions(lm, input_ids, target)
    ids = input_ids.reshape(-1)
    return torch.where(kept.to(ids.device), ids, torch.full_like(ids, token)).reshape(input_ids.shape)


def integrated_gradients(lm: LoadedModel, target: Target, steps: int = DEFAULT_STEPS, baseline: str = "mask",
                         progress: Progress | None = None) -> tuple[IntegratedGradients, GradientXInput]:
    """Integrated gradients of f at the word embeddings, and gradient x input from the same batch.

    The path integral uses the trapezoid rule on `steps` equal intervals: `steps + 1` points from the baseline
    (alpha 0) to the input (alpha 1), all in one batch when it fits in memory (else in chunks). The end points
    give f(baseline), f(input) and the gradient at the input. `progress(done, total)` is called after each
    forward and each backward pass. Raises InputError for bad steps or baseline, over 512 tokens, or an int8 model.
    """
    check_steps(steps)
    _check_differentiable(lm)
    input_ids = _ids(lm, target)
    with torch.inference_mode():
        x = forward.embed_words(lm, input_ids)[0].float()
        b = forward.embed_words(lm, baseline_ids(lm, input_ids, target, baseline))[0].float()
    x, b = x.clone(), b.clone()
    alphas = torch.linspace(0.0, 1.0, steps + 1, dtype=torch.float32, device=x.device)
    weights = torch.full((steps + 1,), 1.0 / steps, dtype=torch.float64)
    weights[0] = weights[-1] = 0.5 / steps
    dtype = forward.embedding_dtype(lm)
    chunk = rows_per_batch(lm, x.shape[0], gradients=True)
    total = 2 * math.ceil((steps + 1) / chunk)
    done = 0
    grad_sum = torch.zeros_like(x, dtype=torch.float64)
    values = torch.empty(steps + 1, dtype=torch.float64)
    grad_at_input = None
    for start in range(0, steps + 1, chunk):
        a = alphas[start:start + chunk]
        with torch.enable_grad():
            path = (b + a[:, None, None] * (x - b)).to(dtype).detach().requires_grad_(True)
            f = _f(lm, path, target)
            done += 1
            if progress is not None:
                progress(done, total)
            (grads,) = torch.autograd.grad(f.sum(), path)
        done += 1
        if progress is not None:
            progress(done, total)
        grads = grads.double()
        w = weights[start:start + len(a)].to(grads.device)
        grad_sum += (grads * w[:, None, None]).sum(0)
        values[start:start + len(a)] = f.detach().double().cpu()
        if start + len(a) == steps + 1:
            grad_at_input = grads[-1]
    attributions = ((x - b).double() * grad_sum).sum(-1).cpu()
    f_input, f_baseline = float(values[-1]), float(values[0])
    gap = float(attributions.sum()) - (f_input - f_baseline)
    tokens = tuple(lm.tokenizer.convert_ids_to_tokens(input_ids[0].tolist()))
    ig = IntegratedGradients(tokens, tuple(attributions.tolist()), f_input, f_baseline, gap, steps, baseline)
    gxi = GradientXInput(tokens, tuple((x.double() * grad_at_input).sum(-1).cpu().tolist()))
    return ig, gxi


def gradient_x_input(lm: LoadedModel, target: Target) -> GradientXInput:
    """Gradient x input alone: one forward and one backward pass on the input."""
    _check_differentiable(lm)
    input_ids = _ids(lm, target)
    with torch.inference_mode():
        x = forward.embed_words(lm, input_ids)
    x = x.clone()
    with torch.enable_grad():
        leaf = x.detach().requires_grad_(True)
        (grad,) = torch.autograd.grad(_f(lm, leaf, target).sum(), leaf)
    scores = (x[0].double() * grad[0].double()).sum(-1).cpu()
    return GradientXInput(tuple(lm.tokenizer.convert_ids_to_tokens(input_ids[0].tolist())), tuple(scores.tolist()))


def occlusion(lm: LoadedModel, target: Target, f_input: float | None = None,
              progress: Progress | None = None) -> Occlusion:
    """Each context token replaced by [MASK] in turn, all rows in one batch (chunked only when memory needs it).

    `f_input` (e.g. from the analysis record's log-probabilities) saves a row; without it the unmodified input is
    run in the same batch. Tokens the baseline keeps get delta 0. Raises InputError over 512 tokens.
    """
    input_ids = _ids(lm, target)[0]
    kept = kept_positions(lm, input_ids, target).cpu()
    positions = [i for i in range(len(input_ids)) if not kept[i]]
    rows = input_ids.repeat(len(positions) + (f_input is None), 1)
    for row, position in enumerate(positions):
        rows[row, position] = lm.tokenizer.mask_token_id
    values = _f_no_grad(lm, rows, target, progress)
    if f_input is None:
        f_input = float(values[-1])
    delta = [0.0] * len(input_ids)
    for row, position in enumerate(positions):
        delta[position] = f_input - float(values[row])
    return Occlusion(tuple(lm.tokenizer.convert_ids_to_tokens(input_ids.tolist())), tuple(delta), float(f_input))


def _f_no_grad(lm: LoadedModel, rows: torch.Tensor, target: Target, progress: Progress | None) -> torch.Tensor:
    chunk = rows_per_batch(lm, rows.shape[1], gradients=False)
    out = []
    total = math.ceil(len(rows) / chunk) if len(rows) else 0
    with torch.inference_mode():
        for n, start in enumerate(range(0, len(rows), chunk), 1):
            embedded = forward.embed_words(lm, rows[start:start + chunk].to(lm.device))
            out.append(_f(lm, embedded, target).double().cpu())
            if progress is not None:
                progress(n, total)
    return torch.cat(out) if out else torch.empty(0, dtype=torch.float64)


# ----- attention rollout ------------------------------------------------------------------------------------------

def attention_rollout(attentions: torch.Tensor, residual: float = 0.5) -> torch.Tensor:
    """Abnar & Zuidema (2020) on `attentions` (layers, heads, T, T): mean over heads, `residual` I +
    (1 - residual) A with rows renormalised, then the product over layers (first layer rightmost). Returns (T, T)
    in float64; row i says how much of the last layer's token i traces back to each input token."""
    if attentions.dim() != 4 or attentions.shape[-1] != attentions.shape[-2]:
        raise InputError("Attention rollout needs attentions of shape (layers, heads, tokens, tokens).")
    mean = attentions.double().mean(dim=1)
    eye = torch.eye(mean.shape[-1], dtype=torch.float64)
    rolled = eye
    for layer in mean:
        a = (1.0 - residual) * layer + residual * eye
        a = a / a.sum(dim=-1, keepdim=True)
        rolled = a @ rolled
    return rolled


def rollout(analysis: Analysis, target: Target, residual: float = 0.5) -> Rollout:
    """The rolled-out attention row of the target's mask, from an analysis run with `attentions=True`."""
    if analysis.attentions is None:
        raise InputError("Attention rollout needs the attentions: run the analysis with attentions=True.")
    row = attention_rollout(analysis.attentions, residual)[target.position]
    return Rollout(tuple(analysis.tokens), tuple(row.tolist()))


# ----- words and comparison ---------------------------------------------------------------------------------------

def words_of(analysis: Analysis, target: Target, special: frozenset[str] = frozenset({"[CLS]", "[SEP]"})) -> Words:
    """Merge WordPieces into words (a `##` piece joins the word before it); the explained mask and the special
    tokens are left out. A word's text is taken from the original text by the pieces' character offsets."""
    groups: list[list[int]] = []
    for position, token in enumerate(analysis.tokens):
        if token in special or position == target.position:
            continue
        if token.startswith("##") and groups and groups[-1][-1] == position - 1:
            groups[-1].append(position)
        else:
            groups.append([position])
    names = []
    for group in groups:
        start, end = analysis.offsets[group[0]][0], analysis.offsets[group[-1]][1]
        names.append(analysis.text[start:end] if end > start else "".join(
            analysis.tokens[p].removeprefix("##") for p in group))
    return Words(tuple(names), tuple(tuple(g) for g in groups))


def spearman(a: tuple[float, ...], b: tuple[float, ...]) -> float | None:
    """Spearman's rank correlation (ties get mean ranks); None with fewer than 3 words or a constant side."""
    if len(a) < 3 or len(set(a)) < 2 or len(set(b)) < 2:
        return None
    from scipy.stats import spearmanr

    rho = float(spearmanr(a, b).statistic)
    return None if math.isnan(rho) else rho


def compare(words: Words, scores: dict[str, tuple[float, ...]]) -> Comparison:
    """Word scores of each method (token scores merged), their pairwise Spearman correlations, and sentences
    naming where they disagree: a correlation under DISAGREEMENT_RHO, or a different top word."""
    methods = tuple(scores)
    merged = tuple(words.merge(scores[m]) for m in methods)
    correlations = []
    notes = []
    for i in range(len(methods)):
        for j in range(i + 1, len(methods)):
            rho = spearman(merged[i], merged[j])
            correlations.append(Correlation(methods[i], methods[j], rho))
            if rho is not None and rho < DISAGREEMENT_RHO:
                notes.append(f"{methods[i]} and {methods[j]} rank the words differently (Spearman rho {rho:.2f}).")
    if words.words:
        tops = {m: words.words[max(range(len(s)), key=lambda w: s[w])] for m, s in zip(methods, merged)}
        if len(set(tops.values())) > 1:
            notes.append("They disagree on the word that pushed f up most: " +
                         "; ".join(f"{m}: {w}" for m, w in tops.items()) + ".")
    return Comparison(methods, words.words, merged, tuple(correlations), tuple(notes))


def analysis_f(analysis: Analysis, target: Target) -> float | None:
    """f at the input, from the analysis record's log-probabilities at the target's mask (None without them)."""
    if analysis.mask_log_probs is None:
        return None
    return f_from_log_probs(analysis.mask_log_probs[target.mask_index], target)
