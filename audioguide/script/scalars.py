"""The values written as one scalar: text, durations, levels, numbers, words, switches, pitches.

Each converts the text of its node (placeholders filled) and bounds it, and spells what it
accepts as JSON Schema forms, so the editor refuses what the loader would.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from fractions import Fraction
from typing import Any

import yaml

from ..units import (
    _UNIT_SECONDS,
    MAX_EXPONENT,
    MAX_SESSION_SECONDS,
    parse_duration,
    parse_level,
    parse_note,
)
from . import ecma
from .fields import ScalarType
from .nodes import is_null, is_plain, suggest

#: The words a yes/no switch reads as yes and as no (in any case).
TRUE_WORDS = ("true", "yes", "on")
FALSE_WORDS = ("false", "no", "off")


def text_pattern() -> str:
    """Text with something other than whitespace, whose braces are placeholders or doubled."""
    return f"^(?=[\\s\\S]*{ecma.not_ws()})" + ecma.template() + "$"


class Text(ScalarType):
    """Free text; placeholders filled."""

    expected = "text"
    max_chars = None

    def __init__(self, description: str = "", *, allow_empty: bool = False,
                 max_length: int = 20_000) -> None:
        self.description = description
        self.allow_empty = allow_empty
        self.max_length = max_length

    takes_placeholders = False

    def forms(self) -> list[dict[str, Any]]:
        """Numbers and yes/no words are read as their text; strings need some text."""
        string = ({"type": "string", "pattern": "^" + ecma.template() + "$"}
                  if self.allow_empty else {"type": "string", "pattern": text_pattern()})
        # One type a branch: ajv's strict mode warns about type lists.
        return [string, {"type": "number"}, {"type": "boolean"}]

    def examples(self) -> list[Any]:
        """A line of a session."""
        return ["Let your shoulders drop."]

    def convert(self, text: str, node: yaml.ScalarNode) -> str:
        """Strip and check the text."""
        if is_null(node):   # `~` or `null` is nothing to say, not the word
            text = ""
        value = " ".join(text.split()) if is_plain(node) or node.style == ">" else text.strip()
        if not value and not self.allow_empty:
            raise ValueError("is empty; write some text")
        if len(value) > self.max_length:
            raise ValueError(f"text is {len(value)} characters long; the limit is "
                             f"{self.max_length}: split it into several lines")
        return value


class Duration(ScalarType):
    """A length of time, as exact seconds."""

    expected = "a duration"

    def __init__(self, description: str = "", *, minimum: Fraction = Fraction(0),
                 positive: bool = False) -> None:
        self.description = description or "seconds, or a string like 4s, 500ms, 2m, 1m30s, 1:30"
        self.minimum = minimum
        self.positive = positive

    def forms(self) -> list[dict[str, Any]]:
        """Seconds as a number, or a string in one of the duration forms (over 0 if positive)."""
        number: dict[str, Any] = {"type": "number", "minimum": float(self.minimum),
                                  "maximum": MAX_SESSION_SECONDS}
        string: dict[str, Any] = {"type": "string", "pattern": ecma.whole(ecma.duration(
            _UNIT_SECONDS, MAX_SESSION_SECONDS, MAX_EXPONENT))}
        if self.positive:
            number["exclusiveMinimum"] = 0
            string["not"] = {"pattern": ecma.ZERO_DURATION}
        return [number, string]

    def examples(self) -> list[Any]:
        """A few of the forms."""
        return ["4s", "1m30s", 90, "500ms"]

    def convert(self, text: str, node: yaml.ScalarNode) -> Fraction:
        """Parse and bound the duration."""
        seconds = parse_duration(text)
        if self.positive and seconds <= 0:
            raise ValueError(f"must be longer than 0 (got '{text}')")
        if seconds < self.minimum:
            raise ValueError(f"must be at least {float(self.minimum):g}s (got '{text}')")
        if seconds > MAX_SESSION_SECONDS:
            raise ValueError(f"'{text}' is longer than the 12-hour limit")
        return seconds


class Level(ScalarType):
    """A level in dB."""

    expected = "a level in dB"

    def __init__(self, description: str = "", *, minimum: float = -96.0,
                 maximum: float = 12.0) -> None:
        self.description = description or "dB, like -18dB or -18"
        self.minimum = minimum
        self.maximum = maximum

    def forms(self) -> list[dict[str, Any]]:
        """A number of dB within the bounds, or the same with `dB` after it."""
        number = ecma.one_of([ecma.decimal(self.minimum, self.maximum, ecma.ANY_POINT),
                              "[+-]?" + ecma.exponent_number()])
        return [{"type": "number", "minimum": self.minimum, "maximum": self.maximum},
                {"type": "string", "pattern": ecma.whole(
                    f"{number}{ecma.ws()}(?:{ecma.folded('db')})?")}]

    def examples(self) -> list[Any]:
        """Levels within the bounds, as strings and as a number."""
        inside = [v for v in (-18, -6, 0, 6, 20) if self.minimum <= v <= self.maximum]
        return [f"{inside[0]}dB", inside[-1]] if inside else [self.minimum]

    def convert(self, text: str, node: yaml.ScalarNode) -> float:
        """Parse and bound the level."""
        value = parse_level(text)
        if not self.minimum <= value <= self.maximum:
            raise ValueError(f"level {value:g}dB is outside {self.minimum:g}..{self.maximum:g} dB")
        return value


class Number(ScalarType):
    """A finite number within bounds, optionally a whole number."""

    def __init__(self, description: str = "", *, minimum: float, maximum: float,
                 integer: bool = False) -> None:
        self.description = description
        self.minimum = minimum
        self.maximum = maximum
        self.integer = integer
        self.expected = "a whole number" if integer else "a number"

    def forms(self) -> list[dict[str, Any]]:
        """The number, or a string of it (as `int()` or `float()` reads it)."""
        form = ecma.NO_POINT if self.integer else ecma.ANY_POINT
        spelling = ecma.int_spelling() if self.integer else ecma.float_spelling()
        return [{"type": "integer" if self.integer else "number", "minimum": self.minimum,
                 "maximum": self.maximum},
                {"type": "string", "pattern": ecma.whole(ecma.one_of(
                    [ecma.decimal(self.minimum, self.maximum, form), spelling]))}]

    def examples(self) -> list[Any]:
        """The bounds."""
        low, high = (int(self.minimum), int(self.maximum)) if self.integer else (
            self.minimum, self.maximum)
        return [low, high] if low != high else [low]

    def convert(self, text: str, node: yaml.ScalarNode) -> float | int:
        """Parse and bound the number."""
        raw = text.strip()
        try:
            value: float | int = int(raw) if self.integer else float(raw)
        except ValueError:
            raise ValueError(f"'{text}' is not {self.expected}") from None
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"'{text}' is not a finite number")
        if not self.minimum <= value <= self.maximum:
            raise ValueError(f"{value:g} is outside {self.minimum:g}..{self.maximum:g}")
        return value


class Choice(ScalarType):
    """One word from a fixed list."""

    def __init__(self, options: Iterable[str], description: str = "") -> None:
        self.options = tuple(options)
        self.description = description
        self.expected = "one of " + ", ".join(self.options)

    def forms(self) -> list[dict[str, Any]]:
        """One of the words (spaces around it are stripped)."""
        return [{"enum": list(self.options)},
                {"type": "string", "pattern": ecma.whole(ecma.words(self.options))}]

    def examples(self) -> list[Any]:
        """The first few words."""
        return list(self.options[:3])

    def convert(self, text: str, node: yaml.ScalarNode) -> str:
        """Check the word is one of the options."""
        word = text.strip()
        if word not in self.options:
            hint = suggest(word, self.options) or f" (choose one of: {', '.join(self.options)})"
            raise ValueError(f"unknown value '{word}'{hint}")
        return word


class Flag(ScalarType):
    """A yes/no switch."""

    expected = "true or false"

    def __init__(self, description: str = "") -> None:
        self.description = description

    def forms(self) -> list[dict[str, Any]]:
        """true or false, or one of the words for them in any case."""
        return [{"type": "boolean"}, {"type": "string", "pattern": ecma.whole(
            ecma.words(TRUE_WORDS + FALSE_WORDS, fold=True))}]

    def examples(self) -> list[Any]:
        """Both."""
        return [True, False]

    def convert(self, text: str, node: yaml.ScalarNode) -> bool:
        """Read true/false (and yes/no, on/off)."""
        word = text.strip().lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
        raise ValueError(f"'{text}' is not true or false")


class Frequency(ScalarType):
    """A pitch in Hz, or a note name (`A2`) when `notes` is set."""

    def __init__(self, description: str = "", *, notes: bool, minimum: float = 20.0,
                 maximum: float = 20_000.0) -> None:
        self.description = description
        self.notes = notes
        self.minimum = minimum
        self.maximum = maximum
        self.expected = "a note name like A2" if notes else "a frequency in Hz"

    def forms(self) -> list[dict[str, Any]]:
        """The notes within the bounds; or Hz as a number, or a string with an optional Hz."""
        if self.notes:
            return [{"type": "string", "pattern": ecma.whole(
                ecma.notes(parse_note, self.minimum, self.maximum))}]
        number = ecma.one_of([ecma.decimal(self.minimum, self.maximum, ecma.ANY_POINT),
                              ecma.float_spelling()])
        return [{"type": "number", "minimum": self.minimum, "maximum": self.maximum},
                {"type": "string", "pattern": ecma.whole(
                    f"{number}{ecma.ws()}(?:{ecma.folded('hz')})?")}]

    def examples(self) -> list[Any]:
        """Notes or frequencies within the bounds."""
        if self.notes:
            return [note for note in ("A2", "C#3", "E4", "A4")
                    if self.minimum <= parse_note(note) <= self.maximum][:2]
        return [value for value in (110, "136.1Hz") if self.minimum <= float(
            str(value).removesuffix("Hz")) <= self.maximum]

    def convert(self, text: str, node: yaml.ScalarNode) -> float:
        """Parse the note or the number of Hz."""
        if self.notes:
            hz = parse_note(text)
        else:
            raw = text.strip().lower().removesuffix("hz").strip()
            try:
                hz = float(raw)
            except ValueError:
                raise ValueError(f"'{text}' is not a frequency in Hz") from None
        if not (math.isfinite(hz) and self.minimum <= hz <= self.maximum):
            raise ValueError(f"{hz:g} Hz is outside {self.minimum:g}..{self.maximum:g} Hz")
        return hz

