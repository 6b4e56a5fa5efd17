"""Tags, chapters and cover art in the forms players read: ID3v2.4 (MP3), Vorbis comments
(OGG, FLAC), MP4 atoms (M4B, M4A), a RIFF INFO chunk (WAV), and chapter sidecar files.

ID3, Vorbis comments and MP4 atoms are written with mutagen. MP4 chapters are written by
ffmpeg's muxer (mutagen cannot write them), and mutagen cannot write RIFF INFO chunks, so
the WAV writer appends that chunk itself from `info_chunk`. WAV carries no cover art.
"""

from __future__ import annotations

import base64
import re
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import mutagen

from ..cover import Cover
from ..errors import ExportError, InputError
from ..media import audio_timing

if TYPE_CHECKING:
    from mutagen.flac import Picture

#: The formats written as MP4 (an audiobook, or plain AAC audio).
MP4_FORMATS = ("m4b", "m4a")


@dataclass(frozen=True)
class Tags:
    """What a file says about itself."""

    title: str
    artist: str = "audioguide"
    album: str = ""
    genre: str = "Meditation"
    comment: str = ""
    date: str = ""
    track: str = ""        # "3" or "3/12" (see `track_numbers`)
    source: str = ""       # the script it came from
    encoder: str = ""      # audioguide and its version


@dataclass(frozen=True)
class ChapterMark:
    """A chapter in milliseconds from the start of the file."""

    title: str
    start_ms: int
    end_ms: int


def ms_at_or_after(sample: int, sample_rate: int) -> int:
    """The first whole millisecond at or after `sample`: a player that seeks to a chapter
    start written so lands inside the chapter (on its first sample or less than 1 ms in),
    never on the last sample of the one before."""
    return -(-sample * 1000 // sample_rate)


def track_numbers(track: str) -> tuple[int | None, int | None]:
    """`3` → (3, None), `3/12` → (3, 12), empty → (None, None); InputError otherwise."""
    text = track.strip()
    if not text:
        return None, None
    match = re.fullmatch(r"(\d{1,5})(?:\s*/\s*(\d{1,5}))?", text)
    if match is None or int(match.group(1)) < 1 or (match.group(2) and (
            int(match.group(2)) < int(match.group(1)))):
        raise InputError(f"--track {track}: expected a track number like 3, or 3/12 for the "
                         "third of twelve")
    return int(match.group(1)), int(match.group(2)) if match.group(2) else None


def format_ms(ms: int) -> str:
    """`HH:MM:SS.mmm`."""
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}.{millis:03d}"


def write_tags(path: Path, fmt: str, tags: Tags, chapters: Sequence[ChapterMark],
               cover: Cover | None = None) -> None:
    """Write tags, chapters and cover art into an encoded MP3, OGG, FLAC, M4B or M4A file
    (the chapters of an MP4 file are the muxer's; they are kept)."""
    try:
        if fmt == "mp3":
            _write_id3(path, tags, chapters, cover)
        elif fmt in ("ogg", "flac"):
            _write_vorbis(path, tags, chapters, cover)
        elif fmt in MP4_FORMATS:
            _write_mp4(path, tags, cover, audiobook=fmt == "m4b")
        else:
            raise ValueError(f"no tag writer for {fmt}")
    except (OSError, ValueError, mutagen.MutagenError) as exc:
        raise ExportError(f"cannot write tags into {path.name}: {exc}") from exc


