"""One registry of every method and metric: explainers and bias metrics register themselves here by name.

Before the registry, each feature kept its own lists (`METHODS` tuples, `METRICS` tuples in three modules, one cache
wrapper per method), and adding a metric touched seven files. Now a method or metric is one class in one module of
`bertlens/explainers/` or `bertlens/metrics/`, and pages, the command line, audit configurations, exports and
reports loop over `methods(kind)`. The shape follows LIT's components (`run`, `is_compatible`, `config_spec`),
inseq's registry of attribution methods by name, and captum's one `attribute` per method:

- `name`, `title`, `summary` (what it measures) and `caveat`;
- `needs`: the model parts it uses ("mlm", "nsp", "attentions", "hidden_states", "gradients");
- `spec`: a `ConfigSpec` of typed, bounded options with defaults, which validates CLI flags, link parameters and
  audit configurations with the same message everywhere;
- `estimate(lm, inputs, config)`: its cost in forward-pass equivalents, so the app can decide whether it runs as a
  job and say how long it will take;
- `run(lm, inputs, config, context)`: one result type per kind (`bertlens.results`).

A module registers its class with the `@register` decorator; `discover()` imports every module of the two folders,
so a new module is picked up without editing any other file.
"""
from __future__ import annotations

import importlib
import math
import pkgutil
import threading
import weakref
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar, Mapping, Sequence

from bertlens.errors import InputError
from bertlens.model import LoadedModel

KINDS = ("explainer", "metric")
PACKAGES = {"explainer": "bertlens.explainers", "metric": "bertlens.metrics"}
NEEDS = ("mlm", "nsp", "attentions", "hidden_states", "gradients")


class SpecError(InputError):
    """A value outside a config spec. The message names the field and its allowed range, the same words in the
    command line, on a page and in an audit configuration."""

    def __init__(self, field_name: str, allowed: str, value: Any) -> None:
        self.field = field_name
        self.allowed = allowed
        self.value = value
        shown = repr(value) if not isinstance(value, str) else repr(value[:60] + ("…" if len(value) > 60 else ""))
        super().__init__(f"'{field_name}' must be {allowed}; got {shown}.")


@dataclass(frozen=True)
class Param:
    """One option of a method: its type ("int", "float", "bool", "str" or "choice"), default and bounds.

    `parse` accepts the typed value (from JSON) or its text (from a CLI flag or a link) and returns the typed value,
    or raises SpecError."""

    name: str
    type: str
    default: Any
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] = ()
    max_length: int = 200
    help: str = ""
    slider: bool = False
    labels: tuple[str, ...] = ()

    def allowed(self) -> str:
        if self.type == "int":
            return f"a whole number from {_num(self.low)} to {_num(self.high)}"
        if self.type == "float":
            return f"a number from {_num(self.low)} to {_num(self.high)}"
        if self.type == "bool":
            return "true or false"
        if self.type == "choice":
            return "one of " + ", ".join(self.choices)
        return f"a text of at most {self.max_length} characters"

    def parse(self, value: Any) -> Any:
        fail = SpecError(self.name, self.allowed(), value)
        if self.type == "int":
            if isinstance(value, bool):
                raise fail
            if isinstance(value, str):
                try:
                    value = int(value.strip())
                except ValueError:
                    raise fail from None
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            if not isinstance(value, int) or not self._in_range(value):
                raise fail
            return value
        if self.type == "float":
            if isinstance(value, bool):
                raise fail
            if isinstance(value, str):
                try:
                    value = float(value.strip())
                except ValueError:
                    raise fail from None
            if not isinstance(value, (int, float)) or not math.isfinite(value) or not self._in_range(value):
                raise fail
            return float(value)
        if self.type == "bool":
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.strip().lower() in ("1", "true", "yes", "on", "0", "false", "no",
                                                                    "off"):
                return value.strip().lower() in ("1", "true", "yes", "on")
            raise fail
        if self.type == "choice":
            if not isinstance(value, str) or value.strip() not in self.choices:
                raise fail
            return value.strip()
        if not isinstance(value, str) or len(value) > self.max_length:
            raise fail
        return value

    def label_of(self, choice: str) -> str:
        """How a page shows one of the choices (`labels`, in the order of `choices`; the choice itself by default)."""
        return dict(zip(self.choices, self.labels)).get(choice, choice)

    def _in_range(self, value: float) -> bool:
        return (self.low is None or value >= self.low) and (self.high is None or value <= self.high)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "type": self.type, "default": self.default,
                               "allowed": self.allowed()}
        if self.help:
            out["help"] = self.help
        return out


