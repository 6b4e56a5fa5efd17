"""The clip library: how long each kind of clip is, and how to read its samples.

It joins the three sources of sound — voices (speech cache), sounds (synthesis)
and media (files) — behind two questions the compiler and mixer ask:
`frames(source)` and `open(source)`.
"""

from __future__ import annotations

import functools
from collections import OrderedDict
from collections.abc import Hashable, Iterable
from pathlib import Path
from typing import Protocol

import numpy as np

from ..dsp import Audio
from ..errors import MediaError
from ..media import decode, decode_stream, probe
from ..progress import Progress
from ..sounds import (
    BellStrike,
    HumDrone,
    LoopBed,
    NoiseBed,
    PacerTone,
    Rhythm,
    SteadyTone,
    StreamLoopBed,
    Tick,
)
from ..timeline.model import FileClip, FileLoop, NoiseSource
from ..voices import SpeechBank, SpeechRequest


class Reader(Protocol):
    """Sequential access to a clip's samples: (frames,) mono or (frames, channels)."""

    def read(self, frames: int) -> Audio:
        """The next `frames` frames."""
        ...


class ArrayReader:
    """Reads a whole array front to back."""

    def __init__(self, samples: Audio) -> None:
        self.samples = samples
        self.position = 0

    def read(self, frames: int) -> Audio:
        """The next `frames` frames (zeros past the end, so a clip can outlast its audio)."""
        chunk = self.samples[self.position: self.position + frames]
        self.position += frames
        if len(chunk) < frames:
            pad = np.zeros((frames - len(chunk),) + self.samples.shape[1:], dtype=np.float32)
            chunk = np.concatenate([chunk, pad])
        return chunk


class SynthReader:
    """Reads a synthesized sound, made one block at a time from the absolute sample index."""

    def __init__(self, sound: Tick | PacerTone | SteadyTone | HumDrone | BellStrike | Rhythm,
                 sample_rate: int) -> None:
        self.sound = sound
        self.sample_rate = sample_rate
        self.position = 0

    def read(self, frames: int) -> Audio:
        """The next `frames` frames."""
        chunk = self.sound.render(self.sample_rate, self.position, frames)
        self.position += frames
        return chunk


_SYNTHS = (Tick, PacerTone, SteadyTone, HumDrone, BellStrike, Rhythm)


class ClipLibrary:
    """Lengths and samples of every clip source, at one sample rate and channel count."""

    def __init__(self, speech: SpeechBank, sample_rate: int, channels: int,
                 decoded_bytes: int = 128 * 2**20) -> None:
        self.speech = speech
        self.sample_rate = sample_rate
        self.channels = channels
        # Decoded files, most recently used last, up to `decoded_bytes` in all: a session
        # that plays sixty short files a thousand times decodes each once.
        self._files: OrderedDict[Path, Audio] = OrderedDict()
        self._files_bytes = 0
        self._decoded_limit = decoded_bytes
        self.stream_bed_bytes = 64 * 2**20     # about six minutes of stereo at 44.1 kHz
        self._struck = functools.lru_cache(maxsize=16)(self._strike)

    def _decoded(self, path: Path) -> Audio:
        audio = self._files.get(path)
        if audio is not None:
            self._files.move_to_end(path)
            return audio
        audio = decode(path, self.sample_rate, self.channels)
        audio.setflags(write=False)
        if audio.nbytes <= self._decoded_limit:
            self._files[path] = audio
            self._files_bytes += audio.nbytes
            while self._files_bytes > self._decoded_limit:
                _, dropped = self._files.popitem(last=False)
                self._files_bytes -= dropped.nbytes
        return audio

    def _strike(self, sound: Tick | BellStrike) -> Audio:
        # Short sounds heard again and again (bells, cue tones) are made once.
        audio = sound.render(self.sample_rate, 0, sound.frames(self.sample_rate))
        audio.setflags(write=False)
        return audio

    def _long(self, path: Path) -> bool:
        """Whether a bed file would take more than `stream_bed_bytes` decoded (so is
        streamed round instead of held); a file mutagen cannot measure is decoded whole."""
        try:
            seconds = probe(path).seconds
        except MediaError:
            return False
        return seconds * self.sample_rate * self.channels * 4 > self.stream_bed_bytes

    def prepare_speech(self, requests: Iterable[SpeechRequest],
                       progress: Progress | None = None) -> int:
        """Make every line not yet in the cache (in parallel); return how many were made."""
        return self.speech.prepare(requests, progress)

    def frames(self, source: Hashable) -> int:
        """Length of a source that has its own length, in frames at this rate."""
        if isinstance(source, SpeechRequest):
            return self.speech.frames(source, self.sample_rate)
        if isinstance(source, (Tick, BellStrike)):
            return source.frames(self.sample_rate)
        if isinstance(source, FileClip):
            return len(self._decoded(source.path))
        raise TypeError(f"{type(source).__name__} has no length of its own")

    def open(self, source: Hashable) -> Reader:
        """A reader positioned at the start of a clip's source."""
        if isinstance(source, SpeechRequest):
            return ArrayReader(self.speech.samples(source, self.sample_rate))
        if isinstance(source, (Tick, BellStrike)):
            return ArrayReader(self._struck(source))
        if isinstance(source, _SYNTHS):
            return SynthReader(source, self.sample_rate)
        if isinstance(source, FileClip):
            return ArrayReader(self._decoded(source.path))
        raise TypeError(f"cannot play a {type(source).__name__}")

    def open_bed(self, source: Hashable) -> Reader:
        """A reader for a bed; beds are read front to back for their whole length."""
        if isinstance(source, NoiseSource):
            return NoiseBed(source.kind, self.sample_rate, self.channels, seed=source.seed)
        if isinstance(source, FileLoop):
            if self._long(source.path):
                path, rate, channels = source.path, self.sample_rate, self.channels
                return StreamLoopBed(lambda: decode_stream(path, rate, channels), rate)
            return LoopBed(self._decoded(source.path), self.sample_rate)
        raise TypeError(f"cannot use a {type(source).__name__} as a bed")
