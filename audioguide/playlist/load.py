"""Comfort playlists: the playlist file's schema, read and checked like a session script.

A playlist file is YAML (every problem with `file:line:col`). Tracks are files,
folders (every audio file in them, sorted, or shuffled with a seed) and sessions (a
built-in name or a script); it becomes an M3U8 (m3u8.py) or one continuous mix
(join.py) of its tracks (tracks.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import yaml

from ..errors import InputError, Issue, ScriptError
from ..script.fields import Custom, Field, Obj
from ..script.load import compose, find_script, read_text
from ..script.model import Location
from ..script.nodes import Context, Invalid, clip
from ..script.paths import file_or_folder, local_path, resolve_file
from ..script.scalars import Duration, Flag, Number, Text
from ..script.schema import COVER, LOUDNESS
from ..script.word_maps import Variables

MAX_TRACKS = 5000


def _parse_folder(node: yaml.Node, path: str, ctx: Context) -> Any:
    text = ctx.scalar_text(node, path, "expected a folder path")
    if isinstance(text, Invalid):
        return text
    folder = local_path(text.strip(), ctx.base_dir)
    if file_or_folder(folder) != "folder":
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
    text = ctx.scalar_text(node, path, "expected a file path")
    return text if isinstance(text, Invalid) else resolve_file(text.strip(), node, path, ctx)


def _parse_track(node: yaml.Node, path: str, ctx: Context) -> Any:
    mark = node.start_mark
    where = Location(ctx.file, mark.line + 1, mark.column + 1, path)
    if isinstance(node, yaml.ScalarNode):
        text = ctx.fill(node, path, node.value)
        if isinstance(text, Invalid):
            return text
        candidate = local_path(text.strip(), ctx.base_dir)
        if file_or_folder(candidate) == "folder":
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
    if base is not None and file_or_folder(local) == "file":
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
