"""Run-time settings and precision, in one place: each setting is an environment variable and a command-line flag.

Precision: float32 is exact and the default on every device (`auto`). bfloat16 and float16 halve the bytes read
per pass and are fast on GPUs and on CPUs with native bfloat16; int8 dynamic quantisation of the Linear layers is
the precision that is faster on a CPU without it. Each faster precision is approximate, an explicit choice, and is
offered with its measured top-10 agreement with float32 (bertlens/data/precision_agreement.json, package data
written by `python -m bertlens bench`).
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Sequence

from bertlens.errors import InputError

DEFAULT_MODEL = "bert-large-cased"
DEVICES = ("auto", "cpu", "cuda")
INT8 = "int8"
DTYPES = ("auto", "float32", "bfloat16", "float16", INT8)
AGREEMENT_JSON = Path(__file__).resolve().parent / "data" / "precision_agreement.json"
ANY_MODEL = "any"
HARD_MAX_IG_STEPS = 300
HARD_MAX_TOKENS = 512


@dataclass(frozen=True)
class Settings:
    model: str = DEFAULT_MODEL
    device: str = "auto"
    dtype: str = "auto"
    batch_window_ms: float = 5.0

    @classmethod
    def from_env(cls, **overrides: str | float | None) -> "Settings":
        """Read BERT_LENS_MODEL, BERT_LENS_DEVICE, BERT_LENS_DTYPE and BERT_LENS_BATCH_WINDOW_MS; non-None
        overrides win. Raises InputError for a value that is not allowed."""
        window = os.environ.get("BERT_LENS_BATCH_WINDOW_MS") or "5"
        try:
            window_ms = float(window)
        except ValueError:
            raise InputError(f"BERT_LENS_BATCH_WINDOW_MS must be a number of milliseconds; got '{window}'.") from None
        values = {
            "model": os.environ.get("BERT_LENS_MODEL") or DEFAULT_MODEL,
            "device": (os.environ.get("BERT_LENS_DEVICE") or "auto").lower(),
            "dtype": (os.environ.get("BERT_LENS_DTYPE") or "auto").lower(),
            "batch_window_ms": window_ms,
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        settings = cls(**values)
        settings.validate()
        limits()  # a bad BERT_LENS_MAX_* stops the app at its start, with its message
        server()  # so does a bad job-runner setting (BERT_LENS_STORE_MB, _JOB_WORKERS, _MAX_QUEUE, _SESSION_QUEUE)
        return settings

    def for_precision(self, dtype: str) -> "Settings":
        """These settings in `dtype`. int8 is dynamic quantisation, which runs on the CPU whatever the device
        setting: this is the one place that rule lives. Raises InputError for an unknown precision."""
        settings = replace(self, dtype=dtype, device="cpu" if dtype == INT8 else self.device)
        settings.validate()
        return settings

    def for_model(self, model: str) -> "Settings":
        return replace(self, model=model)

    def resolved_device(self) -> str:
        """'cuda' or 'cpu': 'auto' is the GPU when one is visible. Raises InputError for 'cuda' without a GPU."""
        import torch

        if self.device == "auto":
            return "cuda" if torch.cuda.is_available() and self.dtype != INT8 else "cpu"
        if self.device == "cuda" and not torch.cuda.is_available():
            raise InputError("BERT_LENS_DEVICE=cuda was asked for, but no CUDA GPU is visible.")
        return self.device

    def resolved_dtype(self) -> str:
        """'auto' is float32 on every device: BERT Lens is an audit tool first, and only float32 reproduces the
        reference pipeline and published metrics. A faster precision is an explicit choice."""
        return "float32" if self.dtype == "auto" else self.dtype

    def validate(self) -> None:
        if self.device not in DEVICES:
            raise InputError(f"Unknown device '{self.device}'. Use one of: {', '.join(DEVICES)}.")
        if self.dtype not in DTYPES:
            raise InputError(f"Unknown dtype '{self.dtype}'. Use one of: {', '.join(DTYPES)}.")
        if not 0 <= self.batch_window_ms <= 1000:
            raise InputError(f"The batch window must be from 0 to 1000 ms (0 switches batching off); got "
                             f"{self.batch_window_ms}.")
        if self.dtype == INT8 and self.device == "cuda":
            raise InputError("int8 runs on the CPU only (dynamic quantisation); on a GPU use float16 or bfloat16.")


@dataclass(frozen=True)
class Precision:
    """A precision the app offers: `dtype` is what the model is loaded in, `label` what the sidebar shows."""

    dtype: str
    label: str
    note: str
    approximate: bool


def cpu_has_bf16() -> bool:
    """True when the CPU multiplies bfloat16 natively (AVX-512 BF16 or AMX); without it bfloat16 is emulated and
    slower than float32."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    return bool(flags & {"avx512_bf16", "amx_bf16"})
    except OSError:
        pass
    return False


