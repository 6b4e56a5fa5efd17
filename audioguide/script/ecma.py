"""Regular expressions in ECMA-262, JSON Schema's dialect, for the text forms the loader reads.

Each builder here spells, as a pattern, what one of the loader's parsers accepts, using the
parsers' own constants. Patterns are written in the part of the language that ECMA-262 (with
or without its `u` flag) and Python's `re` read alike: no inline flags (case-insensitivity is
written as classes like `[dD][bB]`), no `\\d`, `\\s` or `.` (whose meanings differ between
the two), and the whitespace that Python's `str.strip()` removes spelt out as a class.

Numbers are checked against their bounds digit by digit, for plain decimals (`-18`, `12.5`,
`.5`, `0040`). Spellings Python also reads (exponents like `1e3`, underscores like `1_000`)
are checked for their form only, since a bound on them cannot be written as a pattern.
"""

from __future__ import annotations

import functools
import string
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from fractions import Fraction

_SYNTAX = frozenset("^$\\.*+?()[]{}|/")
_CLASS_SPECIAL = frozenset("\\]^-[")
DIGIT = "[0-9]"


def _escape_code(char: str) -> str:
    code = ord(char)
    if code > 0xFFFF:
        raise ValueError(f"U+{code:X} is outside the Basic Multilingual Plane")
    return f"\\u{code:04x}"


def literal(text: str) -> str:
    """`text` matched exactly, outside a class."""
    out = []
    for char in text:
        if char in _SYNTAX:
            out.append("\\" + char)
        elif " " <= char <= "~":
            out.append(char)
        else:
            out.append(_escape_code(char))
    return "".join(out)


def _class_char(char: str) -> str:
    if char in _CLASS_SPECIAL:
        return "\\" + char
    return char if " " <= char <= "~" else _escape_code(char)


def char_class(chars: Iterable[str], *, negate: bool = False) -> str:
    """A class of exactly these characters (runs of three or more written as ranges)."""
    codes = sorted({ord(char) for char in chars})
    parts: list[str] = []
    i = 0
    while i < len(codes):
        j = i
        while j + 1 < len(codes) and codes[j + 1] == codes[j] + 1:
            j += 1
        if j - i >= 2:
            parts.append(f"{_class_char(chr(codes[i]))}-{_class_char(chr(codes[j]))}")
        else:
            parts.extend(_class_char(chr(code)) for code in codes[i:j + 1])
        i = j + 1
    return "[" + ("^" if negate else "") + "".join(parts) + "]"


@functools.cache
def _whitespace() -> tuple[str, ...]:
    # Every character str.strip() removes and Python's `\s` matches (the same set); all
    # of them are in the Basic Multilingual Plane.
    return tuple(chr(code) for code in range(0x10000) if chr(code).isspace())


@functools.cache
def _lowers_to() -> dict[str, tuple[str, ...]]:
    """ASCII character → every character whose `.lower()` is it (`k` → k, K and the Kelvin sign)."""
    table: dict[str, list[str]] = {}
    for code in range(0x10000):
        lower = chr(code).lower()
        if len(lower) == 1 and lower.isascii():
            table.setdefault(lower, []).append(chr(code))
    return {key: tuple(value) for key, value in table.items()}


def ws() -> str:
    """Any run of whitespace (as `str.strip()` and `\\s` see it), possibly empty."""
    return char_class(_whitespace()) + "*"


def not_ws() -> str:
    """One character that is not whitespace."""
    return char_class(_whitespace(), negate=True)


def folded(word: str) -> str:
    """What `text.lower() == word` accepts, for a lower-case ASCII `word`: `db` → `[dD][bB]`."""
    out = []
    for char in word:
        chars = _lowers_to().get(char, (char,))
        out.append(literal(char) if len(chars) == 1 else char_class(chars))
    return "".join(out)


def one_of(alternatives: Iterable[str]) -> str:
    """A non-capturing group of the alternatives (each already a pattern)."""
    items = list(alternatives)
    if not items:
        return "(?!)"
    return items[0] if len(items) == 1 else "(?:" + "|".join(items) + ")"


def whole(pattern: str) -> str:
    """`pattern` as the whole value, with the whitespace that `.strip()` removes around it."""
    return f"^{ws()}{pattern}{ws()}$"


