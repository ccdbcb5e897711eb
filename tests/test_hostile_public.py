"""A public server that no visitor can hurt: over 150 hostile inputs against the app, the command line and deploy/,
all on loopback, in the 10 groups of issue 18 and two more of our own, tallied as tried / held / weak / broken.

held: refused with one clear message (InputError, exit 2, HTTP 4xx) or handled correctly, in time.
weak: handled, but not as it should be (a message that is too long or reveals too much, another exit code, a hint
      of a traceback, slower than the bound).
broken: an exception that escapes, a hang, live markup, a request that hurts another, a limit that does not hold.

Each group is one test; the tally goes to test-artifacts/hostile.json (`python -m pytest tests/test_hostile_public.py`).
The target, and what each test asserts, is nothing weak and nothing broken.
"""
from __future__ import annotations

import contextlib
import io
import json
import os
import re
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest
import torch
from streamlit.testing.v1 import AppTest

from bertlens.errors import BertLensError, InputError
from browser_support import ARTIFACTS, ROOT

RESULTS: dict[str, list[dict]] = {}
GROUPS = {
    "1 unbounded reads": "files that are devices, FIFOs, /proc, links and paths out of the configuration's folder",
    "2 batch isolation": "one bad request among good ones in the shared encoder batch",
    "3 markdown from an uploaded report": "links, images and HTML in every text field of an audit report",
    "4 malformed reports": "reports of the wrong shape uploaded to the bias page",
    "5 long fields": "CSV fields over 128 KB in boxes, uploads and files",
    "6 any visitor can load any model": "server paths and hub ids as the second checkpoint",
    "7 heavy work from a link": "steps, tokens and sizes asked for in a link or a request",
    "8 ray": "addresses that refuse, stay silent or are not Ray",
    "9 the configuration": "audit configurations with bad values and deep nesting",
    "10 deploy": "requests against the shipped nginx, and the shipped image recipe",
    "11 links and query parameters (ours)": "hostile values in every page's shareable link",
    "12 command-line arguments (ours)": "arguments a script or a user can get wrong",
    "13 round 2: settings and outputs": "issue 28: bad BERT_LENS_* settings, outputs that are not regular files, "
                                        "a gzip object bomb, control characters in messages",
    "14 round 2: pages": "issue 28: outside strings as live links, a formula in the heads CSV, a huge report",
    "15 round 2: one visitor against the others": "issue 28: the queue, a stopped shared run, the store's budgets, "
                                                   "memory an idle attention page keeps",
}
MAX_MESSAGE = 600
TRACEBACK = re.compile(r"Traceback|File \"|object at 0x")
LIVE = re.compile(r"(?<!\\)!\[|(?<!\\)\]\(\s*(https?|javascript)|(?<!\\)<\s*(img|script|a\s|iframe)", re.I)
HTML = re.compile(r"<(img|script|a\s|iframe|svg|object|b>|i>|span)", re.I)  # a tag starts right after "<"
BARE_URL = re.compile(r"(?i)(https?://|www\.)127\.0\.0\.9|@127\.0\.0\.9")  # markdown autolinks these, escaped or not
BIG_FIELD = "y" * 200_000
MARKUP = "[Click to re-login](http://127.0.0.9/phish) ![b](http://127.0.0.9/beacon.png) <img src=x onerror=alert(1)>"


@dataclass
class Verdict:
    kind: str  # held | weak | broken
    note: str = ""


def held(note: str = "") -> Verdict:
    return Verdict("held", note)


def weak(note: str) -> Verdict:
    return Verdict("weak", note)


def broken(note: str) -> Verdict:
    return Verdict("broken", note)