def precision_choices(device_type: str) -> list[Precision]:
    """The precisions worth offering on `device_type` ('cpu' or 'cuda'), float32 first, each labelled honestly."""
    choices = [Precision("float32", "float32 (exact)", "Exact: the same numbers as transformers' reference pipeline.", False)]
    if device_type == "cuda":
        choices.append(Precision("bfloat16", "bfloat16 (fast)", "About twice as fast on this GPU; rankings can "
                                 "differ slightly from float32.", True))
        choices.append(Precision("float16", "float16 (fast)", "About twice as fast on this GPU; rankings can "
                                 "differ slightly from float32.", True))
        return choices
    if cpu_has_bf16():
        choices.append(Precision("bfloat16", "bfloat16 (fast)", "Faster on this CPU (it has native bfloat16); "
                                 "rankings can differ slightly from float32.", True))
    else:
        choices.append(Precision("bfloat16", "bfloat16 (slower here)", "This CPU has no native bfloat16, so it "
                                 "is emulated and slower than float32; it is fast on GPUs and newer CPUs.", True))
    choices.append(Precision(INT8, "int8 (fast, approximate)", "Linear layers quantised to int8: faster on this "
                             "CPU, approximate; rankings differ more from float32.", True))
    return choices


def agreement_figure(dtype: str, prefer: str = "cpu", path: Path = AGREEMENT_JSON) -> str | None:
    """The measured top-10 agreement of `dtype` with float32 (e.g. '97.5%') stored by the benchmark in the
    package's table, from the `prefer` ('cpu' or 'gpu') run when it has one, else from the other; None when never
    measured."""
    try:
        table = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    for kind in (prefer, "gpu" if prefer == "cpu" else "cpu"):
        figure = (table.get(kind) or {}).get(dtype)
        if isinstance(figure, str):
            return figure
    return None


# ---------------------------------------------------------------- a public server: what a visitor may ask for

@dataclass(frozen=True)
class Limits:
    """The heaviest work one request may ask for. An operator of a public server lowers them with
    BERT_LENS_MAX_IG_STEPS and BERT_LENS_MAX_TOKENS; they can never go above the hard limits (300 steps, 512
    tokens). Read by `bertlens.explain.check_steps` and `bertlens.encoding.token_limit`."""

    max_ig_steps: int = HARD_MAX_IG_STEPS
    max_tokens: int = HARD_MAX_TOKENS


