"""One job runner and one result store for everything that takes longer than a moment.

A Streamlit script reruns on every click, so work done inside the script run is cut short by any click, and
results kept in `session_state` outlive the inputs they belong to. Here a long computation is a `Job` keyed by
what it computes, (method, model, precision, config hash, input hashes): it runs on a bounded pool of worker
threads, is shared by every session that asks for the same key, stops only when everyone who asked for it
pressed Stop, and leaves its result in the one bounded `ResultStore`. A page keeps only widget values and job keys,
and shows a result only while its key equals the key of the page's current inputs.

The command line needs no runner: it calls the same `Method.run` in the foreground, with a progress bar for its
`Context` (`bertlens.cli.common.ProgressBar`).
"""
from __future__ import annotations

import collections
import dataclasses
import hashlib
import json
import logging
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

from bertlens.model import LoadedModel
from bertlens.registry import Context, Method, Stopped

log = logging.getLogger(__name__)

QUEUED, RUNNING, DONE, FAILED, STOPPED = "queued", "running", "done", "failed", "stopped"
DEFAULT_MAX_QUEUE = 64
DEFAULT_MAX_ENTRIES = 512
DEFAULT_MAX_BYTES = 512 * 2**20
DEFAULT_TTL = 3600.0


class QueueFull(Exception):
    """The runner's queue is full; the message says so in words a visitor understands."""


def digest(value: Any) -> str:
    """A stable SHA-256 of plain data (dicts, lists, strings, numbers, bytes, frozen dataclasses), for job keys."""
    h = hashlib.sha256()
    _feed(h, value)
    return h.hexdigest()


def _feed(h: "hashlib._Hash", value: Any) -> None:
    if isinstance(value, bytes):
        h.update(b"b%d:" % len(value))
        h.update(value)
    elif isinstance(value, str):
        data = value.encode("utf-8")
        h.update(b"s%d:" % len(data))
        h.update(data)
    elif value is None or isinstance(value, (bool, int, float)):
        h.update(("v" + json.dumps(value) + ";").encode())
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        h.update(f"d{type(value).__qualname__}(".encode())
        for f in dataclasses.fields(value):
            if f.compare:
                _feed(h, f.name)
                _feed(h, getattr(value, f.name))
        h.update(b")")
    elif isinstance(value, Mapping):
        h.update(b"m{")
        for k in sorted(value, key=str):
            _feed(h, str(k))
            _feed(h, value[k])
        h.update(b"}")
    elif isinstance(value, (list, tuple, frozenset, set)):
        items = sorted(value, key=repr) if isinstance(value, (set, frozenset)) else value
        h.update(b"l[")
        for item in items:
            _feed(h, item)
        h.update(b"]")
    else:
        raise TypeError(f"Cannot key a job on a {type(value).__name__}")


@dataclass(frozen=True)
class JobKey:
    """What a job computes. Equal keys give equal results, so two sessions asking for one key share one run."""

    method: str
    model: str
    precision: str
    config: str
    inputs: str

    @classmethod
    def of(cls, method: str, model_key: str, precision: str, config: Any, inputs: Any) -> "JobKey":
        return cls(method, model_key, precision, digest(config), digest(inputs))

    @property
    def id(self) -> str:
        return digest([self.method, self.model, self.precision, self.config, self.inputs])[:16]


