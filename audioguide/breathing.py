"""Breathing patterns: the phases of one breath and the named patterns people practise.

Pure data, no audio: the loader checks names against it and the compiler lays
phases out in time from it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction

#: Phase kinds, in the order they can occur within one breath.
PHASE_KINDS = ("inhale", "top_up", "hold", "exhale", "hold_out")

#: What the voice says at the start of each phase unless a script changes it.
DEFAULT_WORDS: Mapping[str, str] = {
    "inhale": "Breathe in",
    "top_up": "More",
    "hold": "Hold",
    "exhale": "Breathe out",
    "hold_out": "Hold",
}


@dataclass(frozen=True)
class Phase:
    """One part of a breath: its kind and exact length in seconds."""

    kind: str
    seconds: Fraction


@dataclass(frozen=True)
class Pattern:
    """A breath as a sequence of phases (zero-length phases are dropped)."""

    name: str
    phases: tuple[Phase, ...]
    about: str = ""

    @property
    def cycle_seconds(self) -> Fraction:
        """Length of one whole breath."""
        return sum((phase.seconds for phase in self.phases), Fraction(0))

    def lengths(self) -> dict[str, Fraction]:
        """Phase kind → length."""
        return {phase.kind: phase.seconds for phase in self.phases}


def pattern_from_lengths(name: str, lengths: Mapping[str, Fraction], about: str = "") -> Pattern:
    """Build a pattern from phase lengths, in breath order, skipping zero lengths."""
    phases = tuple(Phase(kind, Fraction(lengths[kind])) for kind in PHASE_KINDS
                   if kind in lengths and lengths[kind] > 0)
    return Pattern(name, phases, about)


def _named(name: str, about: str, **lengths: float) -> Pattern:
    return pattern_from_lengths(name, {k: Fraction(str(v)) for k, v in lengths.items()}, about)


#: The named patterns, with where they come from.
PATTERNS: Mapping[str, Pattern] = {
    pattern.name: pattern
    for pattern in (
        _named("box", "Box (square) breathing: in 4, hold 4, out 4, hold 4.",
               inhale=4, hold=4, exhale=4, hold_out=4),
        _named("4-7-8", "Weil's relaxing breath: in 4, hold 7, out 8.",
               inhale=4, hold=7, exhale=8),
        _named("resonance", "Resonance (coherent) breathing near 5.5 breaths a minute: "
               "in 5.5, out 5.5.", inhale=5.5, exhale=5.5),
        _named("prolonged-exhale", "Exhale longer than the inhale: in 4, out 6.",
               inhale=4, exhale=6),
        _named("cyclic-sigh", "Cyclic (physiological) sighing: a full inhale, a short top-up "
               "inhale, then a long slow exhale: in 2, top up 1, out 6.",
               inhale=2, top_up=1, exhale=6),
        _named("ujjayi", "Ujjayi (ocean) breath: slow nasal breathing with a soft throat "
               "constriction: in 5, out 6.", inhale=5, exhale=6),
    )
}

_NUMBERS = re.compile(r"^\s*\d+(\.\d+)?(\s*[-,]\s*\d+(\.\d+)?){1,3}\s*$")


def lengths_from_numbers(numbers: list[Fraction]) -> dict[str, Fraction]:
    """Map 2, 3 or 4 numbers to phases: [in, out], [in, hold, out], [in, hold, out, hold]."""
    if len(numbers) == 2:
        return {"inhale": numbers[0], "exhale": numbers[1]}
    if len(numbers) == 3:
        return {"inhale": numbers[0], "hold": numbers[1], "exhale": numbers[2]}
    if len(numbers) == 4:
        return {"inhale": numbers[0], "hold": numbers[1], "exhale": numbers[2],
                "hold_out": numbers[3]}
    raise ValueError(f"a pattern has 2 to 4 phase lengths, not {len(numbers)}")


def parse_pattern_text(text: str) -> Pattern:
    """A named pattern (`box`) or numbers (`4-7-8`, `4,4,6,2`); ValueError otherwise."""
    word = text.strip().lower()
    if word in PATTERNS:
        return PATTERNS[word]
    if _NUMBERS.match(word):
        numbers = [Fraction(part.strip()) for part in re.split(r"[-,]", word)]
        return pattern_from_lengths(word.replace(" ", ""), lengths_from_numbers(numbers))
    raise ValueError(word)


def breaths_per_minute(pattern: Pattern) -> float:
    """Breaths per minute at this pattern's pace."""
    return 60.0 / float(pattern.cycle_seconds)