def _write_id3(path: Path, tags: Tags, chapters: Sequence[ChapterMark],
               cover: Cover | None) -> None:
    from mutagen.id3 import (
        APIC,
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
        PictureType,
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
    if cover is not None:
        id3.add(APIC(encoding=3, mime=cover.mime, type=PictureType.COVER_FRONT, desc="Cover",
                     data=cover.data))
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
    """Tags and `CHAPTERxxx` / `CHAPTERxxxNAME` pairs as Vorbis comments.

    The track is `TRACKNUMBER=3` with `TRACKTOTAL=12`, as the Vorbis comment conventions
    have it (players do not all read `3/12`).
    """
    number, total = track_numbers(tags.track)
    pairs = [("TITLE", tags.title), ("ARTIST", tags.artist), ("ALBUM", tags.album),
             ("GENRE", tags.genre), ("DESCRIPTION", tags.comment), ("COMMENT", tags.comment),
             ("DATE", tags.date), ("TRACKNUMBER", str(number or "")),
             ("TRACKTOTAL", str(total or "")),
             ("AUDIOGUIDE_SOURCE", tags.source), ("ENCODER", tags.encoder)]
    comments = [(key, value) for key, value in pairs if value]
    for index, chapter in enumerate(chapters, start=1):
        comments.append((f"CHAPTER{index:03d}", format_ms(chapter.start_ms)))
        comments.append((f"CHAPTER{index:03d}NAME", chapter.title))
    return comments


def _write_vorbis(path: Path, tags: Tags, chapters: Sequence[ChapterMark],
                  cover: Cover | None) -> None:
    from mutagen.flac import FLAC

    audio = mutagen.File(str(path))
    if audio is None:
        raise ValueError("the encoder's file is not a readable OGG or FLAC file")
    if audio.tags is None:
        audio.add_tags()
    assert audio.tags is not None
    audio.tags.clear()
    for key, value in vorbis_comments(tags, chapters):
        audio.tags[key] = audio.tags.get(key, []) + [value]
    if isinstance(audio, FLAC):
        audio.clear_pictures()
        if cover is not None:
            audio.add_picture(flac_picture(cover))  # a PICTURE metadata block
    elif cover is not None:
        # OGG has no picture block: the same structure, base64, in a comment.
        audio.tags["METADATA_BLOCK_PICTURE"] = [
            base64.b64encode(flac_picture(cover).write()).decode("ascii")]
    audio.save()


def flac_picture(cover: Cover) -> Picture:
    """The cover as a FLAC picture (front cover), for a PICTURE block or, base64, a comment."""
    from mutagen.flac import Picture

    picture = Picture()
    picture.type = 3  # front cover
    picture.mime = cover.mime
    picture.desc = "Cover"
    picture.width, picture.height, picture.depth = cover.width, cover.height, cover.depth
    picture.data = cover.data
    return picture


def _write_mp4(path: Path, tags: Tags, cover: Cover | None, audiobook: bool) -> None:
    from mutagen.mp4 import MP4, MP4Cover, MP4FreeForm

    audio = MP4(str(path))
    if audio.tags is None:
        audio.add_tags()
    atoms = audio.tags
    assert atoms is not None
    atoms.clear()   # ffmpeg's own encoder tag among them
    text = {"\xa9nam": tags.title, "\xa9ART": tags.artist, "\xa9alb": tags.album,
            "\xa9gen": tags.genre, "\xa9cmt": tags.comment, "desc": tags.comment,
            "\xa9day": tags.date, "\xa9too": tags.encoder}
    for key, value in text.items():
        if value:
            atoms[key] = [value]
    number, total = track_numbers(tags.track)
    if number is not None:
        atoms["trkn"] = [(number, total or 0)]
    if audiobook:
        atoms["stik"] = [2]  # media kind: audiobook
    freeform = {"AUDIOGUIDE_SOURCE": tags.source}
    timing = audio_timing(path)
    if timing is not None and timing.delay:
        # The edit list ffmpeg writes already says this; players that predate edit lists
        # read it from iTunSMPB.
        freeform["iTunSMPB"] = timing.itunsmpb()
    for name, value in freeform.items():
        if value:
            atoms[f"----:com.apple.iTunes:{name}"] = [MP4FreeForm(value.encode("utf-8"))]
    if cover is not None:
        kind = MP4Cover.FORMAT_PNG if cover.mime == "image/png" else MP4Cover.FORMAT_JPEG
        atoms["covr"] = [MP4Cover(cover.data, imageformat=kind)]
    audio.save()


#: The RIFF INFO fields for each tag. The script's name has no field of its own there
#: (`ISRC` is the recording code some players show), so WAV files leave it out.
_INFO_IDS = (("INAM", "title"), ("IART", "artist"), ("IPRD", "album"), ("IGNR", "genre"),
             ("ICMT", "comment"), ("ICRD", "date"), ("ITRK", "track"), ("ISFT", "encoder"))


def info_chunk(tags: Tags) -> bytes:
    """A RIFF `LIST`/`INFO` chunk (what WAV players show as title, artist and so on)."""
    body = b"INFO"
    number, _ = track_numbers(tags.track)
    for chunk_id, field in _INFO_IDS:
        value = str(number or "") if field == "track" else getattr(tags, field)
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
        return ffmetadata(chapters, title)
    return "".join(f"{format_ms(chapter.start_ms)} {chapter.title}\n" for chapter in chapters)


def ffmetadata(chapters: Sequence[ChapterMark], title: str = "") -> str:
    """Chapters (and a title, if given) in ffmpeg's metadata file format."""
    lines = [";FFMETADATA1"] + ([f"title={_escape(title)}"] if title else [])
    for chapter in chapters:
        lines += ["", "[CHAPTER]", "TIMEBASE=1/1000", f"START={chapter.start_ms}",
                  f"END={chapter.end_ms}", f"title={_escape(chapter.title)}"]
    return "\n".join(lines) + "\n"


def _escape(text: str) -> str:
    for char in "\\=;#\n":
        text = text.replace(char, "\\" + char)
    return text
