"""A page with one job area over a toy method whose run waits on `GATE`, for test_job_area.py (AppTest runs the
script in the test's process, so the test holds the gate)."""
from __future__ import annotations

import threading
from types import SimpleNamespace
from typing import Any, Mapping

import streamlit as st

from bertlens.registry import Context, Cost, Method

GATE = threading.Event()
STARTED = threading.Event()
HEED_STOP = threading.Event()
HINT = "Press Count to count the words."
LM = SimpleNamespace(key="toy-model", info=SimpleNamespace(dtype="float32", parameters=1_000_000, device="cpu"))


class CountWords(Method):
    """Counts words once `GATE` opens; checks for a stop only while `HEED_STOP` is set (a method between checks)."""

    kind = "metric"
    name = "toy_count"
    title = "Word count"

    def estimate(self, lm: Any, inputs: Any, config: Mapping[str, Any]) -> Cost:
        return Cost(1.0, 8)

    def run(self, lm: Any, inputs: str, config: Mapping[str, Any], context: Context) -> int:
        STARTED.set()
        while not GATE.wait(0.01):
            if HEED_STOP.is_set():
                context.progress(0.5, 1.0, "counting")
        return len(inputs.split())


def page() -> None:
    from components.job_panel import Request, job_area

    text = st.text_input("Text", "one two three", key="text")
    done = job_area([Request(CountWords(), LM, text, {}, "Word count")], button="Count", key="count", hint=HINT)
    if done:
        st.metric("Words", done[0])
