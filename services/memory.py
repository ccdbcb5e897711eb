"""Memory the server's threads have freed, handed back to the system.

Every session's script runs in a thread of its own, and glibc gives threads arenas of their own and keeps what they
free there for reuse instead of returning it. A 512-token attention page frees a few hundred MB of figures and
working copies in the thread that drew it, so a server with 20 such sessions open held about 230 MiB per session
that nothing referenced any more (scripts/load_measure.py), against about 12 MiB still referenced
(scripts/session_memory_measure.py, after malloc_trim). A memory bound per session means nothing while the
allocator keeps what the sessions let go, so one daemon thread per process calls glibc's `malloc_trim` every
second: it costs well under a millisecond when there is nothing to hand back.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import functools
import threading
import time
from typing import Callable

_LOCK = threading.Lock()
_THREAD: threading.Thread | None = None


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's malloc_trim, or None where the C library has none (musl, macOS)."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim = libc.malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    return trim


def hand_back() -> bool:
    """Return the memory every arena holds free to the system now; False where the C library cannot."""
    trim = _malloc_trim()
    return trim is not None and trim(0) >= 0


def keep_handing_back(every_s: float = 1.0) -> bool:
    """Start the process's one trimming thread (later calls do nothing); False where the C library cannot trim."""
    global _THREAD
    trim = _malloc_trim()
    if trim is None:
        return False
    with _LOCK:
        if _THREAD is None or not _THREAD.is_alive():
            _THREAD = threading.Thread(target=_loop, args=(trim, every_s), name="bertlens-hand-back", daemon=True)
            _THREAD.start()
    return True


def _loop(trim: Callable[[int], int], every_s: float) -> None:
    while True:
        time.sleep(every_s)
        trim(0)
