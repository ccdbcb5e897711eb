"""One schema for each JSON document that a user uploads or configures: the audit configuration and the audit report.

Every such document is read by `load`: a depth check on the raw text first (so 100,000 nested brackets cost one
linear scan, never a RecursionError), then `json.loads`, then the pydantic schema. A document that fails gets one
InputError naming the first field at fault; nothing is drawn or run before it passes. The schemas check shapes,
types and ranges; what needs the model or the registry (metric names, whether a template has a slot) stays with
the code that uses it.
"""
from __future__ import annotations

import json
from typing import Any, Literal, TypeVar

from pydantic import (BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt, StrictStr, TypeAdapter,
                      ValidationError, model_validator)

from bertlens.errors import InputError

MAX_JSON_DEPTH = 20
MAX_NAME_CHARS = 500
MAX_LIST = 100_000

T = TypeVar("T", bound=BaseModel)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True)


class _Lenient(BaseModel):
    """Report parts: fields a newer version adds are dropped, never drawn."""

    model_config = ConfigDict(extra="ignore", allow_inf_nan=False, frozen=True)


Number = StrictFloat
Score = StrictInt | StrictFloat


# ---------------------------------------------------------------- the audit configuration

class InlineText(_Strict):
    text: StrictStr


class FilePath(_Strict):
    path: StrictStr = Field(max_length=1000)


AuditInputSpec = InlineText | FilePath | None


class MetricEntry(_Strict):
    """A metric with options in an audit configuration: {"name": "aul", "options": {...}}; the options are checked
    by the metric's config spec."""

    name: StrictStr = Field(max_length=MAX_NAME_CHARS)
    options: dict[StrictStr, StrictStr | StrictInt | StrictFloat | StrictBool] = Field(default_factory=dict,
                                                                                        max_length=100)


class DebiasEntry(_Strict):
    """A debiasing transform in an audit configuration: fitted on the default set ({"method": "leace", "layers":
    [24]}) or loaded ({"dir": "fits/leace"}); `bertlens.bias.audit` checks the method, layers and folder."""

    method: StrictStr | None = Field(default=None, max_length=MAX_NAME_CHARS)
    layers: list[StrictInt] | None = Field(default=None, max_length=1000)
    options: dict[StrictStr, StrictStr | StrictInt | StrictFloat | StrictBool] = Field(default_factory=dict,
                                                                                        max_length=100)
    dir: StrictStr | None = Field(default=None, max_length=1000)


class AuditConfigSchema(BaseModel):
    """`bertlens.bias.audit.parse_config`'s input: shapes and types. Metric names and options, precision, device,
    the ranges of the statistics settings and which input keys exist are checked there (by the registry, the
    metrics' config specs and the registered kinds of input); every other key must have an input's shape."""

    model_config = ConfigDict(extra="allow", allow_inf_nan=False, frozen=True)

    bertlens_audit: Literal[1]
    models: list[StrictStr] = Field(default_factory=list, max_length=10_000)
    metrics: list[StrictStr | MetricEntry] | None = Field(default=None, min_length=1, max_length=100)
    precision: StrictStr = "float32"
    device: StrictStr = "cpu"
    # Types only: their ranges (seed 0 or more, ...) are the metrics' config specs, one message everywhere.
    seed: StrictInt = 0
    bootstrap: StrictInt = 2000
    permutations: StrictInt = 10000
    min_effect: Number = 0.1
    chosen_pairs: list[StrictStr] | None = Field(default=None, max_length=10_000)
    sources: dict[StrictStr, StrictStr] | None = None
    thresholds: dict[StrictStr, dict[StrictStr, Number | StrictInt]] | None = None
    debias: list[DebiasEntry] | None = Field(default=None, max_length=20)

    @model_validator(mode="after")
    def _inputs(self) -> "AuditConfigSchema":
        for key, value in (self.model_extra or {}).items():
            try:
                _INPUT.validate_python(value)
            except ValidationError:
                raise ValueError(f"'{key}' must be null (the shipped file), {{\"text\": ...}} or {{\"path\": "
                                 "...}") from None
        return self


_INPUT = TypeAdapter(AuditInputSpec)


# ---------------------------------------------------------------- the audit report

class ReportInput(_Lenient):
    name: StrictStr
    source: StrictStr
    sha256: StrictStr


class OccupationRow(_Lenient):
    occupation: StrictStr
    log_ratio: Number | None = None
    ci_low: Number | None = None
    ci_high: Number | None = None
    p_holm: Number | None = None
    kurita: Number | None = None
    pieces: list[StrictStr] = Field(default_factory=list)
    notable: StrictBool = False


class CrowsRow(_Lenient):
    metric: StrictStr
    percent: Number | None = None
    ci_low: Number | None = None
    ci_high: Number | None = None
    more_higher: StrictInt | None = None
    pairs: StrictInt | None = None


class MetricRow(_Lenient):
    """A metric's headline as `MetricResult.headline()` writes it."""

    metric: StrictStr = Field(max_length=MAX_NAME_CHARS)
    title: StrictStr = Field(default="", max_length=MAX_NAME_CHARS)
    value: Number | None = None
    unit: StrictStr = Field(default="", max_length=20)
    ci_low: Number | None = None
    ci_high: Number | None = None
    interval: StrictStr = Field(default="", max_length=MAX_NAME_CHARS)
    n: StrictInt | None = None
    ties: StrictInt | None = None
    neutral: Number | None = None
    measures: StrictStr = Field(default="", max_length=5000)
    caveat: StrictStr = Field(default="", max_length=5000)
    complete: StrictBool = True


