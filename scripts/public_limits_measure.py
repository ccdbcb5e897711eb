"""Issue 28's figures for a public server, measured: the time to refuse each bad BERT_LENS_* setting (the command
line, a fresh process, as a shell or a service manager starts it; and the app's first page), and the time for a
report of 36,000 checkpoints to load on the bias page's Many checkpoints tab.

    .venv/bin/python scripts/public_limits_measure.py [--out test-artifacts/public_limits.json]

Uses a tiny random model for the app (the refusal comes before any model is loaded; the report needs none). Not
part of `make test`: speed targets are not unit tests.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BAD = [("BERT_LENS_STORE_MB", "-1"), ("BERT_LENS_STORE_MB", "abc"), ("BERT_LENS_JOB_WORKERS", "abc"),
       ("BERT_LENS_JOB_WORKERS", "1000"), ("BERT_LENS_MAX_QUEUE", "abc"), ("BERT_LENS_MAX_QUEUE", "0"),
       ("BERT_LENS_SESSION_QUEUE", "0")]
CHECKPOINTS = 36_000


def cli_refusal(name: str, value: str) -> dict:
    env = {**os.environ, name: value}
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "bertlens", "methods"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)
    seconds = time.perf_counter() - started
    return {"setting": f"{name}={value}", "exit": done.returncode, "seconds": round(seconds, 2),
            "message": done.stderr.strip()}


def baseline_cli() -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "bertlens", "methods"], cwd=ROOT, capture_output=True, timeout=120)
    return round(time.perf_counter() - started, 2)


def app_refusal(name: str, value: str) -> dict:
    from streamlit.testing.v1 import AppTest

    os.environ[name] = value
    try:
        started = time.perf_counter()
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300).run()
        seconds = time.perf_counter() - started
    finally:
        del os.environ[name]
    return {"setting": f"{name}={value}", "seconds": round(seconds, 2), "errors": [e.value for e in at.error],
            "page_drawn": bool(at.main.title or at.main.text_area or at.main.text_input)}


def huge_report() -> bytes:
    rows = [{"model": f"s{i}", "status": "ok", "scores": {"s": 0.5},
             "occupations": [{"occupation": ("nurse", "engineer", "teacher", "pilot")[i % 4],
                              "log_ratio": (i % 97) / 97}]} for i in range(CHECKPOINTS)]
    return json.dumps({"report": "BERT Lens bias audit", "date": "2026-01-01", "configuration_sha256": "a" * 64,
                       "ran_on": "here", "inputs": [], "checkpoints": rows, "completed": CHECKPOINTS, "failed": 0,
                       "spread": []}).encode()


def report_times(data: bytes) -> dict:
    from streamlit.testing.v1 import AppTest

    from bertlens.bias import audit
    from components import audit_charts

    started = time.perf_counter()
    report = audit.parse_report(data, "huge.json")
    parse = time.perf_counter() - started
    started = time.perf_counter()
    figure = audit_charts.checkpoint_strip(report)
    chart = time.perf_counter() - started
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=600).run()
    at.switch_page("app_pages/bias_probe.py").run()
    upload = next(u for u in at.file_uploader if u.key == "bias_audit_upload")
    upload.set_value(("huge.json", data, "application/json"))
    started = time.perf_counter()
    at.run()
    page = time.perf_counter() - started
    return {"checkpoints": CHECKPOINTS, "bytes": len(data), "parse_and_validate_s": round(parse, 2),
            "chart_s": round(chart, 2), "chart_traces": len(figure.data),
            "page_rerun_with_the_upload_s": round(page, 2), "page_exception": bool(at.exception),
            "page_errors": [e.value for e in at.error]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=str(ROOT / "test-artifacts" / "public_limits.json"))
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    os.chdir(ROOT)
    from devtools.random_model import build_random_model

    with tempfile.TemporaryDirectory() as scratch:
        os.environ.update({"BERT_LENS_MODEL": str(build_random_model(Path(scratch) / "tiny", size="tiny")),
                           "BERT_LENS_DEVICE": "cpu", "HF_HUB_OFFLINE": "1"})
        out = {"cpu_count": os.cpu_count(), "cli_start_without_a_bad_setting_s": baseline_cli(),
               "cli": [cli_refusal(n, v) for n, v in BAD], "app_first_page": [app_refusal(n, v) for n, v in BAD],
               "report": report_times(huge_report()),
               "measured_at": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=2, ensure_ascii=False))
    print(json.dumps(out, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
