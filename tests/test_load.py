"""Many users at once, and caches that cannot grow without limit.

`test_eight_sessions_at_once` starts the real server and drives 8 sessions at the same time, each a websocket
client speaking Streamlit's protocol as a browser tab does (the browser itself is tested in test_e2e_browser.py):
half run fill-mask, half run the gender-bias probe, each with its own inputs, for a fixed number of rounds. Every session
must show the result the core computes for *its* input, with no error, and the server's resident memory
(children included) must grow less than 300 MB over the idle app: the model stays one copy. The figures are
written to test-artifacts/load.json, with the README's bound (the idle app with the model + BERT_LENS_STORE_MB +
100 MB per session), which the 300 MB limit keeps well inside; scripts/load_measure.py checks that bound and the
queue's fairness with 20 browser sessions on the full-size model.

`test_result_caches_are_bounded` feeds 1,000 distinct inputs to the app's cached functions and checks that the
caches never hold more than `max_entries`; a source scan checks that every cache in the app declares its bounds.
"""
from __future__ import annotations

import ast
import gc
import json
import os
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import psutil
import pytest

from bertlens import bias
from bertlens.fill_mask import Filters, fill_mask
from bertlens.settings import server
from app_support import job_runner
from browser_support import ARTIFACTS, ROOT, app_pages, running_app

SESSIONS = 8
FILL_MASK_ROUNDS = 3
BIAS_ROUNDS = 2
RSS_LIMIT = 300 * 2**20
PER_SESSION_MB = 100  # the README's bound: the store plus the model plus this much per session
SESSION_TIMEOUT_S = 150
RUN_TIMEOUT_S = 90
JOB_POLL_S = 0.5  # the probe runs as a job: a session reruns the page, as the browser's polling fragment would
MESSAGE_TIMEOUT_S = 90
WORDS = ["red", "old", "quiet", "tall", "happy", "young", "small", "famous", "new", "cold", "big", "sad"]
URL_PATHS = {page.name: page.url_path for page in app_pages()}


def fill_mask_inputs(session: int) -> list[str]:
    return [f"The {WORDS[(session + r) % len(WORDS)]} [MASK] sat near the {WORDS[(session * 3 + r) % len(WORDS)]} "
            f"door number {session * 10 + r}." for r in range(FILL_MASK_ROUNDS)]


def bias_inputs(session: int) -> list[tuple[str, ...]]:
    templates = bias.load_templates()
    return [tuple(templates[(session + r * 3 + i) % len(templates)] for i in range(2 + r)) for r in range(BIAS_ROUNDS)]


@dataclass
class SessionLog:
    session: int
    page: str
    runs: int = 0
    messages_sent: int = 0
    messages_received: int = 0
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0


class RssSampler:
    """Peak resident memory of the server and its children, sampled in the background; `series` keeps every
    sample as (time.monotonic(), bytes), so a peak can be placed among the steps that led to it."""

    def __init__(self, server, every: float = 0.25) -> None:
        self.server, self.every = server, every
        self.peak = server.rss()
        self.series: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            try:
                rss = self.server.rss()
            except psutil.Error:
                return
            self.series.append((time.monotonic(), rss))
            self.peak = max(self.peak, rss)

    def __enter__(self) -> "RssSampler":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


# --- one session: a websocket client speaking Streamlit's own protocol, as the browser does ---------------------

class Session:
    """A Streamlit session over /_stcore/stream: rerun a page with widget values, read back the elements."""

    def __init__(self, app, log: SessionLog) -> None:
        import websocket

        self.log = log
        self.socket = websocket.create_connection(app.url.replace("http", "ws", 1) + "/_stcore/stream",
                                                  timeout=MESSAGE_TIMEOUT_S)
        self.pages: dict[str, str] = {}
        self.elements = self.rerun("")

    def rerun(self, page_hash: str, widgets: dict[str, object] | None = None) -> list:
        """Run `page_hash` with `widgets` (id -> value); return the new elements once the script finishes."""
        from streamlit.proto.BackMsg_pb2 import BackMsg
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        message = BackMsg()
        message.rerun_script.page_script_hash = page_hash
        for widget_id, value in (widgets or {}).items():
            state = message.rerun_script.widget_states.widgets.add()
            state.id = widget_id
            if value is True:
                state.trigger_value = True
            else:
                state.string_value = str(value)
        self.socket.send_binary(message.SerializeToString())
        self.log.messages_sent += 1
        elements, deadline = [], time.monotonic() + RUN_TIMEOUT_S
        while time.monotonic() < deadline:
            forward = ForwardMsg()
            forward.ParseFromString(self.socket.recv())
            self.log.messages_received += 1
            kind = forward.WhichOneof("type")
            if kind == "navigation":
                self.pages = {p.url_pathname: p.page_script_hash for p in forward.navigation.app_pages}
            elif kind == "delta" and forward.delta.WhichOneof("type") == "new_element":
                elements.append(forward.delta.new_element)
            elif kind == "script_finished":
                self._check(elements)
                return elements
        raise TimeoutError(f"no script_finished within {RUN_TIMEOUT_S}s")

    def _check(self, elements: list) -> None:
        for element in elements:
            kind = element.WhichOneof("type")
            if kind == "exception":
                self.log.errors.append(f"exception on the page: {element.exception.message[:200]}")
            elif kind == "alert" and element.alert.format == 1:
                self.log.errors.append(f"error shown: {element.alert.body[:200]}")

    def widget_id(self, elements: list, key: str) -> str:
        for element in elements:
            widget = getattr(element, element.WhichOneof("type") or "", None)
            if getattr(widget, "id", "").endswith(f"-{key}"):
                return widget.id
        raise LookupError(f"no widget with key {key!r}")

    def close(self) -> None:
        self.socket.close()


