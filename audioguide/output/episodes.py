"""A feed's episodes: the audio files in a folder, read back from their own tags.

Each episode's title, artist, album, description, length and chapters come from its
ID3, MP4 or Vorbis tags (mutagen) or a WAV file's RIFF INFO chunk. Everything in the
folder is untrusted: only regular files directly in it count (a link counts only if it
points at one), their number and sizes are bounded, and text is cleaned of characters
XML cannot hold.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mutagen

from ..errors import InputError
from .tags import ChapterMark

#: The enclosure type of each audio file the feed takes, by extension (Apple's for m4a).
AUDIO_TYPES = {".mp3": "audio/mpeg", ".m4a": "audio/x-m4a", ".m4b": "audio/x-m4b",
               ".ogg": "audio/ogg", ".oga": "audio/ogg", ".opus": "audio/ogg",
               ".flac": "audio/flac", ".wav": "audio/wav"}
#: Transcripts looked for beside each episode, in this order, with their types.
TRANSCRIPT_TYPES = ((".vtt", "text/vtt"), (".srt", "application/srt"))

#: Bounds on what an untrusted folder can make the feed builder read and write.
MAX_ENTRIES = 20_000
MAX_EPISODES = 1_000
MAX_EPISODE_BYTES = 4 * 1024**3
MAX_CHAPTERS = 500
MAX_TITLE_CHARS = 500
MAX_TEXT_CHARS = 4_000

_CHUNK = 1024 * 1024
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_VORBIS_CHAPTER = re.compile(r"^CHAPTER(\d{3})$")
_CLOCK = re.compile(r"^(\d{1,3}):([0-5]\d):([0-5]\d)(?:[.,](\d{1,9}))?$")
#: What mutagen raises on a damaged or hostile file, beside its own error.
_TAG_ERRORS = (mutagen.MutagenError, OSError, ValueError, struct.error, IndexError, KeyError)


@dataclass(frozen=True)
class Episode:
    """One audio file as the feed describes it."""

    name: str
    size_bytes: int
    mime_type: str
    digest: str
    mtime: float
    title: str
    author: str
    album: str
    description: str
    duration_s: float
    chapters: tuple[ChapterMark, ...] = ()
    transcripts: tuple[tuple[str, str], ...] = ()    # (file name, type)
    chapters_file: str | None = None


def clean_text(text: str, limit: int = MAX_TEXT_CHARS) -> str:
    """`text` without characters XML cannot hold, trimmed, at most `limit` characters."""
    text = _NOT_XML.sub("", text).strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def audio_files(root: Path, warnings: list[str]) -> dict[str, Path]:
    """The audio files directly in `root` by name (links only to files in `root`)."""
    found: dict[str, Path] = {}
    with os.scandir(root) as entries:
        for count, entry in enumerate(entries):
            if count >= MAX_ENTRIES:
                raise InputError(f"{root} has more than {MAX_ENTRIES:,} entries; give a folder "
                                 "of just the sessions for the feed")
            suffix = Path(entry.name).suffix.lower()
            # Hidden names include the atomic writer's temporary files.
            if suffix not in AUDIO_TYPES or entry.name.startswith("."):
                continue
            path = Path(entry.path)
            if entry.is_symlink():
                target = path.resolve()
                if target.parent != root or not target.is_file():
                    warnings.append(f"{entry.name}: a link to something outside the folder; "
                                    "left out")
                    continue
            elif not entry.is_file(follow_symlinks=False):
                continue
            found[entry.name] = path
    if len(found) > MAX_EPISODES:
        raise InputError(f"{root} has {len(found):,} audio files, more than the "
                         f"{MAX_EPISODES:,} a feed takes; split them into folders")
    return dict(sorted(found.items()))


def read_episodes(root: Path, paths: dict[str, Path], warnings: list[str]) -> list[Episode]:
    """Each readable file as an episode, newest first; the rest named in `warnings`."""
    stems: dict[str, int] = {}
    for name in paths:
        stems[Path(name).stem] = stems.get(Path(name).stem, 0) + 1
    episodes: list[Episode] = []
    seen: dict[str, str] = {}
    for name, path in paths.items():
        # Two files with one stem (x.mp3, x.ogg) keep their chapters apart by full name.
        stem = Path(name).stem if stems[Path(name).stem] == 1 else name
        try:
            episode = read_episode(path, name, stem, root)
        except _EpisodeSkipped as skipped:
            warnings.append(f"{name}: {skipped}; left out")
            continue
        if episode.digest in seen:
            warnings.append(f"{name}: the same audio as {seen[episode.digest]}; left out")
            continue
        seen[episode.digest] = name
        episodes.append(episode)
    return sorted(episodes, key=lambda e: (-e.mtime, e.name))


class _EpisodeSkipped(Exception):
    """A file that cannot be an episode, and why."""


def read_episode(path: Path, name: str, stem: str, root: Path) -> Episode:
    """One file's size, content hash, tags, length and chapters."""
    try:
        size, digest, mtime = _hash_file(path)
        audio = mutagen.File(str(path))
        if audio is None:
            raise _EpisodeSkipped("not an audio file mutagen knows")
        fields = _tag_fields(audio) or (riff_info(path) if path.suffix.lower() == ".wav"
                                        else {})
        duration = float(getattr(audio.info, "length", 0.0) or 0.0)
        chapters = _chapters(audio, duration)
    except _TAG_ERRORS as exc:
        raise _EpisodeSkipped(f"cannot read it as audio ({exc})") from exc
    transcripts = tuple((f"{Path(name).stem}{suffix}", kind)
                        for suffix, kind in TRANSCRIPT_TYPES
                        if regular_in(root, f"{Path(name).stem}{suffix}"))
    return Episode(
        name=name, size_bytes=size, mime_type=AUDIO_TYPES[Path(name).suffix.lower()],
        digest=digest, mtime=mtime,
        title=clean_text(fields.get("title") or Path(name).stem, MAX_TITLE_CHARS),
        author=clean_text(fields.get("artist", ""), MAX_TITLE_CHARS),
        album=clean_text(fields.get("album", ""), MAX_TITLE_CHARS),
        description=clean_text(fields.get("description", "")),
        duration_s=duration, chapters=chapters, transcripts=transcripts,
        chapters_file=f"{stem}.chapters.json" if chapters else None)


