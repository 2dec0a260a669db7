"""Round numbers for the axes of every chart, in the terminal and in the window.

A scale spans at least a tenth of its values' size, so a critic's value of 100 with 0.1 of
noise draws as the flat line it is, not as a violent zigzag.
"""

from __future__ import annotations

import math

MIN_RELATIVE_SPAN = 0.1
"""An axis or a sparkline spans at least this fraction of its largest value: 100 ± 0.1 draws flat."""
TICKS = 5
"""About how many labelled ticks an axis gets."""


def min_span(low: float, high: float) -> float:
    """The least span a scale from low to high gets (1 when both are zero)."""
    return MIN_RELATIVE_SPAN * max(abs(low), abs(high)) or 1.0


def nice_step(span: float, count: int = TICKS) -> float:
    """1, 2 or 5 times a power of ten, near span / count."""
    rough = span / count
    power = 10.0 ** math.floor(math.log10(rough))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= rough * (1 - 1e-9))


def nice_ticks(low: float, high: float, count: int = TICKS, whole: bool = False) -> list[float]:
    """Evenly spaced round ticks from a multiple of the step at or below `low` to one at or
    above `high`; whole numbers only when `whole`. The span is at least MIN_RELATIVE_SPAN of
    the values' size (1 for zeros), so a (nearly) constant series draws flat, not as noise."""
    low, high = min(low, high), max(low, high)
    floor = min_span(low, high)
    if high - low < floor:
        middle = (low + high) / 2
        low, high = middle - floor / 2, middle + floor / 2
    step = nice_step(high - low, count)
    if whole:
        step = max(1.0, round(step))
    first, last = math.floor(low / step + 1e-9), math.ceil(high / step - 1e-9)
    return [clean(i * step, step) for i in range(first, last + 1)]


def clean(tick: float, step: float) -> float:
    """A tick rounded to the step's own decimals: 0.30000000000000004 becomes 0.3."""
    return round(tick, max(0, -math.floor(math.log10(step))) + 1) + 0.0


def tick_labels(ticks: list[float]) -> list[str]:
    """Labels with as many digits as the step needs and no more: 0, 0.5, 1 or 100, 200;
    powers of ten beyond a few places, as 2e-09 or 7e+06, to keep the axis narrow."""
    step = ticks[1] - ticks[0] if len(ticks) > 1 else 1.0
    decimals = -math.floor(math.log10(step) + 1e-9)
    largest = max(abs(tick) for tick in ticks)
    if decimals <= 4 and largest < 1e6:
        return [f"{tick:.{max(0, decimals)}f}" for tick in ticks]
    digits = max(1, math.floor(math.log10(largest)) + decimals + 1)
    return [f"{tick:.{digits}g}" for tick in ticks]