class PairAgreementRow(_Lenient):
    """Two metrics' decisions on the items both scored (`bertlens.bias.agreement.PairAgreement.as_dict`)."""

    a: StrictStr = Field(max_length=MAX_NAME_CHARS)
    b: StrictStr = Field(max_length=MAX_NAME_CHARS)
    shared: StrictInt = Field(ge=0)
    agree: StrictInt = Field(ge=0)
    share: Number | None = None
    kappa: Number | None = None
    disagreements: list[StrictStr] = Field(default_factory=list, max_length=MAX_LIST)


class AgreementDocument(_Lenient):
    agreement: list[PairAgreementRow] = Field(default_factory=list, max_length=1000)


class TransformColumn(_Lenient):
    """A checkpoint's metrics through one debiasing transform, beside the intact model's (`scores`, `metrics`)."""

    name: StrictStr = Field(max_length=MAX_NAME_CHARS * 4)
    status: Literal["ok", "failed"]
    reason: StrictStr | None = None
    debias: dict[StrictStr, Any] | None = None
    scores: dict[StrictStr, Score | None] = Field(default_factory=dict)
    metrics: list[MetricRow] = Field(default_factory=list, max_length=1000)
    not_applicable: dict[StrictStr, StrictStr] = Field(default_factory=dict)


class CheckpointRow(_Lenient):
    model: StrictStr = Field(max_length=MAX_NAME_CHARS * 4)
    status: Literal["ok", "failed"]
    reason: StrictStr | None = None
    fingerprint: StrictStr | None = None
    random_weights: StrictBool | None = None
    dtype: StrictStr | None = None
    vocab_size: StrictInt | None = None
    scores: dict[StrictStr, Score | None] = Field(default_factory=dict)
    occupations: list[OccupationRow] = Field(default_factory=list, max_length=MAX_LIST)
    crows: list[CrowsRow] = Field(default_factory=list)
    metrics: list[MetricRow] = Field(default_factory=list, max_length=1000)
    agreement: AgreementDocument | None = None
    transforms: list[TransformColumn] = Field(default_factory=list, max_length=20)


class SpreadRow(_Lenient):
    score: StrictStr
    n: StrictInt = Field(ge=0)
    mean: Number | None = None
    sd: Number | None = None
    min: Number | None = None
    max: Number | None = None
    range: Number | None = None


class AuditReportSchema(_Lenient):
    """What `bertlens.bias.audit.run_audit` writes and the bias page's Many checkpoints tab draws."""

    report: Literal["BERT Lens bias audit"]
    tool: StrictStr = "BERT Lens"
    date: StrictStr = Field(default="undated", max_length=100)
    configuration_sha256: StrictStr = Field(default="", max_length=100)
    inputs: list[ReportInput] = Field(default_factory=list, max_length=100)
    configuration: dict[StrictStr, Any] = Field(default_factory=dict)
    ran_on: StrictStr = Field(default="unknown", max_length=1000)
    checkpoints: list[CheckpointRow] = Field(max_length=MAX_LIST)
    completed: StrictInt = Field(default=0, ge=0)
    failed: StrictInt = Field(default=0, ge=0)
    random_weights: StrictBool = False
    spread: list[SpreadRow] = Field(default_factory=list)
    warning: StrictStr | None = None


# ---------------------------------------------------------------- reading

def check_depth(text: str, name: str, limit: int = MAX_JSON_DEPTH) -> None:
    """Raises InputError when JSON `text` nests arrays and objects deeper than `limit` (strings are skipped)."""
    depth, in_string, escaped = 0, False, False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > limit:
                raise InputError(f"{_start(name)} nests lists and objects more than {limit} deep; a BERT Lens file "
                                 "never does.")
        elif char in "]}":
            depth -= 1


def _start(name: str) -> str:
    return name[:1].upper() + name[1:]


def _where(location: tuple) -> str:
    parts = []
    for part in location:
        if isinstance(part, int):
            parts.append(f"[{part}]")
        elif part in ("InlineText", "FilePath", "function-after", "int", "float", "str", "list", "dict", "bool",
                      "none", "literal", "is-instance"):
            continue
        else:
            parts.append(("." if parts else "") + str(part))
    return "".join(parts) or "the document"


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def one_message(exc: ValidationError, name: str) -> str:
    """The first error of `exc` as one plain sentence, with how many more there are."""
    errors = exc.errors(include_url=False)
    first = errors[0]
    where = _where(tuple(first.get("loc", ())))
    message = first.get("msg", "is not valid")
    if first.get("type") == "missing":
        text = f"{_start(name)} lacks the field '{where}'."
    elif first.get("type") == "extra_forbidden":
        text = f"{_start(name)} has an unknown field '{where}'."
    else:
        text = f"{_start(name)}: '{where}' is not valid ({message}; got {_shown(first.get('input'))})."
    more = len(errors) - 1
    return text + (f" ({more} more problem{'s' if more > 1 else ''} after this one.)" if more else "")


def parse_json(text: str, name: str) -> Any:
    """JSON text with bounded depth. Raises InputError."""
    check_depth(text, name)
    try:
        return json.loads(text, parse_constant=_no_constant)
    except (ValueError, RecursionError) as exc:
        raise InputError(f"{_start(name)} is not valid JSON: {exc}.") from None


def _no_constant(token: str) -> float:
    raise ValueError(f"{token} is not a JSON number")


def validate(schema: type[T], data: Any, name: str) -> T:
    """`data` checked against `schema`. Raises InputError with one message."""
    try:
        return schema.model_validate(data)
    except ValidationError as exc:
        raise InputError(one_message(exc, name)) from None