def _hash_file(path: Path) -> tuple[int, str, float]:
    """Size, sha256 and modification time, read through one handle that must be a regular
    file within the size bound."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise _EpisodeSkipped("not a regular file")
        if info.st_size > MAX_EPISODE_BYTES:
            raise _EpisodeSkipped(f"{info.st_size / 1024**3:.1f} GiB, over the "
                                  f"{MAX_EPISODE_BYTES // 1024**3} GiB an episode may be")
        size = 0
        while chunk := handle.read(_CHUNK):
            size += len(chunk)
            digest.update(chunk)
    return size, digest.hexdigest(), info.st_mtime


def regular_in(root: Path, name: str) -> bool:
    """True for a regular file directly in `root`, or a link to one there."""
    path = root / name
    return (not path.is_symlink() and path.is_file()) or (
        path.is_symlink() and path.resolve().parent == root and path.resolve().is_file())


def _tag_fields(audio: Any) -> dict[str, str]:
    """Title, artist, album and description from ID3, MP4 or Vorbis tags."""
    tags = audio.tags
    if tags is None:
        return {}
    from mutagen.id3 import ID3
    from mutagen.mp4 import MP4Tags

    fields: dict[str, str] = {}
    if isinstance(tags, ID3):
        for key, frame in (("title", "TIT2"), ("artist", "TPE1"), ("album", "TALB")):
            found = tags.getall(frame)
            if found and found[0].text:
                fields[key] = str(found[0].text[0])
        comments = [c for c in tags.getall("COMM") if c.text]
        comment = next((c for c in comments if not c.desc), comments[0] if comments else None)
        if comment is not None:
            fields["description"] = str(comment.text[0])
    elif isinstance(tags, MP4Tags):
        for key, atoms in (("title", ("\xa9nam",)), ("artist", ("\xa9ART", "aART")),
                           ("album", ("\xa9alb",)),
                           ("description", ("ldes", "desc", "\xa9cmt"))):
            value = next((tags[atom][0] for atom in atoms if tags.get(atom)), None)
            if value is not None:
                fields[key] = str(value)
    elif hasattr(tags, "get"):
        for key, names in (("title", ("title",)), ("artist", ("artist",)),
                           ("album", ("album",)),
                           ("description", ("description", "comment"))):
            value = next((tags.get(n)[0] for n in names if tags.get(n)), None)
            if value is not None:
                fields[key] = str(value)
    return fields


#: RIFF INFO chunk ids (what audioguide's WAV files carry) for the fields the feed uses.
_INFO_FIELDS = {b"INAM": "title", b"IART": "artist", b"IPRD": "album", b"ICMT": "description"}
_INFO_MAX_BYTES = 64 * 1024


def riff_info(path: Path) -> dict[str, str]:
    """Title, artist, album and comment from a WAV file's LIST/INFO chunk (which mutagen does
    not read); empty if it has none."""
    fields: dict[str, str] = {}
    with open(path, "rb") as handle:
        if handle.read(12)[8:] != b"WAVE":
            return fields
        while len(header := handle.read(8)) == 8:
            chunk_id, size = header[:4], struct.unpack("<I", header[4:])[0]
            if chunk_id != b"LIST" or size > _INFO_MAX_BYTES:
                handle.seek(size + size % 2, os.SEEK_CUR)
                continue
            body = handle.read(size)
            if body[:4] != b"INFO":
                continue
            position = 4
            while position + 8 <= len(body):
                sub_id, sub_size = body[position:position + 4], struct.unpack(
                    "<I", body[position + 4:position + 8])[0]
                value = body[position + 8:position + 8 + sub_size]
                if sub_id in _INFO_FIELDS:
                    fields[_INFO_FIELDS[sub_id]] = value.split(b"\x00")[0].decode(
                        "utf-8", "replace")
                position += 8 + sub_size + sub_size % 2
    return fields


def _chapters(audio: Any, duration_s: float) -> tuple[ChapterMark, ...]:
    """Chapters from ID3 CHAP frames, MP4 chapters or Vorbis CHAPTERxxx comments, in order
    of time, each ending where the next begins (the last at the end of the file)."""
    from mutagen.id3 import ID3
    from mutagen.mp4 import MP4Tags

    starts: list[tuple[int, str]] = []
    tags = audio.tags
    if isinstance(tags, ID3):
        for frame in tags.getall("CHAP")[:MAX_CHAPTERS]:
            titles = frame.sub_frames.getall("TIT2")
            title = str(titles[0].text[0]) if titles and titles[0].text else ""
            starts.append((int(frame.start_time), title))
    elif isinstance(tags, MP4Tags) or getattr(audio, "chapters", None):
        for chapter in list(getattr(audio, "chapters", None) or ())[:MAX_CHAPTERS]:
            starts.append((round(float(chapter.start) * 1000), str(chapter.title)))
    elif tags is not None and hasattr(tags, "keys"):
        for key in list(tags.keys()):
            match = _VORBIS_CHAPTER.match(key.upper())
            if match is None or len(starts) >= MAX_CHAPTERS:
                continue
            start = _clock_ms(str(tags.get(key)[0]))
            names = tags.get(f"{key}NAME")
            if start is not None:
                starts.append((start, str(names[0]) if names else ""))
    end_ms = round(duration_s * 1000)
    ordered = sorted((max(0, start), title) for start, title in starts if start <= end_ms
                     or not end_ms)
    marks = []
    for index, (start, title) in enumerate(ordered):
        finish = ordered[index + 1][0] if index + 1 < len(ordered) else max(end_ms, start)
        marks.append(ChapterMark(clean_text(title, MAX_TITLE_CHARS) or f"Chapter {index + 1}",
                                 start, finish))
    return tuple(marks)


def _clock_ms(text: str) -> int | None:
    """`HH:MM:SS.mmm` (a Vorbis chapter start) in milliseconds; None if it is not one."""
    match = _CLOCK.match(text.strip())
    if match is None:
        return None
    hours, minutes, seconds, fraction = match.groups()
    millis = round(float(f"0.{fraction}") * 1000) if fraction else 0
    return ((int(hours) * 60 + int(minutes)) * 60 + int(seconds)) * 1000 + millis
