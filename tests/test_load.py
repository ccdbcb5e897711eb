"""Many users at once, and caches that cannot grow without limit.

`test_eight_sessions_at_once` starts the real server and drives 8 chromium sessions at the same time: half run
fill-mask, half run the gender-bias probe, each with its own inputs, for a fixed number of rounds. Every session
must show the result the core computes for *its* input, with no error, and the server's resident memory
(children included) must grow less than 300 MB over the idle app: the model stays one copy. The figures are
written to test-artifacts/load.json.

`test_result_caches_are_bounded` feeds 1,000 distinct inputs to the app's cached functions and checks that the
caches never hold more than `max_entries`; a source scan checks that every cache in the app declares its bounds.
"""
from __future__ import annotations

import ast
import asyncio
import gc
import json
import os
import re
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import psutil
import pytest

from bertlens import bias
from bertlens.fill_mask import Filters, fill_mask
from browser_support import ARTIFACTS, ROOT, chromium_available, launch_chromium, running_app  # noqa: F401

SESSIONS = 8
FILL_MASK_ROUNDS = 2
BIAS_ROUNDS = 2
RSS_LIMIT = 300 * 2**20
SESSION_TIMEOUT_S = 170
WAIT_MS = 120_000
WORDS = ["red", "old", "quiet", "tall", "happy", "young", "small", "famous", "new", "cold", "big", "sad"]
URL_PATHS = dict(re.findall(r'st\.Page\("(pages/[\w/]+\.py)".*?url_path="([^"]*)"',
                            (ROOT / "app.py").read_text(encoding="utf-8")))


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
    http_requests: int = 0
    ws_frames_sent: int = 0
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0


class RssSampler:
    """Peak resident memory of the server and its children, sampled in the background."""

    def __init__(self, server, every: float = 0.25) -> None:
        self.server, self.every = server, every
        self.peak = server.rss()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            try:
                self.peak = max(self.peak, self.server.rss())
            except psutil.Error:
                return

    def __enter__(self) -> "RssSampler":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


# --- driving one session in the browser -----------------------------------------------------------------------

async def _idle(page) -> None:
    await page.wait_for_selector("[data-testid=stApp][data-test-script-state=notRunning]", timeout=WAIT_MS)


async def _open(page, url: str, title: str) -> None:
    await page.goto(url, timeout=WAIT_MS)
    await page.wait_for_function("t => [...document.querySelectorAll('h1')].some(h => h.innerText.includes(t))",
                                 arg=title, timeout=WAIT_MS)
    await _idle(page)


async def _type(page, key: str, text: str) -> None:
    box = page.locator(f".st-key-{key} textarea").first
    await box.fill(text)
    await box.press("Control+Enter")
    await page.wait_for_timeout(200)
    await _idle(page)


async def _shown(page, selector: str, text: str) -> None:
    await page.wait_for_function(
        "([s, t]) => [...document.querySelectorAll(s)].some(e => e.innerText.includes(t))",
        arg=[selector, text], timeout=WAIT_MS)


async def fill_mask_session(page, app, log: SessionLog, expected: list[tuple[str, str]]) -> None:
    if log.session < 0:
        await _open(page, app.url, "BERT Lens")  # the app's front door first: see test_e2e_browser's deep links
    await _open(page, f"{app.url}/{URL_PATHS['pages/fill_mask.py']}", "Fill-mask")
    for text, completed in expected:
        await _type(page, "fm_text", text)
        await _shown(page, "[data-testid=stCode]", completed)
        log.runs += 1


async def bias_session(page, app, log: SessionLog, expected: list[tuple[tuple[str, ...], dict]]) -> None:
    await _open(page, f"{app.url}/{URL_PATHS['pages/bias_probe.py']}", "Gender-bias probe")
    await page.get_by_role("tab", name="Occupation scores").click()
    await page.locator("[data-testid=stExpander] summary", has_text="Templates and occupations").click()
    for templates, want in expected:
        await _type(page, "bias_templates", "\n".join(templates))
        await page.get_by_role("button", name="Run probe").click()
        await page.wait_for_timeout(200)
        await _idle(page)
        await page.wait_for_function(
            """([n, low, high]) => {
                const values = [...document.querySelectorAll('[data-testid=stMetric]')].map(m => m.innerText);
                const ticks = [...document.querySelectorAll('.js-plotly-plot .ytick text')]
                    .filter(t => t.checkVisibility()).map(t => t.textContent.replace(' †', ''));
                return values.some(v => v.includes('Templates') && v.includes(String(n)))
                    && ticks.length > 1 && ticks[0] === low && ticks[ticks.length - 1] === high;
            }""", arg=[len(templates), want["lowest"], want["highest"]], timeout=WAIT_MS)
        log.runs += 1


async def _drive(app, browser, log: SessionLog, job) -> None:
    context = await browser.new_context(viewport={"width": 1300, "height": 900})
    context.set_default_timeout(WAIT_MS)
    page = await context.new_page()
    page.on("request", lambda request: setattr(log, "http_requests", log.http_requests + 1))
    page.on("console", lambda m: log.errors.append(f"console: {m.text}") if m.type == "error" and not (
        m.text.startswith("Failed to load resource") and "404" in m.text) else None)
    page.on("pageerror", lambda error: log.errors.append(f"page error: {error}"))
    page.on("websocket", lambda ws: ws.on("framesent", lambda _: setattr(log, "ws_frames_sent",
                                                                          log.ws_frames_sent + 1)))
    started = time.monotonic()
    try:
        await job(page)
        if await page.locator("[data-testid=stException]").count():
            log.errors.append("a traceback reached the page")
        for alert in await page.locator("[data-testid=stAlertContentError]").all_inner_texts():
            log.errors.append(f"error shown: {alert}")
    except Exception as exc:  # a timeout or a wrong result: recorded for this session, the others go on
        log.errors.append(f"{type(exc).__name__}: {str(exc).splitlines()[0]}")
        await page.screenshot(path=str(ARTIFACTS / f"load-session-{log.session}.png"))
    finally:
        log.seconds = round(time.monotonic() - started, 1)
        await context.close()