def approx_bytes(value: Any, _seen: set[int] | None = None) -> int:
    """A result's memory, roughly: tensors and arrays by their buffers, containers and dataclasses by their parts."""
    seen = _seen if _seen is not None else set()
    if id(value) in seen:
        return 0
    seen.add(id(value))
    nbytes = getattr(value, "nbytes", None)
    if isinstance(nbytes, int):
        return nbytes + 64
    if hasattr(value, "element_size") and hasattr(value, "nelement"):
        return int(value.element_size() * value.nelement()) + 64
    if isinstance(value, (str, bytes)):
        return len(value) + 49
    if isinstance(value, Mapping):
        return 64 + sum(approx_bytes(k, seen) + approx_bytes(v, seen) for k, v in value.items())
    if isinstance(value, (list, tuple, set, frozenset)):
        return 56 + 8 * len(value) + sum(approx_bytes(v, seen) for v in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return 64 + sum(approx_bytes(getattr(value, f.name), seen) for f in dataclasses.fields(value))
    return sys.getsizeof(value)


JOB, QUICK = "job", "quick"


class ResultStore:
    """The one store of results: an LRU bounded in entries and bytes, with a time to live. Values are shared by
    every session, so they must be immutable (frozen dataclasses, tensors treated as read-only).

    With `quick_share` (a fraction of `max_bytes`), finished jobs' results and quick per-view results
    (`get_or_compute`) each have their own byte budget and evict only their own kind: a visitor opening many quick
    views cannot push out another visitor's finished run, nor a run the quick views. Without it, one budget."""

    def __init__(self, max_entries: int = DEFAULT_MAX_ENTRIES, max_bytes: int = DEFAULT_MAX_BYTES,
                 ttl: float = DEFAULT_TTL, clock: Callable[[], float] = time.monotonic,
                 quick_share: float | None = None) -> None:
        self.max_entries, self.max_bytes, self.ttl, self.clock = max_entries, max_bytes, ttl, clock
        if quick_share is not None and not 0 < quick_share < 1:
            raise ValueError("quick_share is a fraction between 0 and 1")
        self._budgets = ({JOB: max_bytes, QUICK: max_bytes} if quick_share is None else
                         {JOB: int(max_bytes * (1 - quick_share)), QUICK: int(max_bytes * quick_share)})
        self._shared = quick_share is None
        self._entries: collections.OrderedDict[Any, tuple[float, int, Any, str]] = collections.OrderedDict()
        self._bytes = 0
        self._kind_bytes = {JOB: 0, QUICK: 0}
        self._lock = threading.Lock()
        self._computing: dict[Any, threading.Event] = {}

    @property
    def bytes(self) -> int:
        return self._bytes

    def budget(self, kind: str) -> int:
        """The bytes `kind` (JOB or QUICK) may hold."""
        return self._budgets[kind]

    def kind_bytes(self, kind: str) -> int:
        return self._kind_bytes[kind]

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: Any, default: Any = None) -> Any:
        with self._lock:
            return self._get(key, default)

    def _get(self, key: Any, default: Any) -> Any:
        hit = self._entries.get(key)
        if hit is None:
            return default
        if self.clock() - hit[0] > self.ttl:
            self._drop(key)
            return default
        self._entries.move_to_end(key)
        return hit[2]

    def __contains__(self, key: Any) -> bool:
        return self.get(key, _MISSING) is not _MISSING

    def put(self, key: Any, value: Any, kind: str = JOB) -> bool:
        """Keep `value` as a `kind` result (JOB or QUICK); the least recently used entries (of the same kind, when
        each kind has its own budget) go first when a bound is passed. A value larger than its budget on its own is
        not kept: False says so."""
        size = approx_bytes(value)
        with self._lock:
            if key in self._entries:
                self._drop(key)
            if size > self._budgets[kind]:
                return False
            self._entries[key] = (self.clock(), size, value, kind)
            self._bytes += size
            self._kind_bytes[kind] += size
            while len(self._entries) > self.max_entries:
                self._drop(next(iter(self._entries)))
            if self._shared:
                while self._bytes > self.max_bytes:
                    self._drop(next(iter(self._entries)))
            else:
                while self._kind_bytes[kind] > self._budgets[kind]:
                    self._drop(next(k for k, e in self._entries.items() if e[3] == kind))
            return True

    def _drop(self, key: Any) -> None:
        _, size, _, kind = self._entries.pop(key)
        self._bytes -= size
        self._kind_bytes[kind] -= size

    def get_or_compute(self, key: Any, compute: Callable[[], Any]) -> Any:
        """The stored value, or `compute()` run once however many threads ask for the same key at the same time.
        For quick work only: anything slow goes through `Runner.submit`."""
        while True:
            with self._lock:
                value = self._get(key, _MISSING)
                if value is not _MISSING:
                    return value
                waiting = self._computing.get(key)
                if waiting is None:
                    self._computing[key] = threading.Event()
                    break
            waiting.wait()
        try:
            value = compute()
            self.put(key, value, QUICK)
            return value
        finally:
            with self._lock:
                self._computing.pop(key).set()

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0
            self._kind_bytes = {JOB: 0, QUICK: 0}


_MISSING = object()