def in_thread(call: Callable, seconds: float):
    """(finished, result, exception) of `call()` run in a daemon thread for at most `seconds`."""
    box: dict = {}

    def run() -> None:
        try:
            box["result"] = call()
        except BaseException as exc:  # noqa: BLE001 - every outcome is judged
            box["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    return not thread.is_alive(), box.get("result"), box.get("error")


def judge_message(message: str) -> Verdict:
    if TRACEBACK.search(message):
        return weak(f"a traceback in the message: {message[:120]!r}")
    if len(message) > MAX_MESSAGE:
        return weak(f"a message of {len(message)} characters")
    return held(message[:160])


def refused(call: Callable, seconds: float = 15.0, error: type = InputError) -> Verdict:
    """Held when `call()` raises `error` (an InputError by default) with a clear message, within `seconds`."""
    finished, _, exc = in_thread(call, seconds)
    if not finished:
        return broken(f"still running after {seconds} s")
    if exc is None:
        return broken("accepted")
    if isinstance(exc, error):
        return judge_message(str(exc))
    if isinstance(exc, BertLensError):
        return weak(f"{type(exc).__name__} instead of {error.__name__}: {str(exc)[:120]}")
    return broken(f"{type(exc).__name__}: {str(exc)[:160]}")


def cli(argv: list[str], code: int = 2, seconds: float = 60.0) -> Verdict:
    """Held when `python -m bertlens ARGV` exits `code` with a short message and no traceback."""
    from bertlens.cli import main

    err = io.StringIO()

    def run() -> int:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            try:
                return main(argv)
            except SystemExit as exc:  # argparse's own refusals
                return int(exc.code or 0)

    finished, rc, exc = in_thread(run, seconds)
    text = err.getvalue()
    if not finished:
        return broken(f"still running after {seconds} s")
    if exc is not None:
        return broken(f"{type(exc).__name__} escaped main(): {str(exc)[:120]}")
    if TRACEBACK.search(text):
        return weak(f"exit {rc} with a traceback")
    if rc != code:
        return weak(f"exit {rc}, not {code}: {text.strip()[-160:]}")
    if not text.strip():
        return weak("no message")
    return judge_message(text.strip().splitlines()[-1])


def record(group: str, cases: dict[str, Callable[[], Verdict]]) -> list[dict]:
    rows = []
    for name, case in cases.items():
        try:
            verdict = case()
        except AssertionError as exc:
            verdict = broken(f"assertion: {str(exc)[:200]}")
        except Exception as exc:  # noqa: BLE001 - a case that crashes the harness is broken
            verdict = broken(f"{type(exc).__name__}: {str(exc)[:200]}")
        rows.append({"group": group, "input": name, "verdict": verdict.kind, "note": verdict.note})
    RESULTS[group] = rows
    return rows


def assert_none_weak_or_broken(rows: list[dict]) -> None:
    bad = [f"{r['verdict']}: {r['input']}: {r['note']}" for r in rows if r["verdict"] != "held"]
    assert not bad, "\n".join(bad)


# ---------------------------------------------------------------- pages

def open_page(page: str, query: dict[str, str] | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    if query:
        at.query_params.update(query)
    at.run()
    if page != "app_pages/home.py":
        at.switch_page(page).run()
    return at


def unescaped(markdown: str) -> str:
    """Markdown text as a reader sees it (backslash escapes undone): what Streamlit's autolinking reads."""
    return re.sub(r"\\(.)", r"\1", markdown)


def rendered(at: AppTest) -> list[str]:
    """Every string drawn as markdown, and every plotly figure's JSON."""
    texts = [str(e.value) for kind in ("markdown", "caption", "error", "warning", "info", "success", "title",
                                       "header", "subheader") for e in at.get(kind)]
    texts += [str(m.label) for m in at.metric] + [str(e.label) for e in at.expander]
    return texts


def chart_texts(at: AppTest) -> list[str]:
    """Every plotly figure as decoded JSON: plotly renders a subset of HTML (not markdown) in its labels."""
    return [json.dumps(json.loads(c.proto.spec), ensure_ascii=False) for c in at.get("plotly_chart")
            if hasattr(c, "proto")]


def page_verdict(at: AppTest, expect_message: bool = True, baseline: set[str] | None = None) -> Verdict:
    if at.exception:
        return broken(f"exception on the page: {at.exception[0].value[:160]}")
    live = [t for t in rendered(at) if t not in (baseline or set()) and "127.0.0.9" in t
            and (LIVE.search(t) or BARE_URL.search(unescaped(t)))]
    live += [t for t in chart_texts(at) if HTML.search(t)]
    if live:
        return broken(f"live markup: {live[0][:160]!r}")
    messages = [str(m.value) for m in [*at.error, *at.warning] if "random weights" not in str(m.value)]
    for message in messages:
        verdict = judge_message(message)
        if verdict.kind != "held":
            return verdict
    if expect_message and not messages:
        return weak("no message")
    return held(messages[0][:160] if messages else "")


# ---------------------------------------------------------------- 1 unbounded reads

def test_unbounded_reads(tmp_path):
    from bertlens.bias import audit
    from bertlens.bias.files import read_bytes, read_text

    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    sock_path = tmp_path / "sock"
    unix = socket.socket(socket.AF_UNIX)
    unix.bind(str(sock_path))
    sparse = tmp_path / "sparse.bin"
    with sparse.open("wb") as handle:
        handle.truncate(2 * 1024**3)
    folder = tmp_path / "cfg"
    (folder / "sub").mkdir(parents=True)
    (tmp_path / "secret.csv").write_text("sent_more,sent_less,stereo_antistereo,bias_type\na,b,stereo,x\n")
    (folder / "out.csv").symlink_to(tmp_path / "secret.csv")
    (folder / "zero.csv").symlink_to("/dev/zero")
    (folder / "fifo.csv").symlink_to(fifo)

    def config(path: str) -> Path:
        target = folder / "audit.json"
        target.write_text(json.dumps({"bertlens_audit": 1, "models": ["m"], "metrics": ["crows"],
                                      "crows_pairs": {"path": path}}))
        return target

    cases: dict[str, Callable[[], Verdict]] = {
        f"read {p}": (lambda p=p: refused(lambda: read_bytes(p)))
        for p in ("/dev/zero", "/dev/urandom", "/dev/null", "/dev/stdin", "/", "/proc/self/fd/0")
    }
    cases.update({
        "read a FIFO": lambda: refused(lambda: read_text(fifo)),
        "read a unix socket": lambda: refused(lambda: read_bytes(sock_path)),
        "read a 2 GB sparse file": lambda: refused(lambda: read_bytes(sparse)),
        "read /proc/self/maps (size 0, content larger) with a 64-byte limit":
            lambda: refused(lambda: read_bytes("/proc/self/maps", limit=64)),
        "read /proc/self/environ through the text reader with a 16-byte limit":
            lambda: refused(lambda: read_text("/proc/self/environ", limit=16)),
    })
    for given in ("/dev/zero", "/etc/passwd", "../secret.csv", "sub/../../secret.csv", "~/secret.csv",
                  "out.csv", "zero.csv", "fifo.csv", "", "sub", "a" * 5000, "nul\x00byte"):
        cases[f"configuration path {given[:30]!r}"] = (lambda g=given: refused(lambda: audit.load_config(config(g))))
    cases.update({
        "--models-file /dev/zero": lambda: cli(["audit", str(config("x.csv")), "--models-file", "/dev/zero"]),
        "audit /dev/zero": lambda: cli(["audit", "/dev/zero"]),
        "audit FIFO": lambda: cli(["audit", str(fifo)]),
        "crows FIFO": lambda: cli(["crows", str(fifo)]),
        "probe --templates /dev/urandom": lambda: cli(["probe", "--templates", "/dev/urandom"]),
        "counterfactual --pairs /proc/self/mem": lambda: cli(["counterfactual", "The [MASK] is here.", "--pairs",
                                                               "/proc/self/mem"]),
    })
    try:
        rows = record("1 unbounded reads", cases)
    finally:
        unix.close()
        with contextlib.suppress(OSError):
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
    assert_none_weak_or_broken(rows)


# ---------------------------------------------------------------- 2 batch isolation

@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_batch_isolation(lm):
    from bertlens import batching
    from bertlens.batching import EncoderBatcher

    EncoderUnavailable = getattr(batching, "EncoderUnavailable", BertLensError)

    good_texts = ["The cat sat.", "Paris is nice.", "She went home.", "He ran.", "A dog barked.", "I flew."]

    def ids(text: str):
        batch = lm.tokenizer(text, return_tensors="pt", return_token_type_ids=True)
        return batch["input_ids"], batch["token_type_ids"]

    def reference(pair):
        with torch.inference_mode():
            return lm.model.bert(input_ids=pair[0], token_type_ids=pair[1]).last_hidden_state

    good = [ids(t) for t in good_texts]
    expected = [reference(p) for p in good]

    def mixed(bad_pair, batcher=None, expect=InputError) -> Verdict:
        batcher = batcher or EncoderBatcher(lm, window_s=0.2, timeout_s=30)
        outcomes: list = [None] * 7
        barrier = threading.Barrier(7)

        def work(i: int, pair) -> None:
            barrier.wait()
            try:
                outcomes[i] = ("ok", batcher.encode(*pair))
            except BaseException as exc:  # noqa: BLE001
                outcomes[i] = ("error", exc)

        threads = [threading.Thread(target=work, args=(i, p), daemon=True) for i, p in enumerate([*good, bad_pair])]
        for t in threads:
            t.start()
        for t in threads:
            t.join(40)
        if any(t.is_alive() for t in threads):
            return broken("a caller hangs")
        for (kind, value), want in zip(outcomes, expected):
            if kind != "ok":
                return broken(f"a good request failed: {value}")
            if not torch.allclose(value[0], want, atol=1e-5):
                return broken("a good request got another result")
        kind, value = outcomes[-1]
        if kind != "error" or not isinstance(value, expect):
            return broken(f"the bad request got {kind}: {value!r:.120}")
        return judge_message(str(value))

    long = torch.full((1, 600), 1000, dtype=torch.long)
    cases: dict[str, Callable[[], Verdict]] = {
        "600 token ids": lambda: mixed((long, torch.zeros_like(long))),
        "an id past the vocabulary": lambda: mixed((torch.tensor([[101, 10**6, 102]]), torch.zeros((1, 3), dtype=torch.long))),
        "a negative id": lambda: mixed((torch.tensor([[101, -1, 102]]), torch.zeros((1, 3), dtype=torch.long))),
        "segment id 5": lambda: mixed((torch.tensor([[101, 102]]), torch.tensor([[0, 5]]))),
        "segments of another shape": lambda: mixed((torch.tensor([[101, 102]]), torch.zeros((1, 5), dtype=torch.long))),
        "float ids": lambda: mixed((torch.tensor([[101.0, 102.0]]), torch.zeros((1, 2)))),
        "a 3-D tensor": lambda: mixed((torch.zeros((1, 1, 3), dtype=torch.long), torch.zeros((1, 1, 3), dtype=torch.long))),
        "an empty sequence": lambda: mixed((torch.zeros((1, 0), dtype=torch.long), torch.zeros((1, 0), dtype=torch.long))),
        "two rows in one request": lambda: mixed((torch.zeros((2, 3), dtype=torch.long), torch.zeros((2, 3), dtype=torch.long))),
        "plain lists, not tensors": lambda: mixed(([[101, 102]], [[0, 0]])),
        "boolean ids": lambda: mixed((torch.tensor([[True, False]]), torch.zeros((1, 2), dtype=torch.long))),
    }

    def poisoned() -> Verdict:
        batcher = EncoderBatcher(lm, window_s=0.2, timeout_s=30)
        real = batcher._forward
        batcher._forward = lambda inputs: (_ for _ in ()).throw(RuntimeError("poisoned")) \
            if bool((inputs["input_ids"] == 1999).any()) else real(inputs)
        return mixed((torch.tensor([[101, 1999, 102]]), torch.zeros((1, 3), dtype=torch.long)), batcher, RuntimeError)

    def stuck() -> Verdict:
        batcher = EncoderBatcher(lm, window_s=0.01, timeout_s=1)
        release = threading.Event()
        real = batcher._forward
        batcher._forward = lambda inputs: (release.wait(20), real(inputs))[1]
        try:
            return refused(lambda: batcher.encode(*good[0]), 10, EncoderUnavailable)
        finally:
            release.set()

    def killed() -> Verdict:
        batcher = EncoderBatcher(lm, window_s=0.01, timeout_s=30)

        def die(batch):
            raise SystemExit

        batcher._run = die
        verdict = refused(lambda: batcher.encode(*good[0]), 10, EncoderUnavailable)
        del batcher._run
        finished, result, exc = in_thread(lambda: batcher.encode(*good[1]), 20)
        if not finished or exc is not None:
            return broken(f"no new worker after the death: {exc}")
        return verdict

    cases.update({"a request that breaks the batched pass": poisoned, "a pass that never returns": stuck,
                  "a worker killed mid-batch": killed})
    rows = record("2 batch isolation", cases)
    assert_none_weak_or_broken(rows)


# ---------------------------------------------------------------- 3 and 4: uploaded reports

GOOD_REPORT = {
    "report": "BERT Lens bias audit", "date": "2026-01-01", "configuration_sha256": "a" * 64, "ran_on": "here",
    "inputs": [{"name": "templates", "source": "inline", "sha256": "b" * 64}],
    "checkpoints": [{"model": "m1", "status": "ok", "random_weights": False, "scores": {"s": 1.0},
                     "occupations": [{"occupation": "nurse", "log_ratio": 0.5, "pieces": ["nurse"]}]},
                    {"model": "m2", "status": "failed", "reason": "missing"}],
    "completed": 1, "failed": 1, "spread": [{"score": "s", "n": 1, "mean": 1.0}],
}


def upload_report(at: AppTest, name: str, data: bytes) -> AppTest:
    next(u for u in at.file_uploader if u.key == "bias_audit_upload").set_value((name, data, "application/json"))
    return at.run()


def test_markdown_from_an_uploaded_report(app_env):
    at = open_page("app_pages/bias_probe.py")
    baseline = set(rendered(at))
    ok = GOOD_REPORT["checkpoints"][0]
    variants = {
        "ran_on": {"ran_on": MARKUP},
        "date": {"date": MARKUP[:95]},
        "configuration hash": {"configuration_sha256": MARKUP[:95]},
        "a failed checkpoint's name": {"checkpoints": [ok, {"model": MARKUP, "status": "failed", "reason": "r"}]},
        "a failure reason": {"checkpoints": [ok, {"model": "m", "status": "failed", "reason": MARKUP}]},
        "a completed checkpoint's name": {"checkpoints": [{**ok, "model": MARKUP}]},
        "an occupation (chart label)": {"checkpoints": [{**ok, "occupations": [{"occupation": MARKUP, "log_ratio": 1.0}]}]},
        "a score name (table column)": {"checkpoints": [{**ok, "scores": {MARKUP: 1.0}}]},
        "a spread row": {"spread": [{"score": MARKUP, "n": 1, "mean": 1.0}]},
        "an input's source": {"inputs": [{"name": MARKUP, "source": MARKUP, "sha256": MARKUP}]},
        "a warning field": {"warning": MARKUP},
        "the tool field": {"tool": MARKUP},
        "HTML entities in ran_on": {"ran_on": "&lt;img src=x onerror=alert(1)&gt; &#60;script&#62; 127.0.0.9"},
        "right-to-left override in a model name": {"checkpoints": [{**ok, "model": "\u202egpj.exe 127.0.0.9"}]},
    }
    cases: dict[str, Callable[[], Verdict]] = {
        f"markup in {field}": (lambda v=v: page_verdict(upload_report(at, "r.json",
                                                                       json.dumps({**GOOD_REPORT, **v}).encode()),
                                                         expect_message=False, baseline=baseline))
        for field, v in variants.items()
    }
    cases["markup in the file name"] = lambda: page_verdict(
        upload_report(at, "[x](http://127.0.0.9/n) ![i](http://127.0.0.9/i.png).json", json.dumps(GOOD_REPORT).encode()),
        expect_message=False, baseline=baseline)
    cases["markup in the name of a file that fails"] = lambda: page_verdict(
        upload_report(at, "![i](http://127.0.0.9/i.png).json", b"{"), baseline=baseline)
    rows = record("3 markdown from an uploaded report", cases)
    assert_none_weak_or_broken(rows)


def test_malformed_reports(app_env):
    at = open_page("app_pages/bias_probe.py")
    ok = GOOD_REPORT["checkpoints"][0]
    shapes = {
        "checkpoints [\"x\", 5]": {"checkpoints": ["x", 5]},
        "spread \"nope\"": {"spread": "nope"},
        "completed {\"a\": 1}": {"completed": {"a": 1}},
        "an occupation row without occupation": {"checkpoints": [{**ok, "occupations": [{"log_ratio": 1.0}]}]},
        "checkpoints an object": {"checkpoints": {"model": "m"}},
        "a checkpoint without status": {"checkpoints": [{"model": "m"}]},
        "a status of 7": {"checkpoints": [{"model": "m", "status": 7}]},
        "scores a list": {"checkpoints": [{**ok, "scores": [1, 2]}]},
        "score values of text": {"checkpoints": [{**ok, "scores": {"s": "high"}}]},
        "pieces of numbers": {"checkpoints": [{**ok, "occupations": [{"occupation": "n", "pieces": [1]}]}]},
        "negative failed count": {"failed": -3},
        "random_weights \"yes\"": {"random_weights": "yes"},
        "inputs of strings": {"inputs": ["a", "b"]},
        "the wrong report name": {"report": "Something else"},
        "a configuration nested 40 deep": {"configuration": json.loads("{\"a\":" * 40 + "1" + "}" * 40)},
    }
    raw = {
        "100,000 nested [": b"[" * 100_000,
        "100,000 nested {\"a\":": b'{"a":' * 100_000,
        "NaN in completed": json.dumps({**GOOD_REPORT, "completed": float("nan")}).encode(),
        "1e400 as a score": json.dumps(GOOD_REPORT).replace('"s": 1.0', '"s": 1e400').encode(),
        "an empty file": b"",
        "only whitespace": b"   \n\t",
        "not UTF-8": b"\xff\xfe\x00{",
        "a JSON list": b"[]",
        "a JSON string": b'"BERT Lens bias audit"',
        "truncated JSON": json.dumps(GOOD_REPORT).encode()[:-7],
        "a byte-order mark, then a bad shape": b"\xef\xbb\xbf" + json.dumps({**GOOD_REPORT, "spread": 1}).encode(),
        "NUL bytes": b'{"report": "BERT Lens bias audit\x00"}',
    }
    cases: dict[str, Callable[[], Verdict]] = {
        name: (lambda v=v: page_verdict(upload_report(at, "report.json", json.dumps({**GOOD_REPORT, **v}).encode())))
        for name, v in shapes.items()
    }
    cases.update({name: (lambda d=d: page_verdict(upload_report(at, "report.json", d))) for name, d in raw.items()})

    def recovers() -> Verdict:
        upload_report(at, "good.json", json.dumps(GOOD_REPORT).encode())
        if at.exception or at.error:
            return broken("a good report after the bad ones is not shown")
        shown = {m.label: m.value for m in at.metric}
        return held() if shown.get("Checkpoints completed") == "1" else broken(f"not drawn: {shown}")

    cases["a good report after all of them, without a reload"] = recovers
    rows = record("4 malformed reports", cases)
    assert_none_weak_or_broken(rows)


# ---------------------------------------------------------------- 5 long fields

def test_long_fields(app_env, tmp_path):
    from bertlens import bias
    from bertlens.bias.crows import parse_crows
    from bertlens.bias.occupations import parse_occupations
    from bertlens.bias.swaps import parse_swap_pairs

    crows = f"sent_more,sent_less,stereo_antistereo,bias_type\n\"{BIG_FIELD}\",b,stereo,x\n"
    occupations = f"occupation,article\nnurse,{BIG_FIELD}\n"
    big_occ = tmp_path / "occ.csv"
    big_occ.write_text(occupations)
    big_crows = tmp_path / "crows.csv"
    big_crows.write_text(crows)
    big_pairs = tmp_path / "pairs.csv"
    big_pairs.write_text(f"king,{BIG_FIELD}\n")

    def sidebar_pairs(text: str) -> Verdict:
        at = open_page("app_pages/bias_probe.py")
        at.text_area(key="bias_pairs").input(text).run()
        return page_verdict(at)

    def upload(key: str, name: str, data: str, button: str | None = None) -> Verdict:
        at = open_page("app_pages/bias_probe.py")
        next(u for u in at.file_uploader if u.key == key).set_value((name, data.encode(), "text/csv"))
        at.run()
        return page_verdict(at)

    def own_swaps(text: str) -> Verdict:
        at = open_page("app_pages/counterfactual.py")
        at.checkbox(key="cf_own_pairs").check().run()
        at.text_area(key="cf_pairs").input(text).run()
        return page_verdict(at)

    cases: dict[str, Callable[[], Verdict]] = {
        "word pairs: one field of 200 KB": lambda: refused(lambda: bias.parse_pairs(f"he,{BIG_FIELD}")),
        "occupations: one field of 200 KB": lambda: refused(lambda: parse_occupations(occupations)),
        "CrowS-Pairs: a quoted sentence of 200 KB": lambda: refused(lambda: parse_crows(crows.encode())),
        "swap list: one field of 200 KB": lambda: refused(lambda: parse_swap_pairs(f"king,{BIG_FIELD}")),
        "word pairs: an unclosed quote over 150 KB":
            lambda: refused(lambda: bias.parse_pairs('he,"' + "x" * 150_000)),
        "sidebar word-pair box: 200 KB field": lambda: sidebar_pairs(f"he,{BIG_FIELD}"),
        "sidebar word-pair box: 20 KB field": lambda: sidebar_pairs("he," + "z" * 20_000),
        "occupation upload: 200 KB field": lambda: upload("bias_occupations_file", "occ.csv", occupations),
        "CrowS-Pairs upload: 200 KB field": lambda: upload("bias_crows_file", "crows.csv", crows),
        "own swap list box: 200 KB field": lambda: own_swaps(f"king,{BIG_FIELD}"),
        "probe --occupations with a 200 KB field": lambda: cli(["probe", "--occupations", str(big_occ)]),
        "crows with a 200 KB field": lambda: cli(["crows", str(big_crows)]),
        "counterfactual --pairs with a 200 KB field":
            lambda: cli(["counterfactual", "The king [MASK].", "--pairs", str(big_pairs)]),
    }
    rows = record("5 long fields", cases)
    assert_none_weak_or_broken(rows)


# ---------------------------------------------------------------- 6 model loading

def test_any_visitor_can_load_any_model(app_env, tmp_path, monkeypatch):
    from bertlens import settings
    from services import model as service

    check_allowed = getattr(settings, "check_allowed", lambda names: None)  # (absent before the allow-list)

    monkeypatch.setenv("BERT_LENS_ALLOWED_MODELS", "bert-base-cased")
    real_dir = tmp_path / "real-model"
    real_dir.mkdir()
    (real_dir / "config.json").write_text("{}")
    names = [str(real_dir), str(tmp_path / "missing"), "~", "~/.ssh", "../../..", "/etc", "/etc/passwd",
             "bert-large-uncased", "evil/remote-code-model", "bert-base-cased ", "BERT-BASE-CASED", "bert-base-cased\x00",
             "b\u0435rt-base-cased", "file:///etc/passwd", "http://127.0.0.9/model", "a" * 10_000]
    loaded: list = []
    real_second = service._second
    monkeypatch.setattr(service, "_second", lambda *a, **k: loaded.append(a) or real_second(*a, **k))
    messages: dict[str, str] = {}

    def core(name: str) -> Verdict:
        try:
            check_allowed([name])
        except InputError as exc:
            messages[name] = str(exc).replace(name.strip()[:77], "NAME")
            return judge_message(str(exc))
        if name.strip() == "bert-base-cased":
            return held("allowed, as listed")
        return broken("allowed")

    def page(name: str) -> Verdict:
        at = open_page("app_pages/bias_probe.py")
        at.session_state["bias_second_name"] = name
        at.run()
        verdict = page_verdict(at)
        if loaded:
            return broken(f"loaded {loaded[-1]}")
        return verdict

    def same_message() -> Verdict:
        distinct = {m.split("'")[0] + m.split("'")[-1] for m in messages.values()}
        return held() if len(distinct) == 1 else weak(f"{len(distinct)} different messages: {sorted(distinct)[:2]}")

    cases: dict[str, Callable[[], Verdict]] = {f"allow-list: {n[:40]!r}": (lambda n=n: core(n)) for n in names}
    cases.update({f"page: {n[:40]!r}": (lambda n=n: page(n)) for n in (str(real_dir), str(tmp_path / "missing"),
                                                                       "../../..", "~")})
    cases["one message whether or not it exists"] = same_message

    def box_is_a_choice() -> Verdict:
        at = open_page("app_pages/bias_probe.py")
        if [w for w in at.text_input if w.key == "bias_second_model"]:
            return broken("a free text box")
        options = [w.options for w in at.selectbox if w.key == "bias_second_model"]
        return held() if options == [["bert-base-cased"]] else broken(f"options {options}")

    cases["the second-checkpoint box"] = box_is_a_choice
    rows = record("6 any visitor can load any model", cases)
    assert_none_weak_or_broken(rows)


# ---------------------------------------------------------------- 7 heavy work

def test_heavy_work_from_a_link(app_env, lm, monkeypatch):
    from bertlens.encoding import encode
    from bertlens.explain import check_steps

    monkeypatch.setenv("BERT_LENS_MAX_IG_STEPS", "40")
    monkeypatch.setenv("BERT_LENS_MAX_TOKENS", "64")

    def explain_link(query: dict[str, str]) -> Verdict:
        """Held when the page survives and the steps it would run are within the operator's 40, or are refused by
        the core (integrated_gradients calls check_steps) before any pass."""
        at = open_page("app_pages/explain.py", query)
        verdict = page_verdict(at, expect_message=False)
        if verdict.kind != "held":
            return verdict
        steps = next((w.value for w in at.number_input if w.key.endswith("steps")), None)
        if steps is not None and steps > 40:
            return refused(lambda: check_steps(steps))
        return verdict

    def page_text(page: str, key: str, text: str) -> Verdict:
        at = open_page(page)
        at.text_area(key=key).input(text).run()
        return page_verdict(at)

    long_text = "The [MASK] said " + "that the weather was fine " * 20 + "."
    cases: dict[str, Callable[[], Verdict]] = {
        "explain link steps=300 over a limit of 40": lambda: explain_link({"steps": "300"}),
        "explain link steps=41": lambda: explain_link({"steps": "41"}),
        "explain link steps=-5": lambda: explain_link({"steps": "-5"}),
        "explain link steps=1e9": lambda: explain_link({"steps": "1e9"}),
        "explain link steps=999999999999999999999": lambda: explain_link({"steps": "9" * 21}),
        "explain link lens_k=100000": lambda: explain_link({"lens_k": "100000"}),
        "explain link with a 100,000-character text": lambda: explain_link({"text": "x [MASK] " * 12_500}),
        "core: 41 steps": lambda: refused(lambda: check_steps(41)),
        "core: 10**9 steps": lambda: refused(lambda: check_steps(10**9)),
        "core: a 200-token text over a limit of 64": lambda: refused(lambda: encode(lm, long_text)),
        "fill-mask: a text over 64 tokens": lambda: page_text("app_pages/fill_mask.py", "fm_text", long_text),
        "fill-mask link k=100000": lambda: page_verdict(open_page("app_pages/fill_mask.py", {"k": "100000"})),
        "attention: a text over 64 tokens": lambda: page_text("app_pages/attention.py", "att_text", long_text),
    }
    rows = record("7 heavy work from a link", cases)
    assert_none_weak_or_broken(rows)


# ---------------------------------------------------------------- 8 ray

def test_ray(tmp_path):
    import subprocess
    import sys

    from bertlens.bias import cluster
    from net_support import closed_port, http_listener, silent_listener

    closed = closed_port()
    config = tmp_path / "audit.json"
    config.write_text(json.dumps({"bertlens_audit": 1, "models": ["m"], "metrics": ["crows"]}))

    def subprocess_cli(address: str) -> Verdict:
        started = time.monotonic()
        done = subprocess.run([sys.executable, "-m", "bertlens", "audit", str(config), "--ray", address],
                              capture_output=True, text=True, timeout=150, cwd=ROOT)
        took = time.monotonic() - started
        if "Traceback" in done.stderr:
            return weak("a traceback")
        if done.returncode != 2:
            return weak(f"exit {done.returncode}")
        return held(f"exit 2 in {took:.0f} s") if took < 30 else broken(f"took {took:.0f} s")

    with silent_listener() as port, http_listener() as web_port:
        cases: dict[str, Callable[[], Verdict]] = {
            "a refused host:port": lambda: refused(lambda: cluster.check_address(f"127.0.0.1:{closed}"), 10),
            "a refused ray://": lambda: refused(lambda: cluster.check_address(f"ray://127.0.0.1:{closed}"), 10),
            "a silent ray://": lambda: refused(lambda: cluster.check_address(f"ray://127.0.0.1:{port}", 2), 10),
            "a web server": lambda: refused(lambda: cluster.check_address(f"127.0.0.1:{web_port}"), 10),
            "a URL": lambda: refused(lambda: cluster.check_address("https://example.org/ray")),
            "port 99999": lambda: refused(lambda: cluster.check_address("127.0.0.1:99999")),
            "a host with a space": lambda: refused(lambda: cluster.check_address("ray://bad host:10001")),
            "the command line on a silent host:port (default timeout)": lambda: subprocess_cli(f"127.0.0.1:{port}"),
            "the command line on a refused ray://": lambda: subprocess_cli(f"ray://127.0.0.1:{closed}"),
        }
        rows = record("8 ray", cases)
    assert_none_weak_or_broken(rows)


# ---------------------------------------------------------------- 9 configuration

def test_the_configuration():
    from bertlens.bias import audit

    base = {"bertlens_audit": 1, "models": ["m"], "metrics": ["crows"]}
    values = {
        "seed -1": {"seed": -1}, "seed 2**32": {"seed": 2**32}, "seed 10**400": None, "seed 1.5": {"seed": 1.5},
        "seed true": {"seed": True}, "seed \"7\"": {"seed": "7"}, "bootstrap 0": {"bootstrap": 0},
        "permutations 10**12": {"permutations": 10**12}, "min_effect -1": {"min_effect": -1},
        "min_effect NaN": None, "min_effect Infinity": None, "models a string": {"models": "m"},
        "models of numbers": {"models": [1, 2]}, "metrics empty": {"metrics": []},
        "metrics unknown": {"metrics": ["rm -rf"]}, "metrics a dict": {"metrics": {"crows": 1}},
        "precision float8": {"precision": "float8"}, "device tpu": {"device": "tpu"},
        "templates a number": {"templates": 5}, "templates with text and path": {"templates": {"text": "a", "path": "b"}},
        "crows_pairs a URL": {"crows_pairs": {"url": "http://127.0.0.9/x.csv"}}, "an unknown field": {"eval": "1+1"},
        "chosen_pairs of nulls": {"chosen_pairs": [None]}, "10,001 models": {"models": [f"m{i}" for i in range(10_001)]},
        "the format 2": {"bertlens_audit": 2}, "format \"1\"": {"bertlens_audit": "1"},
    }
    raw = {
        "seed 10**400": json.dumps(base)[:-1] + ', "seed": 1' + "0" * 400 + "}",
        "min_effect NaN": json.dumps(base)[:-1] + ', "min_effect": NaN}',
        "min_effect Infinity": json.dumps(base)[:-1] + ', "min_effect": Infinity}',
        "100,000 nested [": json.dumps(base)[:-1] + ', "x": ' + "[" * 100_000 + "}",
        "nesting 25 deep in chosen_pairs": json.dumps(base)[:-1] + ', "chosen_pairs": ' + "[" * 25 + "]" * 25 + "}",
        "duplicate keys, the last one bad": json.dumps(base)[:-1] + ', "seed": 1, "seed": -1}',
        "not JSON": "bertlens_audit: 1",
        "a JSON list": "[1]",
    }
    cases: dict[str, Callable[[], Verdict]] = {
        name: (lambda text=(raw[name] if v is None else json.dumps({**base, **v})): refused(
            lambda: audit.parse_config(text)))
        for name, v in values.items()
    }
    cases.update({name: (lambda t=t: refused(lambda: audit.parse_config(t))) for name, t in raw.items()
                  if name not in values})

    def negative_seed_cli(tmp: Path) -> Verdict:
        path = tmp / "neg.json"
        path.write_text(json.dumps({**base, "seed": -1}))
        return cli(["audit", str(path)])

    import tempfile

    folder = Path(tempfile.mkdtemp())
    cases["the command line on seed -1"] = lambda: negative_seed_cli(folder)
    rows = record("9 the configuration", cases)
    assert_none_weak_or_broken(rows)


# ---------------------------------------------------------------- 10 deploy

def test_deploy(tmp_path):
    import shutil
    import yaml

    import test_deploy as deploy

    site = deploy.TEMPLATE.read_text(encoding="utf-8")
    dockerfile = deploy.DOCKERFILE.read_text(encoding="utf-8")
    compose = yaml.safe_load((deploy.DEPLOY / "compose.yaml").read_text(encoding="utf-8"))
    cases: dict[str, Callable[[], Verdict]] = {
        "static: server_tokens": lambda: held() if "server_tokens off;" in site else broken("version shown"),
        "static: compose's published address": lambda: held() if all(
            re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", str(p)).startswith("127.0.0.1:")
            for s in compose["services"].values() for p in s.get("ports", [])) else broken("every interface"),
        "static: base image by digest": lambda: held() if re.search(
            r"^ARG BASE_IMAGE=\S+@sha256:[0-9a-f]{64}$", dockerfile, re.M) else broken("no digest"),
        "static: one index per pip call": lambda: held() if "--extra-index-url" not in "\n".join(
            line for line in dockerfile.splitlines() if not line.lstrip().startswith("#")) else broken("two indexes"),
    }
    for secret in (".env", ".env.local", ".streamlit/secrets.toml", "keys/server.key", "certs/tls.pem"):
        cases[f"static: {secret} kept out of the image"] = (
            lambda s=secret: broken("copied") if deploy.in_image(s) else held())
    cases["static: the package data in the image"] = (
        lambda: held() if deploy.in_image("bertlens/data/precision_agreement.json") else broken("left out"))

    if not (shutil.which("nginx") or Path("/usr/sbin/nginx").is_file()):
        pytest.skip("nginx is not installed (make deploy-tools)")
    ports = [deploy.free_port(), deploy.free_port()]
    with deploy.running_upstub(ports) as stub, deploy.running_nginx([f"127.0.0.1:{p}" for p in ports],
                                                                    tmp_path / "nginx") as proxy:
        limit = deploy.upload_limit_bytes()

        def request(raw: bytes, want: set[int], check_headers: bool = True) -> Verdict:
            status, headers, body = deploy.raw_request(proxy.port, raw, timeout=30)
            if re.search(rb"nginx/\d", body) or headers.get("Server", "nginx") != "nginx":
                return broken("the version shows")
            if status not in want:
                return broken(f"status {status}, wanted {sorted(want)}")
            if check_headers and status < 500 and headers.get("X-Content-Type-Options") != "nosniff":
                return broken("no security headers")
            return held(f"status {status}")

        post = "POST /_stcore/upload_file/x HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: {}\r\n\r\n"
        live: dict[str, Callable[[], Verdict]] = {
            "GET /": lambda: request(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", {200}),
            "a traversal path": lambda: request(b"GET /../../etc/passwd HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                                                {400, 404, 200}),
            "a method nginx does not know": lambda: request(b"BREW / HTTP/1.1\r\nHost: x\r\n\r\n", {400, 405, 501}),
            "HTTP/0.9 garbage": lambda: request(b"\x16\x03\x01garbage\r\n\r\n", {0, 400}, check_headers=False),
            "a 64 KB header": lambda: request(b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 65_536 + b"\r\n\r\n",
                                              {400, 431, 494}),
            "a body at the upload limit": lambda: request(post.format(limit).encode() + b"a" * limit, {200}),
            "a body one byte over it": lambda: request(post.format(limit + 1).encode() + b"a" * (limit + 1), {413}),
            "a Content-Length of 10 GB": lambda: request(post.format(10 * 1024**3).encode(), {413}),
            "chunked body over the limit": lambda: request(
                b"POST /_stcore/upload_file/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close"
                b"\r\n\r\n" + f"{limit + 16:x}\r\n".encode() + b"a" * (limit + 16) + b"\r\n0\r\n\r\n", {413}),
        }

        def flood_requests() -> Verdict:
            import concurrent.futures

            raw = b"GET /static/x.js HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
            with concurrent.futures.ThreadPoolExecutor(16) as pool:
                statuses = list(pool.map(lambda _: deploy.raw_request(proxy.port, raw)[0], range(800)))
            return held(f"{statuses.count(429)} of 800 refused") if statuses.count(429) else broken("no 429")

        def flood_sockets() -> Verdict:
            import concurrent.futures

            stub.hold_sockets = 3.0
            raw = (b"GET /_stcore/stream HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   b"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
            try:
                time.sleep(1.5)  # let the request zone refill after the flood above
                with concurrent.futures.ThreadPoolExecutor(60) as pool:
                    statuses = list(pool.map(lambda _: deploy.raw_request(proxy.port, raw, timeout=20)[0], range(60)))
            finally:
                stub.hold_sockets = 0.0
            return held(f"{statuses.count(429)} of 60 refused") if statuses.count(429) >= 20 else \
                broken(f"{statuses.count(101)} sockets of 60 opened")

        live["800 requests at once"] = flood_requests
        live["60 WebSocket upgrades at once"] = flood_sockets
        cases.update({f"live: {k}": v for k, v in live.items()})
        rows = record("10 deploy", cases)
    assert_none_weak_or_broken(rows)


# ---------------------------------------------------------------- 11 links (ours)

def test_links_and_query_parameters(app_env):
    script = "<script>alert(1)</script><img src=x onerror=alert(1)> 127.0.0.9"
    links = {
        ("app_pages/fill_mask.py", "text"): MARKUP,
        ("app_pages/fill_mask.py", "k"): "-1",
        ("app_pages/fill_mask.py", "targets"): script,
        ("app_pages/next_sentence.py", "a"): MARKUP,
        ("app_pages/explain.py", "target"): MARKUP,
        ("app_pages/explain.py", "baseline"): script,
        ("app_pages/attention.py", "text"): "\x00" * 50 + MARKUP,
        ("app_pages/bias_probe.py", "pairs"): f"he,{MARKUP}",
        ("app_pages/bias_probe.py", "templates"): MARKUP,
        ("app_pages/bias_probe.py", "probe_pairs"): ",".join(["x"] * 500),
        ("app_pages/counterfactual.py", "pairs"): MARKUP,
        ("app_pages/home.py", "presentation"): script,
    }
    cases: dict[str, Callable[[], Verdict]] = {
        f"{Path(page).stem}?{param}=…": (lambda page=page, q={param: value}: page_verdict(
            open_page(page, q), expect_message=False))
        for (page, param), value in links.items()
    }
    cases["an unknown parameter of 100 KB"] = lambda: page_verdict(
        open_page("app_pages/fill_mask.py", {"zzz": "x" * 100_000}), expect_message=False)
    rows = record("11 links and query parameters (ours)", cases)
    assert_none_weak_or_broken(rows)


# ---------------------------------------------------------------- 12 command line (ours)

def test_command_line_arguments(app_env, tmp_path):
    folder = tmp_path / "a folder.json"
    folder.mkdir()
    config = tmp_path / "audit.json"
    config.write_text(json.dumps({"bertlens_audit": 1, "models": ["m"], "metrics": ["crows"]}))
    cases: dict[str, Callable[[], Verdict]] = {
        "fill-mask --top-k -5": lambda: cli(["fill-mask", "The [MASK].", "--top-k", "-5"]),
        "fill-mask with 11 masks": lambda: cli(["fill-mask", "[MASK] " * 11]),
        "explain --steps 100000": lambda: cli(["explain", "The [MASK] ran.", "--target", "dog", "--steps", "100000"]),
        "audit --out into a folder that does not exist":
            lambda: cli(["audit", str(config), "--out", str(tmp_path / "no" / "r.json")]),
        "audit --out report.exe": lambda: cli(["audit", str(config), "--out", str(tmp_path / "r.exe")]),
        "audit of a folder": lambda: cli(["audit", str(folder)]),
        "audit --models and --models-file": lambda: cli(["audit", str(config), "--models", "a", "--models-file",
                                                         str(config)]),
        "audit --max-file-mb 999999": lambda: cli(["audit", str(config), "--max-file-mb", "999999"]),
        "an unknown verb": lambda: cli(["rm", "-rf", "/"]),
        "nsp with an empty sentence B": lambda: cli(["nsp", "A sentence.", ""]),
    }
    rows = record("12 command-line arguments (ours)", cases)
    assert_none_weak_or_broken(rows)


# ---------------------------------------------------------------- 13 round 2 (issue 28): settings and outputs

def setting(monkeypatch, name: str, value: str) -> Verdict:
    """Held when every verb refuses the setting at once: exit 2, one line naming it (the app's side is in
    test_settings_env.py)."""
    monkeypatch.setenv(name, value)
    try:
        verdict = cli(["methods"], seconds=10)
    finally:
        monkeypatch.delenv(name)
    return verdict if name in verdict.note or verdict.kind != "held" else weak(f"{name} not named: {verdict.note}")


def output(argv: list[str], target: Path, stays: bytes | None = None) -> Verdict:
    """Held when the command exits 2 at once with one line, before any work, and `target` is as it was."""
    verdict = cli(argv, seconds=20)
    if verdict.kind == "held" and stays is not None and target.read_bytes() != stays:
        return broken("the existing file was changed")
    return verdict


def test_round_two_settings_and_outputs(app_env, tmp_path, monkeypatch):
    import gzip

    from bertlens.bias.stereoset import parse_stereoset
    from bertlens.outputs import write_atomic

    fifo = tmp_path / "fifo.json"
    os.mkfifo(fifo)
    folder = tmp_path / "existing_folder.json"
    folder.mkdir()
    config = tmp_path / "audit.json"
    config.write_text(json.dumps({"bertlens_audit": 1, "models": ["m"], "metrics": ["crows"]}))
    crows = tmp_path / "pairs.csv"
    crows.write_text("sent_more,sent_less,stereo_antistereo,bias_type\nA man.,A woman.,stereo,gender\n")
    stereoset = tmp_path / "dev.json"
    stereoset.write_text(json.dumps({"version": "1", "data": {"intrasentence": []}}))
    bomb = gzip.compress(("[" + ",".join(["{}"] * 10_000_000) + "]").encode())
    device = tmp_path / "device.json"
    device.symlink_to("/dev/null")
    kept = tmp_path / "kept.json"
    kept.write_text("the old report")

    def atomic_failure() -> Verdict:
        class Unprintable:
            def __str__(self) -> str:
                raise RuntimeError("half-way")

        try:
            write_atomic(kept, "new" * 1000 + str(Unprintable()))
        except RuntimeError:
            pass
        left = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".kept"))
        if kept.read_text() != "the old report" or left:
            return broken(f"half-written: {kept.read_text()[:20]!r}, left {left}")
        write_atomic(kept, "the new report")
        return held() if kept.read_text() == "the new report" else broken("not replaced")

    def rtl_in_a_message() -> Verdict:
        from bertlens.text import excerpt, md_escape

        quoted = excerpt("evil\u202egnp.exe\x1b[2J")
        shown = md_escape("a \u202e b")
        if "\u202e" in quoted + shown or "\x1b" in quoted:
            return broken(f"raw control characters quoted: {quoted!r}")
        return held(quoted)

    cases: dict[str, Callable[[], Verdict]] = {
        # services/jobs.py:32,34,47 read these late (a job page raised); bertlens/settings.py:54 checked only MAX_*.
        # Expected: exit 2 before any work, one line naming the variable and its range.
        "services/jobs.py:34 BERT_LENS_STORE_MB=-1 refused at start": lambda: setting(monkeypatch, "BERT_LENS_STORE_MB", "-1"),
        "services/jobs.py:34 BERT_LENS_STORE_MB=abc refused at start": lambda: setting(monkeypatch, "BERT_LENS_STORE_MB", "abc"),
        "services/jobs.py:45 BERT_LENS_JOB_WORKERS=abc refused at start":
            lambda: setting(monkeypatch, "BERT_LENS_JOB_WORKERS", "abc"),
        "services/jobs.py:45 BERT_LENS_JOB_WORKERS=1000 refused (upper bound 64)":
            lambda: setting(monkeypatch, "BERT_LENS_JOB_WORKERS", "1000"),
        "services/jobs.py:32 BERT_LENS_MAX_QUEUE=abc refused at start": lambda: setting(monkeypatch, "BERT_LENS_MAX_QUEUE", "abc"),
        "services/jobs.py:32 BERT_LENS_MAX_QUEUE=0 refused (every run would be)":
            lambda: setting(monkeypatch, "BERT_LENS_MAX_QUEUE", "0"),
        # cli/stereoset.py:33-39,66, export.py:229-235,243, cli/audit.py:31,56: outputs checked only at the end.
        # Expected: exit 2 within seconds, before loading anything, one line.
        "cli/stereoset.py:33 stereoset --out FIFO exits 2 at once":
            lambda: output(["stereoset", str(stereoset), "--out", str(fifo)], fifo),
        "cli/audit.py:31 audit --out FIFO exits 2 at once": lambda: output(["audit", str(config), "--out", str(fifo)], fifo),
        "export.py:229 crows --out FIFO exits 2 at once": lambda: output(["crows", str(crows), "--out", str(fifo)], fifo),
        "cli/audit.py:31 audit --out existing_folder.json exits 2 at once (was exit 1 after the audit)":
            lambda: output(["audit", str(config), "--out", str(folder)], folder),
        "cli/audit.py:76 audit --html /proc/x.html exits 2 at once (was after the run)":
            lambda: output(["audit", str(config), "--html", "/proc/x.html"], Path("/proc")),
        "export.py:229 probe --out a link to /dev/null refused (a device)":
            lambda: output(["probe", "--out", str(device)], device),
        "outputs.py write_atomic: a failure mid-write leaves the old report whole, no temporary file":
            atomic_failure,
        # bias/stereoset.py:198 plain json.loads of an unpacked 30 MB of {}: expected refused by the object bound,
        # in well under the 750 MB and seconds the parse took.
        "bias/stereoset.py:198 a .json.gz object bomb is refused before parsing":
            lambda: refused(lambda: parse_stereoset(bomb, "bomb.json.gz"), seconds=10),
        "bias/stereoset.py:198 nesting 10,000 deep is refused":
            lambda: refused(lambda: parse_stereoset(b"[" * 10_000 + b"]" * 10_000, "deep.json"), seconds=10),
        # fill_mask.py:220 / text.py:120 quoted a right-to-left override raw. Expected: visible escapes.
        "text.py:120 a right-to-left override in a message is a visible escape": rtl_in_a_message,
    }
    rows = record("13 round 2: settings and outputs", cases)
    assert_none_weak_or_broken(rows)


# ---------------------------------------------------------------- 14 round 2 (issue 28): pages

URL_NAME = "[Click to re-login](http://127.0.0.9/phish) www.127.0.0.9 me@127.0.0.9.csv"


def test_round_two_pages(app_env):
    import csv as csv_module

    import numpy as np

    from components import audit_charts
    from components.heads_view import grid_csv

    at = open_page("app_pages/bias_probe.py")
    baseline = set(rendered(at))

    def ran_on_is_plain_text() -> Verdict:
        """components/audit_views.py:268 captioned ran_on through md_escape, and markdown still linked its bare
        URLs. Expected: the string is drawn by st.text (no markdown), and no markdown element links the host."""
        upload_report(at, "r.json", json.dumps({**GOOD_REPORT, "ran_on": MARKUP}).encode())
        if not any("127.0.0.9/phish" in str(t.value) for t in at.text):
            return broken("ran_on is not drawn as plain text (st.text)")
        return page_verdict(at, expect_message=False, baseline=baseline)

    def upload_named(key: str, data: bytes) -> Verdict:
        """A file name quoted in a message: expected defanged (no bare URL, address or www. host left)."""
        page = open_page("app_pages/bias_probe.py")
        next(u for u in page.file_uploader if u.key == key).set_value((URL_NAME, data, "text/csv"))
        page.run()
        return page_verdict(page, expect_message=False, baseline=baseline)

    def heads_csv_is_spreadsheet_safe() -> Verdict:
        """components/heads_view.py:173 wrote '# swap: ...=a,-2+3' raw: a cell '-2+3' a spreadsheet runs.
        Expected: every cell, comment lines included, passes the one spreadsheet-safe writer."""
        text = grid_csv(np.zeros((2, 2)), {"text": "=HYPERLINK(\"http://127.0.0.9\")",
                                           "swap": "nurse x y z w v=a,-2+3", "note": "@SUM(1)"})
        cells = [c for row in csv_module.reader(text.splitlines()) for c in row]
        risky = [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")]
        return broken(f"formula cells: {risky}") if risky else held(f"{len(cells)} cells, none a formula")

    def huge_report() -> Verdict:
        """components/audit_charts.py:108-117 built one trace per checkpoint in a quadratic loop (40 s for
        36,000). Expected: the page draws one trace for the dots, and shows the report without an exception."""
        rows = [{"model": f"s{i}", "status": "ok", "scores": {"s": 0.5},
                 "occupations": [{"occupation": "nurse", "log_ratio": (i % 97) / 97}]} for i in range(36_000)]
        report = {**GOOD_REPORT, "checkpoints": rows, "completed": 36_000, "failed": 0, "spread": [], "inputs": []}
        data = json.dumps(report).encode()
        finished, page, exc = in_thread(lambda: upload_report(at, "huge.json", data), 120)
        if not finished or exc is not None:
            return broken(f"not shown in 120 s: {exc}")
        figure = audit_charts.checkpoint_strip(audit_parse(data))
        if len(figure.data) > audit_charts.MAX_LEGEND + 1:
            return broken(f"{len(figure.data)} traces")
        return page_verdict(page, expect_message=False, baseline=baseline)

    def audit_parse(data: bytes) -> dict:
        from bertlens.bias import audit

        return audit.parse_report(data, "huge.json")

    cases: dict[str, Callable[[], Verdict]] = {
        "components/audit_views.py:268 a report's ran_on with bare URLs is plain text, not a live link":
            ran_on_is_plain_text,
        "components/uploads.py a CrowS-Pairs file named with a URL: no live link": lambda: upload_named(
            "bias_crows_file", b"not,a,crows,file\n"),
        "components/uploads.py an occupations file named with a URL: no live link": lambda: upload_named(
            "bias_occupations_file", b"\xff\xfe broken"),
        "components/heads_view.py:173 the heads CSV is spreadsheet-safe, comment lines too":
            heads_csv_is_spreadsheet_safe,
        "components/audit_charts.py:108 a report of 36,000 checkpoints loads with one trace": huge_report,
    }
    rows = record("14 round 2: pages", cases)
    assert_none_weak_or_broken(rows)


# ---------------------------------------------------------------- 15 round 2 (issue 28): one visitor against others

def test_round_two_one_visitor_against_the_others(app_env):
    """The runner with fake jobs held on events (no model, no browser)."""
    import numpy as np

    from bertlens.jobs import JobKey, QueueFull, ResultStore, Runner

    def key(n: object) -> JobKey:
        return JobKey.of("toy", "m", "float32", {}, n)

    def gate(release: threading.Event, started: threading.Event | None = None):
        def work(context) -> str:
            if started is not None:
                started.set()
            while not release.wait(0.01):
                context.progress(0.5, 1.0)
            return "done"
        return work

    def one_session_fills_the_queue() -> Verdict:
        """bertlens/jobs.py:301-302: with MAX_QUEUE=6 one session queued six runs and another was refused. Expected:
        the first session is capped at its share (SESSION_QUEUE), the second's single run is queued and runs
        next (round-robin, jobs.py:380-383)."""
        release, busy = threading.Event(), threading.Event()
        runner = Runner(workers=1, max_queue=6, session_queue=4)
        runner.submit(key("scoring 5,000 pairs"), gate(release, busy), "a")
        busy.wait(10)
        capped = 0
        for n in range(6):
            try:
                runner.submit(key(f"a{n}"), gate(release), "a")
            except QueueFull:
                capped += 1
        try:
            single = runner.submit(key("b"), gate(release), "b")
        except QueueFull as exc:
            release.set()
            return broken(f"the other session was refused: {exc}")
        place = runner.position(single)
        for n in range(6):
            runner.stop(key(f"a{n}"), "a")
        runner.stop(key("b"), "b")
        release.set()
        return held(f"{capped} of a's runs refused; b is number {place}") if capped and place == 1 else \
            broken(f"b is number {place} in the queue")

    def stopped_owner_waits() -> Verdict:
        """bertlens/jobs.py:327,382,395: a session that pressed Stop on a shared run stayed its running owner, and
        its next run waited with a worker free. Expected: it starts at once."""
        release, started_shared, started_next = threading.Event(), threading.Event(), threading.Event()
        runner = Runner(workers=2)
        runner.submit(key("shared"), gate(release, started_shared), "a")
        runner.submit(key("shared"), gate(release), "b")
        started_shared.wait(10)
        runner.stop(key("shared"), "a")
        runner.submit(key("next"), gate(release, started_next), "a")
        ok = started_next.wait(10)
        release.set()
        return held() if ok else broken("a's next run waited for the run it stopped")

    def quick_views_evict_a_run() -> Verdict:
        """bertlens/jobs.py:158-170: three attention links from B evicted A's finished CrowS result (one LRU).
        Expected: runs and quick views have their own budgets (services/jobs.py: half of BERT_LENS_STORE_MB each)."""
        store = ResultStore(max_entries=512, max_bytes=256 * 2**20, quick_share=0.5)
        store.put("crows of A", np.zeros(2**20))
        for n in range(3):
            store.get_or_compute(("attention of B", n), lambda: np.zeros(7 * 2**20))
        return held() if "crows of A" in store else broken("A's result was evicted")

    def idle_page_keeps_its_tensors() -> Verdict:
        """app_pages/attention.py:130,134,142: closures over the page passed to widgets (:215,234,275) kept every
        idle session's ~400 MB view. Expected: the page defines no function (tests/test_session_memory.py checks
        that a dropped view is freed)."""
        import ast

        tree = ast.parse((ROOT / "app_pages" / "attention.py").read_text(encoding="utf-8"))
        defined = [n.lineno for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.Lambda))]
        return broken(f"functions at lines {defined}") if defined else held()

    cases: dict[str, Callable[[], Verdict]] = {
        "bertlens/jobs.py:301 one session cannot hold the whole queue": one_session_fills_the_queue,
        "bertlens/jobs.py:327 a session that stopped a shared run is not its running owner": stopped_owner_waits,
        "bertlens/jobs.py:158 quick views cannot evict another visitor's run": quick_views_evict_a_run,
        "app_pages/attention.py:130 no page closure keeps an idle session's tensors": idle_page_keeps_its_tensors,
    }
    rows = record("15 round 2: one visitor against the others", cases)
    assert_none_weak_or_broken(rows)


def test_write_the_tally():
    """Writes test-artifacts/hostile.json from the groups that ran in this session (all of them in a full run)."""
    if not RESULTS:
        pytest.skip("no group ran")
    tally = {}
    for group, rows in RESULTS.items():
        tally[group] = {"tried": len(rows), **{k: sum(r["verdict"] == k for r in rows)
                                                for k in ("held", "weak", "broken")}}
    total = {k: sum(t[k] for t in tally.values()) for k in ("tried", "held", "weak", "broken")}
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "hostile.json").write_text(json.dumps({
        "what": "hostile inputs against the app, the command line and deploy/, on loopback (tests/test_hostile_public.py)",
        "groups": {g: {"about": GROUPS[g], **tally[g]} for g in tally}, "total": total,
        "cases": [r for rows in RESULTS.values() for r in rows]}, indent=2, ensure_ascii=False), encoding="utf-8")
    if len(RESULTS) == len(GROUPS):
        assert total["tried"] >= 150
