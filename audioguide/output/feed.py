"""A podcast feed of a folder of rendered sessions, so a phone's podcast app can fetch them.

RSS 2.0 with Apple's `itunes` tags, Podcasting 2.0's `podcast:chapters` (a JSON chapters
file written beside each episode) and `podcast:transcript` (a `STEM.vtt` beside the audio,
as `render --subtitles` writes it), and Podlove Simple Chapters inline (which AntennaPod
and gPodder read). Each episode's title, artist, description, length and chapters are
read back from its own tags with mutagen.

Everything in the folder is treated as untrusted: only regular files directly in it
count (a link counts only if it points at one), their number and sizes are bounded,
and all text goes into the XML through ElementTree, so it is escaped, with characters
XML cannot hold removed.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
import struct
import urllib.parse
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import mutagen

from .. import __version__
from ..atomic import atomic_output, write_text
from ..errors import InputError
from .tags import ChapterMark, format_ms

#: The enclosure type of each audio file the feed takes, by extension (Apple's for m4a).
AUDIO_TYPES = {".mp3": "audio/mpeg", ".m4a": "audio/x-m4a", ".m4b": "audio/x-m4b",
               ".ogg": "audio/ogg", ".oga": "audio/ogg", ".opus": "audio/ogg",
               ".flac": "audio/flac", ".wav": "audio/wav"}
#: Transcripts looked for beside each episode, in this order, with their types.
TRANSCRIPT_TYPES = ((".vtt", "text/vtt"), (".srt", "application/srt"))
#: How PNG and JPEG files begin: the only covers podcast apps show.
IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff")
#: Looked for in the folder when no --image is given.
COVER_NAMES = ("cover.jpg", "cover.jpeg", "cover.png", "folder.jpg", "folder.png")

#: Bounds on what an untrusted folder can make the feed builder read and write.
MAX_ENTRIES = 20_000
MAX_EPISODES = 1_000
MAX_EPISODE_BYTES = 4 * 1024**3
MAX_IMAGE_BYTES = 20 * 1024**2
MAX_CHAPTERS = 500
MAX_TITLE_CHARS = 500
MAX_TEXT_CHARS = 4_000

ITUNES = "http://www.itunes.com/dtds/podcast-1.0.dtd"
# The Podcasting 2.0 namespace by the URI that both AntennaPod and gPodder's podcastparser
# recognise (podcastparser does not know the shorter podcastindex.org form).
PODCAST = "https://github.com/Podcastindex-org/podcast-namespace/blob/main/docs/1.0.md"
PSC = "http://podlove.org/simple-chapters"
ATOM = "http://www.w3.org/2005/Atom"
NAMESPACES = {"itunes": ITUNES, "podcast": PODCAST, "psc": PSC, "atom": ATOM}
#: The type Podcasting 2.0 asks JSON chapters to be served and linked with.
CHAPTERS_TYPE = "application/json+chapters"
CHAPTERS_VERSION = "1.2.0"
CATEGORY = ("Health & Fitness", "Mental Health")
DESCRIPTION = "Guided sessions and comfort playlists, made with audioguide."

_CHUNK = 1024 * 1024
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_VORBIS_CHAPTER = re.compile(r"^CHAPTER(\d{3})$")
_CLOCK = re.compile(r"^(\d{1,3}):([0-5]\d):([0-5]\d)(?:[.,](\d{1,9}))?$")
#: What mutagen raises on a damaged or hostile file, beside its own error.
_TAG_ERRORS = (mutagen.MutagenError, OSError, ValueError, struct.error, IndexError, KeyError)


@dataclass(frozen=True)
class FeedOptions:
    """What the command line chooses about a feed."""

    base_url: str
    output: Path | None = None     # default: FOLDER/feed.xml
    title: str | None = None       # default: the album all episodes share, else the folder
    author: str | None = None      # for the podcast and every episode (default: the artists)
    image: Path | None = None      # default: a cover.jpg or cover.png in the folder


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


@dataclass(frozen=True)
class FeedResult:
    """What `build_feed` wrote."""

    path: Path
    episodes: tuple[Episode, ...]
    written: tuple[Path, ...]
    warnings: tuple[str, ...] = field(default_factory=tuple)


def check_base_url(url: str) -> str:
    """`url` as the folder's address, ending in `/`; bad input unless it is http(s) with a
    host."""
    parts = urllib.parse.urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError(f"--base-url {url!r}: give the http:// or https:// address the "
                         "folder is served at, like https://example.org/calm/")
    if parts.query or parts.fragment:
        raise InputError(f"--base-url {url!r}: the folder's address takes no ?query or "
                         "#fragment")
    return urllib.parse.urlunsplit(parts._replace(path=parts.path.rstrip("/") + "/"))


def file_url(base_url: str, name: str) -> str:
    """The address of a file in the folder: the base URL and the quoted file name."""
    return base_url + urllib.parse.quote(name, safe="")


def clean_text(text: str, limit: int = MAX_TEXT_CHARS) -> str:
    """`text` without characters XML cannot hold, trimmed, at most `limit` characters."""
    text = _NOT_XML.sub("", text).strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def build_feed(folder: Path, options: FeedOptions) -> FeedResult:
    """Read the audio in `folder`, write each episode's chapters JSON beside it and the feed
    (atomically); bad input if the folder holds no audio or an option is wrong."""
    base_url = check_base_url(options.base_url)
    if not folder.is_dir():
        raise InputError(f"{folder} is not a folder; give the folder of rendered sessions")
    root = folder.resolve()
    output = options.output if options.output is not None else folder / "feed.xml"
    if not output.parent.is_dir():
        raise InputError(f"-o {output}: the folder {output.parent} does not exist; create it "
                         "first")
    warnings: list[str] = []
    paths = audio_files(root, warnings)
    if not paths:
        raise InputError(f"{folder} holds no audio files ({', '.join(sorted(AUDIO_TYPES))}); "
                         "render sessions into it first, e.g. audioguide render "
                         f"box-breathing -o {folder / 'box-breathing.mp3'}")
    if output.resolve() in {path.resolve() for path in paths.values()}:
        raise InputError(f"-o {output} is one of the episodes; choose another name, like "
                         "feed.xml")
    image = cover_image(root, options.image)
    episodes = read_episodes(root, paths, warnings)
    if not episodes:
        raise InputError(f"{folder}: none of its audio files could be read ({warnings[0]})")
    title = clean_text(options.title or _shared(e.album for e in episodes) or root.name,
                       MAX_TITLE_CHARS)
    author = clean_text(options.author or _shared(e.author for e in episodes) or "audioguide",
                        MAX_TITLE_CHARS)
    written: list[Path] = []
    for episode in episodes:
        if episode.chapters_file is not None:
            named = author if options.author else episode.author
            written.append(write_text(root / episode.chapters_file,
                                      chapters_json(episode, named, title) + "\n",
                                      elsewhere="choose another folder"))
    image_name = None
    if image is not None:
        image_name, copied = place_image(root, image)
        written.extend(copied)
    self_url = (file_url(base_url, output.name) if output.resolve().parent == root else None)
    document = feed_xml(episodes, base_url, title, author, image_name, self_url,
                        forced_author=bool(options.author))
    with atomic_output(output, elsewhere="choose another file with -o") as temporary:
        temporary.write_bytes(document)
    return FeedResult(output, tuple(episodes), tuple(written), tuple(warnings))


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
                        if _regular_in(root, f"{Path(name).stem}{suffix}"))
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


def _regular_in(root: Path, name: str) -> bool:
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


def _shared(values: Iterable[str]) -> str:
    """The one value the episodes that have one agree on, if they do."""
    distinct = {value for value in values if value}
    return distinct.pop() if len(distinct) == 1 else ""


def chapters_json(episode: Episode, author: str = "", podcast: str = "") -> str:
    """An episode's chapters in the Podcasting 2.0 JSON chapters format."""
    return json.dumps({
        "version": CHAPTERS_VERSION, "title": episode.title,
        **({"author": author} if author else {}),
        **({"podcastName": podcast} if podcast else {}),
        "fileName": episode.name,
        "chapters": [{"startTime": mark.start_ms / 1000, "endTime": mark.end_ms / 1000,
                      "title": mark.title} for mark in episode.chapters],
    }, indent=2, ensure_ascii=False)


