"""How a breathe step's pattern and its hum may be written.

A pattern is a name (`box`), numbers (`4-7-8`), a list of seconds or a mapping of phases,
and always becomes a `Pattern` (a named one where the lengths match it); the hum on
exhales is true (A2), false, a note or a mapping.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import yaml

from ..breathing import (
    PATTERNS,
    PHASE_KINDS,
    lengths_from_numbers,
    parse_pattern_text,
    pattern_from_lengths,
)
from ..units import parse_note
from . import ecma
from .fields import Custom, Field, Obj
from .nodes import INVALID, Context, Invalid, clip, suggest
from .scalars import FALSE_WORDS, TRUE_WORDS, Choice, Duration, Frequency, Level

#: The vowel colours of a hum.
VOWELS = ("mm", "oo", "ah")


# --- breathing patterns: a name, numbers, a list or a mapping ---------------------------

def _parse_pattern(node: yaml.Node, path: str, ctx: Context) -> Any:
    if isinstance(node, yaml.ScalarNode):
        text = ctx.fill(node, path, node.value)
        if isinstance(text, Invalid):
            return text
        try:
            pattern = parse_pattern_text(text)
        except ValueError:
            hint = suggest(text.strip().lower(), PATTERNS) or (
                f" (choose one of: {', '.join(PATTERNS)}, or numbers like 4-7-8)")
            return ctx.error(node, path, f"unknown pattern '{clip(text.strip())}'{hint}")
        if PATTERNS.get(pattern.name) is pattern:
            return pattern  # a named pattern, with its own words and advice
        return _pattern_or_error(pattern.lengths(), node, path, ctx)
    if isinstance(node, yaml.SequenceNode):
        parsed = [_phase_length(item, f"{path}[{i}]", ctx) for i, item in enumerate(node.value)]
        seconds = [value for value in parsed if isinstance(value, Fraction)]
        if len(seconds) != len(parsed):
            return INVALID
        try:
            lengths = lengths_from_numbers(seconds)
        except ValueError as exc:
            return ctx.error(node, path, f"{exc}: [inhale, exhale], [inhale, hold, exhale] or "
                             "[inhale, hold, exhale, hold]")
        return _pattern_or_error(lengths, node, path, ctx)
    if isinstance(node, yaml.MappingNode):
        values = PHASES.parse(node, path, ctx)
        if isinstance(values, Invalid):
            return values
        lengths = {kind: value for kind, value in values.items() if value is not None}
        if any(isinstance(value, Invalid) for value in lengths.values()):
            return INVALID
        return _pattern_or_error(lengths, node, path, ctx)
    return ctx.error(node, path, "expected a pattern name, a list of seconds or a mapping "
                     "of phases")


def _phase_length(node: yaml.Node, path: str, ctx: Context) -> Fraction | Invalid:
    value = PHASE_SECONDS.parse(node, path, ctx)
    return value if isinstance(value, Invalid) else Fraction(value)


#: The phases every breath has, each longer than 0.
BREATH_NEEDS = ("inhale", "exhale")


def _pattern_or_error(lengths: dict[str, Fraction], node: yaml.Node, path: str,
                      ctx: Context) -> Any:
    if any(lengths.get(kind, 0) <= 0 for kind in BREATH_NEEDS):
        return ctx.error(node, path, "a breath needs an inhale and an exhale longer than 0")
    named = next((p for p in PATTERNS.values() if p.lengths() == lengths), None)
    if named is not None:
        return named
    name = "-".join(f"{float(lengths[kind]):g}" for kind in PHASE_KINDS if lengths.get(kind))
    return pattern_from_lengths(name, lengths)


PHASE_SECONDS = Duration("seconds for this phase")
PHASES = Obj({kind: Field(PHASE_SECONDS) for kind in PHASE_KINDS},
             "phase lengths in seconds")


def _pattern_schema() -> dict[str, Any]:
    # The phases a list (or 4-7-8) of each length gives, as the loader maps them.
    orders = [list(lengths_from_numbers([Fraction(1)] * n)) for n in (2, 3, 4)]
    length = f"{ecma.DIGIT}+(?:\\.{ecma.DIGIT}+)?(?![0-9.])"
    longer = "(?=[0-9.]*[1-9])" + length
    numbers = ecma.one_of(f"{ecma.ws()}[-,]{ecma.ws()}".join(
        longer if kind in BREATH_NEEDS else length for kind in order) for order in orders)
    positive = Duration("seconds for this phase, more than 0", positive=True)
    phases = Obj({kind: Field(positive if kind in BREATH_NEEDS else PHASE_SECONDS,
                              required=kind in BREATH_NEEDS) for kind in PHASE_KINDS},
                 PHASES.description)
    return {
        "description": "a named pattern (" + ", ".join(PATTERNS) + "), numbers like 4-7-8, "
                       "a list [inhale, hold, exhale, hold] or a mapping of phases",
        "examples": ["box", "4-7-8", [4, 2, 6], {"inhale": 4, "exhale": 6}],
        "anyOf": [{"enum": list(PATTERNS)},
                  {"type": "string", "pattern": ecma.whole(ecma.one_of(
                      [ecma.words(PATTERNS, fold=True), numbers]))},
                  {"type": "string", "pattern": ecma.with_placeholder()},
                  *({"type": "array", "minItems": len(order), "maxItems": len(order),
                     "prefixItems": [(positive if kind in BREATH_NEEDS else PHASE_SECONDS)
                                     .json_schema() for kind in order]} for order in orders),
                  phases.json_schema()]}


PATTERN = Custom(_parse_pattern, _pattern_schema)


# --- the hum on every exhale ---------------------------------------------------------

HUM_NOTE = Frequency("the drone's note", notes=True, minimum=20, maximum=2000)
HUM_ON_EXHALES = Obj({
    "note": Field(HUM_NOTE),
    "hz": Field(Frequency("the drone's pitch in Hz", notes=False, minimum=20, maximum=2000)),
    "level": Field(Level(), default=-20.0),
    "vowel": Field(Choice(VOWELS, "the vowel colour of the hum"), default="mm"),
}, "a drone to hum along with on every exhale", at_most_one=[("note", "hz")])
DEFAULT_HUM_NOTE = "A2"


def _parse_breathe_hum(node: yaml.Node, path: str, ctx: Context) -> Any:
    if isinstance(node, yaml.ScalarNode):
        text = ctx.fill(node, path, node.value)
        if isinstance(text, Invalid):
            return text
        word = text.strip().lower()
        if word in FALSE_WORDS:
            return None
        if word in TRUE_WORDS:
            return {"note": parse_note(DEFAULT_HUM_NOTE), "hz": None, "level": -20.0,
                    "vowel": "mm"}
        try:
            hz = HUM_NOTE.convert(text, node)
        except ValueError as exc:
            return ctx.error(node, path, f"{exc}; or write true, false or a mapping")
        return {"note": hz, "hz": None, "level": -20.0, "vowel": "mm"}
    values = HUM_ON_EXHALES.parse(node, path, ctx)
    if isinstance(values, dict) and values["note"] is None and values["hz"] is None:
        values["note"] = parse_note(DEFAULT_HUM_NOTE)
    return values


BREATHE_HUM = Custom(_parse_breathe_hum, lambda: {
    "description": "hum along on every exhale: true (A2), a note, or a mapping",
    "examples": [True, "D3", {"note": "A2", "level": "-24dB"}],
    "anyOf": [{"type": "boolean"},
              {"type": "string", "pattern": ecma.whole(ecma.words(TRUE_WORDS + FALSE_WORDS,
                                                                  fold=True))},
              HUM_NOTE.json_schema(), HUM_ON_EXHALES.json_schema()]})
