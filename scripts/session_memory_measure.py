"""Memory per session on the attention page (issue 28): N sessions each open /attention with a different 512-token
text on a full-size random bert-large, and stay open (idle, as visitors who left a tab open). Prints and writes the
server's resident memory after the model and after each session, and the growth per session.

    .venv/bin/python scripts/session_memory_measure.py [--root CHECKOUT] [--sessions 5] [--store-mb 256]

`--root` is the checkout whose app runs (default this one): point it at a checkout of an older commit to measure
before a fix, with the same script. The sessions are Streamlit's own (AppTest, in this process: the server's
memory is this process's), so a session keeps exactly what a server session keeps: its state and its widgets'
callbacks. No garbage collection is forced (the app runs with postScriptGC = false); the figures per session are
taken after glibc's malloc_trim, so memory freed but kept by the allocator does not count. Not part of `make test`.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent


def rss_mib() -> float:
    import psutil

    return psutil.Process(os.getpid()).memory_info().rss / 2**20


def trimmed_rss_mib() -> float:
    """Resident memory once the C allocator has handed freed memory back (glibc's malloc_trim): what the process
    still holds, not what it once touched. No Python garbage collection is forced."""
    import ctypes

    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass
    return rss_mib()


def text_of(n: int, words: int = 600) -> str:
    """A different long text for each session (over 512 word pieces: the page cuts it to 512)."""
    vocabulary = ("the nurse said that the doctor would be late because of the rain in the city and the train "
                  "was slow so everyone waited at the station for a long time").split()
    return " ".join(vocabulary[(i * (n + 3) + n) % len(vocabulary)] for i in range(words)) + " [MASK]."


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", default=str(HERE), help="the checkout whose app.py runs (default: this one)")
    parser.add_argument("--model", help="a full-size model folder (default: a random bert-large, built once)")
    parser.add_argument("--sessions", type=int, default=5)
    parser.add_argument("--store-mb", type=int, default=256)
    parser.add_argument("--label", default="", help="a name for this run in the output (e.g. before, after)")
    parser.add_argument("--out", default=str(HERE / "test-artifacts" / "session_memory.json"),
                        help="a JSON file the run is added to (one entry per --label)")
    args = parser.parse_args()

    sys.path.insert(0, str(HERE))
    from devtools.random_model import model_folder

    model = args.model or str(model_folder("large"))
    root = Path(args.root).resolve()
    os.environ.update({"BERT_LENS_MODEL": model, "BERT_LENS_DEVICE": "cpu", "HF_HUB_OFFLINE": "1",
                       "BERT_LENS_STORE_MB": str(args.store_mb), "TOKENIZERS_PARALLELISM": "false"})
    os.chdir(root)
    sys.path.insert(0, str(root))
    for name in [m for m in sys.modules if m.split(".")[0] in ("bertlens", "components", "services", "devtools")]:
        del sys.modules[name]
    from streamlit.testing.v1 import AppTest

    start = rss_mib()
    warm = AppTest.from_file(str(root / "app.py"), default_timeout=900).run()
    warm.switch_page("app_pages/attention.py").run()  # the default short text: every weight read once
    assert not warm.exception, warm.exception
    del warm
    with_model = trimmed_rss_mib()
    sessions, after, trimmed, tokens = [], [], [], []
    for n in range(args.sessions):
        at = AppTest.from_file(str(root / "app.py"), default_timeout=900).run()
        at.switch_page("app_pages/attention.py").run()
        at.text_area(key="att_text").input(text_of(n)).run()
        assert not at.exception, at.exception
        tokens.append(next((int(e.label.split("(")[1].rstrip(")")) for e in at.expander
                            if e.label.startswith("Tokens (")), None))
        sessions.append(at)
        after.append(round(rss_mib(), 1))
        trimmed.append(round(trimmed_rss_mib(), 1))
        print(f"session {n + 1}: {after[-1]:,.0f} MiB ({trimmed[-1]:,.0f} MiB trimmed)", file=sys.stderr)
    time.sleep(1)
    settled = trimmed_rss_mib()
    per_session = (settled - with_model) / args.sessions
    entry = {"label": args.label or str(root), "root": str(root), "model": model, "sessions": args.sessions,
             "tokens": tokens, "store_mb": args.store_mb, "rss_start_mib": round(start, 1),
             "rss_with_model_mib": round(with_model, 1), "rss_after_each_session_mib": after,
             "rss_trimmed_after_each_session_mib": trimmed, "rss_settled_trimmed_mib": round(settled, 1),
             "growth_mib": round(settled - with_model, 1),
             "per_session_mib": round(per_session, 1),
             "bound_mib": round(with_model + args.store_mb + 100 * args.sessions, 1),
             "bound": "the model (after one pass) + BERT_LENS_STORE_MB + 100 MiB per session",
             "within_bound": max(after) <= with_model + args.store_mb + 100 * args.sessions,
             "measured_at": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    runs = json.loads(out.read_text()) if out.is_file() else {}
    runs[entry["label"]] = entry
    out.write_text(json.dumps(runs, indent=2))
    print(json.dumps(entry, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