@dataclass
class Job:
    """One computation and who is waiting for it. Read its fields; only the runner changes them.

    `sessions` are those still waiting; `asked` also keeps those that pressed Stop, so each can be told that its
    run stopped even while others keep it going."""

    key: JobKey
    title: str
    work: Callable[[Context], Any] = field(repr=False)
    owner: str
    estimate_s: float = 0.0
    status: str = QUEUED
    done: float = 0.0
    total: float = 0.0
    message: str = ""
    error: str | None = None
    partial: Any = field(default=None, repr=False)
    sessions: set[str] = field(default_factory=set)
    asked: set[str] = field(default_factory=set)
    submitted: float = field(default_factory=time.monotonic)
    started: float | None = None
    finished: float | None = None
    stop_asked: threading.Event = field(default_factory=threading.Event, repr=False)
    finished_event: threading.Event = field(default_factory=threading.Event, repr=False)

    def __post_init__(self) -> None:
        self.asked |= self.sessions

    @property
    def active(self) -> bool:
        return self.status in (QUEUED, RUNNING)

    @property
    def fraction(self) -> float:
        return min(1.0, self.done / self.total) if self.total else 0.0

    @property
    def elapsed(self) -> float:
        if self.started is None:
            return 0.0
        return (self.finished or time.monotonic()) - self.started


class _JobContext(Context):
    def __init__(self, job: Job) -> None:
        self.job = job

    def progress(self, done: float, total: float, message: str = "") -> None:
        self.job.done, self.job.total, self.job.message = done, total, message
        if self.job.stop_asked.is_set():
            raise Stopped()

    def stopped(self) -> bool:
        return self.job.stop_asked.is_set()


