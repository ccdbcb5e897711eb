"""Gender-bias probe: which occupations the model predicts for women and for men, and how sure we can be.

Three measurements, all from the MLM head:

- side by side: one template filled with a female and a male word, each side's top-k, and the log-ratio
  log P(w | female) - log P(w | male) for the candidates;
- occupation scores: for every occupation and template, log P(occupation | female sentence) - log P(occupation |
  male sentence), averaged over templates, with a bootstrap 95% CI over templates and a sign-flip permutation test
  over templates, Holm-corrected across occupations. An occupation of n WordPieces is scored with n masks, chained
  left to right (`fill_mask.chained_log_probs`); the first piece alone is never used;
- Kurita et al. 2019: log P(she | "[MASK] is a nurse.") / P(she | "[MASK] is a [MASK].") minus the same for he.

Positive scores lean female, negative lean male, everywhere.

Speed: all sentences of a probe are scored in one batched call. Identical rows run once, so one pass per
template side and article scores every one-piece occupation; `reference_probe` does the same scoring with one
transformers `pipeline("fill-mask", targets=...)` call per sentence and chain step, for the benchmark.
"""
from __future__ import annotations

import csv
import io
import math
import re
import time
from dataclasses import dataclass, field
from itertools import product
from pathlib import Path
from typing import Callable

import numpy as np

from bertlens.errors import InputError
from bertlens.fill_mask import Filters, FillMaskResult, analyse_masked, chained_log_probs, piece_ids, postprocess
from bertlens.model import LoadedModel
from bertlens.occupations import Occupation, check_name, load_occupations
from bertlens.text import MASK, check_masks, clean

DATA = Path(__file__).resolve().parent / "data"
TEMPLATES_PATH = DATA / "templates.txt"
PAIRS_PATH = DATA / "word_pairs.csv"
ROLES = ("person", "possessive")
SLOTS = {role: "{" + role + "}" for role in ROLES}
OCCUPATION_SLOT = "{occupation}"
KURITA_TEMPLATES = ("[MASK] is a {occupation}.",)
MAX_TEMPLATES = 50
MAX_PAIRS = 20
MAX_WORD_CHARS = 40
ALPHA = 0.05
CORRECTION = "Holm"
EXACT_PERMUTATION_LIMIT = 16
_WORD = re.compile(r"^[A-Za-z][A-Za-z'\-]*( [A-Za-z][A-Za-z'\-]*){0,2}$")

Progress = Callable[[float, str], None]


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
class SharedCandidate:
    """A candidate with its probability on both sides. `log_ratio` > 0 leans female."""

    token: str
    token_id: int
    p_female: float
    p_male: float
    log_ratio: float
    in_female_top: bool
    in_male_top: bool

    @property
    def in_both(self) -> bool:
        return self.in_female_top and self.in_male_top


@dataclass(frozen=True)
class SideBySide:
    template: str
    pair: WordPair
    female_text: str
    male_text: str
    female: FillMaskResult
    male: FillMaskResult
    candidates: list[SharedCandidate]

    @property
    def shared(self) -> list[SharedCandidate]:
        """Candidates in both sides' top-k, most female-leaning first."""
        return [c for c in self.candidates if c.in_both]


@dataclass(frozen=True)
class UnitScore:
    """One occupation in one template with one word pair."""

    occupation: str
    template: str
    pair: str
    female_text: str
    male_text: str
    log_p_female: float
    log_p_male: float

    @property
    def log_ratio(self) -> float:
        return self.log_p_female - self.log_p_male


@dataclass(frozen=True)
class KuritaScore:
    """Kurita et al. 2019 for one occupation and template: association = log P(word | target) - log P(word | prior),
    `normalised` = association(female word) - association(male word)."""

    occupation: str
    template: str
    target_text: str
    prior_text: str
    log_p_female: float
    log_p_male: float
    log_prior_female: float
    log_prior_male: float

    @property
    def association_female(self) -> float:
        return self.log_p_female - self.log_prior_female

    @property
    def association_male(self) -> float:
        return self.log_p_male - self.log_prior_male

    @property
    def normalised(self) -> float:
        return self.association_female - self.association_male


