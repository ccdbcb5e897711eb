"""The app's side of the one job runner and the one result store (`bertlens.jobs`).

- `runner()`: one `Runner` per server process (`st.cache_resource`), shared by every session: a bounded pool of
  workers (`worker_count`), a bounded queue, at most one running job per session.
- `cached(...)`: quick results (at most a forward pass or two) go through the same store, computed once for all
  sessions, inline.
- `Request` and `submit(...)`: anything slower runs as a job; `components.job_panel.job_area` draws its run button,
  progress and Stop. Only Stop cancels: other clicks, tab changes and page changes rerun the script, but the job
  runs on outside it, and the page finds it again by its key.

This module draws nothing (services never draw: tests/test_architecture.py); the only Streamlit it uses is
`st.cache_resource`, for the one runner per server process.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Callable, Mapping, Sequence

import streamlit as st

from bertlens.jobs import Job, JobKey, Pace, ResultStore, Runner
from bertlens.model import LoadedModel
from bertlens.registry import Context, Method
from bertlens.settings import server

STORE_ENTRIES = 512
STORE_TTL = 3600.0
QUICK_SHARE = 0.5


def worker_count() -> int:
    """BERT_LENS_JOB_WORKERS, else as many workers as the cores hold whole torch thread pools: one on a default
    setup. On a GPU the device runs one stream at a time; on a CPU torch already spreads one job's passes over every
    core, and two jobs at once only contend for them. Concurrent quick passes of many sessions are batched
    instead."""
    import torch

    configured = server().job_workers
    if configured:
        return configured
    if torch.cuda.is_available() and os.environ.get("BERT_LENS_DEVICE", "auto") in ("auto", "cuda"):
        return 1
    return max(1, (os.cpu_count() or 1) // max(1, torch.get_num_threads()))


@st.cache_resource(show_spinner=False, max_entries=1)
def runner() -> Runner:
    """The server's runner, from the settings the frame already validated (`bertlens.settings.server`): finished
    runs and quick per-view results each get half of BERT_LENS_STORE_MB, so neither evicts the other."""
    s = server()
    return Runner(workers=worker_count(), max_queue=s.max_queue, session_queue=s.session_queue,
                  store=ResultStore(STORE_ENTRIES, s.store_mb * 2**20, STORE_TTL, quick_share=QUICK_SHARE))


def pace(lm: LoadedModel) -> Pace:
    """The model's measured pace (`bertlens.jobs.Pace.of`): timed once per model on first use, kept with it."""
    return Pace.of(lm)


def session_id() -> str:
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    return ctx.session_id if ctx is not None else "no-session"


def key_of(name: str, lm: LoadedModel, config: Any, inputs: Any) -> JobKey:
    """A result's key: (what, model, precision, config hash, input hashes)."""
    return JobKey.of(name, lm.key, lm.info.dtype, config, inputs)


def cached(name: str, lm: LoadedModel, config: Any, inputs: Any, compute: Callable[[], Any]) -> Any:
    """A quick result from the one store, computed once however many sessions ask at the same time."""
    return runner().store.get_or_compute(key_of(name, lm, config, inputs), compute)


@dataclass
class Request:
    """A registered method to run on `inputs` with a validated `config`; `label` names it on the page."""

    method: Method
    lm: LoadedModel
    inputs: Any
    config: Mapping[str, Any] = field(default_factory=dict)
    label: str = ""

    @cached_property
    def key(self) -> JobKey:
        return key_of(self.method.name, self.lm, dict(self.config), self.inputs)

    @property
    def title(self) -> str:
        return self.label or self.method.title

    def estimate(self) -> float:
        return pace(self.lm).seconds(self.method.estimate(self.lm, self.inputs, self.config))

    def work(self, context: Context) -> Any:
        import time

        cost = self.method.estimate(self.lm, self.inputs, self.config)
        started = time.perf_counter()
        value = self.method.run(self.lm, self.inputs, self.config, context)
        if getattr(value, "complete", True) and not context.stopped():
            pace(self.lm).observe(cost, time.perf_counter() - started)
        return value


def duration(seconds: float) -> str:
    if seconds < 1:
        return "under a second"
    if seconds < 90:
        return f"about {seconds:.0f} s"
    return f"about {seconds / 60:.0f} min"


def submit(requests: Sequence[Request]) -> list[Job]:
    r, session = runner(), session_id()
    return r.submit_many([(q.key, q.work, q.title, q.estimate()) for q in requests], session)
