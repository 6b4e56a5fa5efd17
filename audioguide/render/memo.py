"""Remembered loudness: a session that has not changed is not measured again.

Normalising a render takes one to three extra passes over the whole mix. Those
passes depend only on what is mixed, which the timeline's fingerprint names:
every clip's place, gain and fades, and what each clip is (a speech line by its
cache key, a file by its path, size and modification time, a synthesized sound by
its parameters). Re-rendering an unchanged session (to another format, or after a
tag change) then starts straight with the final pass. Entries are tiny JSON files
written atomically beside the speech cache.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import logging
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Any

from .. import __version__
from ..atomic import CacheWarning, atomic_path
from ..timeline.model import FileClip, FileLoop, Timeline
from ..voices import SpeechRequest
from .loudness import Loudness

log = logging.getLogger(__name__)

#: Bump when mixing or measuring changes in a way the fingerprint cannot see.
MEMO_VERSION = 1


def _token(source: Hashable, speech_key: Callable[[SpeechRequest], str]) -> str:
    if isinstance(source, SpeechRequest):
        return "speech:" + speech_key(source)
    if isinstance(source, (FileClip, FileLoop)):
        stat = source.path.stat()
        return f"{type(source).__name__}:{source.path.resolve()}:{stat.st_size}:{stat.st_mtime_ns}"
    return repr(source)


def fingerprint(timeline: Timeline, speech_key: Callable[[SpeechRequest], str],
                extra: Any = None) -> str:
    """A hash of everything that shapes the mixed samples of `timeline`."""
    digest = hashlib.sha256()

    def add(value: Any) -> None:
        digest.update(json.dumps(value, sort_keys=True, default=str).encode("utf-8"))
        digest.update(b"\n")

    add([MEMO_VERSION, __version__, timeline.sample_rate, timeline.channels, timeline.length,
         extra])
    for clip in timeline.clips:
        add([clip.start, clip.length, _token(clip.source, speech_key), clip.gain_db,
             clip.fade_in, clip.fade_out])
    for bed in timeline.beds:
        fields = {f.name: getattr(bed, f.name) for f in dataclasses.fields(bed)}
        fields["source"] = _token(bed.source, speech_key)
        add(fields)
    return digest.hexdigest()


class LoudnessMemo:
    """Normalising results by fingerprint, under `root`."""

    def __init__(self, root: Path, unwritable: CacheWarning | None = None) -> None:
        self.root = root
        # Shared with the speech cache beside it, so a cache folder that cannot be written
        # is one warning, not one for each kind of entry.
        self.unwritable = unwritable or CacheWarning(root.parent)

    def _path(self, key: str) -> Path:
        return self.root / f"{key}.json"

    def get(self, key: str) -> tuple[Loudness, float] | None:
        """The loudness as written and the gain, if remembered."""
        try:
            data = json.loads(self._path(key).read_text(encoding="utf-8"))
            written = Loudness(float(data["integrated_lufs"]), float(data["true_peak_dbtp"]),
                               float(data["range_lu"]))
            return written, float(data["gain_db"])
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("ignoring a damaged loudness memo %s: %s", self._path(key), exc)
            return None

    def put(self, key: str, written: Loudness, gain_db: float) -> None:
        """Remember a result (atomically; a failure to write only costs time later)."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            with atomic_path(self._path(key)) as temporary:
                temporary.write_text(
                    json.dumps({**dataclasses.asdict(written), "gain_db": gain_db}),
                    encoding="utf-8")
        except OSError as exc:
            if not self.unwritable.report(exc):
                log.info("could not remember the loudness in %s: %s", self.root, exc)

    def clear(self) -> int:
        """Forget everything; return how many entries were removed."""
        removed = 0
        if self.root.is_dir():
            for path in self.root.glob("*.json"):
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
                    removed += 1
        return removed
