"""Issue 28's load test: `--sessions` browser sessions from `--browsers` headless chromiums against one server on a
full-size model (default: a random bert-large, which costs what the real one costs). Checks the two promises of
the README's Deploying section and writes the figures to test-artifacts/:

- **Fairness.** Session A uploads and scores `--queued` + 1 CrowS-Pairs files of the same size (its first run
  starts, the other `--queued` wait: BERT_LENS_SESSION_QUEUE is set to `--queued`); then session B, in another
  browser, scores one file of that size. B's run must be number 1 in the queue and start within one run's time
  (the run A already has going, + 2 s for the page's polling), where one run's time is the longest of a run
  alone (on the idle server, first), B's run under the load and, when none of A's waiting runs started before
  B's (A's last run is still number `--queued` once B's has begun), the run A had going, from its start to B's
  (it runs under the same load, which other sessions' pages and uploads make heavier while A asks). A file's size is `--pairs`, or by default as
  many pairs as make one run last `--run-s` at the pace of an 8-pair run alone (the run alone is then that run's
  time scaled to the size): a run must outlast A's asking for the others, or A never holds `--queued` waiting
  (the check then fails and says so).
- **Memory.** Every other session opens the attention page and types its own text of `--words` words (cut to
  512 tokens: the page that held ~390 MB per session before issue 28), one tab per browser at a time, and stays
  open. The server's resident memory (children included), sampled every 0.25 s from the first session to the last
  result, must stay under the bound: the model (the idle server's memory after one attention view and one run) +
  BERT_LENS_STORE_MB + 100 MiB per session. The JSON keeps the samples (one a second) and the steps, and the
  summary says which step the peak came after.

    .venv/bin/python scripts/load_measure.py [--model DIR] [--sessions 20] [--browsers 4] [--queued 10]
        [--pairs N | --run-s 90] [--words 600] [--store-mb 1536] [--out test-artifacts/load_measure.json]

Writes the JSON to `--out` and a short text summary beside it (same name, .txt); exits 1 when a check fails.
Not part of `make test` (tests/test_load.py writes the same memory bound for its 8 sessions on the tiny model).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for folder in (ROOT, ROOT / "tests", ROOT / "scripts"):
    sys.path.insert(0, str(folder))

from browser_support import ARTIFACTS, chromium_available, launch_chromium, running_app  # noqa: E402
from session_memory_measure import text_of  # noqa: E402
from test_jobs_browser import crows_panel, metric, new_tab, open_crows, pairs_csv, upload  # noqa: E402
from test_load import RssSampler  # noqa: E402

MIB = 2**20
PER_SESSION_MIB = 100
CALIBRATION_PAIRS = 8
MAX_PAIRS = 1_400  # distinct files of this many synthetic pairs, one offset apart (1,560 exist)
POLL_SLACK_S = 2.0  # the page polls a job every 0.5 s and reruns once it ends; this side polls every 0.2 s
TOKENS = re.compile(r"^Tokens \((\d+)\)$")
PLACE = re.compile(r"CrowS PLL: waiting for the server, number (\d+) in the queue")
RUNNING = re.compile(r"CrowS PLL: \d+%")


def panel_state(tab) -> tuple[str, int | None]:
    """('queued', place), ('running', None), ('done', None) or ('other', None), as the CrowS-Pairs panel shows."""
    text = crows_panel(tab)
    if (match := PLACE.search(text)) is not None:
        return "queued", int(match.group(1))
    if RUNNING.search(text):
        return "running", None
    return ("done", None) if metric(tab, "Pairs") is not None else ("other", None)


def wait_state(tab, want: set[str], timeout: float) -> tuple[str, int | None]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = panel_state(tab)
        if state[0] in want:
            return state
        tab.wait_for_timeout(200)
    raise TimeoutError(f"the CrowS-Pairs panel did not reach {sorted(want)} in {timeout:.0f} s:\n"
                       f"{crows_panel(tab)[-1500:]}")


def score(tab, name: str, data: bytes, timeout: float) -> tuple[str, int | None]:
    """Upload `data` as `name`, press Score pairs, and return the panel's first state (queued with its place, or
    running)."""
    upload(tab, name, data)
    tab.get_by_role("button", name=re.compile("Score pairs")).click()
    return wait_state(tab, {"queued", "running", "done"}, timeout)


def wait_done(tab, pairs: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while metric(tab, "Pairs") != str(pairs):
        if time.monotonic() > deadline:
            raise TimeoutError(f"no result for {pairs} pairs in {timeout:.0f} s:\n{crows_panel(tab)[-1500:]}")
        tab.wait_for_timeout(200)


def open_attention(tab, url: str) -> None:
    tab.goto(f"{url}/attention", wait_until="commit")


def tokens_shown(tab) -> int | None:
    """The token count of the attention the page shows (its 'Tokens (N)' expander), or None before it is drawn."""
    labels = tab.get_by_text(TOKENS).all_inner_texts()
    return int(TOKENS.search(labels[0]).group(1)) if labels else None


def wait_attention(tab, timeout: float, other_than: int | None = None) -> int:
    """Wait until the page shows the attention of a text (of a count other than `other_than`); its token count."""
    deadline = time.monotonic() + timeout
    while (count := tokens_shown(tab)) is None or count == other_than:
        if time.monotonic() > deadline:
            raise TimeoutError(f"the attention page drew no new attention in {timeout:.0f} s")
        tab.wait_for_timeout(250)
    return count


def type_text(tab, text: str, timeout: float) -> int:
    """Type `text` into the page's text box as a visitor does (a link holds at most 2,000 characters) and commit it;
    returns the token count of the text shown before."""
    before = wait_attention(tab, timeout)
    box = tab.locator(".st-key-att_text textarea")
    box.fill(text)
    box.press("Control+Enter")
    return before


def model_shape(folder: str) -> str:
    """Layers x heads x hidden size from the folder's config.json (bert-large: 24 x 16 x 1024), without loading
    the weights into this process."""
    config = json.loads((Path(folder) / "config.json").read_text(encoding="utf-8"))
    return f"{config['num_hidden_layers']} layers x {config['num_attention_heads']} heads x {config['hidden_size']}"


def errors_on(tab) -> list[str]:
    return [e.inner_text()[:200] for e in tab.locator("[data-testid=stException]").all()]


def measure(args: argparse.Namespace) -> dict:
    from playwright.sync_api import sync_playwright

    env = {"BERT_LENS_STORE_MB": str(args.store_mb), "BERT_LENS_SESSION_QUEUE": str(args.queued),
           "BERT_LENS_MAX_QUEUE": str(max(32, args.queued + args.sessions))}
    names = ["alone.csv", *(f"a{k}.csv" for k in range(args.queued + 1)), "b.csv"]
    out: dict = {"sessions": args.sessions, "browsers": args.browsers, "queued": args.queued,
                 "attention_words": args.words, "store_mb": args.store_mb}
    marks: list[tuple[float, str]] = []

    def mark(step: str) -> None:
        marks.append((time.monotonic(), step))
    with running_app(args.model, env=env, startup_timeout=args.timeout, log_dir=ARTIFACTS) as app, \
            sync_playwright() as p:
        browsers = [launch_chromium(p) for _ in range(args.browsers)]
        try:
            # 1. The idle server with the model: one attention view and one run alone, in a tab closed after.
            warm = new_tab(browsers[0])
            warm.set_default_timeout(args.timeout * 1000)
            open_attention(warm, app.url)
            wait_attention(warm, args.timeout)
            open_crows(warm, app)
            pairs = args.pairs or CALIBRATION_PAIRS
            started = time.monotonic()
            score(warm, "alone.csv", pairs_csv(pairs, 0), args.timeout)
            wait_done(warm, pairs, args.timeout)
            run_alone = time.monotonic() - started
            if not args.pairs:  # as many pairs as make one run last --run-s, at the pace just measured
                pairs = max(CALIBRATION_PAIRS, min(MAX_PAIRS, round(args.run_s * pairs / run_alone)))
                out["run_alone_measured_with_pairs"] = CALIBRATION_PAIRS
                run_alone *= pairs / CALIBRATION_PAIRS
            files = {name: pairs_csv(pairs, offset) for offset, name in enumerate(names)}
            out["pairs_per_run"] = pairs
            warm.context.close()
            app.wait_idle(timeout=60)
            model_mib = app.rss() / MIB
            out.update(model_mib=round(model_mib, 1), run_alone_s=round(run_alone, 1))
            print(f"model loaded: {model_mib:,.0f} MiB; one run of {pairs} pairs alone: {run_alone:.1f} s",
                  file=sys.stderr)

            # 2. The sessions: A and B on the CrowS-Pairs tab, the others on a long attention page each.
            tabs = [new_tab(browsers[n % args.browsers]) for n in range(args.sessions)]
            for tab in tabs:
                tab.set_default_timeout(args.timeout * 1000)
            a_tab, b_tab, readers = tabs[0], tabs[1], tabs[2:]
            with RssSampler(app) as sampler:
                opened = time.monotonic()
                mark("A and B open the CrowS-Pairs tab")
                open_crows(a_tab, app)
                open_crows(b_tab, app)
                tokens, after_wave = [], []
                for wave in range(0, len(readers), args.browsers):
                    batch = readers[wave:wave + args.browsers]
                    mark(f"sessions {wave + 3}-{wave + 2 + len(batch)} open the attention page")
                    for tab in batch:
                        open_attention(tab, app.url)
                    before = [type_text(tab, text_of(wave + i, args.words), args.timeout)
                              for i, tab in enumerate(batch)]
                    mark(f"sessions {wave + 3}-{wave + 2 + len(batch)} typed their texts")
                    tokens += [wait_attention(tab, args.timeout, other_than=b) for tab, b in zip(batch, before)]
                    after_wave.append(round(app.rss() / MIB, 1))
                    print(f"{wave + len(batch)} attention sessions open: {after_wave[-1]:,.0f} MiB", file=sys.stderr)
                out.update(attention_tokens=tokens, rss_after_each_wave_mib=after_wave,
                           sessions_open_s=round(time.monotonic() - opened, 1))

                # 3. A asks for queued + 1 runs, then B for one.
                mark("A asks for its runs")
                a_started, a_places, a_running = time.monotonic(), [], None
                for k in range(args.queued + 1):
                    state, place = score(a_tab, f"a{k}.csv", files[f"a{k}.csv"], args.timeout)
                    a_places.append(place)
                    if k == 0 and state == "running":
                        a_running = time.monotonic()
                out["a_asking_s"] = round(time.monotonic() - a_started, 1)
                upload(b_tab, "b.csv", files["b.csv"])
                b_tab.get_by_role("button", name=re.compile("Score pairs")).click()
                asked = time.monotonic()
                mark("B asks for its run")
                b_place = b_started = None
                a_place_while_b_waits = 0
                while b_started is None:
                    if time.monotonic() - asked > args.timeout:
                        raise TimeoutError(f"B's run did not start in {args.timeout:.0f} s")
                    state, place = panel_state(b_tab)
                    if state == "queued":
                        b_place = b_place or place
                        _, a_place = panel_state(a_tab)
                        a_place_while_b_waits = max(a_place_while_b_waits, a_place or 0)
                    elif state in ("running", "done"):
                        b_started = time.monotonic()
                        mark("B's run starts")
                    b_tab.wait_for_timeout(200)
                b_tab.wait_for_timeout(1500)  # A's panel polls every 0.5 s: its place once B's run has begun
                a_place_when_b_started = panel_state(a_tab)[1]
                if b_place is None:  # B never waited (a free worker): A's place is then its runs waiting
                    a_tab.wait_for_timeout(1500)
                    a_place_while_b_waits = (panel_state(a_tab)[1] or 0) + 1
                wait_done(b_tab, pairs, args.timeout)
                b_done = time.monotonic()
                mark("B has its result")
                after = app.rss()
            errors = {n: e for n, tab in enumerate(tabs) if (e := errors_on(tab))}
        finally:
            for browser in browsers:
                browser.close()
        alive = app.process.poll() is None

    # The run of A's that B waited for began before B asked. If none of A's waiting runs started before B's (A's
    # last run still has all `queued` places to go once B's began), that run ended when B's began: its time under
    # this load is then one run's time too, as the run alone and B's own run are.
    a_in_flight = (b_started - a_running) if a_running is not None and a_place_when_b_started == args.queued else 0.0
    one_run = max(run_alone, b_done - b_started, a_in_flight)
    wait = b_started - asked
    bound = model_mib + args.store_mb + PER_SESSION_MIB * args.sessions
    peak = sampler.peak / MIB
    peak_at, _ = max(sampler.series, key=lambda sample: sample[1], default=(opened, 0))
    before_peak = [(t, step) for t, step in marks if t <= peak_at]
    last_step = before_peak[-1] if before_peak else (opened, "the start")
    out.update({
        "a_place_of_each_run": a_places,
        # A's last run's place while B waits, B (never served) ahead of it
        "a_runs_waiting_when_b_asked": max(a_place_while_b_waits - 1, 0),
        "b_place": b_place,
        "b_waited_to_start_s": round(wait, 1),
        "a_run_in_flight_began_before_b_asked_s": round(asked - a_running, 1) if a_running is not None else None,
        "a_place_of_last_run_when_b_started": a_place_when_b_started,
        "a_run_in_flight_under_load_s": round(a_in_flight, 1) if a_in_flight else None,
        "b_run_under_load_s": round(b_done - b_started, 1),
        "b_asked_to_result_s": round(b_done - asked, 1),
        "one_run_s": round(one_run, 1),
        "b_wait_in_runs": round(wait / one_run, 2),
        "fairness_rule": f"B's run is number 1 in the queue and starts within one run's time (+{POLL_SLACK_S:g} s "
                         "for the page's polling) while A holds its runs waiting",
        "rss_peak_mib": round(peak, 1),
        "rss_peak_at": f"{peak_at - last_step[0]:.1f} s after: {last_step[1]}",
        "steps": [{"at_s": round(t - opened, 1), "step": step} for t, step in marks],
        "rss_series_mib": [[round(t - opened, 1), round(rss / MIB)] for t, rss in sampler.series[::4]],
        "rss_after_mib": round(after / MIB, 1),
        "rss_growth_per_session_mib": round((peak - model_mib) / args.sessions, 1),
        "bound_mib": round(bound, 1),
        "bound": f"the model ({model_mib:,.0f} MiB: the idle server after one view and one run) + "
                 f"BERT_LENS_STORE_MB ({args.store_mb}) + {PER_SESSION_MIB} MiB x {args.sessions} sessions",
        "page_errors": errors,
        "server_alive": alive,
    })
    out["checks"] = {
        "a_held_the_queue": out["a_runs_waiting_when_b_asked"] >= args.queued,
        "b_first_in_queue": b_place in (None, 1),
        "b_within_one_run": wait <= one_run + POLL_SLACK_S,
        "b_before_a_waiting_run": a_place_when_b_started == args.queued,
        "memory_within_bound": peak <= bound,
        "no_page_errors": not errors,
        "server_alive": alive,
    }
    return out


def summary(out: dict) -> str:
    checks = out["checks"]
    lines = [
        f"BERT Lens load test ({out['measured_at']}): {out['sessions']} sessions from {out['browsers']} browsers, "
        f"model {out['model']} ({out['model_shape']}), {out['cpu_count']} CPUs",
        f"Fairness: A asked for {out['queued'] + 1} runs of {out['pairs_per_run']} CrowS pairs "
        f"({out['a_runs_waiting_when_b_asked']} waiting when B asked); B's run was number {out['b_place']} in the "
        f"queue and started after {out['b_waited_to_start_s']} s, one run taking {out['one_run_s']} s "
        f"({out['b_wait_in_runs']} runs: the longest of a run alone {out['run_alone_s']} s, B's under load "
        f"{out['b_run_under_load_s']} s and A's run in progress when B asked, {out['a_run_in_flight_under_load_s']} s "
        f"under load, begun {out['a_run_in_flight_began_before_b_asked_s']} s before); when B's run began A's last run "
        f"was number {out['a_place_of_last_run_when_b_started']} of {out['queued']} waiting; B had its "
        f"result {out['b_asked_to_result_s']} s after asking.",
        f"Memory: peak {out['rss_peak_mib']:,.0f} MiB against the bound {out['bound_mib']:,.0f} MiB = {out['bound']}; "
        f"{out['rss_growth_per_session_mib']} MiB per session over the idle model; the peak came "
        f"{out['rss_peak_at']}.",
        "Checks: " + ", ".join(f"{name} {'PASS' if ok else 'FAIL'}" for name, ok in checks.items()),
    ]
    if not checks["a_held_the_queue"]:
        lines.append("A's runs ended before it had asked for them all: raise --pairs or --run-s so that one run "
                     f"outlasts the asking ({out['a_asking_s']} s here).")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="a model folder (default: a random bert-large, built once)")
    parser.add_argument("--sessions", type=int, default=20, help="browser sessions at once, A and B included")
    parser.add_argument("--browsers", type=int, default=4, help="headless chromiums the sessions are spread over")
    parser.add_argument("--queued", type=int, default=10, help="A's runs waiting when B asks for its one")
    parser.add_argument("--pairs", type=int, default=0,
                        help="CrowS pairs per run (default: as many as make one run last --run-s on this machine)")
    parser.add_argument("--run-s", type=float, default=90.0,
                        help="one run's time when --pairs is not given: it must outlast A's asking for its runs")
    parser.add_argument("--words", type=int, default=600, help="words of each attention session's text")
    parser.add_argument("--store-mb", type=int, default=1536, help="BERT_LENS_STORE_MB for the server")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds to wait for any one step")
    parser.add_argument("--out", default=str(ARTIFACTS / "load_measure.json"))
    args = parser.parse_args()
    if args.sessions < 3 or args.browsers < 1 or args.queued < 1 or not 0 <= args.pairs <= MAX_PAIRS:
        parser.error(f"--sessions must be at least 3 (A, B and a reader), --browsers and --queued at least 1, "
                     f"--pairs 0 (auto) to {MAX_PAIRS}")
    if not chromium_available():
        parser.error("chromium is not installed (BERT_LENS_CHROMIUM names it)")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from devtools.random_model import model_folder

    args.model = str(args.model or model_folder("large"))
    out = {"model": args.model, "model_shape": model_shape(args.model), "cpu_count": os.cpu_count(),
           **measure(args), "measured_at": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())}
    path = Path(args.out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=2), encoding="utf-8")
    text = summary(out)
    path.with_suffix(".txt").write_text(text, encoding="utf-8")
    print(json.dumps(out, indent=2))
    print(text, end="")
    return 0 if all(out["checks"].values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