@dataclass(frozen=True)
class OccupationScore:
    """An occupation's scores aggregated over templates; `log_ratio` > 0 means the model prefers it for women."""

    occupation: str
    article: str
    pieces: list[str]
    pct_women: float | None
    year: str
    source: str
    log_p_female: float
    log_p_male: float
    log_ratio: float
    ci_low: float
    ci_high: float
    p_value: float
    p_adjusted: float
    kurita: float
    n_templates: int

    @property
    def multi_piece(self) -> bool:
        return len(self.pieces) > 1

    @property
    def significant(self) -> bool:
        return bool(self.p_adjusted < ALPHA)


@dataclass(frozen=True)
class Correlation:
    """Model score against BLS % women: Pearson, Spearman and the least-squares line score = slope * % + intercept."""

    score: str
    n: int
    pearson_r: float
    pearson_p: float
    spearman_rho: float
    spearman_p: float
    slope: float
    intercept: float


@dataclass(frozen=True)
class ProbeConfig:
    templates: tuple[str, ...]
    pairs: tuple[WordPair, ...]
    occupations: tuple[Occupation, ...]
    kurita_templates: tuple[str, ...] = KURITA_TEMPLATES
    kurita_pair: WordPair = WordPair("he", "she")
    bootstrap: int = 2000
    permutations: int = 10000
    seed: int = 0


@dataclass(frozen=True)
class ProbeResult:
    config: ProbeConfig
    occupations: list[OccupationScore]
    units: list[UnitScore]
    kurita: list[KuritaScore]
    correlations: dict[str, Correlation | None]
    permutation: str
    correction: str
    rows: int
    seconds: float
    method: str
    warnings: list[str] = field(default_factory=list)

    def by_occupation(self) -> dict[str, OccupationScore]:
        return {o.occupation: o for o in self.occupations}


# ---------------------------------------------------------------- templates and pairs

def template_role(template: str) -> str:
    """Check an occupation template: exactly one [MASK] and exactly one {person} or {possessive} slot."""
    template = clean(template, "template")
    count = template.count(MASK)
    if count != 1:
        check_masks(template, minimum=1)
        raise InputError(f"The template '{template}' has {count} {MASK} tokens; use exactly one, where the "
                         "occupation goes.")
    roles = [role for role in ROLES if SLOTS[role] in template]
    if len(roles) != 1 or template.count(SLOTS[roles[0]]) != 1:
        raise InputError(f"The template '{template}' needs exactly one slot for the gendered word: "
                         "{person} (the man / the woman, he / she) or {possessive} (his / her).")
    leftover = re.sub(r"\{(person|possessive)\}", "", template)
    if "{" in leftover or "}" in leftover:
        raise InputError(f"The template '{template}' has a slot other than {{person}} or {{possessive}}.")
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
    rows = list(csv.reader(io.StringIO("\n".join(lines))))
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


def _read(path: Path, what: str) -> str:
    try:
        return path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise InputError(f"Cannot read the {what} file '{path}': {exc.strerror or exc}.") from exc
    except UnicodeDecodeError as exc:
        raise InputError(f"The {what} file '{path}' is not UTF-8 text.") from exc


def load_templates(path: str | Path | None = None) -> list[str]:
    return parse_templates(_read(Path(path) if path else TEMPLATES_PATH, "template"))


def load_pairs(path: str | Path | None = None) -> list[WordPair]:
    return parse_pairs(_read(Path(path) if path else PAIRS_PATH, "word-pair"))


def default_config(**overrides) -> ProbeConfig:
    """The shipped templates, the word pairs marked for the probe, and the shipped occupation table."""
    pairs = [p for p in load_pairs() if p.probe]
    values = dict(templates=tuple(load_templates()), pairs=tuple(pairs), occupations=tuple(load_occupations()))
    values.update(overrides)
    return ProbeConfig(**values)


def fill_slot(template: str, word: str) -> str:
    """Put `word` in the template's slot, capitalised when it starts the sentence."""
    for slot in SLOTS.values():
        if slot in template:
            index = template.index(slot)
            if not template[:index].strip():
                word = word[:1].upper() + word[1:]
            return template.replace(slot, word, 1)
    raise InputError(f"The template '{template}' has no {{person}} or {{possessive}} slot.")


