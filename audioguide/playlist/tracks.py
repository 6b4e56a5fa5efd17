"""A playlist's tracks: its files, folders and sessions as audio files with lengths and names.

Sessions are rendered on demand (by the renderer the caller passes in) into a folder,
under a name that changes whenever the script or its settings do, and reused while
nothing about them changes.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from .. import __version__
from ..errors import AudioguideError, ExportError, Issue, MediaError, ScriptError
from ..media import AUDIO_SUFFIXES, AudioInfo, decoded_seconds, probe
from ..script.model import Location
from .load import Playlist, TrackSource


@dataclass(frozen=True)
class Track:
    """A playable track: an audio file with its length and the names to show."""

    path: Path
    title: str
    artist: str
    seconds: float
    where: Location
    from_session: bool = False

    @property
    def label(self) -> str:
        """`Artist - Title`, as players show it."""
        return f"{self.artist} - {self.title}" if self.artist else self.title


#: render(script, variables, output path) → the rendered file (made by the pipeline).
SessionRenderer = Callable[[Path, dict[str, str], Path], Path]
#: length(script, variables) → (seconds, title), without rendering.
SessionLength = Callable[[Path, dict[str, str]], tuple[float, str]]


def session_file_name(script: Path, variables: dict[str, str]) -> str:
    """A file name that changes whenever the session's script or settings do."""
    material = json.dumps({"script": script.read_text(encoding="utf-8"), "set": variables,
                           "version": __version__}, sort_keys=True)
    digest = hashlib.sha256(material.encode("utf-8")).hexdigest()[:10]
    return f"{script.stem}-{digest}.mp3"


def _folder_files(source: TrackSource) -> list[Path]:
    assert source.folder is not None
    files = sorted((p for p in source.folder.iterdir()
                    if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES),
                   key=lambda p: [int(part) if part.isdigit() else part.casefold()
                                  for part in re.split(r"(\d+)", p.name)])
    if source.shuffle:
        random.Random(source.seed).shuffle(files)
    return files


def resolve_tracks(playlist: Playlist, *, render: SessionRenderer | None,
                   length: SessionLength | None, session_folder: Path,
                   skip_missing: bool = False) -> tuple[list[Track], list[Issue]]:
    """Every track with its length and names. Sessions are rendered with `render` (or only
    measured with `length`). Unreadable files are issues: raised together, or with
    `skip_missing` returned as warnings and left out."""
    tracks: list[Track] = []
    issues: list[Issue] = []

    def add(path: Path, source: TrackSource, info: AudioInfo, from_session: bool) -> None:
        title = source.title or info.title or _title_from_name(path)
        # The length players play (the header's may include the encoder's padding).
        tracks.append(Track(path, title, source.artist or info.artist, decoded_seconds(path),
                            source.where, from_session))

    for source in playlist.sources:
        where = source.where
        try:
            if source.session is not None:
                if render is not None:
                    target = session_folder / session_file_name(source.session,
                                                                source.variables)
                    rendered = target if target.is_file() else render(
                        source.session, source.variables, target)
                    add(rendered, source, probe(rendered), True)
                else:
                    assert length is not None
                    seconds, title = length(source.session, source.variables)
                    tracks.append(Track(source.session, source.title or title, source.artist,
                                        seconds, where, True))
            elif source.folder is not None:
                files = _folder_files(source)
                if not files:
                    issues.append(_issue(where, f"{source.folder} has no audio files"))
                for path in files:
                    try:
                        add(path, source, probe(path), False)
                    except MediaError as exc:
                        issues.append(_issue(where, str(exc)))
            else:
                assert source.file is not None
                add(source.file, source, probe(source.file), False)
        except ScriptError as exc:
            issues.extend(exc.issues)
        except ExportError:
            # A session that cannot be written (a full disk, a read-only folder) is not a
            # problem in the playlist: it stops the build, as a runtime failure.
            raise
        except AudioguideError as exc:
            issues.append(_issue(where, str(exc)))
    if issues and not skip_missing:
        raise ScriptError(issues)
    return tracks, issues


def _issue(where: Location, message: str) -> Issue:
    return Issue(where.file, where.line, where.column, f"{where.path}: {message}")


def _title_from_name(path: Path) -> str:
    return re.sub(r"[_]+", " ", path.stem).strip() or path.name


def track_gains(tracks: Sequence[Track], target_lufs: float | None,
                measure: Callable[[Path], float]) -> list[float]:
    """dB to bring each track to the target (0 for silent tracks, or with no target)."""
    if target_lufs is None:
        return [0.0] * len(tracks)
    gains = []
    for track in tracks:
        loudness = measure(track.path)
        gains.append(0.0 if loudness <= -69.5 else target_lufs - loudness)
    return gains
