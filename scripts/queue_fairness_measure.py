"""The queue's fairness on a full-size model (issue 28's load test, its queue half, without browsers): session A
asks for `--heavy` runs at once, then session B asks for one; each run is `--passes` forward passes of bert-large
(random weights) through the server's own Runner and store. Prints and writes how long B waited against one run's
time, under the fair queue (round-robin across sessions) and, for comparison, under first in, first out.

    .venv/bin/python scripts/queue_fairness_measure.py [--heavy 10] [--passes 2] [--out test-artifacts/queue_fairness.json]

The bound the issue sets: B is delayed by at most one run's time (the run A already has going). Not part of
`make test`.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def measure(lm, heavy: int, passes: int, fair: bool) -> dict:
    from bertlens.analysis import analyse
    from bertlens.jobs import JobKey, Runner

    runner = Runner(workers=1, max_queue=heavy + 4, session_queue=heavy)
    if not fair:  # first in, first out across sessions: the order before issue 28
        runner._order = lambda: list(runner._queue)
    text = "The nurse said that the doctor would be late because of the rain. " * 8

    def run(context) -> int:
        for n in range(passes):
            analyse(lm, text)
            context.progress(n + 1, passes)
        return passes

    def key(name: str) -> JobKey:
        return JobKey.of("fairness", "m", "float32", {"fair": fair}, name)

    jobs = [runner.submit(key(f"a{n}"), run, "A") for n in range(heavy)]
    while jobs[0].started is None:
        time.sleep(0.05)
    asked = time.monotonic()
    single = runner.submit(key("b"), run, "B")
    runner.wait(single)
    for job in jobs:
        runner.wait(job)
    ahead = [j for j in jobs if j.started is not None and j.started < single.started]
    run_times = sorted(j.finished - j.started for j in [*jobs, single])
    one_run = run_times[len(run_times) // 2]
    waited = single.started - asked
    return {"queue": "round-robin across sessions" if fair else "first in, first out", "heavy_runs": heavy,
            "passes_per_run": passes, "median_run_s": round(one_run, 2),
            "a_runs_started_before_b": len(ahead), "b_waited_to_start_s": round(waited, 2),
            "a_run_going_when_b_asked_then_took_s": round(jobs[0].finished - asked, 2),
            "b_wait_in_runs": round(waited / one_run, 2), "bound_met": len(ahead) <= 1}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="a full-size model folder (default: a random bert-large, built once)")
    parser.add_argument("--heavy", type=int, default=10)
    parser.add_argument("--passes", type=int, default=2)
    parser.add_argument("--out", default=str(ROOT / "test-artifacts" / "queue_fairness.json"))
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from bertlens import Settings, load_model
    from devtools.random_model import model_folder

    lm = load_model(Settings(model=args.model or str(model_folder("large")), device="cpu", batch_window_ms=0))
    out = {"model_parameters": lm.info.parameters, "device": "cpu", "cpu_count": os.cpu_count(),
           "runs": [measure(lm, args.heavy, args.passes, fair=True), measure(lm, args.heavy, args.passes, fair=False)],
           "measured_at": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=2))
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