def _bounded_env(name: str, default: int, low: int, high: int) -> int:
    raw = (os.environ.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InputError(f"{name} must be a whole number from {low} to {high}; got '{_shown(raw)}'.") from None
    if not low <= value <= high:
        raise InputError(f"{name} must be a whole number from {low} to {high}; got {value}.")
    return value


def _shown(raw: str) -> str:
    from bertlens.text import visible

    return visible(raw[:40])


DEFAULT_STORE_MB = 1536
STORE_MB_RANGE = (64, 1 << 20)
JOB_WORKERS_RANGE = (1, 64)
DEFAULT_MAX_QUEUE = 32
MAX_QUEUE_RANGE = (1, 10_000)
DEFAULT_SESSION_QUEUE = 4
SESSION_QUEUE_RANGE = (1, 1_000)


@dataclass(frozen=True)
class Server:
    """The job runner's settings on a shared server (`services/jobs.py`):

    - `store_mb` (BERT_LENS_STORE_MB, 64 to 1048576, default 1536): the result store's budget, split between
      finished jobs' results and quick per-view results so that neither evicts the other;
    - `job_workers` (BERT_LENS_JOB_WORKERS, 1 to 64; None: chosen from the cores and device);
    - `max_queue` (BERT_LENS_MAX_QUEUE, 1 to 10000, default 32): runs waiting, all sessions together;
    - `session_queue` (BERT_LENS_SESSION_QUEUE, 1 to 1000, default 4): runs one session may have waiting, so
      one visitor cannot fill the queue."""

    store_mb: int = DEFAULT_STORE_MB
    job_workers: int | None = None
    max_queue: int = DEFAULT_MAX_QUEUE
    session_queue: int = DEFAULT_SESSION_QUEUE


def server() -> Server:
    """The job runner's settings from the environment (the one accessor). Raises InputError, one line with the
    allowed range, for a value that is not a whole number in range: the app and the command line refuse to start
    rather than fail on a later page."""
    workers = _bounded_env("BERT_LENS_JOB_WORKERS", 0, *JOB_WORKERS_RANGE) or None
    return Server(store_mb=_bounded_env("BERT_LENS_STORE_MB", DEFAULT_STORE_MB, *STORE_MB_RANGE),
                  job_workers=workers,
                  max_queue=_bounded_env("BERT_LENS_MAX_QUEUE", DEFAULT_MAX_QUEUE, *MAX_QUEUE_RANGE),
                  session_queue=_bounded_env("BERT_LENS_SESSION_QUEUE", DEFAULT_SESSION_QUEUE, *SESSION_QUEUE_RANGE))


def check_environment() -> None:
    """Every BERT_LENS_* setting read once, at start: raises InputError (one line naming the variable and its range)
    for the first bad one. The command line calls it before any verb; the app's frame through `Settings.from_env`."""
    Settings.from_env()


def limits() -> Limits:
    """The operator's limits from the environment (the one accessor). Raises InputError for a bad value."""
    return Limits(max_ig_steps=_bounded_env("BERT_LENS_MAX_IG_STEPS", HARD_MAX_IG_STEPS, 1, HARD_MAX_IG_STEPS),
                  max_tokens=_bounded_env("BERT_LENS_MAX_TOKENS", HARD_MAX_TOKENS, 8, HARD_MAX_TOKENS))


def allowed_models() -> tuple[str, ...] | None:
    """The checkpoints a page may load: the configured model (BERT_LENS_MODEL, else bert-large-cased) and those
    BERT_LENS_ALLOWED_MODELS names (comma-separated hub ids or folders, matched exactly as written); `any` allows
    every name (None). The local command line does not read it."""
    raw = (os.environ.get("BERT_LENS_ALLOWED_MODELS") or "").strip()
    if raw.lower() == ANY_MODEL:
        return None
    names = [n.strip() for n in raw.split(",") if n.strip()] if raw else []
    configured = os.environ.get("BERT_LENS_MODEL") or DEFAULT_MODEL
    return tuple(dict.fromkeys([configured, *names]))


def check_allowed(models: Sequence[str]) -> None:
    """Raise InputError for the first name that is not allowed. The message is the same whether or not such a model
    exists, so a visitor learns nothing about the server's files."""
    allowed = allowed_models()
    if allowed is None:
        return
    for name in models:
        if name.strip() not in allowed:
            shown = name.strip()
            shown = shown if len(shown) <= 80 else shown[:77] + "..."
            raise InputError(f"'{shown}' is not one of the models this server offers. Choose one of the allowed "
                             "models (the operator sets them in BERT_LENS_ALLOWED_MODELS).")