def with_article(sentence: str, article: str, slot: str = MASK) -> str:
    """'a [MASK]' / 'an [MASK]' (or before another slot) set to the occupation's article, keeping a capital."""
    def fix(match: re.Match) -> str:
        word = article.capitalize() if match.group(1)[0].isupper() else article
        return f"{word} {slot}"

    return re.sub(r"\b([Aa]n?) " + re.escape(slot), fix, sentence, count=1)


def capitalise_at_start(text: str, word: str) -> str:
    """`word` as it should appear at the first [MASK] of `text` (capitalised when that mask starts the text)."""
    return word[:1].upper() + word[1:] if not text[: text.index(MASK)].strip() else word


# ---------------------------------------------------------------- side by side

def side_by_side(lm: LoadedModel, template: str, pair: WordPair, top_k: int = 10,
                 filters: Filters = Filters()) -> SideBySide:
    """Fill `template` (one [MASK], one slot) with each side of `pair`; each side's top-k and the log-ratio for
    every candidate in either top-k. One forward pass per side. Raises InputError for a bad template."""
    role = template_role(template)
    if pair.role != role:
        raise InputError(f"The pair {pair.label} fills a {{{pair.role}}} slot but the template has {{{role}}}.")
    texts = {side: fill_slot(template, getattr(pair, side)) for side in ("female", "male")}
    results, log_probs = {}, {}
    for side, text in texts.items():
        analysis = analyse_masked(lm, text)
        log_probs[side] = analysis.mask_log_probs[0]
        results[side] = postprocess(lm, analysis, top_k, filters)
    tops = {side: {c.token_id: c.token for c in results[side].masks[0].candidates} for side in results}
    candidates = []
    for token_id, token in {**tops["female"], **tops["male"]}.items():
        lp_f, lp_m = float(log_probs["female"][token_id]), float(log_probs["male"][token_id])
        candidates.append(SharedCandidate(token, token_id, math.exp(lp_f), math.exp(lp_m), lp_f - lp_m,
                                          token_id in tops["female"], token_id in tops["male"]))
    candidates.sort(key=lambda c: -c.log_ratio)
    return SideBySide(template, pair, texts["female"], texts["male"], results["female"], results["male"], candidates)


# ---------------------------------------------------------------- occupation scores

@dataclass(frozen=True)
class _Plan:
    """Every sentence of a probe as (text whose first [MASK] is scored, piece ids), plus where each goes."""

    items: list[tuple[str, list[int]]]
    units: list[tuple[int, int, int, int, int]]
    kurita: list[tuple[int, int, str, str, int, int, int, int]]
    pieces: list[list[str]]


def check_config(lm: LoadedModel, config: ProbeConfig) -> list[list[int]]:
    """Validate everything before any forward pass; returns each occupation's piece ids. Raises InputError."""
    if not config.templates:
        raise InputError("The template list is empty. Give at least one template.")
    if not config.pairs:
        raise InputError("The list of word pairs is empty. Choose or type at least one pair.")
    if not config.occupations:
        raise InputError("The occupation list is empty. Give at least one occupation.")
    for template in config.templates:
        role = template_role(template)
        if not any(p.role == role for p in config.pairs):
            raise InputError(f"The template '{template}' has a {{{role}}} slot, but no {role} word pair is chosen.")
    for template in config.kurita_templates:
        check_kurita_template(template)
    if config.bootstrap < 100 or config.permutations < 100:
        raise InputError("Use at least 100 bootstrap resamples and 100 permutations.")
    return [piece_ids(lm, check_name(o.name)) for o in config.occupations]


def check_kurita_template(template: str) -> None:
    if template.count(MASK) != 1 or template.count(OCCUPATION_SLOT) != 1:
        raise InputError(f"The Kurita template '{template}' needs one {MASK} (the gendered word) and one "
                         f"{OCCUPATION_SLOT}.")
    if template.index(MASK) > template.index(OCCUPATION_SLOT):
        raise InputError(f"In the Kurita template '{template}' the {MASK} must come before {OCCUPATION_SLOT}.")