class Runner:
    """A bounded pool of worker threads over one fair queue, and the one result store.

    - `workers` threads (the cores on a CPU, one on a GPU, which runs one stream at a time);
    - at most `max_queue` jobs waiting; beyond that `submit` raises QueueFull;
    - at most `session_queue` jobs waiting for one session (None: no cap); beyond that `submit` raises QueueFull
      for that session only, so one visitor cannot fill the queue;
    - the queue is served round-robin across sessions: the next job is the oldest of the session whose last start
      is the longest ago (a session never served goes first), so a session with ten runs waiting delays another
      session's single run by at most one run;
    - at most one running job per session: a session's second job waits until its first ends. The session that
      started a run counts as running it only while it still wants it: once it pressed Stop on a run that others
      keep going, its next run does not wait for that one;
    - a key already stored is answered at once, and a key already queued or running gains a watcher.
    """

    def __init__(self, workers: int = 1, max_queue: int = DEFAULT_MAX_QUEUE, store: ResultStore | None = None,
                 keep_finished: int = 256, session_queue: int | None = None) -> None:
        self.workers = max(1, int(workers))
        self.max_queue = max_queue
        self.session_queue = session_queue
        self.store = store if store is not None else ResultStore()
        self._queue: list[Job] = []
        self._jobs: collections.OrderedDict[JobKey, Job] = collections.OrderedDict()
        self._keep_finished = keep_finished
        self._running: list[Job] = []
        self._served: dict[str, int] = {}
        self._starts = 0
        self._cond = threading.Condition()
        self._threads: list[threading.Thread] = []
        self.runs = 0

    # ---- asking
    def submit_many(self, items: Sequence[tuple[JobKey, Callable[[Context], Any], str, float]], session: str
                    ) -> list[Job]:
        """Start (or join) one button's jobs, (key, work, title, estimate_s) each, as one request: the per-session
        cap is checked once, before the batch, so a page that runs several metrics (or two models) at one press is
        never refused half-way, while a session that already has `session_queue` runs waiting is. Raises
        QueueFull."""
        with self._cond:
            self._check_session(session)
            return [self.submit(key, work, session, title, estimate_s, capped=False)
                    for key, work, title, estimate_s in items]

    def _check_session(self, session: str) -> None:
        if self.session_queue is not None:
            mine = sum(1 for j in self._queue if j.owner == session)
            if mine >= self.session_queue:
                raise QueueFull(f"You already have {mine} runs waiting, the most one visitor may queue on this "
                                "server. Wait for one to finish, or stop one.")

    def submit(self, key: JobKey, work: Callable[[Context], Any], session: str, title: str = "",
               estimate_s: float = 0.0, capped: bool = True) -> Job:
        """Start (or join) the job for `key` on behalf of `session`. A stored result gives a finished job at once.
        Raises QueueFull when too many jobs wait (`capped`: for this session too)."""
        with self._cond:
            job = self._jobs.get(key)
            if job is not None and job.active and not job.stop_asked.is_set():
                job.sessions.add(session)
                job.asked.add(session)
                return job
            if key in self.store:
                done = Job(key, title, work, session, estimate_s, status=DONE, sessions={session})
                done.finished_event.set()
                self._remember(done)
                return done
            if capped:
                self._check_session(session)
            if len(self._queue) >= self.max_queue:
                raise QueueFull(f"The server is busy: {len(self._queue)} runs are waiting. Try again in a minute.")
            job = Job(key, title, work, session, estimate_s, sessions={session})
            self._remember(job)
            self._queue.append(job)
            self._ensure_workers()
            self._cond.notify_all()
            return job

    def job(self, key: JobKey) -> Job | None:
        """The latest job for `key`, if the runner still remembers it."""
        with self._cond:
            return self._jobs.get(key)

    def result(self, key: JobKey) -> Any:
        """The stored result for `key`, or None."""
        return self.store.get(key)

    def position(self, job: Job) -> int:
        """0 while running or done; else the job's place in the queue, counting from 1."""
        with self._cond:
            try:
                return self._order().index(job) + 1
            except ValueError:
                return 0

    def stop(self, key: JobKey, session: str) -> None:
        """`session` no longer wants the job. It stops once nobody wants it: a queued job leaves the queue; a
        running one is asked to stop at its next progress report."""
        with self._cond:
            job = self._jobs.get(key)
            if job is None or not job.active:
                return
            job.sessions.discard(session)
            if job.sessions:
                self._cond.notify_all()  # its owner may have left it: the owner's next job need not wait
                return
            job.stop_asked.set()
            if job in self._queue:
                self._queue.remove(job)
                self._finish(job, STOPPED)

    def wait(self, job: Job, timeout: float | None = None) -> bool:
        return job.finished_event.wait(timeout)

    def queued(self) -> int:
        with self._cond:
            return len(self._queue)

    def idle(self) -> bool:
        """No job waiting and none running."""
        with self._cond:
            return not self._queue and not self._running

    # ---- running
    def _remember(self, job: Job) -> None:
        self._jobs[job.key] = job
        self._jobs.move_to_end(job.key)
        while len(self._jobs) > self._keep_finished:
            oldest = next((k for k, j in self._jobs.items() if not j.active), None)
            if oldest is None:
                break
            del self._jobs[oldest]

    def _ensure_workers(self) -> None:
        self._threads = [t for t in self._threads if t.is_alive()]
        while len(self._threads) < self.workers:
            thread = threading.Thread(target=self._serve, name=f"bertlens-job-{len(self._threads)}", daemon=True)
            self._threads.append(thread)
            thread.start()

    def _order(self) -> list[Job]:
        """The queue in the order it is served: round-robin over sessions, the one served longest ago (or never)
        first, each session's own jobs first in, first out."""
        by_owner: dict[str, list[Job]] = {}
        for job in self._queue:
            by_owner.setdefault(job.owner, []).append(job)
        owners = sorted(by_owner, key=lambda o: self._served.get(o, -1))  # stable: ties keep queue order
        order: list[Job] = []
        for turn in range(max((len(v) for v in by_owner.values()), default=0)):
            order.extend(by_owner[o][turn] for o in owners if turn < len(by_owner[o]))
        return order

    def _busy(self) -> set[str]:
        return {j.owner for j in self._running if j.owner in j.sessions}

    def _next(self) -> Job | None:
        busy = self._busy()
        for job in self._order():
            if job.owner not in busy:
                return job
        return None

    def _started(self, job: Job) -> None:
        self._starts += 1
        self._served[job.owner] = self._starts
        if len(self._served) > 4 * max(self.max_queue, 1024):
            waiting = {j.owner for j in self._queue}
            self._served = {o: n for o, n in self._served.items() if o in waiting}

    def _serve(self) -> None:
        while True:
            with self._cond:
                job = self._next()
                while job is None:
                    self._cond.wait()
                    job = self._next()
                self._queue.remove(job)
                job.status, job.started = RUNNING, time.monotonic()
                self._running.append(job)
                self._started(job)
            self._execute(job)

    def _execute(self, job: Job) -> None:
        status, error = DONE, None
        try:
            value = job.work(_JobContext(job))
            if job.stop_asked.is_set() or getattr(value, "complete", True) is False:
                status, job.partial = STOPPED, value
            elif not self.store.put(job.key, value, JOB):
                status, error = FAILED, (f"The result ({approx_bytes(value) / 2**20:,.0f} MB) is larger than this "
                                         f"server keeps for one run ({self.store.budget(JOB) / 2**20:,.0f} MB; the "
                                         "operator sets BERT_LENS_STORE_MB). Try a shorter input.")
        except Stopped:
            status = STOPPED
        except Exception as exc:  # a job's failure is reported to its watchers, never raised in a worker
            status, error = FAILED, _message(exc)
            if error.startswith("The run failed ("):
                log.exception("job %s (%s) failed", job.key.id, job.title)
        with self._cond:
            self.runs += 1
            job.error = error
            self._running.remove(job)
            self._finish(job, status)
            self._cond.notify_all()

    def _finish(self, job: Job, status: str) -> None:
        job.status, job.finished = status, time.monotonic()
        job.finished_event.set()


