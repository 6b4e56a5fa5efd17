"""Script layer: YAML session scripts in, a validated immutable `Session` out."""

from .load import (
    BuiltinSession,
    builtin_sessions,
    find_script,
    load_session,
    load_variables,
    new_session,
    parse_session,
)
from .model import (
    At,
    Bed,
    Bell,
    Breathe,
    Choose,
    Hum,
    Location,
    Output,
    Pause,
    Repeat,
    Rhythm,
    Say,
    Section,
    Session,
    Sound,
    Step,
    Tone,
    VoiceSpec,
)
from .schema import json_schema

__all__ = [
    "At", "Bed", "Bell", "Breathe", "BuiltinSession", "Choose", "Hum", "Location", "Output",
    "Pause",
    "Repeat", "Rhythm", "Say", "Section", "Session", "Sound", "Step", "Tone", "VoiceSpec",
    "builtin_sessions", "find_script", "json_schema", "load_session", "load_variables",
    "new_session", "parse_session",
]
