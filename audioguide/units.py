"""Parsing and converting the units a script is written in: durations, levels, notes.

Durations become exact `Fraction` seconds so that no rounding happens before the
compiler turns absolute times into integer samples.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction

#: The longest session (and any single duration) a script may ask for.
MAX_SESSION_SECONDS = 12 * 3600

_NUMBER = r"(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?"
_UNIT_PART = re.compile(rf"\s*({_NUMBER})\s*(ms|h|m|s)\s*")
_CLOCK = re.compile(r"^(?:(\d+):)?(\d+):(\d+(?:\.\d+)?)$")
_PLAIN = re.compile(rf"^{_NUMBER}$")
_UNIT_SECONDS = {"h": Fraction(3600), "m": Fraction(60), "s": Fraction(1), "ms": Fraction(1, 1000)}

DURATION_FORMS = "4, 4s, 1.5s, 500ms, 2m, 1m30s or 1:30"


#: Exponents beyond this are refused: `1e999999999` would take forever to make exact.
MAX_EXPONENT = 20


def exact_number(text: str) -> Fraction:
    """A decimal number (as `_NUMBER` matches it) as an exact fraction, with a bounded exponent."""
    mantissa, _, exponent = text.lower().partition("e")
    if exponent and abs(int(exponent)) > MAX_EXPONENT:
        raise ValueError(f"'{text}' is out of range; write it without a large exponent")
    return Fraction(text)


def parse_duration(text: str) -> Fraction:
    """Parse `4`, `4s`, `1.5s`, `500ms`, `2m`, `1m30s`, `1h`, `1:30` or `1:02:03` to seconds.

    Raises ValueError with a message naming the accepted forms.
    """
    raw = text.strip().lower()
    if raw.startswith("-"):
        raise ValueError(f"duration '{text}' is negative; use a length of 0 or more")
    if _PLAIN.match(raw):
        return exact_number(raw)
    clock = _CLOCK.match(raw)
    if clock:
        hours, minutes, seconds = clock.groups()
        # `m:ss` reads as minutes and seconds, the way people write times;
        # in `h:mm:ss` the minutes must be under 60 as well.
        if Fraction(seconds) >= 60 or (hours is not None and int(minutes) >= 60):
            raise ValueError(
                f"'{text}' is not a clock time: minutes and seconds go up to 59"
            )
        return Fraction(int(hours or 0) * 3600 + int(minutes) * 60) + Fraction(seconds)
    total = Fraction(0)
    position = 0
    seen: list[str] = []
    while position < len(raw):
        match = _UNIT_PART.match(raw, position)
        if not match or match.end() == position:
            raise ValueError(f"'{text}' is not a duration; write it like {DURATION_FORMS}")
        number, unit = match.groups()
        if unit in seen:
            raise ValueError(f"duration '{text}' names '{unit}' twice")
        seen.append(unit)
        total += exact_number(number) * _UNIT_SECONDS[unit]
        position = match.end()
    if not seen:
        raise ValueError(f"'{text}' is not a duration; write it like {DURATION_FORMS}")
    return total


def format_seconds(seconds: float | Fraction) -> str:
    """Show seconds as `m:ss.mmm` (or `h:mm:ss.mmm`), the form `inspect` prints."""
    millis_total = int(round(float(seconds) * 1000))
    sign = "-" if millis_total < 0 else ""
    millis_total = abs(millis_total)
    hours, rest = divmod(millis_total, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, millis = divmod(rest, 1000)
    if hours:
        return f"{sign}{hours}:{minutes:02d}:{secs:02d}.{millis:03d}"
    return f"{sign}{minutes}:{secs:02d}.{millis:03d}"


_LEVEL = re.compile(rf"^([+-]?{_NUMBER})\s*(db)?$")


def parse_level(text: str) -> float:
    """Parse a level in dB: `-18dB`, `-18`, `+3 dB`."""
    match = _LEVEL.match(text.strip().lower())
    if not match:
        raise ValueError(f"'{text}' is not a level; write it in dB like -18dB")
    value = float(match.group(1))
    if not math.isfinite(value):
        raise ValueError(f"'{text}' is not a finite level")
    return value


def db_to_gain(db: float) -> float:
    """Convert decibels to a linear amplitude factor."""
    return float(10.0 ** (db / 20.0))


_NOTE = re.compile(r"^([A-Ga-g])([#b♯♭]?)(-?\d)$")
_SEMITONES = {"c": -9, "d": -7, "e": -5, "f": -4, "g": -2, "a": 0, "b": 2}


def parse_note(text: str) -> float:
    """Convert a note name (`A4`, `C#3`, `Bb2`) to Hz, with A4 = 440 Hz."""
    match = _NOTE.match(text.strip())
    if not match:
        raise ValueError(f"'{text}' is not a note; write a letter, an optional # or b, and an "
                         "octave, like A2 or C#3")
    letter, accidental, octave = match.groups()
    semitone = _SEMITONES[letter.lower()]
    if accidental in ("#", "♯"):
        semitone += 1
    elif accidental in ("b", "♭"):
        semitone -= 1
    semitones_from_a4 = semitone + (int(octave) - 4) * 12
    return 440.0 * 2.0 ** (semitones_from_a4 / 12.0)


def seconds_to_samples(seconds: Fraction, sample_rate: int) -> int:
    """Round an exact time to the nearest sample (halves round up, deterministically)."""
    return math.floor(seconds * sample_rate + Fraction(1, 2))
