"""Tags and chapters in the forms players read: ID3v2.4 (MP3), Vorbis comments (OGG, FLAC),
a RIFF INFO chunk (WAV), and chapter sidecar files.

ID3 and Vorbis comments are written with mutagen. mutagen cannot write RIFF INFO
chunks, so the WAV writer appends that chunk itself from `info_chunk`.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import mutagen

from .errors import ExportError


@dataclass(frozen=True)
class Tags:
    """What a file says about itself."""

    title: str
    artist: str = "audioguide"
    album: str = ""
    genre: str = "Meditation"
    comment: str = ""
    date: str = ""
    track: str = ""
    source: str = ""       # the script it came from
    encoder: str = ""      # audioguide and its version


@dataclass(frozen=True)
class ChapterMark:
    """A chapter in milliseconds from the start of the file."""

    title: str
    start_ms: int
    end_ms: int


def format_ms(ms: int) -> str:
    """`HH:MM:SS.mmm`."""
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}.{millis:03d}"


def write_tags(path: Path, fmt: str, tags: Tags, chapters: Sequence[ChapterMark]) -> None:
    """Write tags (and chapters) into an encoded MP3, OGG or FLAC file."""
    try:
        if fmt == "mp3":
            _write_id3(path, tags, chapters)
        elif fmt in ("ogg", "flac"):
            _write_vorbis(path, fmt, tags, chapters)
        else:
            raise ValueError(f"no tag writer for {fmt}")
    except (OSError, ValueError, mutagen.MutagenError) as exc:
        raise ExportError(f"cannot write tags into {path.name}: {exc}") from exc


def _write_id3(path: Path, tags: Tags, chapters: Sequence[ChapterMark]) -> None:
    from mutagen.id3 import (
        CHAP,
        COMM,
        CTOC,
        ID3,
        TALB,
        TCON,
        TDRC,
        TIT2,
        TPE1,
        TRCK,
        TSSE,
        TXXX,
        CTOCFlags,
    )

    id3 = ID3()
    id3.add(TIT2(encoding=3, text=tags.title))
    id3.add(TPE1(encoding=3, text=tags.artist))
    if tags.album:
        id3.add(TALB(encoding=3, text=tags.album))
    id3.add(TCON(encoding=3, text=tags.genre))
    if tags.comment:
        id3.add(COMM(encoding=3, lang="eng", desc="", text=tags.comment))
    if tags.date:
        id3.add(TDRC(encoding=3, text=tags.date))
    if tags.track:
        id3.add(TRCK(encoding=3, text=tags.track))
    if tags.source:
        id3.add(TXXX(encoding=3, desc="AUDIOGUIDE_SOURCE", text=tags.source))
    if tags.encoder:
        id3.add(TSSE(encoding=3, text=tags.encoder))
    if chapters:
        ids = _chapter_ids([chapter.title for chapter in chapters])
        id3.add(CTOC(element_id="toc", flags=CTOCFlags.TOP_LEVEL | CTOCFlags.ORDERED,
                     child_element_ids=ids, sub_frames=[TIT2(encoding=3, text="Chapters")]))
        for element_id, chapter in zip(ids, chapters, strict=True):
            id3.add(CHAP(element_id=element_id, start_time=chapter.start_ms,
                         end_time=chapter.end_ms,
                         sub_frames=[TIT2(encoding=3, text=chapter.title)]))
    id3.save(str(path), v2_version=4)


def _chapter_ids(titles: Sequence[str]) -> list[str]:
    """Element ids that make every CHAP frame the same size.

    mutagen orders frames by size before their ids, and players that read chapters in
    file order (ffmpeg among them) would list them out of order. Padding each id so that
    id + title has the same length leaves the ids (chp0000, chp0001, ...) to decide.
    """
    widest = max(len(title.encode("utf-8")) for title in titles)
    return [f"chp{index:04d}" + "_" * (widest - len(title.encode("utf-8")))
            for index, title in enumerate(titles)]


def vorbis_comments(tags: Tags, chapters: Sequence[ChapterMark]) -> list[tuple[str, str]]:
    """Tags and `CHAPTERxxx` / `CHAPTERxxxNAME` pairs as Vorbis comments."""
    pairs = [("TITLE", tags.title), ("ARTIST", tags.artist), ("ALBUM", tags.album),
             ("GENRE", tags.genre), ("DESCRIPTION", tags.comment), ("COMMENT", tags.comment),
             ("DATE", tags.date), ("TRACKNUMBER", tags.track),
             ("AUDIOGUIDE_SOURCE", tags.source), ("ENCODER", tags.encoder)]
    comments = [(key, value) for key, value in pairs if value]
    for index, chapter in enumerate(chapters, start=1):
        comments.append((f"CHAPTER{index:03d}", format_ms(chapter.start_ms)))
        comments.append((f"CHAPTER{index:03d}NAME", chapter.title))
    return comments


def _write_vorbis(path: Path, fmt: str, tags: Tags, chapters: Sequence[ChapterMark]) -> None:
    audio = mutagen.File(str(path))
    if audio is None:
        raise ValueError("the encoder's file is not a readable OGG or FLAC file")
    if audio.tags is None:
        audio.add_tags()
    assert audio.tags is not None
    audio.tags.clear()
    for key, value in vorbis_comments(tags, chapters):
        audio.tags[key] = audio.tags.get(key, []) + [value]
    audio.save()


_INFO_IDS = (("INAM", "title"), ("IART", "artist"), ("IPRD", "album"), ("IGNR", "genre"),
             ("ICMT", "comment"), ("ICRD", "date"), ("ITRK", "track"), ("ISRC", "source"),
             ("ISFT", "encoder"))


def info_chunk(tags: Tags) -> bytes:
    """A RIFF `LIST`/`INFO` chunk (what WAV players show as title, artist and so on)."""
    body = b"INFO"
    for chunk_id, field in _INFO_IDS:
        value = getattr(tags, field)
        if not value:
            continue
        data = value.encode("utf-8") + b"\x00"
        if len(data) % 2:
            data += b"\x00"  # chunks are word-aligned
        body += chunk_id.encode("ascii") + struct.pack("<I", len(data)) + data
    return b"LIST" + struct.pack("<I", len(body)) + body


def chapters_sidecar(chapters: Sequence[ChapterMark], path: Path, title: str) -> str:
    """Chapters as text: ffmetadata for `.ffmetadata`/`.ini`, else `HH:MM:SS.mmm Title` lines."""
    if path.suffix.lower() in (".ffmetadata", ".ini", ".meta"):
        lines = [";FFMETADATA1", f"title={_escape(title)}"]
        for chapter in chapters:
            lines += ["", "[CHAPTER]", "TIMEBASE=1/1000", f"START={chapter.start_ms}",
                      f"END={chapter.end_ms}", f"title={_escape(chapter.title)}"]
        return "\n".join(lines) + "\n"
    return "".join(f"{format_ms(chapter.start_ms)} {chapter.title}\n" for chapter in chapters)


def _escape(text: str) -> str:
    for char in "\\=;#\n":
        text = text.replace(char, "\\" + char)
    return text
