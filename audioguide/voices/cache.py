"""A content-addressed speech cache on disk, safe to share between parallel renders.

Each entry is a 16-bit mono WAV named by the SHA-256 of everything that shapes
the sound (engine and its version, voice settings, text, processing version).
Entries are written to a temporary file in the same folder and renamed into
place, so a reader sees a whole file or none, even if a writer is killed. A cache
folder that is full, read-only or not ours is warned about once; the lines are then
kept in memory for the run, which goes on.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import threading
import time
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import platformdirs

from ..atomic import CacheWarning, atomic_path
from ..dsp import from_pcm16, to_pcm16
from .base import Speech, SpeechRequest

log = logging.getLogger(__name__)

ENV_VAR = "AUDIOGUIDE_CACHE"
#: Bump when trimming or normalising changes, so old entries are not reused.
PROCESSING_VERSION = 1
_HEADER_BYTES = 44
#: A writer's temporary file this old belongs to a writer that was killed.
STALE_PART_S = 3600.0


def default_cache_dir() -> Path:
    """`$AUDIOGUIDE_CACHE`, or the platform's user cache folder."""
    chosen = os.environ.get(ENV_VAR)
    if chosen:
        return Path(chosen).expanduser()
    return Path(platformdirs.user_cache_dir("audioguide", appauthor=False))


@dataclass(frozen=True)
class CacheStats:
    """What the cache holds."""

    root: Path
    entries: int
    bytes: int
    seconds: float          # of speech
    damaged: int            # entries that would be made again


class SpeechCache:
    """Speech files by content key under `root/speech/`."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = (root or default_cache_dir()) / "speech"
        #: Says once that the cache folder cannot be written (shared with the loudness memo).
        self.unwritable = CacheWarning(self.root.parent)
        # Entries that could not be written, for this run only.
        self._memory: dict[str, tuple[np.ndarray, int]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def key(engine_identity: str, request: SpeechRequest, voice_identity: str = "") -> str:
        """The content key of a line spoken by an engine with given settings."""
        settings = request.settings
        material = json.dumps({
            "engine": settings.engine, "identity": engine_identity,
            "voice": settings.voice_id, "voice_identity": voice_identity,
            "rate": settings.rate_wpm, "pitch": settings.pitch, "style": settings.style,
            "text": request.text, "processing": PROCESSING_VERSION,
        }, sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(material.encode("utf-8")).hexdigest()

    def path(self, key: str) -> Path:
        """Where an entry lives."""
        return self.root / key[:2] / f"{key}.wav"

    def frames(self, key: str) -> tuple[int, int] | None:
        """(frames, sample rate) of a complete entry, or None if there is none."""
        kept = self._memory.get(key)
        if kept is not None:
            return len(kept[0]), kept[1]
        path = self.path(key)
        try:
            with wave.open(str(path), "rb") as wav:
                frames, rate = wav.getnframes(), wav.getframerate()
                width, channels = wav.getsampwidth(), wav.getnchannels()
            size = path.stat().st_size
        except FileNotFoundError:
            return None
        except (wave.Error, EOFError, OSError) as exc:
            log.warning("ignoring unreadable cache entry %s: %s", path, exc)
            return None
        if width != 2 or channels != 1 or size < _HEADER_BYTES + frames * 2 or frames == 0:
            log.warning("ignoring damaged cache entry %s", path)
            return None
        return frames, rate

    def load(self, key: str) -> Speech | None:
        """The samples of an entry, or None."""
        kept = self._memory.get(key)
        if kept is not None:
            return Speech(from_pcm16(kept[0]), kept[1])
        path = self.path(key)
        try:
            with wave.open(str(path), "rb") as wav:
                rate = wav.getframerate()
                data = wav.readframes(wav.getnframes())
        except FileNotFoundError:
            return None
        except (wave.Error, EOFError, OSError) as exc:
            log.warning("ignoring unreadable cache entry %s: %s", path, exc)
            return None
        return Speech(from_pcm16(data), rate)

    def store(self, key: str, speech: Speech) -> None:
        """Write an entry atomically (temporary file, fsync, rename).

        A cache folder that cannot take it (full, read-only, not ours) is said once, and
        the entry is kept in memory for the rest of this run instead.
        """
        path = self.path(key)
        pcm = to_pcm16(speech.samples)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with atomic_path(path) as temporary, open(temporary, "wb") as raw:
                with wave.open(raw, "wb") as wav:
                    wav.setnchannels(1)
                    wav.setsampwidth(2)
                    wav.setframerate(speech.sample_rate)
                    wav.writeframes(pcm.tobytes())
        except OSError as exc:
            if not self.unwritable.report(exc):
                raise
            # The same 16-bit samples a file would hold, so the render is the same either way.
            with self._lock:
                self._memory[key] = (pcm, speech.sample_rate)

    def entries(self) -> list[Path]:
        """Every entry file (complete or not), not the temporary files of writers."""
        if not self.root.is_dir():
            return []
        return sorted(path for folder in self.root.iterdir()
                      if folder.is_dir() and len(folder.name) == 2
                      for path in folder.glob("*.wav") if len(path.stem) == 64)

    def stats(self) -> CacheStats:
        """Count entries, bytes and seconds of speech."""
        entries = self.entries()
        size = 0
        seconds = 0.0
        damaged = 0
        for path in entries:
            try:
                size += path.stat().st_size
            except FileNotFoundError:
                continue
            info = self.frames(path.stem)
            if info is None:
                damaged += 1
            else:
                seconds += info[0] / info[1]
        return CacheStats(self.root, len(entries), size, seconds, damaged)

    def clear(self) -> int:
        """Remove every entry (one file at a time, so a render reading the cache meanwhile
        makes a vanished line again rather than failing); return how many were removed.

        Only files this cache wrote are touched, so pointing the cache at a folder that
        holds other things does not lose them.
        """
        removed = 0
        for path in self.entries():
            try:
                path.unlink()
                removed += 1
            except FileNotFoundError:
                pass
        if self.root.is_dir():
            for folder in self.root.iterdir():
                if folder.is_dir() and len(folder.name) == 2:
                    for leftover in folder.glob(".*.part"):
                        with contextlib.suppress(OSError):
                            if time.time() - leftover.stat().st_mtime > STALE_PART_S:
                                leftover.unlink()
                    with contextlib.suppress(OSError):
                        folder.rmdir()  # only if empty
        return removed
