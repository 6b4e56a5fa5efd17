"""Breathing patterns: the phases of one breath and the named patterns people practise.

Pure data, no audio: the loader checks names against it and the compiler lays
phases out in time from it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from fractions import Fraction
from types import MappingProxyType

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
    #: Spoken cues this pattern uses instead of the defaults.
    words: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}),
                                     compare=False)
    #: More breaths than this in one go draw a warning (the technique's own advice).
    advised_cycles: int | None = None

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


def _named(name: str, about: str, words: Mapping[str, str] | None = None,
           advised_cycles: int | None = None, **lengths: str) -> Pattern:
    pattern = pattern_from_lengths(name, {k: Fraction(v) for k, v in lengths.items()}, about)
    return replace(pattern, words=MappingProxyType(dict(words or {})),
                   advised_cycles=advised_cycles)


#: The named patterns. Each comment gives where the pattern comes from.
PATTERNS: Mapping[str, Pattern] = {
    pattern.name: pattern
    for pattern in (
        # Box or square breathing, as taught in stress-management courses (and in the
        # article this project grew from): four equal counts of four seconds.
        _named("box", "Box (square) breathing: in 4, hold 4, out 4, hold 4.",
               inhale="4", hold="4", exhale="4", hold_out="4"),
        # Andrew Weil's "relaxing breath": in 4, hold 7, out 8. He advises no more than
        # four breaths at first and at most eight once practised.
        _named("4-7-8", "Weil's relaxing breath: in 4, hold 7, out 8 (at most 8 breaths).",
               advised_cycles=8, inhale="4", hold="7", exhale="8"),
        # Resonance-frequency breathing (Lehrer and Gevirtz, heart-rate-variability
        # biofeedback): about 5.5 breaths a minute, equal halves of ~5.45 s.
        _named("resonance", "Resonance breathing, about 5.5 breaths a minute: in 5.45, "
               "out 5.45.", inhale="5.45", exhale="5.45"),
        # Coherent breathing (Elliott and Edmonson): 6 breaths a minute, 5 in and 5 out.
        _named("coherent", "Coherent breathing, 6 breaths a minute: in 5, out 5.",
               inhale="5", exhale="5"),
        # Prolonged or extended exhale: the out-breath longer than the in-breath, which
        # shifts the balance toward the parasympathetic (calming) system.
        _named("prolonged-exhale", "Exhale longer than the inhale: in 4, out 6.",
               inhale="4", exhale="6"),
        # "7-11" breathing, the long-exhale count used in anxiety self-help.
        _named("7-11", "A long-exhale count: in 7, out 11.", inhale="7", exhale="11"),
        # Cyclic sighing (Balban et al., Cell Reports Medicine, 2023): a full inhale, a
        # short top-up inhale, then a long exhale about twice the two inhales.
        _named("cyclic-sigh", "Cyclic (physiological) sighing: a full inhale, a short top-up "
               "inhale, then a long slow exhale: in 2, top up 1, out 6.",
               inhale="2", top_up="1", exhale="6"),
        # Ujjayi ("ocean" or "victorious") breath from yoga: slow nasal breathing through
        # a slightly narrowed throat, so the breath makes a soft sound like the sea.
        _named("ujjayi", "Ujjayi (ocean) breath: slow nasal breathing with a soft throat "
               "constriction: in 5, out 5.",
               words={"inhale": "In through the nose", "exhale": "Out, with a soft ocean sound"},
               inhale="5", exhale="5"),
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
        name = "-".join(f"{float(number):g}" for number in numbers)
        return pattern_from_lengths(name, lengths_from_numbers(numbers))
    raise ValueError(word)


def breaths_per_minute(pattern: Pattern) -> float:
    """Breaths per minute at this pattern's pace."""
    return 60.0 / float(pattern.cycle_seconds)
