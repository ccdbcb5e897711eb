"""The one job runner and the one result store (`bertlens.jobs`), without a browser: who shares a run, who can stop
it, what a stop keeps, what the queue and the store refuse to grow past. The browser side is test_jobs_browser.py.

Jobs here are plain functions held on events, so each test decides when a job may finish."""
from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
import pytest

from bertlens.errors import InputError
from bertlens.jobs import (DONE, FAILED, QUEUED, RUNNING, STOPPED, JobKey, QueueFull, ResultStore, Runner, digest)
from bertlens.registry import Context, get

TIMEOUT = 60


def key(n: object = 0) -> JobKey:
    return JobKey.of("toy", "model", "float32", {"n": n}, ["input", n])


class Gate:
    """A job body that reports it started, then waits to be let through (polling `stopped()`), and counts runs."""

    def __init__(self, value: object = "result") -> None:
        self.value, self.runs = value, 0
        self.started, self.release = threading.Event(), threading.Event()

    def __call__(self, context: Context) -> object:
        self.runs += 1
        self.started.set()
        while not self.release.wait(0.01):
            context.progress(0.5, 1.0, "halfway")
        return self.value


def wait_for(condition, timeout: float = TIMEOUT) -> None:
    done = threading.Event()
    deadline = threading.Timer(timeout, done.set)
    deadline.start()
    try:
        while not condition():
            if done.wait(0.01):
                raise AssertionError("condition not met in time")
    finally:
        deadline.cancel()


def test_two_sessions_asking_for_one_key_share_one_run():
    runner, gate = Runner(workers=2), Gate()
    first = runner.submit(key(), gate, "alice")
    second = runner.submit(key(), gate, "bob")
    assert first is second and first.sessions == {"alice", "bob"}
    gate.release.set()
    assert runner.wait(first, TIMEOUT)
    assert first.status == DONE and runner.result(key()) == "result"
    assert gate.runs == 1 and runner.runs == 1


def test_a_stored_key_is_answered_without_running():
    runner, gate = Runner(), Gate()
    runner.store.put(key(), "kept")
    job = runner.submit(key(), gate, "alice")
    assert job.status == DONE and runner.result(key()) == "kept" and gate.runs == 0


def test_stop_by_one_of_two_sessions_leaves_the_run_to_the_other():
    runner, gate = Runner(), Gate()
    job = runner.submit(key(), gate, "alice")
    runner.submit(key(), gate, "bob")
    assert gate.started.wait(TIMEOUT)
    runner.stop(key(), "alice")
    assert job.status == RUNNING and not job.stop_asked.is_set()
    assert job.sessions == {"bob"} and job.asked == {"alice", "bob"}
    gate.release.set()
    assert runner.wait(job, TIMEOUT) and job.status == DONE and runner.result(key()) == "result"


def test_stop_by_the_last_session_stops_a_running_job_and_stores_nothing():
    runner, gate = Runner(), Gate()
    job = runner.submit(key(), gate, "alice")
    assert gate.started.wait(TIMEOUT)
    runner.stop(key(), "alice")
    assert runner.wait(job, TIMEOUT)
    assert job.status == STOPPED and runner.result(key()) is None and job.partial is None
    assert "alice" in job.asked and not job.sessions


def test_asking_again_while_a_run_is_stopping_starts_a_fresh_run():
    """A run that everyone stopped only ends at its next check; whoever asks for the key meanwhile must not join
    the dying run (and be handed a stop they never asked for)."""
    runner, dying, fresh = Runner(workers=1), Gate(), Gate("fresh result")

    def between_checks(context: Context) -> object:
        dying.started.set()
        dying.release.wait(TIMEOUT)
        return "partial"

    old = runner.submit(key(), between_checks, "alice")
    assert dying.started.wait(TIMEOUT)
    runner.stop(key(), "alice")
    new = runner.submit(key(), fresh, "bob")
    assert new is not old and runner.job(key()) is new
    dying.release.set()
    assert runner.wait(old, TIMEOUT) and old.status == STOPPED
    fresh.release.set()
    assert runner.wait(new, TIMEOUT) and new.status == DONE and runner.result(key()) == "fresh result"


