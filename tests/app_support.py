"""Driving pages whose slow work runs as jobs (services.jobs) through AppTest.

AppTest runs the scripts in this process, so the server-wide runner is this process's `services.jobs.runner()`.
A fragment's timer does not fire under AppTest; `finish_jobs` waits for the runner to go idle, then reruns the
page the way the fragment's poll would.
"""
from __future__ import annotations

import time

from streamlit.testing.v1 import AppTest


def job_runner():
    from services.jobs import runner

    return runner()


def finish_jobs(at: AppTest, timeout: float = 240.0) -> AppTest:
    """Wait until no job is queued or running, then rerun the page."""
    deadline = time.monotonic() + timeout
    while not job_runner().idle():
        if time.monotonic() > deadline:
            raise AssertionError("jobs still running after the timeout")
        time.sleep(0.05)
    at.run()
    assert not at.exception, at.exception
    return at


def press_and_finish(at: AppTest, key: str, timeout: float = 240.0) -> AppTest:
    """Click the run button `key`, let its jobs finish and show the results. The store is shared by every
    session of the process (as on a server), so when another test already ran the same job there is no button:
    the result is already on the page."""
    if key in [b.key for b in at.button]:
        at.button(key=key).click().run()
        assert not at.exception, at.exception
    return finish_jobs(at, timeout)
