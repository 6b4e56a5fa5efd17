"""The validated, immutable session model that the loader produces."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from types import MappingProxyType

from ..breathing import Pattern


@dataclass(frozen=True, slots=True)
class Location:
    """Where something was written: file, 1-based line and column, key path."""

    file: str
    line: int
    column: int
    path: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


@dataclass(frozen=True)
class VoiceSpec:
    """Voice settings; `None` means "inherit from the session"."""

    engine: str | None = None
    voice_id: str | None = None
    rate_wpm: float | None = None
    pitch: float | None = None
    level_db: float | None = None
    model: Path | None = None       # a Piper .onnx voice
    folder: Path | None = None      # recordings of the lines (engine "recorded")
    fallback: str | None = None     # engine for lines with no recording
    style: str | None = None        # "calm" or "plain"
    speaker: str | None = None      # a multi-speaker Piper voice's speaker (name or number)

    def over(self, base: VoiceSpec) -> VoiceSpec:
        """These settings with unset ones taken from `base`."""
        return VoiceSpec(**{
            name: mine if (mine := getattr(self, name)) is not None else getattr(base, name)
            for name in self.__dataclass_fields__
        })


@dataclass(frozen=True)
class Bed:
    """A background sound under the whole session (or a section)."""

    sound: str                      # a noise name, or "file"
    file: Path | None
    level_db: float
    duck_db: float
    fade_in_s: Fraction
    fade_out_s: Fraction


@dataclass(frozen=True)
class Output:
    """Render defaults: format, rate, channels and loudness target."""

    format: str = "mp3"
    sample_rate: int = 44100
    channels: int = 2
    loudness_lufs: float | None = -16.0
    codec: str | None = None
    quality: float | None = None
    bitrate_kbps: int | None = None
    bits: int = 16                  # flac and wav


@dataclass(frozen=True, kw_only=True)
class Step:
    """Base of every step: where it was written."""

    where: Location


@dataclass(frozen=True, kw_only=True)
class Say(Step):
    """Speak a line, then leave `after` seconds of silence."""

    text: str
    after_s: Fraction | None
    voice: VoiceSpec
    audio: Path | None = None       # a recording of the line


@dataclass(frozen=True, kw_only=True)
class Pause(Step):
    """Silence."""

    seconds: Fraction


@dataclass(frozen=True)
class ExhaleHum:
    """A drone to hum along with on every exhale of a breathe step."""

    hz: float
    level_db: float
    vowel: str


@dataclass(frozen=True, kw_only=True)
class Breathe(Step):
    """Paced breathing for whole cycles, with cues on every phase boundary."""

    pattern: Pattern
    cycles: int | None
    duration_s: Fraction | None
    cue: str                         # voice | tone | both | none
    words: Mapping[str, str]
    ramp: Mapping[str, Fraction]     # phase kind → its length by the last cycle
    level_db: float                  # level of the pacing tone and ticks
    hum: ExhaleHum | None = None


@dataclass(frozen=True, kw_only=True)
class Hum(Step):
    """A voiced drone at a pitch."""

    hz: float
    seconds: Fraction
    level_db: float
    fade_in_s: Fraction
    fade_out_s: Fraction
    vowel: str
    under: bool = False


@dataclass(frozen=True, kw_only=True)
class Bell(Step):
    """One or more bell strikes, `gap` apart."""

    kind: str
    count: int
    gap_s: Fraction
    level_db: float
    file: Path | None


@dataclass(frozen=True, kw_only=True)
class Tone(Step):
    """A steady tone, optionally with a binaural beat."""

    hz: float
    seconds: Fraction
    level_db: float
    wave: str
    fade_in_s: Fraction
    fade_out_s: Fraction
    beat_hz: float
    under: bool = False


@dataclass(frozen=True, kw_only=True)
class Rhythm(Step):
    """A steady synthesized beat."""

    bpm: float
    seconds: Fraction
    style: str
    level_db: float
    fade_in_s: Fraction
    fade_out_s: Fraction
    under: bool = False


@dataclass(frozen=True, kw_only=True)
class Choose(Step):
    """The chosen options, in the order chosen; each option is a list of steps."""

    picked: tuple[tuple[Step, ...], ...]
    pick: str


@dataclass(frozen=True, kw_only=True)
class Sound(Step):
    """An audio file played in full, then `after` seconds of silence."""

    file: Path
    level_db: float
    fade_in_s: Fraction
    fade_out_s: Fraction
    after_s: Fraction


@dataclass(frozen=True, kw_only=True)
class Section(Step):
    """The start of a chapter; it may also change the bed from here on."""

    title: str
    changes_bed: bool = False
    bed: Bed | None = None


@dataclass(frozen=True, kw_only=True)
class Repeat(Step):
    """Steps played several times over."""

    times: int
    steps: tuple[Step, ...]


@dataclass(frozen=True, kw_only=True)
class At(Step):
    """Move the next step to an absolute time."""

    seconds: Fraction


def walk_steps(steps: tuple[Step, ...], *, unroll: bool = False) -> Iterator[tuple[Step, int]]:
    """Every step in script order, each repeat or choose before the steps inside it, with
    how many times it runs (a repeat's steps run its `times` over, a chosen option once).

    With `unroll`, a repeat's steps are walked again for each time round, every step once:
    the order the compiler places them in. The walk is lazy, so a caller can stop early.
    """
    return _walk(steps, 1, unroll)


def _walk(steps: tuple[Step, ...], times: int, unroll: bool) -> Iterator[tuple[Step, int]]:
    for step in steps:
        yield step, times
        if isinstance(step, Repeat):
            if unroll:
                for _ in range(step.times):
                    yield from _walk(step.steps, times, unroll)
            else:
                yield from _walk(step.steps, times * step.times, unroll)
        elif isinstance(step, Choose):
            for option in step.picked:
                yield from _walk(option, times, unroll)


@dataclass(frozen=True)
class Session:
    """A whole validated script."""

    name: str
    source: Path | None
    title: str
    description: str
    author: str
    kind: str
    language: str
    album: str
    genre: str
    date: str
    voice: VoiceSpec
    gap_s: Fraction
    bed: Bed | None
    output: Output
    steps: tuple[Step, ...]
    variables: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    #: Cover art: an image file, "none" for no art, or None for the generated cover.
    cover: Path | str | None = None
    #: How to say words the voice gets wrong (`pronounce:`), applied to every line.
    pronounce: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
