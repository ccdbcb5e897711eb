"""Interleaved timing, shared by the benchmark and the sections that also run alone (`python -m devtools.bench_*`):
each contender is timed round by round (A, B, A, B, ...), so a burst of load from another process hits all alike."""
from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from typing import Any, Callable

import torch


@dataclass(frozen=True)
class Timing:
    """Wall-clock milliseconds of one contender over the rounds of a comparison."""

    name: str
    runs_ms: list[float]

    @property
    def median_ms(self) -> float:
        return statistics.median(self.runs_ms)


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def compare(contenders: dict[str, Callable[[], Any]], repeats: int, device: torch.device,
            warmup: int = 1) -> dict[str, Timing]:
    """Time each contender `repeats` times, interleaved round by round, after `warmup` untimed rounds."""
    for _ in range(warmup):
        for fn in contenders.values():
            fn()
    runs: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(repeats):
        for name, fn in contenders.items():
            synchronize(device)
            start = time.perf_counter()
            fn()
            synchronize(device)
            runs[name].append((time.perf_counter() - start) * 1000)
    return {name: Timing(name, r) for name, r in runs.items()}