def cover_image(root: Path, image: Path | None) -> Path | None:
    """The feed's cover, checked: `image`, else a cover.jpg or cover.png in the folder."""
    if image is None:
        return next((root / name for name in COVER_NAMES if _regular_in(root, name)), None)
    if not image.is_file():
        raise InputError(f"--image {image}: no such file; give a JPEG or PNG cover")
    _image_bytes(image)
    return image


def _image_bytes(image: Path) -> bytes:
    with open(image, "rb") as handle:
        data = handle.read(MAX_IMAGE_BYTES + 1)
    if len(data) > MAX_IMAGE_BYTES:
        raise InputError(f"--image {image}: over {MAX_IMAGE_BYTES // 1024**2} MB; podcast "
                         "apps want a 1400-3000 px square JPEG or PNG")
    if not any(data.startswith(magic) for magic in IMAGE_MAGIC):
        raise InputError(f"--image {image}: not a JPEG or PNG, the only covers podcast apps "
                         "show")
    return data


def place_image(root: Path, image: Path) -> tuple[str, list[Path]]:
    """The cover's name in the folder, copied in (atomically) if it is elsewhere."""
    if image.resolve().parent == root:
        return image.name, []
    data = _image_bytes(image)
    target = root / image.name
    if target.exists():
        if target.is_file() and target.read_bytes() == data:
            return image.name, []
        raise InputError(f"--image {image}: the folder already has a different {image.name}; "
                         "rename one of them")
    with atomic_output(target, elsewhere="choose another folder") as temporary:
        temporary.write_bytes(data)
    return image.name, [target]