async def run_sessions(app, jobs: list[tuple[SessionLog, object]]) -> None:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await launch_chromium(playwright)
        try:
            await asyncio.wait_for(asyncio.gather(*(_drive(app, browser, log, job) for log, job in jobs)),
                                   timeout=SESSION_TIMEOUT_S)
        finally:
            await browser.close()


@pytest.mark.load
@pytest.mark.skipif(not chromium_available(), reason="chromium is not installed (make browser)")
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
        warm = [(warm_fill, lambda p: fill_mask_session(p, app, warm_fill, expected_fill[0][:1])),
                (warm_bias, lambda p: bias_session(p, app, warm_bias, expected_bias[1][:1]))]
        asyncio.run(run_sessions(app, warm[:1]))
        asyncio.run(run_sessions(app, warm[1:]))
        assert not any(log.errors for log, _ in warm), [log.errors for log, _ in warm]
        app.wait_idle(timeout=30)
        baseline = app.rss()

        jobs = []
        for s in range(SESSIONS):
            if s % 2 == 0:
                log = SessionLog(s, "fill_mask")
                jobs.append((log, lambda p, s=s, log=log: fill_mask_session(p, app, log, expected_fill[s])))
            else:
                log = SessionLog(s, "bias_probe")
                jobs.append((log, lambda p, s=s, log=log: bias_session(p, app, log, expected_bias[s])))
        started = time.monotonic()
        with RssSampler(app) as sampler:
            asyncio.run(run_sessions(app, jobs))
            app.wait_idle(timeout=30)
            after = app.rss()
        seconds = time.monotonic() - started
        alive = app.process.poll() is None

    logs = [log for log, _ in jobs]
    figures = {
        "sessions": len(logs),
        "runs": sum(log.runs for log in logs),
        "runs_expected": (SESSIONS // 2) * (FILL_MASK_ROUNDS + BIAS_ROUNDS),
        "http_requests": sum(log.http_requests for log in logs),
        "websocket_messages_sent": sum(log.ws_frames_sent for log in logs),
        "errors": sum(len(log.errors) for log in logs),
        "rss_idle_mb": round(baseline / 2**20, 1),
        "rss_peak_mb": round(sampler.peak / 2**20, 1),
        "rss_after_mb": round(after / 2**20, 1),
        "rss_growth_peak_mb": round((sampler.peak - baseline) / 2**20, 1),
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
    """(entries held, max_entries) of the st.cache_data cache of `function_name`, outside a running app."""
    from streamlit.runtime.caching.cache_data_api import _data_caches

    held, bound = 0, None
    for caches in _data_caches._function_caches.values():
        for cache in caches.values():
            if cache.display_name.endswith(f".{function_name}"):
                held += sum(len(stats) for stats in cache.get_stats().values())
                bound = cache.max_entries
    return held, bound


def test_result_caches_are_bounded(lm, monkeypatch):
    """1,000 distinct inputs through the app's cached functions: each cache stays within max_entries.

    The core call behind the cache is replaced by a copy of a real result (a forward pass per input would take
    minutes on a shared CI machine); what is under test is the cache the pages use, with its real bounds.
    """
    from components import cached

    real_fill = fill_mask(lm, "The [MASK] sat on the mat.", top_k=10)
    real_nsp = cached.rank_next_sentences(lm, "I went home.", ["Then I slept."], sort=False)
    monkeypatch.setattr(cached, "fill_mask", lambda _lm, text, top_k, filters: replace(real_fill, text=text))
    monkeypatch.setattr(cached, "rank_next_sentences",
                        lambda _lm, a, candidates, sort: [replace(real_nsp[0], sentence_b=c) for c in candidates])
    for function in (cached.cached_fill_mask, cached.cached_rank_next):
        function.clear()
    key = cached.model_key(lm)
    process = psutil.Process(os.getpid())
    gc.collect()
    rss_start = process.memory_info().rss
    peak_entries = {"cached_fill_mask": 0, "cached_rank_next": 0}
    padding = "x" * 15_000
    for i in range(1_000):
        cached.cached_fill_mask(lm, key, f"Input {i}: the [MASK] is here. {padding}", 10, Filters())
        cached.cached_rank_next(lm, key, f"Sentence {i}.", (f"Candidate {i}. {padding}",), False)
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
    # 1,000 unbounded entries of ~15 kB text each would hold at least 2 x 15 MB; the bounded caches hold a quarter.
    assert growth < 100 * 2**20, figures
    for function in (cached.cached_fill_mask, cached.cached_rank_next):
        function.clear()


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
    files = [ROOT / "app.py", *sorted((ROOT / "pages").glob("*.py")), *sorted((ROOT / "components").glob("*.py"))]
    found = [(path.relative_to(ROOT).as_posix(), *item) for path in files for item in _cache_decorators(path)]
    assert found, "no st.cache_data / st.cache_resource found: the scan is broken"
    unbounded = [(f, fn, kind) for f, fn, kind, keywords in found
                 if "max_entries" not in keywords or (kind == "cache_data" and "ttl" not in keywords)]
    assert not unbounded, f"caches without max_entries (and ttl for cache_data): {unbounded}"
