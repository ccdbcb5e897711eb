"""Which heads carry an occupation's gender effect on a masked pronoun: causal mediation over templates.

Three places carry the name "mediation", one job each: `bertlens.mediation` measures the effects for one sentence
pair; this module runs it over the pronoun probe's templates and occupations and summarises them;
`bertlens.metrics.mediation_templates` registers this as the metric "mediation", and the `mediate` verb
(`bertlens.cli.mediate`) runs either one from the command line.

Vig et al. (NeurIPS 2020) measured, for GPT-2, how much of a gender effect on a pronoun passes through each head,
averaged over templates and professions. This is their "set-gender" intervention for BERT's masked pronoun:

- the sentences are the pronoun probe's templates ("The {occupation} said that [MASK] would be late.",
  `bertlens/data/pronoun_templates.txt`), chosen because they already put one pronoun at a [MASK] after an
  occupation, with verbs that read the same for he and she; a page or audit can pass its own templates;
- the occupations are the one-WordPiece occupations of the probe's table with a BLS share of women, the most
  female- and the most male-dominated in equal numbers (`occupations`, 12 by default: each one costs a full
  mediation per template);
- an occupation is female-stereotyped when its share of women is over 50%; x′ replaces it by the
  anti-stereotypical gendered noun ("nurse" → "man", "carpenter" → "woman"), and the ratio is
  y = P(anti-stereotypical pronoun) / P(stereotypical pronoun) at the mask, as in the paper, so that a positive TE
  and NIE mean "moves the prediction towards the swapped gender" for every occupation alike.

Each template's effects are averaged over the occupations; the headline is the mean total effect over templates,
and every head's mean NIE has a percentile-bootstrap 95% interval over templates (templates resampled, as the
pronoun probe does).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from bertlens.bias.occupations import Occupation, load_occupations
from bertlens.bias.pronouns import OCCUPATION, fill, load_pronoun_templates, parse_pronoun_templates
from bertlens.bias.sentences import capitalise_at_start
from bertlens.bias.statistics import LEVEL, bootstrap_ci
from bertlens.errors import InputError
from bertlens.mediation import HeadEffect, Swap, mediate, prepare, rank_heads
from bertlens.model import LoadedModel
from bertlens.registry import Stopped

FEMALE_NOUN, MALE_NOUN = "woman", "man"
TOP = 10
OCCUPATIONS, BOOTSTRAP, SEED = 12, 2000, 0


@dataclass(frozen=True)
class Choice:
    """One occupation as used here: its stereotype by BLS share, its swap and its (anti, stereotypical) pronouns."""

    occupation: str
    pct_women: float
    female: bool
    other: str
    targets: tuple[str, str]


@dataclass(frozen=True)
class Interval:
    """A (layers, heads) or (layers,) grid of means over templates with their bootstrap bounds."""

    mean: tuple
    low: tuple
    high: tuple


@dataclass(frozen=True)
class TemplateMediation:
    """The detail of the across-templates result. Grids are layer-major; layers and heads count from 1 in every
    view, so `heads.mean[l - 1][h - 1]` is layer l, head h."""

    templates: tuple[str, ...]
    occupations: tuple[Choice, ...]
    total_effects: tuple[tuple[float, ...], ...]
    log_y: tuple[tuple[float, ...], ...]
    template_te: tuple[float, ...]
    heads: Interval
    attention_layers: Interval
    mlp_layers: Interval
    top_heads: tuple[HeadEffect, ...]
    bootstrap: int
    seed: int


@dataclass(frozen=True)
class TemplateEffects:
    """What `mediate_templates` returns: the mean total effect over templates with its bootstrap interval, the
    detail, and whether every template was run (a stopped run keeps the templates it finished)."""

    total_effect: float
    low: float
    high: float
    interval: str
    detail: TemplateMediation
    complete: bool
    warnings: tuple[str, ...]


def inputs_templates(inputs: Any) -> list[str]:
    """The templates to run: the shipped ones for None, else the given list (or text, one per line)."""
    if inputs is None:
        return load_pronoun_templates()
    if isinstance(inputs, Mapping):
        inputs = inputs.get("templates")
        if inputs is None:
            return load_pronoun_templates()
    if isinstance(inputs, str):
        return parse_pronoun_templates(inputs)
    return parse_pronoun_templates("\n".join(str(t) for t in inputs))


def choose_occupations(lm: LoadedModel, count: int, table: Sequence[Occupation] | None = None) -> list[Choice]:
    """`count` one-WordPiece occupations with a share of women: half the most male-, half the most
    female-dominated (the extra one, for an odd count, from the male side). Raises InputError when the table has
    too few."""
    table = list(table) if table is not None else load_occupations()
    usable = [o for o in table if o.pct_women is not None and " " not in o.name
              and len(lm.tokenizer.tokenize(o.name)) == 1 and len(lm.tokenizer.tokenize(o.name.capitalize())) == 1]
    if len(usable) < 2:
        raise InputError("Mediation across templates needs at least two one-WordPiece occupations with a share of "
                         "women; the occupation table has fewer.")
    usable.sort(key=lambda o: (o.pct_women, o.name))
    count = min(count, len(usable))
    male, female = usable[: (count + 1) // 2], usable[len(usable) - count // 2:]
    out = []
    for o in male + female:
        is_female = o.pct_women > 50.0
        out.append(Choice(o.name, o.pct_women, is_female, MALE_NOUN if is_female else FEMALE_NOUN,
                          ("he", "she") if is_female else ("she", "he")))
    return out


def sentence(template: str, choice: Choice) -> tuple[str, Swap, tuple[str, str]]:
    """The text, the swap and the (anti, stereotypical) targets of one template and occupation."""
    text = fill(template, choice.occupation)
    at_start = not template[: template.index(OCCUPATION)].strip()
    word, other = (w[:1].upper() + w[1:] if at_start else w for w in (choice.occupation, choice.other))
    targets = tuple(capitalise_at_start(text, t) for t in choice.targets)
    return text, Swap(word, other), (targets[0], targets[1])


def mediate_templates(lm: LoadedModel, templates: Sequence[str], occupations: int = OCCUPATIONS,
                      bootstrap: int = BOOTSTRAP, seed: int = SEED,
                      progress: Callable[[float, float, str], None] | None = None,
                      should_stop: Callable[[], bool] | None = None) -> TemplateEffects:
    """`mediate` for every template and chosen occupation, summarised over templates.

    Every sentence is checked before the first model run (InputError names the bad one). `progress(done, total,
    message)` is called before each sentence pair; `should_stop()` is asked before and after it, and a stop keeps
    the templates finished so far (Stopped when there are none)."""
    lm.require("mlm")
    report = progress or (lambda done, total, message="": None)
    stop = should_stop or (lambda: False)
    templates = list(templates)
    choices = choose_occupations(lm, occupations)
    layers, heads = lm.info.layers, lm.info.heads
    shape = (len(templates), len(choices))
    te, log_y = np.full(shape, np.nan), np.full(shape, np.nan)
    nie = np.full(shape + (layers, heads), np.nan)
    attention, mlp = np.full(shape + (layers,), np.nan), np.full(shape + (layers,), np.nan)
    texts = [[sentence(t, c) for c in choices] for t in templates]
    for t in range(len(templates)):
        for j, (text, swap, targets) in enumerate(texts[t]):
            prepare(lm, text, swap, targets)
    total, done_templates, stopped = shape[0] * shape[1], 0, False
    for t in range(len(templates)):
        for j, (text, swap, targets) in enumerate(texts[t]):
            stopped = stopped or stop()
            if not stopped:
                report(t * shape[1] + j, total, f"template {t + 1} of {shape[0]}, {choices[j].occupation}")
                stopped = stop()
            if stopped:
                break
            m = mediate(lm, text, swap, targets)
            te[t, j], log_y[t, j] = m.total_effect, float(np.log(m.y))
            nie[t, j] = m.grid()
            attention[t, j], mlp[t, j] = m.attention_layers, m.mlp_layers
        if stopped:
            break
        done_templates += 1
    if not done_templates:
        raise Stopped()
    kept = slice(0, done_templates)
    return summarise(templates[kept], choices, te[kept], log_y[kept], nie[kept], attention[kept], mlp[kept],
                     bootstrap, seed, complete=done_templates == len(templates))


def summarise(templates: Sequence[str], choices: Sequence[Choice], te: np.ndarray, log_y: np.ndarray,
              nie: np.ndarray, attention: np.ndarray, mlp: np.ndarray, bootstrap: int, seed: int,
              complete: bool = True) -> TemplateEffects:
    """Means over occupations per template, then over templates with percentile-bootstrap intervals."""
    n_templates = len(templates)
    layers, heads = nie.shape[2], nie.shape[3]
    per_template_te = te.mean(axis=1)
    per_template_heads = nie.mean(axis=1).reshape(n_templates, layers * heads)

    def interval(values: np.ndarray, shape: tuple[int, ...]) -> Interval:
        low, high = bootstrap_ci(values.T, bootstrap, seed)
        mean = values.mean(axis=0)
        return Interval(*(_nested(a.reshape(shape)) for a in (mean, low, high)))

    low, high = bootstrap_ci(per_template_te[None, :], bootstrap, seed)
    head_grid = interval(per_template_heads, (layers, heads))
    mean_te = float(per_template_te.mean())
    detail = TemplateMediation(
        templates=tuple(templates), occupations=tuple(choices), total_effects=_nested(te), log_y=_nested(log_y),
        template_te=tuple(float(v) for v in per_template_te), heads=head_grid,
        attention_layers=interval(attention.mean(axis=1), (layers,)),
        mlp_layers=interval(mlp.mean(axis=1), (layers,)),
        top_heads=tuple(rank_heads(np.array(head_grid.mean), mean_te, TOP)), bootstrap=bootstrap, seed=seed)
    warnings = []
    if n_templates < 5:
        warnings.append(f"Only {n_templates} template(s): an interval over so few templates is coarse"
                        + (" (none with one)." if n_templates < 2 else "."))
    if not complete:
        warnings.append(f"Stopped after {n_templates} template(s); the result covers those only.")
    level = int(round(100 * LEVEL))
    return TemplateEffects(
        mean_te, float(low[0]), float(high[0]),
        f"{level}% percentile bootstrap over {n_templates} templates ({bootstrap} resamples)", detail, complete,
        tuple(warnings))


def _nested(array: np.ndarray) -> tuple:
    if array.ndim == 1:
        return tuple(float(v) for v in array)
    return tuple(_nested(row) for row in array)
