"""The benchmark's `jobs` section: what the one job runner costs, and what sharing a job saves.

- Overhead: the runner's own cost per job (keying, queue, thread hand-off, storing and sizing the result, waking
  the waiter), measured with the computation taken out: the job returns one CrowS-Pairs pair's real result, already
  computed, and each round's time is compared with a direct call that returns the same object. Every job has a new
  key, so none is answered from the store. A second row runs the real computation both ways for context; on a
  full-size model its ~1 s varies by more than the overhead, so it carries no target.
- Sharing: the same CrowS-Pairs job asked for by one session, then by two sessions at the same moment (each from
  its own thread, on a fresh store): the second session joins the first's run, so two cost what one costs.
- Bounds: 1,000 distinct jobs, each leaving a result of about 1 MiB, through a store bounded at 64 MiB.
"""
from __future__ import annotations

import statistics
import threading
import time
from typing import Any

import numpy as np

from bertlens.jobs import JobKey, ResultStore, Runner
from bertlens.model import LoadedModel
from bertlens.registry import Context, get

OVERHEAD_ROUNDS = 400
SHARED_PAIRS = 64
STORE_JOBS = 1000
STORE_BYTES = 64 * 2**20
RESULT_BYTES = 2**20
TARGETS = {"overhead_ms": 5.0, "shared": 1.1}


def _crows(lm: LoadedModel, pairs: tuple) -> Any:
    method = get("metric", "crows")
    return method.run(lm, pairs, method.spec.validate(), Context())


def measure(lm: LoadedModel, repeats: int) -> list[dict[str, Any]]:
    """The jobs rows, as keyword arguments of devtools.bench.Row."""
    from devtools.crows_synthetic import synthetic_pairs

    rows = []
    one = tuple(synthetic_pairs(1))
    result = _crows(lm, one)
    runner = Runner(workers=1)
    differences = []
    for n in range(OVERHEAD_ROUNDS):
        start = time.perf_counter()
        (lambda: result)()
        direct = time.perf_counter() - start
        key = JobKey.of("crows", lm.key, lm.info.dtype, {"round": n}, one)
        start = time.perf_counter()
        runner.wait(runner.submit(key, lambda ctx: result, "bench"), 60)
        differences.append(time.perf_counter() - start - direct)
    overhead_ms = statistics.median(differences) * 1000
    rows.append(dict(what=f"runner overhead per job, the computation taken out (submit, queue, hand-off, store, "
                          f"wake; median of {OVERHEAD_ROUNDS} jobs)", median_ms=overhead_ms,
                     value=f"{overhead_ms:.2f} ms", target=f"<= {TARGETS['overhead_ms']:g} ms",
                     met=overhead_ms <= TARGETS["overhead_ms"]))

    direct_s, queued_s = [], []
    for n in range(max(3, repeats)):
        start = time.perf_counter()
        _crows(lm, one)
        direct_s.append(time.perf_counter() - start)
        key = JobKey.of("crows", lm.key, lm.info.dtype, {"real round": n}, one)
        start = time.perf_counter()
        runner.wait(runner.submit(key, lambda ctx: _crows(lm, one), "bench"), 600)
        queued_s.append(time.perf_counter() - start)
    ratio = statistics.median(queued_s) / statistics.median(direct_s)
    rows.append(dict(what=f"one CrowS pair's rows as a job against a direct call ({statistics.median(direct_s) * 1000:.1f}"
                          f" ms direct; median of {len(direct_s)} interleaved rounds)",
                     median_ms=statistics.median(queued_s) * 1000,
                     value=f"{statistics.median(queued_s) * 1000:.1f} ms", ratio=ratio))

    pairs = tuple(synthetic_pairs(SHARED_PAIRS))
    key = JobKey.of("crows", lm.key, lm.info.dtype, {}, pairs)
    alone, together, runs = [], [], []
    for _ in range(max(1, min(repeats, 3))):
        for sessions in (1, 2):
            shared = Runner(workers=2)
            barrier = threading.Barrier(sessions)
            done: list[float] = []

            def session(name: str) -> None:
                barrier.wait()
                job = shared.submit(key, lambda ctx: _crows(lm, pairs), name)
                shared.wait(job, 3600)

            threads = [threading.Thread(target=session, args=(f"s{i}",)) for i in range(sessions)]
            start = time.perf_counter()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            done.append(time.perf_counter() - start)
            (alone if sessions == 1 else together).append(done[0])
            if sessions == 2:
                runs.append(shared.runs)
    ratio = statistics.median(together) / statistics.median(alone)
    rows.append(dict(what=f"two sessions asking for the same CrowS-Pairs job ({SHARED_PAIRS} synthetic pairs) at "
                          f"once, against one session alone ({statistics.median(alone):.2f} s); the model ran "
                          f"{max(runs)} time(s) for the two", median_ms=statistics.median(together) * 1000,
                     value=f"{statistics.median(together):.2f} s", ratio=ratio,
                     target=f"<= {TARGETS['shared']:g}x one session", met=ratio <= TARGETS["shared"]))

    store = ResultStore(max_entries=10_000, max_bytes=STORE_BYTES)
    bounded = Runner(workers=2, max_queue=STORE_JOBS, store=store)
    peak = 0
    jobs = []
    for n in range(STORE_JOBS):
        jobs.append(bounded.submit(JobKey.of("bytes", "none", "none", n, "x"),
                                   lambda ctx: np.zeros(RESULT_BYTES // 8), "bench"))
        peak = max(peak, store.bytes)
    for job in jobs:
        bounded.wait(job, 60)
        peak = max(peak, store.bytes)
    rows.append(dict(what=f"{STORE_JOBS:,} distinct jobs of about {RESULT_BYTES / 2**20:g} MiB each through a "
                          f"store bounded at {STORE_BYTES / 2**20:g} MiB: peak bytes held, {len(store)} entries at "
                          "the end", median_ms=None, value=f"{peak / 2**20:.1f} MiB", ratio=peak / STORE_BYTES,
                     target="<= 1.0x the byte bound", met=peak <= STORE_BYTES))
    return rows