def test_stop_of_a_queued_job_takes_it_out_of_the_queue_unrun():
    runner, busy, waiting = Runner(workers=1), Gate(), Gate()
    runner.submit(key(1), busy, "alice")
    assert busy.started.wait(TIMEOUT)
    queued = runner.submit(key(2), waiting, "bob")
    assert queued.status == QUEUED and runner.position(queued) == 1
    runner.stop(key(2), "bob")
    assert queued.status == STOPPED and runner.queued() == 0
    busy.release.set()
    wait_for(runner.idle)
    assert waiting.runs == 0


def test_a_session_runs_one_job_at_a_time_others_go_first():
    runner = Runner(workers=2)
    first, second, other = Gate(), Gate(), Gate()
    runner.submit(key(1), first, "alice")
    assert first.started.wait(TIMEOUT)
    later = runner.submit(key(2), second, "alice")
    elsewhere = runner.submit(key(3), other, "bob")
    assert other.started.wait(TIMEOUT), "another session's job takes the free worker"
    assert later.status == QUEUED and second.runs == 0
    first.release.set()
    assert second.started.wait(TIMEOUT)
    second.release.set()
    other.release.set()
    assert runner.wait(later, TIMEOUT) and runner.wait(elsewhere, TIMEOUT)


def test_the_queue_is_bounded():
    runner, busy = Runner(workers=1, max_queue=2), Gate()
    runner.submit(key(0), busy, "s0")
    assert busy.started.wait(TIMEOUT)
    runner.submit(key(1), Gate(), "s1")
    runner.submit(key(2), Gate(), "s2")
    with pytest.raises(QueueFull, match="2 runs are waiting"):
        runner.submit(key(3), Gate(), "s3")
    runner.submit(key(1), Gate(), "s4")  # joining a queued run adds nothing to the queue
    for k in (1, 2):
        runner.stop(key(k), f"s{k}")
    runner.stop(key(1), "s4")
    busy.release.set()
    wait_for(runner.idle)


def test_one_session_cannot_hold_the_whole_queue():
    """Issue 28, broken 3 (bertlens/jobs.py:301-302): with room for six runs, one session may queue only its share
    (`session_queue`); another session's single run is still taken."""
    runner, busy = Runner(workers=1, max_queue=6, session_queue=2), Gate()
    runner.submit(key("busy"), busy, "a")
    assert busy.started.wait(TIMEOUT)
    runner.submit(key("a1"), Gate(), "a")
    runner.submit(key("a2"), Gate(), "a")
    with pytest.raises(QueueFull, match="You already have 2 runs waiting"):
        runner.submit(key("a3"), Gate(), "a")
    other = runner.submit(key("b1"), Gate(), "b")
    assert other.status == QUEUED
    for k in ("a1", "a2", "b1"):
        runner.stop(key(k), "a" if k != "b1" else "b")
    busy.release.set()
    wait_for(runner.idle)


def test_one_press_that_asks_for_more_runs_than_the_cap_is_taken_whole():
    """The cap counts what a session has waiting before a press: the two-model tab asks for six metric runs at one
    press, and a cap of 2 must not refuse it half-way; the next press, with runs still waiting, is refused."""
    runner, busy = Runner(workers=1, max_queue=20, session_queue=2), Gate()
    runner.submit(key("busy"), busy, "a")
    assert busy.started.wait(TIMEOUT)
    jobs = runner.submit_many([(key(f"m{i}"), Gate(), f"m{i}", 0.0) for i in range(6)], "a")
    assert [j.status for j in jobs] == [QUEUED] * 6
    with pytest.raises(QueueFull, match="You already have 6 runs waiting"):
        runner.submit_many([(key("more"), Gate(), "more", 0.0)], "a")
    for i in range(6):
        runner.stop(key(f"m{i}"), "a")
    busy.release.set()
    wait_for(runner.idle)