def _num(value: float | None) -> str:
    if value is None:
        return "any"
    return f"{value:g}" if isinstance(value, float) else f"{value:,}"


@dataclass(frozen=True)
class ConfigSpec:
    """The options of one method. `validate` fills defaults and refuses unknown names."""

    params: tuple[Param, ...] = ()

    def __post_init__(self) -> None:
        names = [p.name for p in self.params]
        if len(set(names)) != len(names):
            raise ValueError(f"Duplicate option in a config spec: {names}")

    def names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.params)

    def param(self, name: str) -> Param:
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(name)

    def defaults(self) -> dict[str, Any]:
        return {p.name: p.default for p in self.params}

    def validate(self, values: Mapping[str, Any] | None = None, *, where: str = "") -> dict[str, Any]:
        """A complete, typed config: each given value parsed, defaults for the rest. Raises SpecError for a value
        outside its range and InputError for an unknown option (`where` names the method in that message)."""
        values = dict(values or {})
        unknown = sorted(set(values) - set(self.names()))
        if unknown:
            known = ", ".join(self.names()) or "none"
            raise InputError(f"Unknown option '{unknown[0]}'{f' for {where}' if where else ''}; its options are: "
                             f"{known}.")
        return {p.name: p.parse(values[p.name]) if p.name in values else p.default for p in self.params}

    def lenient(self, values: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
        """For link parameters: each bad value falls back to its default, with the message saying it was
        ignored. Returns (config, messages)."""
        config, notes = self.defaults(), []
        for p in self.params:
            if p.name in values:
                try:
                    config[p.name] = p.parse(values[p.name])
                except SpecError as exc:
                    notes.append(f"{exc} The link's value was ignored.")
        return config, notes

    def as_list(self) -> list[dict[str, Any]]:
        return [p.as_dict() for p in self.params]


PIECES_PER_WORD = 1.3
"""WordPieces per whitespace word of English text with bert-large-cased's vocabulary, to estimate without
tokenising (a page asks for an estimate on every rerun)."""


def approx_tokens(text: str) -> int:
    """The tokens of `text` with [CLS] and [SEP], estimated from its words and punctuation marks (each mark is a
    token of its own; [MASK] is one token)."""
    text = text.replace("[MASK]", "MASK")
    marks = sum(1 for c in text if not c.isalnum() and not c.isspace())
    return round(len(text.split()) * PIECES_PER_WORD) + marks + 2


def tokens_of(lm: Any, text: str) -> int:
    """The tokens of `text` with [CLS] and [SEP] by the model's own tokenizer, or `approx_tokens` for a stand-in
    without one. Estimates count with it: PIECES_PER_WORD overcounted the shipped examples (templates, CrowS and
    fitting sentences) by 18-21% and undercounted technical prose by 28%, which put the CrowS estimate 1.5x too
    long. Counts are kept per tokenizer (at most MAX_COUNTED texts each, and no longer than the tokenizer lives),
    since a page asks for an estimate on every rerun."""
    tokenizer = getattr(lm, "tokenizer", None)
    if tokenizer is None:
        return approx_tokens(text)
    with _COUNTS_LOCK:
        counts = _COUNTS.setdefault(tokenizer, {})
        known = counts.get(text)
    if known is not None:
        return known
    count = len(tokenizer(text, add_special_tokens=True, verbose=False)["input_ids"])
    with _COUNTS_LOCK:
        if len(counts) >= MAX_COUNTED:
            counts.clear()
        counts[text] = count
    return count


MAX_COUNTED = 65_536
_COUNTS: "weakref.WeakKeyDictionary[Any, dict[str, int]]" = weakref.WeakKeyDictionary()
_COUNTS_LOCK = threading.Lock()


# A forward and backward pass, in forward passes: the backward pass does about twice a forward's arithmetic, but
# on bert-large on a 2-core CPU the pair took 2.0-2.4 forwards (integrated gradients and gradient x input,
# scripts/estimate_measure.py), and 3 made both buttons' estimates 1.3-1.5x too long.
FORWARD_AND_BACKWARD = 2.5


@dataclass(frozen=True)
class Cost:
    """What a run costs, in what `bertlens.jobs.Pace` measures on the model: `passes` encoder calls (a forward and
    backward pass counts as FORWARD_AND_BACKWARD) of `rows` rows of `tokens` padded tokens each, plus `elements`
    array elements of statistics that are not the model's (resampling, permutations). `batched` builds the cost of
    rows run in padded batches."""

    passes: float
    tokens: int = 32
    rows: float = 1.0
    elements: float = 0.0

    @classmethod
    def batched(cls, rows: float, tokens: float, batch_size: int, calls_per_batch: float = 1.0,
                elements: float = 0.0) -> "Cost":
        """`rows` rows of about `tokens` tokens in padded batches of `batch_size` rows (`calls_per_batch`
        FORWARD_AND_BACKWARD for a forward and backward pass)."""
        batches = max(1, math.ceil(rows / max(batch_size, 1))) if rows > 0 else 0
        return cls(batches * calls_per_batch, max(1, round(tokens)), rows / batches if batches else 0.0, elements)

    @classmethod
    def combined(cls, *costs: "Cost") -> "Cost":
        """Several runs' costs as one: their calls, padded tokens and statistics added up."""
        passes = sum(c.passes for c in costs)
        tokens = sum(c.passes * c.rows * c.tokens for c in costs)
        return cls(passes, max(1, round(tokens / passes)) if passes else 1, 1.0, sum(c.elements for c in costs))


class Context:
    """What a running method may report and ask: progress, and whether it was asked to stop.

    `progress(done, total, message)` raises `Stopped` once a stop was asked for, so methods that cannot return a
    partial result need do nothing else; methods that can (CrowS-Pairs, AUL, StereoSet) report through
    `report_progress`, poll `stopped()` and return what they have, marked as cancelled."""

    def progress(self, done: float, total: float, message: str = "") -> None:  # pragma: no cover - interface
        pass

    def stopped(self) -> bool:
        return False


class Stopped(Exception):
    """Raised inside a run when its job was stopped; the runner records the job as stopped."""


def report_progress(context: Context, done: float, total: float, message: str = "") -> None:
    """`context.progress` for a method that returns what it has when stopped: the stop is not raised here (that
    would throw the partial result away); the method sees it through `context.stopped()` before its next batch."""
    try:
        context.progress(done, total, message)
    except Stopped:
        pass


class Method(ABC):
    """A registered explainer or bias metric. Subclasses set the class attributes and implement `run`."""

    kind: ClassVar[str]
    name: ClassVar[str]
    title: ClassVar[str]
    summary: ClassVar[str] = ""
    caveat: ClassVar[str] = ""
    needs: ClassVar[frozenset[str]] = frozenset()
    spec: ClassVar[ConfigSpec] = ConfigSpec()
    data: ClassVar[str] = ""
    order: ClassVar[int] = 100
    heavy: ClassVar[bool] = True
    result_type: ClassVar[type | None] = None
    """The type of the result's `detail` (a logit lens's `Lens`, ...): what picks its view on a page before any
    result exists, as LIT picks its modules by output type. None: only the general view of its kind's results."""
    audit_default: ClassVar[bool] = False
    """Whether an audit configuration that names no metrics runs this one (when its input is shipped or given)."""
    transforms: ClassVar[frozenset[str]] = frozenset({"projection"})
    """The debiasing transforms (`LoadedModel.with_transform`) this method can run through: "projection" (LEACE,
    INLP, SentenceDebias: an argument of every encoder pass) and "self_debias" (Self-Debias rescales the MLM's
    probabilities at a [MASK], so only a method that reads those at masks, through `bertlens.scoring` or
    `bertlens.analysis`, takes it)."""

    def is_compatible(self, lm: LoadedModel) -> str | None:
        """None when `lm` has every part this method needs, else the reason it cannot run."""
        if "mlm" in self.needs and not lm.info.has_mlm:
            return f"{self.title} needs the masked-language-model head, which '{lm.info.model_id}' lacks."
        if "nsp" in self.needs and not lm.info.has_nsp:
            return f"{self.title} needs the next-sentence head, which '{lm.info.model_id}' lacks."
        if "gradients" in self.needs and lm.info.dtype == "int8":
            return f"{self.title} needs gradients, which the int8 model cannot give; choose float32."
        return self.transform_problem(lm)

    def transform_problem(self, lm: LoadedModel) -> str | None:
        """None unless `lm` runs through a debiasing transform this method cannot take (`transforms`)."""
        fit = getattr(lm, "transform", None)
        if fit is None:
            return None
        kind = "projection" if fit.interventions() is not None else "self_debias"
        if kind in self.transforms:
            return None
        if kind == "self_debias":
            return (f"{self.title} does not read the MLM's probabilities at a [MASK], which {fit.name} rescales; "
                    "it runs on the intact model only.")
        return f"{self.title} cannot run through {fit.name}: its passes cannot take a projection."

    def estimate(self, lm: LoadedModel, inputs: Any, config: Mapping[str, Any]) -> Cost:
        return Cost(1.0)

    @abstractmethod
    def run(self, lm: LoadedModel, inputs: Any, config: Mapping[str, Any], context: Context) -> Any:
        """The method's result, of its kind's result type (`bertlens.results`)."""

    def report_fields(self, result: Any, lm: LoadedModel | None = None) -> dict[str, Any]:
        """This metric's part of an audit report's checkpoint row, from its result: {"scores": {label: value}}
        and any keys of its own (the probe's "occupations"); `lm` is the model that ran it. The default is the headline as one score; the kind of
        input may combine the fields of several metrics that read it (`bertlens.kinds.DataKind.report_fields`)."""
        return {"scores": {f"{self.name}: {result.unit}": result.value}}

    def describe(self) -> dict[str, Any]:
        out = {"name": self.name, "kind": self.kind, "title": self.title, "needs": sorted(self.needs),
               "config": self.spec.as_list()}
        if self.data:
            out["data"] = self.data
        if self.summary:
            out["summary"] = self.summary
        if self.caveat:
            out["caveat"] = self.caveat
        return out


_REGISTRY: dict[str, dict[str, Method]] = {kind: {} for kind in KINDS}
_DISCOVERED: set[str] = set()
_LOCK = threading.RLock()


def register(cls: type[Method]) -> type[Method]:
    """Class decorator: add one instance of `cls` to the registry under its kind and name."""
    if cls.kind not in KINDS:
        raise ValueError(f"{cls.__name__}.kind must be one of {KINDS}, not {cls.kind!r}")
    unknown = set(cls.needs) - set(NEEDS)
    if unknown:
        raise ValueError(f"{cls.__name__}.needs has unknown parts {sorted(unknown)}; use {NEEDS}")
    with _LOCK:
        existing = _REGISTRY[cls.kind].get(cls.name)
        if existing is not None and type(existing).__qualname__ != cls.__qualname__:
            raise ValueError(f"Two {cls.kind}s are named '{cls.name}': {type(existing).__name__} and {cls.__name__}")
        _REGISTRY[cls.kind][cls.name] = cls()
    return cls


def discover() -> None:
    """Import every module of the method folders once, so each registers itself; a module added to a folder is
    found the next time, without editing any list."""
    with _LOCK:
        for kind, package_name in PACKAGES.items():
            package = importlib.import_module(package_name)
            for module in pkgutil.iter_modules(package.__path__):
                if module.name.startswith("_"):
                    continue
                full = f"{package_name}.{module.name}"
                if full not in _DISCOVERED:
                    importlib.import_module(full)
                    _DISCOVERED.add(full)


def methods(kind: str, data: str | None = None) -> list[Method]:
    """Every registered method of `kind` ("explainer" or "metric"), by their `order`; `data` keeps the metrics
    that read that kind of input (e.g. "pairs").

    `heavy` methods run as jobs in the app (anything that may take over about a second); the others read a
    result the page already has and run inline."""
    discover()
    with _LOCK:
        found = sorted(_REGISTRY[kind].values(), key=lambda m: (m.order, m.name))
    return [m for m in found if data is None or m.data == data]


def names(kind: str, data: str | None = None) -> tuple[str, ...]:
    return tuple(m.name for m in methods(kind, data))


def get(kind: str, name: str, data: str | None = None) -> Method:
    """The method called `name`. Raises InputError naming the choices."""
    for method in methods(kind, data):
        if method.name == name:
            return method
    choices = ", ".join(names(kind, data))
    raise InputError(f"Unknown {kind} '{name}'; choose from {choices}.")


def option(name: str, kind: str = "metric") -> Param | None:
    """The first registered method's option called `name` (registry order): how a setting shared by several
    methods (an audit's top-level `seed`) is checked, with that option's message."""
    for method in methods(kind):
        if name in method.spec.names():
            return method.spec.param(name)
    return None


def parse_names(kind: str, value: str | Sequence[str] | None, data: str | None = None,
                default: Sequence[str] | None = None) -> tuple[str, ...]:
    """A comma-separated list (or a list) of registered names, in registry order, without repeats. Raises
    InputError for an unknown name or an empty list."""
    if value is None:
        return tuple(default) if default is not None else names(kind, data)
    items = value.split(",") if isinstance(value, str) else list(value)
    chosen = [str(item).strip() for item in items if str(item).strip()]
    if not chosen:
        raise InputError(f"Name at least one {kind}: {', '.join(names(kind, data))}.")
    for name in chosen:
        get(kind, name, data)
    return tuple(n for n in names(kind, data) if n in chosen)
