"""What every text-to-speech engine offers, and the values passed between engines and the cache."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import numpy.typing as npt

#: What --engine and voice.engine accept; `auto` is resolved to one of the others before
#: any line is spoken (timeline.narration.AutoVoice).
ENGINES = ("auto", "pyttsx3", "piper", "recorded", "draft")

#: Mono audio: float32 samples in -1..1.
Samples = npt.NDArray[np.float32]


@dataclass(frozen=True)
class VoiceSettings:
    """Everything that changes how a line sounds (and so its cache key)."""

    engine: str
    voice_id: str | None = None
    rate_wpm: float = 130.0
    pitch: float | None = None
    #: "plain", or "calm": warmth and a soft room added after synthesis.
    style: str = "plain"
    #: A multi-speaker voice's speaker, by name or number (Piper only).
    speaker: str | None = None


@dataclass(frozen=True)
class SpeechRequest:
    """One line to speak with given settings."""

    text: str
    settings: VoiceSettings
    #: Where the line was written ("file:line:col"), for error messages; not part of
    #: equality, so the same line written twice is made once.
    where: str | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Speech:
    """Mono speech samples at their own sample rate."""

    samples: Samples
    sample_rate: int

    @property
    def seconds(self) -> float:
        """Length in seconds."""
        return len(self.samples) / self.sample_rate


@dataclass(frozen=True)
class VoiceInfo:
    """A voice an engine offers."""

    engine: str
    voice_id: str
    name: str
    languages: tuple[str, ...] = ()
    gender: str | None = None


class Engine(Protocol):
    """A text-to-speech engine; `synthesize` may be called from several threads at once.

    An engine whose voices are files may also offer `voice_identity(settings) -> str`
    (a content hash of the model or recording), which then becomes part of the cache key.
    """

    name: str
    #: How many lines it makes usefully at the same time.
    parallelism: int

    def identity(self) -> str:
        """Engine, version and backend; part of every cache key."""
        ...
    def synthesize(self, text: str, settings: VoiceSettings) -> Speech:
        """Speak one line; raise VoiceError (or UnknownVoiceError) on failure."""
        ...

    def voices(self) -> Sequence[VoiceInfo]:
        """The voices this engine offers."""
        ...

    def close(self) -> None:
        """Release worker processes and other resources."""
        ...