def test_sessions_are_served_round_robin_not_first_in_first_out():
    """Issue 28, broken 3 (bertlens/jobs.py:380-383): a session with many runs waiting delays another session's
    single run, queued after them, by at most one run."""
    runner, busy = Runner(workers=1, max_queue=20), Gate()
    started: list[str] = []
    runner.submit(key("busy"), busy, "heavy")
    assert busy.started.wait(TIMEOUT)

    def job(name: str):
        def work(context: Context) -> str:
            started.append(name)
            return name
        return work

    heavy = [runner.submit(key(f"h{i}"), job(f"h{i}"), "heavy") for i in range(5)]
    light = runner.submit(key("light"), job("light"), "light")
    assert runner.position(light) == 1, "the session served longest ago (never) goes first"
    busy.release.set()
    wait_for(runner.idle)
    assert started.index("light") == 0 and all(j.status == DONE for j in [*heavy, light])


def test_a_session_that_stopped_a_shared_run_is_not_held_by_it():
    """Issue 28, weak 3 (bertlens/jobs.py:327,382,395): alice started a run bob also asked for, then pressed Stop;
    the run goes on for bob, and alice's next run takes the free worker at once instead of waiting for it."""
    runner, shared, mine = Runner(workers=2), Gate(), Gate()
    job = runner.submit(key("shared"), shared, "alice")
    runner.submit(key("shared"), shared, "bob")
    assert shared.started.wait(TIMEOUT)
    runner.stop(key("shared"), "alice")
    nxt = runner.submit(key("mine"), mine, "alice")
    assert mine.started.wait(TIMEOUT), "alice's run waited for the run she stopped"
    assert job.status == RUNNING and nxt.status == RUNNING
    shared.release.set()
    mine.release.set()
    wait_for(runner.idle)


