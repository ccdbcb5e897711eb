"""One way to write a number, for every chart, table, metric and the command line.

Probabilities and other measured quantities get three significant digits (0.523, 0.0481, 12.3) and switch to
scientific notation below 0.001 (6.70e-5), so a small probability is never printed as 0.00% or 0.000 and two views
of one value never disagree. Axes whose values span orders of magnitude go logarithmic (`spans_orders`), with tick
labels written by the same rule (`tick`).
"""
from __future__ import annotations

import math
from collections.abc import Iterable

DIGITS = 3
SMALL = 1e-3
LARGE = 1e6
ORDERS = 100.0


_IN_WORDS = ((1e-3, 1e3, "thousand"), (1e-6, 1e6, "million"), (1e-9, 1e9, "billion"))


def in_words(value: float | None) -> str:
    """A probability for a class: from 1% up as a percentage ("4.81%"), below it as "4.4 in a million" (two
    significant digits), never with an SI prefix such as μ; below one in a billion as `significant` writes it."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if value == 0 or abs(value) >= 0.01:
        return percent(value * 100) if abs(value) <= 1 else significant(value)
    for low, scale, word in _IN_WORDS:
        if abs(value) >= low:
            return f"{float(f'{value * scale:.2g}'):g} in a {word}"
    return significant(value)


def significant(value: float | None, digits: int = DIGITS, sign: bool = False) -> str:
    """`value` with `digits` significant digits; scientific below 0.001 and from a million up; "0" for zero.

    `sign` writes a leading "+" on positive values (log-ratios, differences). None and NaN read "n/a".
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{'+' if sign and value > 0 else ''}{value:,}"
    value = float(value)
    if math.isinf(value):
        return ("+∞" if sign else "∞") if value > 0 else "-∞"
    if value == 0:
        return "0"
    plus = "+" if sign and value > 0 else ""
    rounded = float(f"{value:.{digits - 1}e}")
    if abs(rounded) < SMALL or abs(rounded) >= LARGE:
        mantissa, exponent = f"{value:.{digits - 1}e}".split("e")
        return f"{plus}{mantissa}e{int(exponent)}"
    decimals = max(0, digits - 1 - math.floor(math.log10(abs(rounded))))
    return f"{plus}{rounded:.{decimals}f}"


def probability(p: float | None) -> str:
    """A probability: 0.523, 0.0481, 0.00123, 6.70e-5."""
    return significant(p)


def percent(share: float | None, digits: int = DIGITS) -> str:
    """A share already in percent (0 to 100), such as a benchmark's metric: "45.0%"."""
    text = significant(share, digits)
    return text if text == "n/a" else f"{text}%"


def interval(low: float | None, high: float | None, unit: str = "") -> str:
    """A confidence interval: "45.0–62.3%"."""
    return f"{significant(low)}–{significant(high)}{unit}"


def tick(value: float) -> str:
    """An axis tick: as short as it can be (0.1, 0.25, 1e-4, 2.5e-5), by the same rule as `significant`."""
    if value == 0:
        return "0"
    for digits in range(1, DIGITS + 1):
        if math.isclose(float(significant(value, digits)), value, rel_tol=1e-9, abs_tol=0):
            break
    return significant(value, digits)


def spans_orders(values: Iterable[float], ratio: float = ORDERS) -> bool:
    """Whether the positive values differ by at least `ratio` (a log axis then shows them all)."""
    positive = [v for v in values if v and v > 0 and math.isfinite(v)]
    return len(positive) >= 2 and max(positive) / min(positive) >= ratio


def linear_ticks(high: float, count: int = 5) -> list[float]:
    """Round tick values from 0 to at least `high` (at most `count` + 1 of them): 1, 2, 2.5 or 5 times a power of 10."""
    if not high or high <= 0 or not math.isfinite(high):
        return [0.0, 1.0]
    raw = high / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    ticks = [round(i * step, 12) for i in range(int(math.ceil(high / step - 1e-9)) + 1)]
    return ticks


def log_ticks(low: float, high: float) -> list[float]:
    """Powers of ten covering [low, high] (both positive), at most about seven of them."""
    first, last = math.floor(math.log10(low)), math.ceil(math.log10(high))
    stride = max(1, math.ceil((last - first) / 7))
    return [10.0 ** e for e in range(first, last + 1, stride)]