def words(options: Iterable[str], *, fold: bool = False) -> str:
    """Any one of `options` (compared after `.lower()` when `fold`)."""
    return one_of((folded(word) if fold else literal(word)) for word in options)


# --- placeholders --------------------------------------------------------------------------

NAME = "[A-Za-z_][A-Za-z0-9_]*"


def placeholder() -> str:
    """One `{name}` placeholder as the loader reads it (space inside the braces allowed)."""
    return "\\{" + ws() + NAME + ws() + "\\}"


def template() -> str:
    """Text whose braces are all placeholders or doubled (`{{`): what filling never refuses."""
    return "(?:[^{]|\\{\\{|" + placeholder() + ")*"


def with_placeholder() -> str:
    """A whole value with at least one placeholder, which only the filled value can check."""
    return "^(?:[^{]|\\{\\{)*" + placeholder() + template() + "$"


# --- plain decimal numbers within bounds ---------------------------------------------------

#: How a plain decimal may be written: with `.5` and `5.` (Python's float, units' numbers),
#: with digits on both sides of any point (breathing's 4-7-8), or as a whole number.
ANY_POINT, INNER_POINT, NO_POINT = "any", "inner", "none"


def _digits_of(value: Decimal) -> tuple[str, str]:
    """A non-negative decimal as (integer digits without leading zeros, fraction digits)."""
    text = f"{value:f}"
    integer, _, fraction = text.partition(".")
    return integer.lstrip("0"), fraction.rstrip("0")


def _span(low: int, high: int) -> str:
    if low > high:
        return ""
    if low == high:
        return str(low)
    return f"[{low}-{high}]"


def _fraction_at_most(digits: str) -> str:
    """Fraction digits f (possibly none) with 0.f <= 0.digits."""
    if not digits:
        return "0*"
    alternatives = []
    for k, char in enumerate(digits):
        below = int(char) - 1
        tail = f"(?:{_span(0, below)}{DIGIT}*)?" if below >= 0 else ""
        alternatives.append(digits[:k] + tail)
    alternatives.append(digits + "0*")
    return one_of(alternatives)


def _fraction_at_least(digits: str) -> str:
    """Fraction digits f (at least one when `digits` is not empty) with 0.f >= 0.digits."""
    if not digits:
        return f"{DIGIT}*"
    alternatives = [digits + f"{DIGIT}*"]
    for k, char in enumerate(digits):
        if char != "9":
            alternatives.append(digits[:k] + _span(int(char) + 1, 9) + f"{DIGIT}*")
    return one_of(alternatives)


def _integers_below(bound: str) -> list[str]:
    """Significant digits (no leading zero, not empty) of the integers 1..bound-1."""
    if not bound:
        return []
    out = []
    if len(bound) >= 2:
        out.append(f"[1-9]{DIGIT}{{0,{len(bound) - 2}}}" if len(bound) > 2 else "[1-9]")
    for k, char in enumerate(bound):
        low = 1 if k == 0 else 0
        if int(char) - 1 >= low:
            rest = len(bound) - k - 1
            out.append(bound[:k] + _span(low, int(char) - 1)
                       + (f"{DIGIT}{{{rest}}}" if rest else ""))
    return out


def _integers_above(bound: str) -> list[str]:
    """Significant digits of the integers greater than `bound` ("" meaning 0)."""
    if not bound:
        return [f"[1-9]{DIGIT}*"]
    out = [f"[1-9]{DIGIT}{{{len(bound)},}}"]
    for k, char in enumerate(bound):
        if char != "9":
            rest = len(bound) - k - 1
            out.append(bound[:k] + _span(int(char) + 1, 9)
                       + (f"{DIGIT}{{{rest}}}" if rest else ""))
    return out


