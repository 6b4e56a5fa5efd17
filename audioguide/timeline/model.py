"""What the compiler makes: clips placed at exact integer samples, the beds under them,
chapters, the step items and the `Timeline` holding them all, with the sources a clip may
come from. Plain data, read by the mixer, the live player and the writers."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from ..errors import Issue
from ..script.model import Location


@dataclass(frozen=True)
class FileClip:
    """An audio file, decoded at the session rate."""

    path: Path


@dataclass(frozen=True)
class FileLoop:
    """An audio file looped seamlessly as a bed."""

    path: Path


@dataclass(frozen=True)
class NoiseSource:
    """A generated noise bed."""

    kind: str
    seed: int = 1


class ClipLengths(Protocol):
    """Lengths of clips whose length is their own (speech, files, bells)."""

    def frames(self, source: Hashable) -> int:
        """Length in frames at the session rate."""
        ...


#: Kinds of clip that are a voice speaking: script lines and spoken breathing cues.
SPOKEN_KINDS = ("say", "cue")


@dataclass(frozen=True, slots=True)
class Clip:
    """A sound placed in the session."""

    start: int
    length: int
    source: Hashable
    gain_db: float
    kind: str
    where: Location
    fade_in: int = 0
    fade_out: int = 0
    text: str | None = None

    @property
    def end(self) -> int:
        """First sample after the clip."""
        return self.start + self.length


@dataclass(frozen=True)
class BedTrack:
    """A background bed from `start` to `end`, dipping by `duck_db` during `duck` spans."""

    source: Hashable
    start: int
    end: int
    level_db: float
    duck_db: float
    fade_in: int
    fade_out: int
    duck: tuple[tuple[int, int], ...]
    attack: int
    release: int


@dataclass(frozen=True)
class Chapter:
    """A section of the session, from `start` up to `end`."""

    title: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Item:
    """One step as placed, for `inspect` and the live display."""

    kind: str
    start: int
    length: int
    where: Location
    detail: str
    #: For a breathe step: every phase of every breath, as (kind, frames).
    phases: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True)
class Timeline:
    """Everything the mixer needs, in integer samples at `sample_rate`."""

    title: str
    sample_rate: int
    channels: int
    length: int
    clips: tuple[Clip, ...]
    beds: tuple[BedTrack, ...]
    chapters: tuple[Chapter, ...]
    items: tuple[Item, ...]
    warnings: tuple[Issue, ...]

    @property
    def seconds(self) -> float:
        """Total length in seconds."""
        return self.length / self.sample_rate

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready description: every item and clip with samples and seconds."""
        rate = self.sample_rate

        def span(start: int, length: int) -> dict[str, Any]:
            return {"start": start, "length": length, "start_s": round(start / rate, 6),
                    "length_s": round(length / rate, 6)}

        return {
            "title": self.title, "sample_rate": rate, "channels": self.channels,
            "length": self.length, "length_s": round(self.length / rate, 6),
            "steps": [{"kind": item.kind, **span(item.start, item.length),
                       "line": item.where.line, "path": item.where.path,
                       "detail": item.detail} for item in self.items],
            "clips": [{"kind": clip.kind, **span(clip.start, clip.length),
                       "gain_db": clip.gain_db, "line": clip.where.line,
                       **({"text": clip.text} if clip.text is not None else {})}
                      for clip in self.clips],
            "beds": [{"source": describe_source(bed.source), **span(bed.start, bed.end - bed.start),
                      "level_db": bed.level_db, "duck_db": bed.duck_db} for bed in self.beds],
            "chapters": [{"title": chapter.title, **span(chapter.start,
                                                          chapter.end - chapter.start)}
                         for chapter in self.chapters],
            "warnings": [str(warning) for warning in self.warnings],
        }


def describe_source(source: Hashable) -> str:
    """A short human name for a clip's source."""
    if isinstance(source, NoiseSource):
        return source.kind
    if isinstance(source, (FileClip, FileLoop)):
        return str(source.path)
    return type(source).__name__