def _message(exc: BaseException) -> str:
    from bertlens.errors import BertLensError

    if isinstance(exc, BertLensError):
        return str(exc)
    if isinstance(exc, MemoryError):
        return "The run needed more memory than the server has. Try a shorter input or fewer steps."
    return f"The run failed ({type(exc).__name__}). The server's log has the details."



class Pace:
    """How long a run takes on this server, so a run button can say how long it will take.

    A run's `Cost` is its encoder calls and the padded tokens in each. A call costs a fixed part (reading every
    weight once, the framework's overhead), which dominates a lone short sentence, and a part per token, which
    dominates a padded batch. Both are measured on the model itself, once per model (`Pace.of`), by timing the
    scorer every masked-row method uses on a lone short row and on a padded batch; statistics (resampling,
    permutations) by a numpy kernel of their kind. Constants fitted on another machine were 3 to 20 times off here,
    in both directions. Finished jobs then correct the rate by a moving average of measured / estimated time
    (`observe`), which follows the load of a shared server."""

    CPU_FLOPS = 30e9
    GPU_FLOPS = 20e12
    LONE_TOKENS = 8
    BATCH_ROWS, BATCH_TOKENS = 4, 32

    def __init__(self, call_s: float, token_s: float, element_s: float = 2e-9, measured: bool = True) -> None:
        self.call_s, self.token_s, self.element_s, self.measured = call_s, token_s, element_s, measured
        self.scale = 1.0
        self._lock = threading.Lock()

    @classmethod
    def nominal(cls, parameters: int, device: str) -> "Pace":
        """A cautious guess from the model's size and the device, for a model that cannot be timed (a test's
        stand-in): every token of a call at 2 x parameters FLOPs, at least 8 tokens a call."""
        flops = cls.GPU_FLOPS if str(device).startswith("cuda") else cls.CPU_FLOPS
        per_token = 2.0 * parameters / flops
        return cls(8 * per_token, per_token, measured=False)

    @staticmethod
    def element_seconds(rows: int = 2000, width: int = 40) -> float:
        """Seconds per element of the statistics' typical kernel (a batch of random permutations, gathered and
        summed), the fastest of three: what `Cost.elements` costs on this machine."""
        import numpy as np

        rng, values = np.random.default_rng(0), np.arange(width, dtype=float)

        def once() -> float:
            started = time.perf_counter()
            chosen = np.argsort(rng.random((rows, width)), axis=1)[:, : width // 2]
            values[chosen].sum(axis=1)
            return time.perf_counter() - started

        return min(once() for _ in range(3)) / (rows * width)

    @classmethod
    def measure(cls, lm: LoadedModel) -> "Pace":
        """Time a lone row of LONE_TOKENS tokens (the fastest of five or more) and a padded batch of BATCH_ROWS rows
        of BATCH_TOKENS tokens (the fastest of two or more), after a warm-up of each, through
        `bertlens.scoring.masked_log_probs`; the per-token cost is the batch's excess over the lone row, the fixed
        cost what the lone row leaves. The fastest time is the one other processes did not lengthen (a loaded
        machine then runs slower than the estimate, and `observe` corrects it from the jobs that finish)."""
        from bertlens.scoring import MaskedRow, masked_log_probs

        tok = lm.tokenizer
        filler = tok.convert_tokens_to_ids(tok.tokenize("the"))[0]

        def row(n: int) -> MaskedRow:
            return MaskedRow((tok.cls_token_id, *([filler] * (n - 3)), tok.mask_token_id, tok.sep_token_id), n - 2,
                             (filler,))

        def timed(rows: list[MaskedRow]) -> float:
            started = time.perf_counter()
            masked_log_probs(lm, rows, batch_size=len(rows))
            return time.perf_counter() - started

        lone, batch = [row(cls.LONE_TOKENS)], [row(cls.BATCH_TOKENS)] * cls.BATCH_ROWS
        for warm_up in (lone, lone, lone, batch):  # a fresh model's first calls page in weights and set up kernels
            timed(warm_up)
        lone_s, batch_s = cls._fastest(lambda: timed(lone), 5, 25), cls._fastest(lambda: timed(batch), 2, 10)
        extra = cls.BATCH_ROWS * cls.BATCH_TOKENS - cls.LONE_TOKENS
        token_s = max((batch_s - lone_s) / extra, lone_s / 1000)
        return cls(max(lone_s - cls.LONE_TOKENS * token_s, 0.0), token_s, cls.element_seconds())

    @staticmethod
    def _fastest(run: Callable[[], float], least: int, most: int, budget_s: float = 0.3) -> float:
        """The fastest of at least `least` timings, and of up to `most` while they fit in `budget_s`: a cheap call
        is timed often enough that a burst of other processes' work cannot cover every timing."""
        times = [run() for _ in range(least)]
        while len(times) < most and sum(times) < budget_s:
            times.append(run())
        return min(times)

    @classmethod
    def of(cls, lm: Any) -> "Pace":
        """The model's Pace, measured on first use and kept with the model (`lm.memo`, shared by every session and
        by its debiased views); a stand-in without weights gets `nominal`."""
        memo = getattr(lm, "memo", None)
        if memo is None or getattr(lm, "model", None) is None:
            return cls.nominal(lm.info.parameters, lm.info.device)
        with _PACE_LOCK:
            if "pace" not in memo:
                try:
                    memo["pace"] = cls.measure(lm)
                except Exception:  # a model that cannot score a masked row still gets a button
                    log.warning("could not time the model; estimates use a nominal rate", exc_info=True)
                    memo["pace"] = cls.nominal(lm.info.parameters, lm.info.device)
            return memo["pace"]

    def raw_seconds(self, cost: Any) -> float:
        """`cost` at the measured rate, before any correction from finished jobs."""
        return (cost.passes * (self.call_s + self.token_s * cost.rows * max(cost.tokens, 1))
                + cost.elements * self.element_s)

    def seconds(self, cost: Any) -> float:
        return self.scale * self.raw_seconds(cost)

    def observe(self, cost: Any, seconds: float) -> None:
        """A finished run of `cost` took `seconds`: move the correction a third of the way to this run's ratio."""
        raw = self.raw_seconds(cost)
        if raw <= 0 or seconds <= 0:
            return
        with self._lock:
            self.scale = 0.7 * self.scale + 0.3 * (seconds / raw)

    def as_dict(self) -> dict[str, Any]:
        return {"call_ms": round(self.call_s * 1000, 3), "token_ms": round(self.token_s * 1000, 4),
                "element_ns": round(self.element_s * 1e9, 3), "measured": self.measured, "scale": round(self.scale, 3)}


_PACE_LOCK = threading.Lock()


def first_estimate(lm: LoadedModel, method: Method, inputs: Any, config: Mapping[str, Any]) -> float:
    """The seconds a run button on a fresh server shows for `method`: its declared cost at the model's measured
    rate, before any finished run has corrected it (the benchmark and scripts/estimate_measure.py set it beside the
    measured time)."""
    return Pace.of(lm).raw_seconds(method.estimate(lm, inputs, config))
