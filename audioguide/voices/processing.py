"""What every spoken line goes through once made: silence trimmed at both ends, the level
evened out, and the voice shaped for its style (calm, as its engine's kind of voice wants it).
"""

from __future__ import annotations

from ..dsp import normalize_speech, trim_recording, trim_silence
from ..errors import VoiceError
from .base import Speech
from .style import calm_profile, shape_calm


def process_speech(speech: Speech, style: str = "plain", recorded: bool = False,
                   engine: str = "pyttsx3") -> Speech:
    """Trim the silence at both ends, even out the level, and shape the voice for its style
    (calm as the engine's kind of voice wants it)."""
    trimmed = (trim_recording(speech.samples, speech.sample_rate) if recorded
               else trim_silence(speech.samples, speech.sample_rate))
    if trimmed.size == 0:
        raise VoiceError("the engine returned only silence")
    speech = Speech(normalize_speech(trimmed, speech.sample_rate), speech.sample_rate)
    if style == "calm" and not recorded:
        shaped = shape_calm(speech, calm_profile(engine))
        speech = Speech(normalize_speech(shaped.samples, shaped.sample_rate), shaped.sample_rate)
    return speech
