"""The one number format (bertlens.numbers): three significant digits, scientific below 0.001, log axes when the
values span orders of magnitude."""
from __future__ import annotations

import math
import re

import pytest
from hypothesis import given, strategies as st

from bertlens.numbers import (interval, linear_ticks, log_ticks, percent, probability, significant, spans_orders,
                              tick)


def digits_of(text: str) -> int:
    """Significant digits written in a number's text (its mantissa), counted independently of the formatter."""
    mantissa = text.lstrip("+-").split("e")[0].replace(".", "").lstrip("0")
    return len(mantissa)


@pytest.mark.parametrize("value, text", [
    (0.523456, "0.523"), (0.0481, "0.0481"), (0.00123, "0.00123"), (6.7e-05, "6.70e-5"), (4.21e-5, "4.21e-5"),
    (0.09996, "0.100"), (0.0009996, "0.00100"), (1.0, "1.00"), (12.345, "12.3"), (-2.3456, "-2.35"), (0, "0"),
    (1e-12, "1.00e-12"), (2.5e7, "2.50e7"),
])
def test_three_significant_digits_and_scientific_below_a_thousandth(value, text):
    assert probability(value) == text


def test_signs_missing_values_and_whole_numbers():
    assert significant(0.52, sign=True) == "+0.520" and significant(-0.52, sign=True) == "-0.520"
    assert significant(None) == significant(float("nan")) == "n/a"
    assert significant(12_345) == "12,345", "a count is written whole"
    assert percent(45.0) == "45.0%" and percent(None) == "n/a"
    assert interval(45.02, 62.33, "%") == "45.0–62.3%"


@given(st.floats(min_value=1e-30, max_value=1e5, allow_nan=False))
def test_every_positive_value_reads_back_within_rounding_with_three_digits(value):
    text = probability(value)
    assert math.isclose(float(text), value, rel_tol=5.01e-3)
    assert digits_of(text) == 3 or float(text) >= 1000, text
    assert ("e" in text) == (float(text) < 1e-3), text
    assert not re.fullmatch(r"0(\.0*)?", text), "a positive probability never reads 0"


def test_ticks_are_short_and_follow_the_same_rule():
    assert [tick(v) for v in (0, 0.1, 0.25, 1e-4, 2.5e-5, 1.0)] == ["0", "0.1", "0.25", "1e-4", "2.5e-5", "1"]


def test_linear_ticks_cover_the_top_with_round_steps():
    for high in (0.53, 1.0, 0.00012, 7.3, 0.049):
        ticks = linear_ticks(high)
        assert ticks[0] == 0 and ticks[-1] >= high and len(ticks) <= 7
        step = ticks[1] - ticks[0]
        mantissa = step / 10 ** math.floor(math.log10(step))
        assert any(math.isclose(mantissa, m) for m in (1, 2, 2.5, 5)), step


def test_log_axis_only_when_values_span_orders_of_magnitude():
    assert spans_orders([0.5, 0.3, 1e-4])
    assert not spans_orders([0.5, 0.3, 0.05])
    assert not spans_orders([0.5, 0.0])
    ticks = log_ticks(3e-7, 0.6)
    assert ticks[0] <= 3e-7 and ticks[-1] >= 0.6 and len(ticks) <= 8