def plan_probe(lm: LoadedModel, config: ProbeConfig) -> _Plan:
    pieces = check_config(lm, config)
    items: list[tuple[str, list[int]]] = []
    index: dict[tuple[str, tuple[int, ...]], int] = {}

    def add(text: str, ids: list[int]) -> int:
        key = (text, tuple(ids))
        if key not in index:
            index[key] = len(items)
            items.append((text, ids))
        return index[key]

    units = []
    for t, template in enumerate(config.templates):
        role = template_role(template)
        for p, pair in enumerate(config.pairs):
            if pair.role != role:
                continue
            female, male = fill_slot(template, pair.female), fill_slot(template, pair.male)
            for o, occupation in enumerate(config.occupations):
                units.append((t, p, o, add(with_article(female, occupation.article), pieces[o]),
                              add(with_article(male, occupation.article), pieces[o])))
    kurita = []
    for k, template in enumerate(config.kurita_templates):
        for o, occupation in enumerate(config.occupations):
            placed = with_article(template, occupation.article, OCCUPATION_SLOT)
            target = placed.replace(OCCUPATION_SLOT, occupation.name)
            prior = placed.replace(OCCUPATION_SLOT, " ".join([MASK] * len(pieces[o])))
            ids = {side: piece_ids(lm, capitalise_at_start(target, getattr(config.kurita_pair, side)))
                   for side in ("female", "male")}
            kurita.append((k, o, target, prior, add(target, ids["female"]), add(target, ids["male"]),
                           add(prior, ids["female"]), add(prior, ids["male"])))
    tokens = [lm.tokenizer.convert_ids_to_tokens(p) for p in pieces]
    return _Plan(items, units, kurita, tokens)


def run_probe(lm: LoadedModel, config: ProbeConfig | None = None, progress: Progress | None = None,
              batch_size: int = 64) -> ProbeResult:
    """Score every occupation in every template for both sides, batched. Raises InputError for a bad config."""
    lm.require("mlm")
    config = config or default_config()
    plan = plan_probe(lm, config)
    started = time.perf_counter()
    tick = None
    if progress is not None:
        progress(0.0, "starting")

        def tick(done: int, total: int) -> None:
            progress(done / total, f"{done} of {total} forward rows")

    scores = chained_log_probs(lm, plan.items, batch_size=batch_size, progress=tick)
    rows = _row_count(lm, plan.items)
    return _assemble(config, plan, [sum(s) for s in scores], time.perf_counter() - started, rows, "batched")


def run_default_probe(lm: LoadedModel, progress: Progress | None = None) -> ProbeResult:
    """The default probe (shipped templates x pairs x occupations), batched: the call the benchmark times."""
    return run_probe(lm, default_config(), progress)


def reference_probe(lm: LoadedModel, config: ProbeConfig | None = None, progress: Progress | None = None) -> ProbeResult:
    """The same scores from a per-sentence loop over transformers' `pipeline("fill-mask", targets=...)`.

    One pipeline call per scored sentence (template side x occupation, Kurita target and prior x gendered word),
    and for a word of n WordPieces one call per piece: the text with the earlier pieces filled in and the rest
    masked, the target being the next piece. So multi-piece words are chained exactly as in `run_probe`, and the
    pipeline's own first-piece-only target handling is never relied on. No row is shared or batched: this is what
    the batched probe is measured against.
    """
    lm.require("mlm")
    config = config or default_config()
    plan = plan_probe(lm, config)
    pipe = _pipeline(lm)
    started = time.perf_counter()
    total = sum(len(ids) for _, ids in plan.items)
    done = 0
    scores = []
    for text, ids in plan.items:
        total_lp = 0.0
        for step in range(len(ids)):
            sentence = _filled_text(lm, text, ids, step)
            out = pipe(sentence, targets=[lm.tokenizer.convert_ids_to_tokens(ids[step])], top_k=1)
            first = out[0] if isinstance(out[0], list) else out
            total_lp += math.log(max(first[0]["score"], 1e-45))
            done += 1
            if progress is not None and (done % 10 == 0 or done == total):
                progress(done / total, f"{done} of {total} pipeline calls")
        scores.append(total_lp)
    return _assemble(config, plan, scores, time.perf_counter() - started, total, "pipeline loop")


