"""A podcast feed of a folder of rendered sessions, so a phone's podcast app can fetch them.

RSS 2.0 with Apple's `itunes` tags, Podcasting 2.0's `podcast:chapters` (a JSON chapters
file written beside each episode) and `podcast:transcript` (a `STEM.vtt` beside the audio,
as `render --subtitles` writes it), and Podlove Simple Chapters inline (which AntennaPod
and gPodder read). Each episode's title, artist, description, length and chapters are
read back from its own tags (episodes.py).

Everything in the folder is treated as untrusted: only regular files directly in it
count (a link counts only if it points at one), their number and sizes are bounded,
and all text goes into the XML through ElementTree, so it is escaped, with characters
XML cannot hold removed.
"""
from __future__ import annotations

import json
import urllib.parse
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import format_datetime
from pathlib import Path

from .. import __version__
from ..atomic import atomic_output, write_text
from ..errors import InputError
from .episodes import (
    AUDIO_TYPES,
    MAX_TITLE_CHARS,
    Episode,
    audio_files,
    clean_text,
    read_episodes,
    regular_in,
)
from .tags import format_ms

#: How PNG and JPEG files begin: the only covers podcast apps show.
IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff")
#: Looked for in the folder when no --image is given.
COVER_NAMES = ("cover.jpg", "cover.jpeg", "cover.png", "folder.jpg", "folder.png")
#: The largest cover an untrusted folder can make the feed builder read.
MAX_IMAGE_BYTES = 20 * 1024**2

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


@dataclass(frozen=True)
class FeedOptions:
    """What the command line chooses about a feed."""

    base_url: str
    output: Path | None = None     # default: FOLDER/feed.xml
    title: str | None = None       # default: the album all episodes share, else the folder
    author: str | None = None      # for the podcast and every episode (default: the artists)
    image: Path | None = None      # default: a cover.jpg or cover.png in the folder


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
        return next((root / name for name in COVER_NAMES if regular_in(root, name)), None)
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
