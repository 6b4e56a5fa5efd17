"""Comfort playlists: music, recordings and rendered sessions → an M3U8, or one continuous mix.

A playlist file is YAML, checked like a session script (every problem with
`file:line:col`). Tracks are files, folders (every audio file in them, sorted, or
shuffled with a seed) and sessions (a built-in name or a script, rendered on demand
into a folder beside the output and reused while nothing about them changes).
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from .. import __version__
from ..dsp import BLOCK_FRAMES, Audio, fade_curve
from ..errors import AudioguideError, ExportError, InputError, Issue, MediaError, ScriptError
from ..media import AUDIO_SUFFIXES, AudioInfo, decode_stream, decoded_seconds, probe
from ..output.tags import ChapterMark, ms_at_or_after
from ..script.fields import (
    Context,
    Custom,
    Duration,
    Field,
    Flag,
    Invalid,
    Number,
    Obj,
    Text,
    Variables,
    clip,
    kind_of,
    local_path,
    resolve_file,
)
from ..script.load import compose, find_script, read_text
from ..script.model import Location
from ..script.schema import COVER, LOUDNESS
from ..units import seconds_to_samples

MAX_TRACKS = 5000


def _parse_folder(node: yaml.Node, path: str, ctx: Context) -> Any:
    if not isinstance(node, yaml.ScalarNode):
        return ctx.error(node, path, "expected a folder path")
    text = ctx.fill(node, path, node.value)
    if isinstance(text, Invalid):
        return text
    folder = local_path(text.strip(), ctx.base_dir)
    if kind_of(folder) != "folder":
        return ctx.error(node, path, f"folder not found: {clip(str(folder), 300)} (paths are "
                         "relative to the playlist's folder)")
    return folder


FOLDER = Custom(_parse_folder, lambda: {"type": "string", "description": "a folder of audio"})

TRACK_FIELDS = Obj({
    "file": Field(Custom(lambda n, p, c: _parse_file(n, p, c), lambda: {"type": "string"})),
    "session": Field(Text("a built-in session name or a script path")),
    "folder": Field(FOLDER),
    "title": Field(Text("the title to show instead of the file's tag")),
    "artist": Field(Text("the artist to show instead of the file's tag")),
    "set": Field(Variables()),
    "shuffle": Field(Flag("a folder's files in a shuffled order"), default=False),
    "seed": Field(Number("the shuffle's seed (same seed, same order)", minimum=0,
                         maximum=2**31, integer=True), default=0),
}, "a track: a file, a folder of files, or a session", one_of=[("file", "session", "folder")])


def _parse_file(node: yaml.Node, path: str, ctx: Context) -> Any:
    if not isinstance(node, yaml.ScalarNode):
        return ctx.error(node, path, "expected a file path")
    text = ctx.fill(node, path, node.value)
    return text if isinstance(text, Invalid) else resolve_file(text.strip(), node, path, ctx)


def _parse_track(node: yaml.Node, path: str, ctx: Context) -> Any:
    mark = node.start_mark
    where = Location(ctx.file, mark.line + 1, mark.column + 1, path)
    if isinstance(node, yaml.ScalarNode):
        text = ctx.fill(node, path, node.value)
        if isinstance(text, Invalid):
            return text
        candidate = local_path(text.strip(), ctx.base_dir)
        if kind_of(candidate) == "folder":
            return {**_blank(), "folder": candidate, "where": where}
        found = resolve_file(text.strip(), node, path, ctx)
        return found if isinstance(found, Invalid) else {**_blank(), "file": found,
                                                         "where": where}
    values = TRACK_FIELDS.parse(node, path, ctx)
    if isinstance(values, Invalid):
        return values
    if isinstance(values["session"], str):
        try:
            script = _find_session(values["session"], ctx.base_dir)
        except InputError as exc:
            return ctx.error(node, f"{path}.session", str(exc))
        values["session"] = script
    return {**values, "where": where}


def _blank() -> dict[str, Any]:
    return {name: spec.default for name, spec in TRACK_FIELDS.fields.items()}


def _find_session(name: str, base: Path | None) -> Path:
    local = local_path(name, base)
    if base is not None and kind_of(local) == "file":
        return local
    return find_script(name)


TRACK = Custom(_parse_track, TRACK_FIELDS.json_schema)


def _parse_tracks(node: yaml.Node, path: str, ctx: Context) -> Any:
    if not isinstance(node, yaml.SequenceNode):
        return ctx.error(node, path, "expected a list of tracks (each line starting with '- ')")
    if not node.value:
        return ctx.error(node, path, "the list of tracks is empty; add at least one track")
    if len(node.value) > MAX_TRACKS:
        return ctx.error(node, path, f"{len(node.value)} tracks; the limit is {MAX_TRACKS}")
    return [TRACK.parse(item, f"{path}[{i}]", ctx) for i, item in enumerate(node.value)]


PLAYLIST = Obj({
    "playlist": Field(Text("the playlist's title"), required=True),
    "description": Field(Text("what it is for")),
    "author": Field(Text("the mix's artist tag")),
    "tracks": Field(Custom(_parse_tracks, lambda: {"type": "array", "items":
                                                   TRACK_FIELDS.json_schema()}), required=True),
    "gap": Field(Duration("silence between tracks")),
    "crossfade": Field(Duration("how long each track fades into the next", positive=True)),
    "loudness": Field(LOUDNESS, default=-16.0),
    "cover": Field(COVER),
}, "a comfort playlist", at_most_one=[("gap", "crossfade")])


@dataclass(frozen=True)
class TrackSource:
    """One entry of the playlist file."""

    where: Location
    file: Path | None = None
    folder: Path | None = None
    session: Path | None = None
    title: str = ""
    artist: str = ""
    variables: dict[str, str] = field(default_factory=dict)
    shuffle: bool = False
    seed: int = 0


@dataclass(frozen=True)
class Playlist:
    """A validated playlist file."""

    title: str
    description: str
    author: str
    sources: tuple[TrackSource, ...]
    gap_s: Fraction
    crossfade_s: Fraction
    loudness_lufs: float | None
    path: Path
    #: The mix's cover art: an image file, "none", or None for one drawn with the title.
    cover: Path | str | None = None


def is_playlist(path: Path) -> bool:
    """True for a YAML file whose top level has a `playlist:` key."""
    try:
        with path.open("r", encoding="utf-8") as handle:
            head = handle.read(4096)
    except (OSError, UnicodeDecodeError):
        return False
    return re.search(r"(?m)^playlist\s*:", head) is not None


def load_playlist(path: Path) -> Playlist:
    """Read and check a playlist file; ScriptError lists every problem."""
    file = str(path)
    root = compose(read_text(path), file)
    if root is None:
        raise ScriptError([Issue(file, 1, 1, "the playlist is empty; it needs playlist: and "
                                 "tracks:")])
    ctx = Context(file=file, base_dir=path.parent)
    values = PLAYLIST.parse(root, "", ctx)
    if ctx.issues:
        raise ScriptError(sorted(dict.fromkeys(ctx.issues), key=lambda i: (i.line, i.column)))
    sources = tuple(TrackSource(where=t["where"], file=t["file"], folder=t["folder"],
                                session=t["session"], title=t["title"] or "",
                                artist=t["artist"] or "", variables=dict(t["set"] or {}),
                                shuffle=bool(t["shuffle"]), seed=int(t["seed"]))
                    for t in values["tracks"])
    return Playlist(values["playlist"], values["description"] or "", values["author"] or "",
                    sources, values["gap"] or Fraction(0), values["crossfade"] or Fraction(0),
                    values["loudness"], path, values["cover"])


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


def m3u8_text(playlist: Playlist, tracks: Sequence[Track], m3u8_path: Path,
              absolute: bool = False) -> str:
    """An extended M3U (UTF-8): #EXTM3U, #PLAYLIST, then #EXTINF and a path for each track."""
    lines = ["#EXTM3U", f"#PLAYLIST:{playlist.title}"]
    base = m3u8_path.parent.resolve()
    for track in tracks:
        lines.append(f"#EXTINF:{track.seconds:.3f},{track.label}")
        target = track.path.resolve()
        if absolute:
            lines.append(str(target))
        else:
            lines.append(Path(_relative(target, base)).as_posix())
    return "\n".join(lines) + "\n"