def _filled_text(lm: LoadedModel, text: str, ids: list[int], step: int) -> str:
    """`text` with its first [MASK] replaced by pieces[:step], written out, and masks for the remaining pieces.
    Raises InputError if that text does not tokenise back to exactly the row the batched scorer runs."""
    before, after = text.split(MASK, 1)
    written = lm.tokenizer.convert_tokens_to_string(lm.tokenizer.convert_ids_to_tokens(ids[:step])) if step else ""
    out = before + " ".join(([written] if written else []) + [MASK] * (len(ids) - step)) + after
    encode = lambda part: lm.tokenizer(part, add_special_tokens=False)["input_ids"]  # noqa: E731
    expected = [*encode(before), *ids[:step], *[lm.tokenizer.mask_token_id] * (len(ids) - step), *encode(after)]
    if encode(out) != expected:
        raise InputError(f"'{out}' does not tokenise back to the pieces being scored, so the pipeline cannot "
                         "reproduce this chain step.")
    return out


def _pipeline(lm: LoadedModel):
    """A fill-mask pipeline on the loaded weights: a BertForMaskedLM that shares the encoder and MLM head."""
    if "fill_mask_pipeline" not in lm.memo:
        import torch
        from transformers import BertForMaskedLM, pipeline

        with torch.device("meta"):
            mlm = BertForMaskedLM(lm.model.config)
        mlm.bert = lm.model.bert
        mlm.cls.predictions = lm.model.cls.predictions
        mlm.eval()
        lm.memo["fill_mask_pipeline"] = pipeline("fill-mask", model=mlm, tokenizer=lm.tokenizer, device=lm.device)
    return lm.memo["fill_mask_pipeline"]


def _row_count(lm: LoadedModel, items: list[tuple[str, list[int]]]) -> int:
    """How many distinct rows the batched scorer ran (for the report)."""
    seen = set()
    for text, ids in items:
        for step in range(len(ids)):
            seen.add((text, tuple(ids[:step]), len(ids) - step))
    return len(seen)


def _assemble(config: ProbeConfig, plan: _Plan, scores: list[float], seconds: float, rows: int,
              method: str) -> ProbeResult:
    units = []
    n_t, n_o = len(config.templates), len(config.occupations)
    ratio_sum = np.zeros((n_o, n_t))
    ratio_n = np.zeros((n_o, n_t))
    female_sum, male_sum = np.zeros(n_o), np.zeros(n_o)
    for t, p, o, fi, mi in plan.units:
        units.append(UnitScore(config.occupations[o].name, config.templates[t], config.pairs[p].label,
                               plan.items[fi][0], plan.items[mi][0], scores[fi], scores[mi]))
        ratio_sum[o, t] += scores[fi] - scores[mi]
        ratio_n[o, t] += 1
        female_sum[o] += scores[fi]
        male_sum[o] += scores[mi]
    per_template = ratio_sum / ratio_n
    units_per_occupation = ratio_n.sum(axis=1)
    kurita_units = []
    kurita_sum, kurita_n = np.zeros(n_o), np.zeros(n_o)
    for k, o, target, prior, tf, tm, pf, pm in plan.kurita:
        score = KuritaScore(config.occupations[o].name, config.kurita_templates[k], target, prior,
                            scores[tf], scores[tm], scores[pf], scores[pm])
        kurita_units.append(score)
        kurita_sum[o] += score.normalised
        kurita_n[o] += 1
    warnings = []
    mean = per_template.mean(axis=1)
    low, high = bootstrap_ci(per_template, config.bootstrap, config.seed)
    p_values, permutation = sign_flip_test(per_template, config.permutations, config.seed)
    adjusted = holm(p_values)
    if n_t < 2:
        warnings.append("With one template there is no spread over templates: no confidence interval or test.")
    elif n_t < 6:
        warnings.append(f"With {n_t} templates the smallest possible p-value is {2 / 2 ** n_t:.3f}: "
                        "use more templates for a test with any power.")
    kurita = np.divide(kurita_sum, kurita_n, out=np.full(n_o, np.nan), where=kurita_n > 0)
    occupations = []
    for o, occupation in enumerate(config.occupations):
        occupations.append(OccupationScore(
            occupation.name, occupation.article, plan.pieces[o], occupation.pct_women, occupation.year,
            occupation.source, float(female_sum[o] / units_per_occupation[o]),
            float(male_sum[o] / units_per_occupation[o]), float(mean[o]), float(low[o]), float(high[o]),
            float(p_values[o]), float(adjusted[o]), float(kurita[o]), n_t))
    correlations = {
        "log_ratio": correlation("log_ratio", [o.pct_women for o in occupations], [o.log_ratio for o in occupations]),
        "kurita": correlation("kurita", [o.pct_women for o in occupations], [o.kurita for o in occupations]),
    }
    return ProbeResult(config, occupations, units, kurita_units, correlations, permutation, CORRECTION, rows,
                       seconds, method, warnings)


