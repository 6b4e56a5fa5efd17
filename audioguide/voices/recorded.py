"""The `recorded` voice: lines read aloud by a person, one audio file per line.

A recording is named either on the line (`say: {text: ..., audio: file}`) or found
in `voice.folder` by the line's number and slug, as `audioguide record-list`
prints them: `007-let-your-shoulders-soften.m4a`. The slug alone, or the number
alone (`7.m4a`, `007 take 2.wav`), also match; a file whose slug belongs to
another line is never used for this one, so editing a line makes its old
recording stop matching instead of speaking the wrong words.

The engine decodes with ffmpeg; the speech bank then trims the silence at both
ends and brings the voiced part to the same level as synthetic lines.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import MediaError, VoiceError
from ..media import AUDIO_SUFFIXES
from .base import Speech, VoiceInfo, VoiceSettings

SLUG_WORDS = 6
SLUG_CHARS = 40
#: Recordings are decoded at this rate (speech needs no more).
SAMPLE_RATE = 44100


def slugify(text: str) -> str:
    """The first few words of `text`, lower-case ASCII joined by hyphens."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    words = re.findall(r"[a-z0-9]+", folded.lower().replace("'", ""))
    slug = ""
    for word in words[:SLUG_WORDS]:
        candidate = f"{slug}-{word}" if slug else word
        if len(candidate) > SLUG_CHARS:
            break
        slug = candidate
    return slug or "line"


@dataclass(frozen=True)
class Line:
    """One distinct line of a session, as `record-list` numbers it."""

    number: int
    text: str

    @property
    def slug(self) -> str:
        """The line's slug."""
        return slugify(self.text)

    @property
    def name(self) -> str:
        """The file name (without extension) to record it as."""
        return f"{self.number:03d}-{self.slug}"


def number_lines(texts: Iterable[str]) -> list[Line]:
    """Distinct texts in first-seen order, numbered from 1."""
    return [Line(index, text) for index, text in enumerate(dict.fromkeys(texts), start=1)]


_NUMBERED = re.compile(r"^(\d+)(?:[\s._-]+(.*))?$")


class RecordingFolder:
    """The audio files of a folder, matched to lines by slug or number."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.by_name: dict[str, Path] = {}
        self.by_slug: dict[str, Path] = {}
        self.by_number: dict[int, Path] = {}
        files = sorted(p for p in folder.iterdir()
                       if p.suffix.lower() in AUDIO_SUFFIXES and not p.name.startswith("."))
        for path in files:
            stem = path.stem.strip().lower()
            self.by_name.setdefault(stem, path)
            numbered = _NUMBERED.match(stem)
            if numbered:
                rest = numbered.group(2) or ""
                slug = slugify(rest) if rest else ""
                if not rest or not re.search(r"[a-z]", slug) or rest.startswith("take"):
                    self.by_number.setdefault(int(numbered.group(1)), path)
                else:
                    self.by_slug.setdefault(slug, path)
            else:
                self.by_slug.setdefault(slugify(stem), path)

    def find(self, line: Line) -> Path | None:
        """The recording of `line`: by full name, then slug, then number alone."""
        return (self.by_name.get(line.name) or self.by_slug.get(line.slug)
                or self.by_number.get(line.number))


class FileHashes:
    """SHA-256 of files' bytes, each remembered while the file's size and time stay the
    same; an engine holds one, so nothing is kept between engines."""

    def __init__(self) -> None:
        self._known: dict[tuple[str, int, int], str] = {}
        self._lock = threading.Lock()

    def identity(self, path: Path) -> str:
        """The hex SHA-256 of the file's bytes."""
        stat = path.stat()
        key = (str(path), stat.st_size, stat.st_mtime_ns)
        with self._lock:
            known = self._known.get(key)
        if known is not None:
            return known
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        value = digest.hexdigest()
        with self._lock:
            self._known[key] = value
        return value


class RecordedEngine:
    """Reads a recording (`settings.voice_id` is its path) instead of synthesizing."""

    name = "recorded"
    parallelism = max(1, min(4, os.cpu_count() or 1))

    def __init__(self, hashes: FileHashes | None = None) -> None:
        self.hashes = hashes or FileHashes()

    def identity(self) -> str:
        """Decoding and trimming change only with audioguide."""
        return "recorded 1"

    def voice_identity(self, settings: VoiceSettings) -> str:
        """The recording's content hash, so a re-recorded line is picked up."""
        if not settings.voice_id:
            return ""
        try:
            return self.hashes.identity(Path(settings.voice_id))
        except OSError as exc:
            raise VoiceError(f"cannot read the recording {settings.voice_id}: "
                             f"{exc.strerror or exc}") from exc

    def synthesize(self, text: str, settings: VoiceSettings) -> Speech:
        """Decode the recording to mono."""
        from ..media import decode

        if not settings.voice_id:
            raise VoiceError(f"no recording for {text[:60]!r}")
        path = Path(settings.voice_id)
        try:
            audio = decode(path, SAMPLE_RATE, 1)
        except MediaError as exc:
            raise VoiceError(f"cannot use the recording {path.name}: {exc}; re-record it, or "
                             "convert it to WAV") from exc
        return Speech(audio[:, 0].copy(), SAMPLE_RATE)

    def voices(self) -> Sequence[VoiceInfo]:
        """One voice: yours."""
        return [VoiceInfo("recorded", "folder", "Your recordings (voice.folder or say.audio)",
                          (), None)]

    def close(self) -> None:
        """Nothing to release."""