def _relative(target: Path, base: Path) -> str:
    import os

    return os.path.relpath(target, base)


def mix_blocks(tracks: Sequence[Track], sample_rate: int, channels: int, *,
               gap_s: Fraction, crossfade_s: Fraction, gains_db: Sequence[float],
               chapters: list[ChapterMark], block_frames: int = BLOCK_FRAMES) -> Iterator[Audio]:
    """The tracks as one stream: each scaled by its gain, joined by silence or an equal-power
    crossfade. `chapters` is filled (one per track, in ms) as the stream is read."""
    gap = seconds_to_samples(gap_s, sample_rate)
    shortest = min((track.seconds for track in tracks), default=0.0)
    crossfade = min(seconds_to_samples(crossfade_s, sample_rate),
                    int(shortest * sample_rate / 2)) if crossfade_s else 0
    rise = np.sqrt(fade_curve(crossfade))[:, None] if crossfade else None
    fall = rise[::-1] if rise is not None else None
    emitted = 0
    carry: Audio | None = None
    starts: list[int] = []
    for index, (track, gain_db) in enumerate(zip(tracks, gains_db, strict=True)):
        factor = np.float32(10 ** (gain_db / 20))
        stream = (block * factor for block in decode_stream(track.path, sample_rate, channels,
                                                           block_frames))
        if index and gap and not crossfade:
            for start in range(0, gap, block_frames):
                silence = np.zeros((min(block_frames, gap - start), channels), np.float32)
                emitted += len(silence)
                yield silence
        starts.append(emitted)
        pending: Audio = np.zeros((0, channels), dtype=np.float32)
        if carry is not None and rise is not None and fall is not None:
            head = pending
            for block in stream:
                head = np.concatenate([head, block])
                if len(head) >= crossfade:
                    break
            overlap = min(len(head), len(carry))
            mixed = carry[:overlap] * fall[-overlap:] + head[:overlap] * rise[:overlap]
            emitted += overlap
            yield mixed.astype(np.float32)
            pending = head[overlap:]
        last = index == len(tracks) - 1
        for block in stream:
            pending = np.concatenate([pending, block]) if len(pending) else block
            keep = 0 if last or not crossfade else crossfade
            if len(pending) > keep:
                out, pending = pending[: len(pending) - keep], pending[len(pending) - keep:]
                emitted += len(out)
                yield out
        if last or not crossfade:
            if len(pending):
                emitted += len(pending)
                yield pending
            carry = None
        else:
            carry = pending
    for index, track in enumerate(tracks):
        end = starts[index + 1] if index + 1 < len(starts) else emitted
        chapters.append(ChapterMark(track.title, ms_at_or_after(starts[index], sample_rate),
                                    ms_at_or_after(end, sample_rate)))


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