def rfc2822(mtime: float) -> str:
    """A file time as an RSS date (RFC 2822, UTC)."""
    return format_datetime(datetime.fromtimestamp(int(mtime), tz=timezone.utc))


def feed_xml(episodes: list[Episode], base_url: str, title: str, author: str,
             image_name: str | None, self_url: str | None,
             forced_author: bool = False) -> bytes:
    """The RSS document (UTF-8 bytes, with its XML declaration); `forced_author` names
    `author` on every episode too, not only the files' own artists."""
    for prefix, uri in NAMESPACES.items():
        ET.register_namespace(prefix, uri)
    rss = ET.Element("rss", {"version": "2.0"})
    channel = ET.SubElement(rss, "channel")
    _text(channel, "title", title)
    _text(channel, "link", base_url)
    _text(channel, "description", DESCRIPTION)
    _text(channel, "generator", f"audioguide {__version__}")
    newest = rfc2822(max(episode.mtime for episode in episodes))
    _text(channel, "pubDate", newest)
    _text(channel, "lastBuildDate", newest)
    if self_url is not None:
        ET.SubElement(channel, f"{{{ATOM}}}link",
                      {"href": self_url, "rel": "self", "type": "application/rss+xml"})
    _text(channel, f"{{{ITUNES}}}author", author)
    _text(channel, f"{{{ITUNES}}}summary", DESCRIPTION)
    _text(channel, f"{{{ITUNES}}}type", "episodic")
    _text(channel, f"{{{ITUNES}}}explicit", "false")
    category = ET.SubElement(channel, f"{{{ITUNES}}}category", {"text": CATEGORY[0]})
    ET.SubElement(category, f"{{{ITUNES}}}category", {"text": CATEGORY[1]})
    if image_name is not None:
        url = file_url(base_url, image_name)
        ET.SubElement(channel, f"{{{ITUNES}}}image", {"href": url})
        picture = ET.SubElement(channel, "image")
        _text(picture, "url", url)
        _text(picture, "title", title)
        _text(picture, "link", base_url)
    for episode in episodes:
        _item(channel, episode, base_url, author if forced_author else episode.author or author)
    ET.indent(rss, space="  ")
    return ET.tostring(rss, encoding="utf-8", xml_declaration=True) + b"\n"


def _item(channel: ET.Element, episode: Episode, base_url: str, author: str) -> None:
    """One episode; `author` is the one to name (the file's artist, or --author)."""
    item = ET.SubElement(channel, "item")
    _text(item, "title", episode.title)
    _text(item, "description", episode.description or episode.title)
    ET.SubElement(item, "enclosure", {"url": file_url(base_url, episode.name),
                                      "length": str(episode.size_bytes),
                                      "type": episode.mime_type})
    guid = _text(item, "guid", f"sha256:{episode.digest}")
    guid.set("isPermaLink", "false")
    _text(item, "pubDate", rfc2822(episode.mtime))
    _text(item, f"{{{ITUNES}}}title", episode.title)
    _text(item, f"{{{ITUNES}}}author", author)
    _text(item, f"{{{ITUNES}}}duration", str(round(episode.duration_s)))
    _text(item, f"{{{ITUNES}}}explicit", "false")
    _text(item, f"{{{ITUNES}}}episodeType", "full")
    if episode.chapters_file is not None:
        ET.SubElement(item, f"{{{PODCAST}}}chapters",
                      {"url": file_url(base_url, episode.chapters_file),
                       "type": CHAPTERS_TYPE})
        chapters = ET.SubElement(item, f"{{{PSC}}}chapters", {"version": "1.2"})
        for mark in episode.chapters:
            ET.SubElement(chapters, f"{{{PSC}}}chapter",
                          {"start": format_ms(mark.start_ms), "title": mark.title})
    for name, kind in episode.transcripts:
        # rel=captions: the file is timed to the audio, so apps may show it as it plays.
        ET.SubElement(item, f"{{{PODCAST}}}transcript",
                      {"url": file_url(base_url, name), "type": kind, "rel": "captions"})


def _text(parent: ET.Element, tag: str, text: str) -> ET.Element:
    element = ET.SubElement(parent, tag)
    element.text = clean_text(text)
    return element
