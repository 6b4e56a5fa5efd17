"""Refuse a session that is too long or expands too far, before anything is made.

Repeats multiply: three nested `repeat: {times: 1000}` turn one step into a billion. The
compiler would walk every one of them, so the loader walks the script first — counting,
never building — and stops at the first step that passes a limit. The walk is bounded by
the limits themselves, so it is quick however absurd the script.
"""

from __future__ import annotations

from fractions import Fraction

from ..errors import Issue, ScriptError
from ..units import MAX_SESSION_SECONDS, format_seconds
from .model import (
    At,
    Bell,
    Breathe,
    Choose,
    Hum,
    Location,
    Pause,
    Repeat,
    Rhythm,
    Say,
    Session,
    Sound,
    Step,
    Tone,
    walk_steps,
)

#: Steps (each breath, each bell strike) a session may expand to once repeats are unrolled.
MAX_EXPANDED_STEPS = 250_000


class _TooBig(Exception):
    def __init__(self, where: Location, message: str) -> None:
        super().__init__(message)
        self.where = where


class _Walk:
    def __init__(self, gap_s: Fraction) -> None:
        self.gap_s = gap_s
        self.steps = 0
        self.seconds = Fraction(0)   # a lower bound: speech and sound files count as 0

    def add(self, step: Step, count: int, seconds: Fraction) -> None:
        self.steps += count
        self.seconds += seconds
        if self.steps > MAX_EXPANDED_STEPS:
            raise _TooBig(step.where, f"the session expands to more than "
                          f"{MAX_EXPANDED_STEPS:,} steps by here (repeats multiply); use fewer "
                          "repeats or split it into several sessions")
        if self.seconds > MAX_SESSION_SECONDS:
            raise _TooBig(step.where, f"the session lasts at least "
                          f"{format_seconds(self.seconds)} by here; the limit is 12 hours: "
                          "shorten it or split it into several sessions")

    def run(self, steps: tuple[Step, ...]) -> None:
        for step, _ in walk_steps(steps, unroll=True):
            if isinstance(step, (Repeat, Choose)):
                self.add(step, 1, Fraction(0))
            else:
                self.add(step, *self.cost(step))

    def cost(self, step: Step) -> tuple[int, Fraction]:
        if isinstance(step, Pause):
            return 1, step.seconds
        if isinstance(step, Say):
            return 1, step.after_s if step.after_s is not None else self.gap_s
        if isinstance(step, (Hum, Tone, Rhythm)):
            return 1, Fraction(0) if step.under else step.seconds
        if isinstance(step, Bell):
            return step.count, step.gap_s * step.count
        if isinstance(step, Sound):
            return 1, step.after_s
        if isinstance(step, Breathe):
            cycle = step.pattern.cycle_seconds
            if step.cycles is not None:
                shortest = min(cycle, _ramped_cycle(step))
                return step.cycles * len(step.pattern.phases), step.cycles * shortest
            if step.duration_s is not None:
                shortest = min(cycle, _ramped_cycle(step)) or Fraction(1)
                return int(step.duration_s / shortest + 1) * len(step.pattern.phases), \
                    step.duration_s
            return 6 * len(step.pattern.phases), 6 * cycle
        if isinstance(step, At):
            return 1, max(Fraction(0), step.seconds - self.seconds)
        return 1, Fraction(0)


def _ramped_cycle(step: Breathe) -> Fraction:
    """The length of the last cycle of a ramped breathe step (its first when not ramped)."""
    lengths = {**step.pattern.lengths(), **step.ramp}
    return sum(lengths.values(), Fraction(0))


def check_bounds(session: Session) -> None:
    """Raise ScriptError at the first step that makes the session too long or too big."""
    walk = _Walk(session.gap_s)
    try:
        walk.run(session.steps)
    except _TooBig as too_big:
        where = too_big.where
        raise ScriptError([Issue(where.file, where.line, where.column,
                                 f"{where.path}: {too_big}")]) from None