def fill_mask_session(app, log: SessionLog, expected: list[tuple[str, str]]) -> None:
    session = Session(app, log)
    try:
        page = session.pages[URL_PATHS["fill_mask"]]
        text_id = session.widget_id(session.rerun(page), "fm_text")
        for text, completed in expected:
            shown = [e.code.code_text for e in session.rerun(page, {text_id: text}) if e.WhichOneof("type") == "code"]
            if completed not in shown:
                log.errors.append(f"wrong result for {text!r}: expected {completed!r}, shown {shown}")
            log.runs += 1
    finally:
        session.close()


def bias_session(app, log: SessionLog, expected: list[tuple[tuple[str, ...], dict]]) -> None:
    session = Session(app, log)
    try:
        page = session.pages[URL_PATHS["bias_probe"]]
        first = session.rerun(page)
        templates_id, run_id = session.widget_id(first, "bias_templates"), session.widget_id(first, "bias_run")
        for templates, want in expected:
            widgets = {templates_id: "\n".join(templates)}
            elements = session.rerun(page, {**widgets, run_id: True})
            deadline = time.monotonic() + RUN_TIMEOUT_S
            while not probe_order(elements) and time.monotonic() < deadline:
                time.sleep(JOB_POLL_S)
                elements = session.rerun(page, widgets)
            metrics = {e.metric.label: e.metric.body for e in elements if e.WhichOneof("type") == "metric"}
            order = probe_order(elements)
            got = {"templates": metrics.get("Templates"),
                   "lowest": order and order[0].replace(" †", ""), "highest": order and order[-1].replace(" †", "")}
            if got != {"templates": str(len(templates)), **want}:
                log.errors.append(f"wrong probe result for {templates}: expected {want}, shown {got}")
            log.runs += 1
    finally:
        session.close()


def probe_order(elements: list) -> list[str] | None:
    """The occupations of the probe's chart, bottom to top (lowest to highest log-ratio)."""
    for element in elements:
        if element.WhichOneof("type") == "plotly_chart":
            for trace in json.loads(element.plotly_chart.spec)["data"]:
                if "error_x" in trace:
                    return [label.replace(" †", "") for label in trace["y"]]
    return None