def test_quick_results_cannot_evict_a_finished_run():
    """Issue 28, weak 4 (bertlens/jobs.py:158-170): many quick per-view results fill only their own budget; a
    finished run's result stays."""
    store = ResultStore(max_entries=1000, max_bytes=10 * 2**20, quick_share=0.5)
    assert store.put("crows", np.zeros(3 * 2**20 // 8))
    for n in range(20):
        store.get_or_compute(("attention", n), lambda: np.zeros(2**20 // 8))
        assert store.kind_bytes("quick") <= store.budget("quick")
    assert "crows" in store and store.bytes <= 10 * 2**20
    for n in range(5):
        store.put(("run", n), np.zeros(2**20 // 8))
    assert ("attention", 19) in store, "runs evict runs, not the quick views"


def test_a_result_larger_than_the_store_says_so_instead_of_vanishing():
    """Issue 28, broken 2 (bertlens/jobs.py:165): a result the store cannot keep fails with a message naming
    BERT_LENS_STORE_MB, not a silent empty page."""
    runner = Runner(store=ResultStore(max_bytes=2**20))
    job = runner.submit(key("big"), lambda context: np.zeros(2 * 2**20 // 8), "alice")
    assert runner.wait(job, TIMEOUT)
    assert job.status == FAILED and "BERT_LENS_STORE_MB" in job.error


@pytest.mark.parametrize("error, shown", [
    (InputError("The text has no [MASK]."), "The text has no [MASK]."),
    (RuntimeError("/srv/secret/path exploded"), "The run failed (RuntimeError). The server's log has the details."),
])
def test_a_failed_job_says_why_in_words_and_stores_nothing(error, shown):
    runner = Runner()

    def fail(context: Context) -> None:
        raise error

    job = runner.submit(key(), fail, "alice")
    assert runner.wait(job, TIMEOUT)
    assert job.status == FAILED and job.error == shown and runner.result(key()) is None
    again = runner.submit(key(), lambda context: "fixed", "alice")
    assert runner.wait(again, TIMEOUT) and again.status == DONE, "a failed key can be run again"


def test_crows_stopped_mid_run_keeps_the_pairs_it_scored(lm):
    """A stop during CrowS-Pairs ends the run before its next batch and returns what was scored, marked incomplete;
    nothing incomplete goes into the store."""
    from devtools.crows_synthetic import synthetic_pairs

    pairs = tuple(synthetic_pairs(40))
    method = get("metric", "crows")
    config = method.spec.validate()
    runner, reported = Runner(), threading.Event()

    def work(context: Context):
        class Watching(Context):
            def progress(self, done: float, total: float, message: str = "") -> None:
                reported.set()
                runner.stop(job_key, "alice")
                context.progress(done, total, message)

            def stopped(self) -> bool:
                return context.stopped()

        return method.run(lm, pairs, config, Watching())

    job_key = JobKey.of("crows", lm.key, lm.info.dtype, config, pairs)
    job = runner.submit(job_key, work, "alice")
    assert runner.wait(job, TIMEOUT) and reported.is_set()
    assert job.status == STOPPED and runner.result(job_key) is None
    partial = job.partial
    assert partial is not None and partial.complete is False
    assert 0 < partial.n < len(pairs)
    assert [d.label for d in partial.decisions] == [p.sent_more for p in pairs[:partial.n]]


def test_store_drops_the_least_recently_used_past_its_entry_bound():
    store = ResultStore(max_entries=2, max_bytes=2**30)
    store.put("a", 1)
    store.put("b", 2)
    assert store.get("a") == 1  # "a" is now the most recently used
    store.put("c", 3)
    assert "b" not in store and store.get("a") == 1 and store.get("c") == 3 and len(store) == 2


def test_store_stays_within_its_byte_bound_and_refuses_what_cannot_fit():
    store = ResultStore(max_entries=1000, max_bytes=10 * 2**20)
    for n in range(50):
        store.put(n, np.zeros(2**20 // 8))
        assert store.bytes <= 10 * 2**20
    assert len(store) < 10 and 49 in store
    store.put("huge", np.zeros(11 * 2**20 // 8))
    assert "huge" not in store and store.bytes <= 10 * 2**20


def test_store_forgets_after_its_time_to_live():
    now = [0.0]
    store = ResultStore(ttl=60, clock=lambda: now[0])
    store.put("a", "value")
    now[0] = 59.0
    assert store.get("a") == "value"
    now[0] = 121.0
    assert store.get("a") is None and len(store) == 0 and store.bytes == 0


def test_get_or_compute_runs_once_for_threads_asking_together():
    store, calls, gate = ResultStore(), [], threading.Event()

    def compute() -> str:
        calls.append(1)
        gate.wait(TIMEOUT)
        return "value"

    results: list[str] = []
    threads = [threading.Thread(target=lambda: results.append(store.get_or_compute("k", compute)))
               for _ in range(8)]
    for t in threads:
        t.start()
    wait_for(lambda: calls)
    gate.set()
    for t in threads:
        t.join(TIMEOUT)
    assert results == ["value"] * 8 and len(calls) == 1


@dataclass(frozen=True)
class Pair:
    more: str
    less: str


def test_keys_follow_values_not_their_order_or_identity():
    assert digest({"a": 1, "b": [1, 2]}) == digest({"b": [1, 2], "a": 1})
    assert digest((Pair("x", "y"),)) == digest([Pair("x", "y")])
    assert digest(Pair("x", "y")) != digest(Pair("y", "x"))
    assert digest("1") != digest(1) != digest(1.5)
    assert digest(b"ab") != digest("ab")
    assert JobKey.of("crows", "m", "float32", {}, "file one") != JobKey.of("crows", "m", "float32", {}, "file two")
    assert JobKey.of("crows", "m", "float32", {}, "x") != JobKey.of("crows", "m", "bfloat16", {}, "x")
    with pytest.raises(TypeError):
        digest(object())
