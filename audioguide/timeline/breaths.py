"""A breathe step's breaths: how many cycles it takes, and the pattern of each (a `ramp`
moves the phase lengths linearly from the first cycle to the last)."""

from __future__ import annotations

import math
from fractions import Fraction

from ..breathing import Pattern, pattern_from_lengths
from ..script.model import Breathe


def cycle_patterns(step: Breathe, cycles: int) -> list[Pattern]:
    """The pattern of each cycle: fixed, or moving linearly to `ramp` by the last cycle."""
    start = step.pattern.lengths()
    if not step.ramp:
        return [step.pattern] * cycles
    end = {**start, **step.ramp}
    kinds = set(start) | set(end)
    patterns = []
    for index in range(cycles):
        share = Fraction(index, cycles - 1) if cycles > 1 else Fraction(0)
        lengths = {kind: start.get(kind, Fraction(0)) + (end.get(kind, Fraction(0))
                   - start.get(kind, Fraction(0))) * share for kind in kinds}
        patterns.append(pattern_from_lengths(step.pattern.name, lengths))
    return patterns


def cycle_count(step: Breathe) -> int:
    """How many cycles: as written, or the fewest whole breaths that fill its duration."""
    if step.cycles is not None:
        return step.cycles
    if step.duration_s is None:
        return 6
    # Whole breaths only: the fewest cycles that fill the duration. Phase lengths move
    # linearly from the first cycle to the last, so n ≥ 2 cycles last n × (first + last) / 2.
    first = step.pattern.cycle_seconds
    if first >= step.duration_s:
        return 1
    last = cycle_patterns(step, 2)[-1].cycle_seconds
    return max(2, math.ceil(2 * step.duration_s / (first + last)))

