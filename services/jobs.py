"""The app's side of the one job runner and the one result store (`bertlens.jobs`).

- `runner()`: one `Runner` per server process (`st.cache_resource`), shared by every session: a bounded pool of
  workers (`worker_count`), a bounded queue, at most one running job per session.
- `cached(...)`: quick results (at most a forward pass or two) go through the same store, computed once for all
  sessions, inline.
- `Request` and `job_area(...)`: anything slower runs as a job. The page shows a run button with the estimated
  time; once pressed, a fragment polls the job (`st.fragment(run_every=...)`) and draws its progress, its place in
  the queue and a Stop button. Only Stop cancels: other clicks, tab changes and page changes rerun the script, but
  the job runs on outside it, and the page finds it again by its key.

A result is shown only while its key equals the key of the page's current inputs, so a new upload or an edited
input never shows (or exports) a result computed from other inputs.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Callable, Mapping, Sequence

import streamlit as st

from bertlens.jobs import DONE, FAILED, QUEUED, RUNNING, STOPPED, Job, JobKey, Pace, QueueFull, ResultStore, Runner
from bertlens.model import LoadedModel
from bertlens.registry import Context, Method
from bertlens.settings import server
from bertlens.text import md_escape

POLL_SECONDS = 0.5
UNDER_WAY = ("The same run is already under way: started in another tab or session, or on this page before it was "
             "reloaded. Press the button to follow its progress; it will not start again.")
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


@st.cache_resource(show_spinner=False, max_entries=4)
def _pace(model_key: str, parameters: int, device: str) -> Pace:
    return Pace(parameters, device)


def pace(lm: LoadedModel) -> Pace:
    return _pace(lm.key, lm.info.parameters, lm.info.device)


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
        cost = self.method.estimate(self.lm, self.inputs, self.config)
        return pace(self.lm).seconds(cost.passes, cost.tokens)

    def work(self, context: Context) -> Any:
        import time

        cost = self.method.estimate(self.lm, self.inputs, self.config)
        started = time.perf_counter()
        value = self.method.run(self.lm, self.inputs, self.config, context)
        if getattr(value, "complete", True) and not context.stopped():
            pace(self.lm).observe(cost.passes, cost.tokens, time.perf_counter() - started)
        return value


def duration(seconds: float) -> str:
    if seconds < 1:
        return "under a second"
    if seconds < 90:
        return f"about {seconds:.0f} s"
    return f"about {seconds / 60:.0f} min"


def submit(requests: Sequence[Request]) -> list[Job]:
    r, session = runner(), session_id()
    return [r.submit(q.key, q.work, session, q.title, q.estimate()) for q in requests]


def job_area(requests: Sequence[Request], *, button: str, key: str, help: str | None = None,
             hint: str | None = None, hint_area: Any = None) -> list[Any] | None:
    """The run button (for what is neither stored nor running for this session), the running jobs' panel, or the
    results (in the order of `requests`) once every request has one.

    `hint` (plain text) says what the button does; it shows in `hint_area` (a container; the page by default) only
    while the button waits to be pressed, never beside a running job or a stop notice.

    When the same run is already under way for other sessions (another tab, or this page before a reload), the
    button offers to follow it, with its progress, instead of an estimate: pressing joins that run.

    A job of this session that failed or was stopped says so here; when a stopped job left a partial result
    (its `complete` is False), the results are returned with it in its place."""
    r, session = runner(), session_id()
    results = [r.result(q.key) for q in requests]
    if all(v is not None for v in results):
        return results
    jobs = [r.job(q.key) for q in requests]
    watching = [j is not None and session in j.sessions for j in jobs]
    asked = [j is not None and session in j.asked for j in jobs]
    running = [q for q, v, j, w in zip(requests, results, jobs, watching) if v is None and w and j.active]
    for job, a in zip(jobs, asked):
        if a and job.status == FAILED and job.error:
            st.error(md_escape(job.error), icon=":material/error:")
    stopped = [a and not w and (j.status == STOPPED or j.active) for j, a, w in zip(jobs, asked, watching)]
    stopping = [q for q, j, a in zip(requests, jobs, asked) if a and j.active and j.stop_asked.is_set()]
    waiting = [q for q, v in zip(requests, results) if v is None and q not in running and q not in stopping]
    elsewhere = [j for q, j, a in zip(requests, jobs, asked)
                 if q in waiting and not a and j is not None and j.active and not j.stop_asked.is_set()]
    area = hint_area if hint_area is not None else st
    if waiting and len(elsewhere) == len(waiting):
        _follow(waiting, key)
        area.info(md_escape(UNDER_WAY))
        return None
    if waiting:
        label = f"{button} ({duration(sum(q.estimate() for q in waiting))})"
        if st.button(md_escape(label), key=key, type="primary", help=md_escape(help) if help else None):
            _submit_and_rerun(waiting)
            return None
    if running:
        _panel(tuple(q.key for q in running), key)
        return None
    if stopping:
        _panel(tuple(q.key for q in stopping), key, stopping=True)
        return None
    if hint and not any(stopped):
        area.info(md_escape(hint))
    if any(stopped):
        st.caption(":material/stop_circle: Stopped. Press the button to run it again.")
        filled = [v if v is not None else (j.partial if was and j.status == STOPPED else None)
                  for v, j, was in zip(results, jobs, stopped)]
        if all(v is not None for v in filled):
            return filled
    return None


def _follow(requests: Sequence[Request], widget_key: str) -> None:
    """The offer to follow runs under way for other sessions, its progress kept current; when they end, or everyone
    who asked stops them, the whole page reruns to show what they left (or the run button again)."""
    keys = tuple(q.key for q in requests)

    @st.fragment(run_every=POLL_SECONDS * 2)
    def offer() -> None:
        r = runner()
        jobs = [r.job(k) for k in keys]
        if any(j is None or not j.active or j.stop_asked.is_set() for j in jobs):
            st.rerun(scope="app")
        share = sum(j.fraction for j in jobs) / len(jobs)
        if st.button(md_escape(f"Follow the run already under way ({share:.0%})"), key=widget_key, type="primary"):
            _submit_and_rerun(requests)

    offer()


def _submit_and_rerun(requests: Sequence[Request]) -> None:
    """Ask for `requests` for this session (joining any run of the same key) and rerun the whole page, which then
    shows their panel; a full queue is said here instead."""
    try:
        submit(requests)
    except QueueFull as exc:
        st.warning(md_escape(str(exc)), icon=":material/hourglass_top:")
        return
    st.rerun(scope="app")


def _panel(keys: tuple[JobKey, ...], widget_key: str, stopping: bool = False) -> None:
    """Progress, queue place and Stop, polled until every job ends; then the whole page reruns to show the results.
    While `stopping` (Stop was pressed and the job has not yet reached its next check) it says so, without a Stop
    button, and still polls, so a partial result appears as soon as the job hands it over."""
    @st.fragment(run_every=POLL_SECONDS)
    def panel() -> None:
        r, session = runner(), session_id()
        jobs = [r.job(k) for k in keys]
        if all(j is None or not j.active for j in jobs):
            st.rerun(scope="app")
        if stopping:
            st.caption(":material/hourglass_top: Stopping: the run ends at its next check.")
            return
        for job in jobs:
            if job is None:
                continue
            if job.status == QUEUED:
                place = r.position(job)
                st.progress(0.0, text=f"{md_escape(job.title)}: waiting for the server, number {place} in the queue")
            elif job.status == RUNNING:
                detail = f" · {job.message}" if job.message else ""
                st.progress(job.fraction, text=f"{md_escape(job.title)}: {job.fraction:.0%}{md_escape(detail)} · {job.elapsed:.0f} s")
            elif job.status == DONE:
                st.progress(1.0, text=f"{md_escape(job.title)}: done")
        others = max((len(j.sessions) for j in jobs if j is not None), default=1) - 1
        if others > 0:
            st.caption(f"{others} other session{'s' if others > 1 else ''} asked for the same run; it runs once "
                       "for all.")
        if st.button("Stop", key=f"{widget_key}_stop", icon=":material/stop_circle:"):
            for k in keys:
                r.stop(k, session)
            st.rerun(scope="app")

    panel()
