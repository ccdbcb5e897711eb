"""The benchmark's `jobs` section: what the one job runner costs, and what sharing a job saves.

- Overhead: a small real computation (one CrowS-Pairs pair's masked rows) called directly, and the same
  computation submitted as a job and waited for, in interleaved rounds; the difference per job is the runner's
  cost (thread hand-off, keying, store). Every job has a new key, so none is answered from the store.
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

OVERHEAD_ROUNDS = 40
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
    runner = Runner(workers=1)
    _crows(lm, one)
    direct, queued = [], []
    for n in range(max(OVERHEAD_ROUNDS, repeats)):
        start = time.perf_counter()
        _crows(lm, one)
        direct.append(time.perf_counter() - start)
        key = JobKey.of("crows", lm.key, lm.info.dtype, {"round": n}, one)
        start = time.perf_counter()
        job = runner.submit(key, lambda ctx: _crows(lm, one), "bench")
        runner.wait(job, 600)
        queued.append(time.perf_counter() - start)
    overhead_ms = (statistics.median(queued) - statistics.median(direct)) * 1000
    rows.append(dict(what=f"runner overhead per job against a direct call (one CrowS pair's rows, "
                          f"{statistics.median(direct) * 1000:.1f} ms direct; median of {len(direct)} interleaved "
                          "rounds)", median_ms=overhead_ms, value=f"{overhead_ms:.2f} ms",
                     target=f"<= {TARGETS['overhead_ms']:g} ms", met=overhead_ms <= TARGETS["overhead_ms"]))

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