def _drive(log: SessionLog, job) -> None:
    started = time.monotonic()
    try:
        job()
    except Exception as exc:  # a timeout or a broken connection: recorded for this session, the others go on
        log.errors.append(f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
    finally:
        log.seconds = round(time.monotonic() - started, 1)


def run_sessions(jobs: list[tuple[SessionLog, object]]) -> None:
    threads = [threading.Thread(target=_drive, args=job, daemon=True) for job in jobs]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + SESSION_TIMEOUT_S
    for thread in threads:
        thread.join(timeout=max(0.0, deadline - time.monotonic()))
    stuck = [log.session for (log, _), thread in zip(jobs, threads) if thread.is_alive()]
    assert not stuck, f"sessions {stuck} did not finish within {SESSION_TIMEOUT_S}s"


@pytest.mark.load
def test_eight_sessions_at_once(tiny_model_dir, lm):
    expected_fill = {s: [(t, fill_mask(lm, t, top_k=10, filters=Filters()).completed) for t in fill_mask_inputs(s)]
                     for s in range(0, SESSIONS, 2)}
    expected_bias = {}
    for s in range(1, SESSIONS, 2):
        expected_bias[s] = []
        for templates in bias_inputs(s):
            result = bias.run_probe(lm, bias.default_config(templates=templates))
            order = sorted(result.occupations, key=lambda o: o.log_ratio)
            expected_bias[s].append((templates, {"lowest": order[0].occupation, "highest": order[-1].occupation}))

    with running_app(tiny_model_dir, log_dir=ARTIFACTS) as app:
        # Warm up with one session on each page, so the baseline is the idle app with the model loaded.
        warm_fill, warm_bias = SessionLog(-1, "fill_mask"), SessionLog(-2, "bias_probe")
        run_sessions([(warm_fill, lambda: fill_mask_session(app, warm_fill, expected_fill[0][:1])),
                      (warm_bias, lambda: bias_session(app, warm_bias, expected_bias[1][:1]))])
        assert not (warm_fill.errors or warm_bias.errors), warm_fill.errors + warm_bias.errors
        app.wait_idle(timeout=30)
        baseline = app.rss()

        jobs = []
        for s in range(SESSIONS):
            if s % 2 == 0:
                log = SessionLog(s, "fill_mask")
                jobs.append((log, lambda s=s, log=log: fill_mask_session(app, log, expected_fill[s])))
            else:
                log = SessionLog(s, "bias_probe")
                jobs.append((log, lambda s=s, log=log: bias_session(app, log, expected_bias[s])))
        started = time.monotonic()
        with RssSampler(app) as sampler:
            run_sessions(jobs)
            seconds = time.monotonic() - started
            app.wait_idle(timeout=30)
            after = app.rss()
        alive = app.process.poll() is None

    logs = [log for log, _ in jobs]
    figures = {
        "sessions": len(logs),
        "runs": sum(log.runs for log in logs),
        "runs_expected": (SESSIONS // 2) * (FILL_MASK_ROUNDS + BIAS_ROUNDS),
        "requests_sent": sum(log.messages_sent for log in logs),
        "messages_received": sum(log.messages_received for log in logs),
        "errors": sum(len(log.errors) for log in logs),
        "rss_idle_mb": round(baseline / 2**20, 1),
        "rss_peak_mb": round(sampler.peak / 2**20, 1),
        "rss_after_mb": round(after / 2**20, 1),
        "rss_growth_peak_mb": round((sampler.peak - baseline) / 2**20, 1),
        "bound_mb": round(baseline / 2**20 + server().store_mb + PER_SESSION_MB * SESSIONS, 1),
        "bound": f"the idle app with the model + BERT_LENS_STORE_MB + {PER_SESSION_MB} MB x {SESSIONS} sessions (the "
                 "README's rule; RSS_LIMIT, checked here, is stricter)",
        "seconds": round(seconds, 1),
        "per_session": [log.__dict__ for log in logs],
    }
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "load.json").write_text(json.dumps(figures, indent=2), encoding="utf-8")
    print(json.dumps({k: v for k, v in figures.items() if k != "per_session"}))

    assert alive, "the server died under load"
    assert not [log.errors for log in logs if log.errors], [(log.session, log.errors) for log in logs if log.errors]
    assert figures["runs"] == figures["runs_expected"]
    assert sampler.peak - baseline < RSS_LIMIT, figures


# --- bounded caches -------------------------------------------------------------------------------------------

def cache_entries(function_name: str) -> tuple[int, int | None]:
    """(entries the app's result store holds for `function_name`, the store's bound on entries)."""
    store = job_runner().store
    held = sum(1 for key in list(store._entries) if getattr(key, "method", None) == function_name)
    return held, store.max_entries


def test_result_caches_are_bounded(lm, monkeypatch):
    """1,000 distinct inputs through the app's cached functions: the one result store stays within its bounds.

    The model run behind the cache is replaced by a copy of a real result (a forward pass per input would take
    minutes on a shared CI machine); what is under test is the caches the pages use, with their real bounds.
    """
    from services import cache

    real_analysis = cache.analyse_masked(lm, "The [MASK] sat on the mat.")
    real_nsp = cache.rank_next_sentences(lm, "I went home.", ["Then I slept."], sort=False)
    monkeypatch.setattr(cache, "analyse_masked", lambda _lm, text: replace(real_analysis, text=text))
    monkeypatch.setattr(cache, "rank_next_sentences",
                        lambda _lm, a, candidates, sort: [replace(real_nsp[0], sentence_b=c) for c in candidates])
    functions = {"masked_analysis": cache.masked_analysis, "fill_mask": cache.fill_mask, "rank_next": cache.rank_next}
    store = job_runner().store
    store.clear()
    process = psutil.Process(os.getpid())
    gc.collect()
    rss_start = process.memory_info().rss
    peak_entries = dict.fromkeys(functions, 0)
    padding = "x" * 15_000
    for i in range(1_000):
        cache.fill_mask(lm, f"Input {i}: the [MASK] is here. {padding}", 10, Filters())
        cache.rank_next(lm, f"Sentence {i}.", (f"Candidate {i}. {padding}",), False)
        if i % 50 == 49:
            for name in peak_entries:
                peak_entries[name] = max(peak_entries[name], cache_entries(name)[0])
    gc.collect()
    growth = process.memory_info().rss - rss_start
    figures = {name: {"peak_entries": peak, "max_entries": cache_entries(name)[1]}
               for name, peak in peak_entries.items()}
    figures["rss_growth_mb"] = round(growth / 2**20, 1)
    print(json.dumps(figures))
    for name, peak in peak_entries.items():
        bound = cache_entries(name)[1]
        assert bound is not None and 0 < peak <= bound < 1_000, (name, peak, bound)
    # 1,000 unbounded entries of ~15 kB text (and a 116 kB analysis) each would hold well over 100 MB.
    assert growth < 100 * 2**20, figures
    assert store.bytes <= store.max_bytes
    store.clear()


def _cache_decorators(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for decorator in node.decorator_list:
                call = decorator if isinstance(decorator, ast.Call) else None
                target = call.func if call else decorator
                name = ast.unparse(target)
                if name.endswith(("cache_data", "cache_resource")):
                    keywords = {k.arg for k in call.keywords} if call else set()
                    yield node.name, name.rsplit(".", 1)[-1], keywords


def test_every_cache_in_the_app_declares_its_bounds():
    folders = sorted({(ROOT / page.script).parent for page in app_pages()} | {ROOT / "components", ROOT / "services"})
    files = [ROOT / "app.py", *(path for folder in folders for path in sorted(folder.glob("*.py")))]
    found = [(path.relative_to(ROOT).as_posix(), *item) for path in files for item in _cache_decorators(path)]
    assert found, "no st.cache_data / st.cache_resource found: the scan is broken"
    unbounded = [(f, fn, kind) for f, fn, kind, keywords in found
                 if "max_entries" not in keywords or (kind == "cache_data" and "ttl" not in keywords)]
    assert not unbounded, f"caches without max_entries (and ttl for cache_data): {unbounded}"


# --- latency when many sessions press Predict at once, with and without batching --------------------------------

def _timed_fill_mask(app, log: SessionLog, text: str, completed: str, barrier: threading.Barrier,
                     latencies: list[float]) -> None:
    session = Session(app, log)
    try:
        page = session.pages[URL_PATHS["fill_mask"]]
        text_id = session.widget_id(session.rerun(page), "fm_text")
        barrier.wait(timeout=SESSION_TIMEOUT_S)
        started = time.monotonic()
        shown = [e.code.code_text for e in session.rerun(page, {text_id: text}) if e.WhichOneof("type") == "code"]
        latencies.append(time.monotonic() - started)
        if completed not in shown:
            log.errors.append(f"wrong result for {text!r}: expected {completed!r}, shown {shown}")
        log.runs += 1
    finally:
        session.close()


def _percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 1)

    return {"p50_ms": at(0.5), "p95_ms": at(0.95), "max_ms": round(ordered[-1] * 1000, 1)}


@pytest.mark.load
def test_latency_at_8_and_16_sessions_with_and_without_batching(tiny_model_dir, lm):
    """Every session presses Predict at the same moment with its own sentence; each must see its own result.
    Latency percentiles (p50, p95, max) go to test-artifacts/load_latency.json for the batched app (the default)
    and the same app with batching off (BERT_LENS_BATCH_WINDOW_MS=0, the behaviour before batching)."""
    texts = {n: [f"Session {s} of {n}: the {WORDS[s % len(WORDS)]} [MASK] sat near door {s}." for s in range(n)]
             for n in (8, 16)}
    expected = {text: fill_mask(lm, text, top_k=10).completed for group in texts.values() for text in group}
    figures: dict[str, dict] = {}
    for label, env in (("batched", {}), ("unbatched", {"BERT_LENS_BATCH_WINDOW_MS": "0"})):
        with running_app(tiny_model_dir, env=env, log_dir=ARTIFACTS) as app:
            warm = SessionLog(-1, "fill_mask")
            fill_mask_session(app, warm, [(texts[8][0], expected[texts[8][0]])])
            assert not warm.errors, warm.errors
            for n, group in texts.items():
                barrier, latencies = threading.Barrier(n), []
                logs = [SessionLog(s, "fill_mask") for s in range(n)]
                run_sessions([(log, lambda log=log, text=text: _timed_fill_mask(app, log, text, expected[text],
                                                                                 barrier, latencies))
                              for log, text in zip(logs, group)])
                assert not [log.errors for log in logs if log.errors], [log.errors for log in logs if log.errors]
                assert len(latencies) == n
                figures[f"{label}_{n}_sessions"] = _percentiles(latencies)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "load_latency.json").write_text(json.dumps(figures, indent=2), encoding="utf-8")
    print(json.dumps(figures))
