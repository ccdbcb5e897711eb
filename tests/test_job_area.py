"""The page side of a job (`components.job_panel.job_area`), under AppTest: the hint shows only while the run button waits,
a running job shows its progress and Stop instead, Stop says so, and a result shows only for the inputs it was
computed from."""
from __future__ import annotations

import re

import pytest
from streamlit.testing.v1 import AppTest

import job_area_toy as toy
import components.job_panel
import services.jobs
from bertlens.text import md_escape
from app_support import finish_jobs, job_runner

SCRIPT = "import job_area_toy\njob_area_toy.page()\n"


HINT = md_escape(toy.HINT)


def infos(at: AppTest) -> list[str]:
    return [i.value for i in at.info]


@pytest.fixture
def at():
    toy.GATE.clear()
    toy.STARTED.clear()
    toy.HEED_STOP.set()
    at = AppTest.from_string(SCRIPT, default_timeout=60)
    at.run()
    yield at
    toy.GATE.set()


def test_the_hint_waits_with_the_button_and_leaves_while_the_job_runs(at):
    assert infos(at) == [HINT] and at.button(key="count")
    at.button(key="count").click().run()
    assert toy.STARTED.wait(30)
    at.run()
    assert HINT not in infos(at), "a running job is no time to ask for the button"
    assert "count" not in [b.key for b in at.button] and "count_stop" in [b.key for b in at.button]
    toy.GATE.set()
    finish_jobs(at)
    assert [m.value for m in at.metric] == ["3"] and infos(at) == []


def test_stop_says_stopped_and_offers_the_button_without_the_hint(at):
    at.button(key="count").click().run()
    assert toy.STARTED.wait(30)
    at.run()
    at.button(key="count_stop").click().run()
    finish_jobs(at)
    assert any("Stopped" in c.value for c in at.caption)
    assert at.button(key="count") and HINT not in infos(at) and not at.metric


def test_a_job_between_checks_shows_stopping_until_it_ends(at):
    """Stop is asked, but the job reaches its next check later: the page says it is stopping and keeps polling
    (so what the job hands over shows when it ends), and offers neither Stop nor the run button meanwhile."""
    toy.HEED_STOP.clear()
    at.button(key="count").click().run()
    assert toy.STARTED.wait(30)
    at.run()
    at.button(key="count_stop").click().run()
    assert any("Stopping" in c.value for c in at.caption)
    assert not {"count", "count_stop"} & {b.key for b in at.button}
    toy.GATE.set()
    finish_jobs(at)
    assert any("Stopped" in c.value for c in at.caption) and at.button(key="count")


def test_a_result_shows_only_for_its_own_inputs(at):
    toy.GATE.set()
    at.button(key="count").click().run()
    finish_jobs(at)
    assert [m.value for m in at.metric] == ["3"]
    at.text_input(key="text").set_value("just two").run()
    assert not at.metric and infos(at) == [HINT], "the old count must not stay beside new text"
    at.text_input(key="text").set_value("one two three").run()
    assert [m.value for m in at.metric] == ["3"], "back to the first text, its stored result returns"
    assert job_runner().runs >= 1


def start_in_another_tab(monkeypatch, stop: bool = False) -> AppTest:
    """The toy run started (and, with `stop`, stopped) by another session. AppTest gives every app one session id,
    so the other session's is set by hand while it clicks."""
    other = AppTest.from_string(SCRIPT, default_timeout=60)
    with monkeypatch.context() as patch:
        patch.setattr(services.jobs, "session_id", lambda: "another tab")
        other.run()
        other.button(key="count").click().run()
        assert toy.STARTED.wait(30)
        if stop:
            other.run()
            other.button(key="count_stop").click().run()
    return other


def test_a_run_under_way_elsewhere_is_offered_to_follow_not_to_start_again(at, monkeypatch):
    """Another session (another tab, or this page before a reload) started the same run: this one is offered to
    follow it, with its progress, and following it joins the one run."""
    other = start_in_another_tab(monkeypatch)
    at.run()
    label = at.button(key="count").label.replace("\\", "")
    assert re.fullmatch(r"Follow the run already under way \(\d+%\)", label), label
    assert [md_escape(components.job_panel.UNDER_WAY)] == infos(at)
    runs = job_runner().runs
    at.button(key="count").click().run()
    assert "count_stop" in [b.key for b in at.button], "following shows the run's progress and Stop"
    toy.GATE.set()
    finish_jobs(at)
    finish_jobs(other)
    assert [m.value for m in at.metric] == ["3"] == [m.value for m in other.metric]
    assert job_runner().runs == runs + 1, "following must not start a second run"


def test_a_run_everyone_stopped_is_not_offered_to_follow(at, monkeypatch):
    """The other session stopped its run, which has not reached its next check yet: there is nothing to follow,
    so this session gets the plain run button."""
    toy.HEED_STOP.clear()
    start_in_another_tab(monkeypatch, stop=True)
    at.run()
    label = at.button(key="count").label.replace("\\", "")
    assert label.startswith("Count ("), label
    assert infos(at) == [HINT]