# ---------------------------------------------------------------- statistics

def bootstrap_ci(values: np.ndarray, resamples: int = 2000, seed: int = 0,
                 level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Percentile bootstrap CI of the mean over columns (templates), per row (occupation). Templates are resampled
    with replacement, the same resamples for every row. NaN with fewer than two columns."""
    values = np.asarray(values, dtype=float)
    rows, cols = values.shape
    if cols < 2:
        return np.full(rows, np.nan), np.full(rows, np.nan)
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, cols, size=(resamples, cols))
    means = values[:, picks].mean(axis=2)
    tail = (1 - level) / 2 * 100
    return np.percentile(means, tail, axis=1), np.percentile(means, 100 - tail, axis=1)


def sign_flip_test(values: np.ndarray, permutations: int = 10000, seed: int = 0) -> tuple[np.ndarray, str]:
    """Two-sided sign-flip permutation test of mean = 0 over columns (templates), per row.

    Under the null a template's log-ratio is as likely to be negative as positive, so its sign is flipped at
    random. Exact (all 2^T sign patterns) for T <= 16 templates, else `permutations` random patterns with the
    +1 correction. Returns the p-values and a description of the test.
    """
    values = np.asarray(values, dtype=float)
    rows, cols = values.shape
    if cols < 2:
        return np.full(rows, np.nan), "none (one template)"
    if cols <= EXACT_PERMUTATION_LIMIT:
        signs = np.array(list(product((1.0, -1.0), repeat=cols)))
        label = f"exact sign-flip permutation test over {cols} templates ({2 ** cols} sign patterns)"
        extra = 0
    else:
        rng = np.random.default_rng(seed)
        signs = rng.choice((1.0, -1.0), size=(permutations, cols))
        label = f"sign-flip permutation test over {cols} templates ({permutations} random sign patterns)"
        extra = 1
    observed = np.abs(values.mean(axis=1))
    flipped = np.abs(values @ signs.T / cols)
    hits = (flipped >= observed[:, None] - 1e-12).sum(axis=1)
    return (hits + extra) / (len(signs) + extra), label


def holm(p_values: np.ndarray) -> np.ndarray:
    """Holm-Bonferroni adjusted p-values (family-wise error control under any dependence between occupations)."""
    p = np.asarray(p_values, dtype=float)
    adjusted = np.full(p.shape, np.nan)
    valid = np.flatnonzero(~np.isnan(p))
    if not len(valid):
        return adjusted
    order = valid[np.argsort(p[valid], kind="stable")]
    m = len(order)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        adjusted[i] = running
    return adjusted


def correlation(score: str, shares: list[float | None], values: list[float]) -> Correlation | None:
    """Pearson and Spearman of `values` against BLS % women, over occupations that have both. None with < 3."""
    from scipy import stats

    pairs = [(s, v) for s, v in zip(shares, values) if s is not None and v is not None and np.isfinite(v)]
    if len(pairs) < 3:
        return None
    x, y = np.array(pairs, dtype=float).T
    if np.ptp(x) == 0 or np.ptp(y) == 0:
        return None
    pearson = stats.pearsonr(x, y)
    spearman = stats.spearmanr(x, y)
    slope, intercept = np.polyfit(x, y, 1)
    return Correlation(score, len(x), float(pearson.statistic), float(pearson.pvalue), float(spearman.statistic),
                       float(spearman.pvalue), float(slope), float(intercept))
