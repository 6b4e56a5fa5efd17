"""How a bed is written: a noise or an audio file to loop, its level, ducking and fades.

The session's bed gives every key a default; a section's bed leaves out what the session's
bed (then the defaults) fills in, or is `none` for silence from there on.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import yaml

from . import ecma
from .fields import Custom, Field, Obj
from .nodes import Context, Invalid, clip, suggest
from .paths import resolve_file
from .scalars import Duration, Level, text_pattern

#: The noises a bed can be (`sounds.beds` makes them).
NOISES = ("white", "pink", "brown", "ocean", "rain")

FADE = Duration("fade length")


def _parse_bed_sound(node: yaml.Node, path: str, ctx: Context) -> Any:
    text = ctx.scalar_text(node, path, "expected a noise name or a file path")
    if isinstance(text, Invalid):
        return text
    word = text.strip()
    if word in NOISES:
        return word
    if "/" not in word and "." not in word:
        hint = suggest(word, NOISES) or f" (choose one of: {', '.join(NOISES)}, or a file path)"
        return ctx.error(node, path, f"unknown bed sound '{clip(word)}'{hint}")
    return resolve_file(word, node, path, ctx)


BED_SOUND = Custom(_parse_bed_sound, lambda: {
    "description": "a noise (" + ", ".join(NOISES) + ") or an audio file to loop",
    "examples": ["brown", "sounds/stream.ogg"],
    "anyOf": [{"enum": list(NOISES)},
              {"type": "string", "pattern": ecma.whole(ecma.words(NOISES))},
              # Anything else must look like a path (whether it is a file only loading tells).
              {"type": "string", "pattern": "^(?=[\\s\\S]*[/.])" + text_pattern()[1:]},
              {"type": "string", "pattern": ecma.with_placeholder()}]})

BED = Obj({
    "sound": Field(BED_SOUND, required=True),
    "level": Field(Level(), default=-30.0),
    "duck": Field(Level("how far the bed dips while the voice speaks", minimum=0,
                        maximum=40), default=8.0),
    "fade_in": Field(FADE, default=Fraction(5)),
    "fade_out": Field(FADE, default=Fraction(8)),
}, "a soft background sound under the whole session", shorthand="sound")
#: A section's bed: what it leaves out comes from the session's bed (then the defaults).
SECTION_BED = Obj({key: Field(spec.kind, spec.required, None) for key, spec in BED.fields.items()},
                  "the bed from here on; unset keys as in the session's bed", shorthand="sound")

NO_BED = "none"
NO_BED_WORDS = (NO_BED, "off")


def _parse_section_bed(node: yaml.Node, path: str, ctx: Context) -> Any:
    if isinstance(node, yaml.ScalarNode) and node.value.strip().lower() in NO_BED_WORDS:
        return NO_BED
    return SECTION_BED.parse(node, path, ctx)


#: A section's `bed:`: the bed from here on, or none.
SECTION_BED_OR_NONE = Custom(_parse_section_bed, lambda: {
    "description": "the bed from here on (until another section changes it), or none",
    "examples": ["rain", NO_BED],
    "anyOf": [{"enum": [NO_BED]},
              {"type": "string", "pattern": ecma.whole(ecma.words(NO_BED_WORDS, fold=True))},
              SECTION_BED.json_schema()]})
