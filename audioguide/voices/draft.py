"""The `draft` voice: a soft murmur as long as the line would take to say.

Deterministic and instant; for checking a script's timing without a speech engine,
and for the fast tests of the compiler and mixer.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np

from .. import __version__
from .base import Speech, VoiceInfo, VoiceSettings

SAMPLE_RATE = 22050
#: Average characters (with the following space) per spoken word.
CHARS_PER_WORD = 6.0


class DraftEngine:
    """A murmur per word: a voiced buzz shaped like a syllable, with short gaps between words."""

    name = "draft"
    parallelism = 1

    def identity(self) -> str:
        """The draft voice changes only with audioguide itself."""
        return f"draft {__version__}"

    def synthesize(self, text: str, settings: VoiceSettings) -> Speech:
        """Make the murmur; its length is proportional to the text at the given rate."""
        words = text.split() or ["."]
        seconds_per_word = 60.0 / settings.rate_wpm
        pitch_hz = 110.0 + (settings.pitch if settings.pitch is not None else 50.0)
        parts = []
        for word in words:
            seconds = seconds_per_word * (len(word) + 1) / CHARS_PER_WORD
            frames = max(int(seconds * SAMPLE_RATE), 64)
            voiced = int(frames * 0.8)
            t = np.arange(voiced) / SAMPLE_RATE
            # A stable per-word pitch wobble, so lines are not all identical.
            wobble = int(hashlib.sha1(word.encode()).hexdigest()[:4], 16) / 65535.0
            hz = pitch_hz * (0.9 + 0.2 * wobble)
            buzz = sum(np.sin(2 * np.pi * hz * k * t) / k for k in range(1, 6))
            envelope = np.sin(np.pi * np.arange(voiced) / voiced) ** 2
            parts.append((0.25 * buzz * envelope).astype(np.float32))
            parts.append(np.zeros(frames - voiced, dtype=np.float32))
        samples = np.concatenate(parts[:-1])  # no gap after the last word
        return Speech(samples, SAMPLE_RATE)

    def voices(self) -> Sequence[VoiceInfo]:
        """One voice."""
        return [VoiceInfo("draft", "murmur", "Draft murmur", ("any",), None)]

    def close(self) -> None:
        """Nothing to release."""
