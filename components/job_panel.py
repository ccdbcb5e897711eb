"""The page side of a job (`services.jobs`): its run button with the estimated time, its progress, its place in the
queue and Stop, and its results once every request has one.

Once the button is pressed, a fragment polls the job (`st.fragment(run_every=...)`). A result is shown only while
its key equals the key of the page's current inputs, so a new upload or an edited input never shows (or exports) a
result computed from other inputs. Drawing lives here, not in services/ (which never draws).
"""
from __future__ import annotations

from typing import Any, Sequence

import streamlit as st

from bertlens.jobs import DONE, FAILED, QUEUED, RUNNING, STOPPED, JobKey, QueueFull
from bertlens.text import md_escape
from services import jobs as service
from services.jobs import Request, duration  # noqa: F401  (Request: what a page hands to job_area)

POLL_SECONDS = 0.5
UNDER_WAY = ("The same run is already under way: started in another tab or session, or on this page before it was "
             "reloaded. Press the button to follow its progress; it will not start again.")


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
    r, session = service.runner(), service.session_id()
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
        r = service.runner()
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
        service.submit(requests)
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
        r, session = service.runner(), service.session_id()
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