def _token(integer: str | None, fraction: str | None, form: str, *,
           zero_fraction: bool = True) -> list[str]:
    """Alternatives for an integer part (`None`: zero, written as 0s or left out) followed by
    fraction digits matching `fraction` (`None`: any). `zero_fraction`: whether the fraction
    may be all zeros, so that the point and its digits may be left out."""
    frac = f"{DIGIT}*" if fraction is None else fraction
    if form == NO_POINT:
        tails = [""] if zero_fraction else []
    elif form == INNER_POINT:
        tails = [f"(?:\\.(?={DIGIT}){frac})?" if zero_fraction else f"\\.(?={DIGIT}){frac}"]
    else:
        tails = [f"(?:\\.{frac})?" if zero_fraction else f"\\.{frac}"]
    out = []
    for tail in tails:
        out.append(("0+" if integer is None else "0*" + integer) + tail)
    if integer is None and form == ANY_POINT:
        out.append(f"\\.(?={DIGIT}){frac}")
    return out


def at_most(bound: Decimal, form: str) -> str:
    """A non-negative plain decimal (digits and at most one point) <= `bound`."""
    integer, fraction = _digits_of(bound)
    alternatives = []
    for digits in _integers_below(integer):
        alternatives += _token(digits, None, form)
    if integer:
        alternatives += _token(None, None, form)
        alternatives += _token(integer, _fraction_at_most(fraction), form)
    else:
        alternatives += _token(None, _fraction_at_most(fraction), form)
    return one_of(alternatives)


def at_least(bound: Decimal, form: str) -> str:
    """A non-negative plain decimal >= `bound`."""
    integer, fraction = _digits_of(bound)
    alternatives = []
    for digits in _integers_above(integer):
        alternatives += _token(digits, None, form)
    if integer:
        alternatives += _token(integer, _fraction_at_least(fraction), form,
                               zero_fraction=not fraction)
    elif fraction:
        alternatives += _token(None, _fraction_at_least(fraction), form, zero_fraction=False)
    else:
        alternatives += _token(None, None, form)
    return one_of(alternatives)


_END = "(?![0-9.])"


def magnitude(low: Decimal, high: Decimal, form: str) -> str:
    """An unsigned plain decimal in low..high (both >= 0), ending where its digits end."""
    upper = at_most(high, form) + _END
    if low <= 0:
        return upper
    return f"(?={upper})" + at_least(low, form) + _END


def decimal(low: float | Fraction | Decimal, high: float | Fraction | Decimal, form: str, *,
            plus: bool = True, minus: bool = True) -> str:
    """A plain decimal in low..high, with the signs the parser allows."""
    lo, hi = _as_decimal(low), _as_decimal(high)
    alternatives = []
    if hi >= 0:
        alternatives.append(("\\+?" if plus else "") + magnitude(max(lo, Decimal(0)), hi, form))
    if minus and lo <= 0:
        alternatives.append("-" + magnitude(max(-hi, Decimal(0)), -lo, form))
    return one_of(alternatives)


def _as_decimal(value: float | Fraction | Decimal) -> Decimal:
    if isinstance(value, Fraction):
        result = Decimal(value.numerator) / Decimal(value.denominator)
        if Fraction(result) != value:
            raise ValueError(f"{value} has no finite decimal expansion")
        return result
    return Decimal(str(value)) if isinstance(value, float) else Decimal(value)


# --- what Python reads beyond plain decimals (form only) -----------------------------------

_DIGITS_ = f"{DIGIT}(?:_?{DIGIT})*"


def float_spelling() -> str:
    """A number `float()` reads that has an exponent or underscores: `1e3`, `1_000.5`."""
    mantissa = f"(?:{_DIGITS_}(?:\\.(?:{_DIGITS_})?)?|\\.{_DIGITS_})"
    return f"[+-]?(?=[0-9.]*[eE_]){mantissa}(?:[eE][+-]?{_DIGITS_})?(?![0-9._])"


def int_spelling() -> str:
    """A whole number `int()` reads that has underscores: `1_000`."""
    return f"[+-]?(?={DIGIT}*_){_DIGITS_}(?![0-9_])"


def exponent_number(max_exponent: int | None = None) -> str:
    """units' number with an exponent (`1e3`, `2.5E-1`), its exponent within the bound."""
    if max_exponent is None:
        exponent = f"{DIGIT}+"
    else:
        exponent = "0*" + at_most(Decimal(max_exponent), NO_POINT)
    return (f"(?:{DIGIT}+(?:\\.{DIGIT}*)?|\\.{DIGIT}+)[eE][+-]?{exponent}(?![0-9])")


# --- durations and notes ---------------------------------------------------------------------

