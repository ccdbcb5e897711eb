"""The server hands the memory its sessions' threads freed back to the system (services.memory): without it, glibc
keeps what each thread freed in that thread's arena, and a bound on memory per session does not hold."""
from __future__ import annotations

import threading
import time

import psutil
import pytest

from services import memory

pytestmark = pytest.mark.skipif(memory._malloc_trim() is None, reason="the C library has no malloc_trim (not glibc)")

MIB = 2**20


def _fragment_in_a_thread(mib: int) -> tuple[list[bytes], int]:
    """Allocate and free `mib` MiB of 64 KiB blocks in a thread of its own (under glibc's mmap threshold, so they
    live in an arena), with a 1 KiB block (over Python's own small-object allocator, so glibc's too) kept after
    every few, which pins the arena so that freeing alone hands nothing back (192 of 200 MiB stay resident). Returns the kept blocks and the resident memory while the blocks were held."""
    kept: list[bytes] = []
    holding: list[int] = []

    def work() -> None:
        blocks = []
        for n in range(mib * 16):
            blocks.append(bytearray(b"x" * (64 * 1024)))
            if n % 8 == 0:
                kept.append(bytes(1024))
        holding.append(_rss())
        blocks.clear()

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    return kept, holding[0]


def _rss() -> int:
    return psutil.Process().memory_info().rss


def test_memory_freed_by_a_sessions_thread_goes_back_to_the_system_within_seconds():
    assert memory.keep_handing_back(every_s=0.2)
    assert memory.keep_handing_back(every_s=0.2)
    assert [t.name for t in threading.enumerate()].count("bertlens-hand-back") == 1
    before = _rss()
    kept, holding = _fragment_in_a_thread(200)
    assert holding - before > 150 * MIB
    deadline = time.monotonic() + 5
    while _rss() - before > 50 * MIB and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _rss() - before <= 50 * MIB, (f"{(_rss() - before) / MIB:.0f} MiB of the 200 MiB freed still held 5 s "
                                         "later")
    assert len(kept) == 200 * 2


def test_handing_back_now_returns_what_every_arena_holds_free():
    kept, _ = _fragment_in_a_thread(100)
    assert memory.hand_back()
    assert kept
