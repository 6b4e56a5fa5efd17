"""Sessions made from command-line options instead of a file (`audioguide breathe`)."""

from __future__ import annotations

import json

from ..breathing import PATTERNS, parse_pattern_text
from ..errors import InputError
from .bed_fields import NOISES
from .load import parse_session
from .model import Session
from .nodes import suggest
from .schema import CUES

PATTERN_FORMS = (f"a name ({', '.join(PATTERNS)}) or 2 to 4 phase lengths in seconds "
                 "like 4-7-8 or 4,4,6,2")


def breathing_session(pattern: str = "box", *, minutes: float | None = None,
                      cycles: int | None = None, cue: str = "both", bed: str = "brown",
                      hum: bool = False, rate: float | None = None,
                      voice: str | None = None, engine: str | None = None) -> Session:
    """A paced-breathing session between two soft bells, as `audioguide breathe` plays it."""
    try:
        chosen = parse_pattern_text(pattern)
    except ValueError:
        hint = suggest(pattern.strip().lower(), PATTERNS)
        raise InputError(f"unknown pattern '{pattern}'{hint}; write {PATTERN_FORMS}") from None
    if not chosen.lengths().get("inhale") or not chosen.lengths().get("exhale"):
        raise InputError(f"pattern '{pattern}' needs an inhale and an exhale longer than 0")
    if cue not in CUES:
        raise InputError(f"unknown cue '{cue}' (choose one of: {', '.join(CUES)})")
    if bed != "none" and bed not in NOISES:
        raise InputError(f"unknown bed '{bed}'{suggest(bed, NOISES)} (choose one of: "
                         f"{', '.join(NOISES)}, none)")
    if minutes is not None and cycles is not None:
        raise InputError("give --minutes or --cycles, not both")
    amount = (f"cycles: {cycles}" if cycles is not None
              else f"duration: {minutes if minutes is not None else 3}m")
    voice_keys = {key: value for key, value in (("rate", rate), ("id", voice),
                                                 ("engine", engine)) if value is not None}
    # Values go in as JSON strings, which YAML reads back exactly as given.
    lines = [f"title: {json.dumps(f'{chosen.name} breathing'.capitalize())}",
             f"description: {json.dumps(chosen.about or f'Paced breathing, {chosen.name}.')}"]
    if voice_keys:
        lines.append("voice: " + json.dumps(voice_keys))
    if bed != "none":
        lines.append(f"bed: {{sound: {bed}, level: -32dB, fade_in: 4s, fade_out: 6s}}")
    lines += ["steps:",
              "  - section: Breathing",
              "  - bell: {kind: bowl, level: -14dB, gap: 4s}",
              f"  - breathe: {{pattern: {json.dumps(pattern.strip())}, {amount}, cue: {cue}"
              + (", hum: true" if hum else "") + "}",
              "  - bell: {kind: bowl, level: -14dB, gap: 2s}"]
    return parse_session("\n".join(lines) + "\n", name=f"breathe-{chosen.name}")