#: A duration whose every digit outside an exponent is 0 (given that it is a duration).
ZERO_DURATION = "^(?:[^1-9eE]|[eE][+-]?[0-9]+)*$"


def duration(units: Mapping[str, Fraction], limit: int, max_exponent: int) -> str:
    """What units.parse_duration accepts up to `limit` seconds (after stripping).

    A number of seconds, a clock time (`m:ss`, `h:mm:ss`, seconds under 60), or numbers
    with units, each unit once. Each part of a combined duration is held to the limit on
    its own; that their sum is within it only the loader can tell.
    """
    space = ws()

    def number(bound: Fraction) -> str:
        return one_of([magnitude(Decimal(0), _as_decimal(bound), ANY_POINT),
                       exponent_number(max_exponent)])

    if limit % 3600:
        raise ValueError("the limit must be a whole number of hours")
    seconds = f"0*[0-5]?{DIGIT}(?:\\.{DIGIT}+)?"
    no_seconds = "0+(?:\\.0+)?"
    minutes, hours = limit // 60, limit // 3600
    clock = one_of([
        f"{magnitude(Decimal(0), Decimal(minutes - 1), NO_POINT)}:{seconds}",
        f"0*{minutes}:{no_seconds}",
        f"{magnitude(Decimal(0), Decimal(hours - 1), NO_POINT)}:0*[0-5]?{DIGIT}:{seconds}",
        f"0*{hours}:0+:{no_seconds}",
    ])
    # Longest unit names first, as the loader's own alternation tries them.
    names = sorted(units, key=len, reverse=True)
    part = one_of(f"{number(limit / units[name])}{space}{folded(name)}" for name in names)
    # Where each unit occurs: a unit name right after a number's last character (`m` not
    # followed by the `s` of `ms`); each may occur once.
    occurs = {name: f"[0-9.]{space}{folded(name)}" + "".join(
        f"(?!{folded(longer[len(name):])})" for longer in names
        if longer != name and longer.startswith(name)) for name in names}
    once = "".join(f"(?![\\s\\S]*{occurs[name]}[\\s\\S]*{occurs[name]})" for name in names)
    combined = f"{once}(?:{space}{part}{space})+"
    return one_of([number(Fraction(limit)), clock, combined])


def notes(to_hz: Callable[[str], float], low: float, high: float) -> str:
    """Every note name `to_hz` reads (A4 = 440 Hz) whose pitch is within low..high Hz.

    The names are found by asking `to_hz` about each letter, sign and octave a note could be
    written with, so the pattern follows the parser's own list.
    """
    found: dict[str, dict[str, set[str]]] = {}
    for octave, letter, sign, hz in _spellings(to_hz):
        if low <= hz <= high:
            found.setdefault(octave, {}).setdefault(letter, set()).add(sign)
    by_shape: dict[str, list[str]] = {}
    for octave, letters in found.items():
        by_signs: dict[frozenset[str], list[str]] = {}
        for letter, signs in letters.items():
            by_signs.setdefault(frozenset(signs), []).append(letter)
        shape = one_of(sorted(
            char_class(letter_group) + _signs(signs) for signs, letter_group in by_signs.items()))
        by_shape.setdefault(shape, []).append(octave)
    return one_of(f"{shape}{one_of(literal(o) for o in sorted(octaves))}"
                  for shape, octaves in sorted(by_shape.items()))


@functools.cache
def _spellings(to_hz: Callable[[str], float]) -> tuple[tuple[str, str, str, float], ...]:
    """(octave, letter, sign, Hz) for every note name `to_hz` reads."""
    found = []
    for octave in [str(n) for n in range(10)] + [f"-{n}" for n in range(10)]:
        for letter in string.ascii_letters:
            for sign in [""] + [chr(c) for c in range(0x21, 0x7F)] + ["\u266f", "\u266d"]:
                try:
                    found.append((octave, letter, sign, to_hz(letter + sign + octave)))
                except ValueError:
                    continue
    return tuple(found)


def _signs(signs: frozenset[str]) -> str:
    written = sorted(sign for sign in signs if sign)
    if not written:
        return ""
    group = char_class(written) if len(written) > 1 else literal(written[0])
    return group + ("?" if "" in signs else "")
