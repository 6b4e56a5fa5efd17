"""The podcast feed: real renders in a folder, read back by gPodder's podcastparser and by
feedparser, with chapters (inline and JSON) and transcripts."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import struct
import subprocess
import textwrap
import urllib.parse
import xml.etree.ElementTree as ET
import zlib
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import feedparser
import mutagen
import podcastparser
import pytest
from click.testing import CliRunner

from audioguide.cli import cli
from audioguide.ffmpeg import find_ffmpeg
from audioguide.output.episodes import clean_text
from audioguide.output.feed import PODCAST, PSC

pytestmark = pytest.mark.real

BASE = "https://example.org/calm/"

SCRIPT = """
    title: {title}
    author: {author}
    album: Evening practice
    description: {description}
    steps:
      - section: Arriving
      - say: Hello, and welcome.
      - pause: 1s
      - section: {second}
      - say: Rest here for a moment.
      - pause: 0.5s
      - section: Closing
      - say: Goodbye.
    """


def _cli(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def _render(folder: Path, script: Path, name: str, *extra: str) -> None:
    result = _cli("render", str(script), "--engine", "draft", "-q", "-o", str(folder / name),
                  *extra)
    assert result.exit_code == 0, result.output


def _script(folder: Path, name: str, **fields: str) -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(SCRIPT.format(**fields)).lstrip(), encoding="utf-8")
    return path


def png(width: int = 4, height: int = 4) -> bytes:
    """A small valid PNG (grey)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    rows = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0,
                                                               0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


@pytest.fixture(scope="module")
def sessions(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of rendered sessions: an MP3 with subtitles, an OGG, an M4A with chapters
    (made by ffmpeg from a WAV and a chapters file) and a WAV without sections."""
    folder = tmp_path_factory.mktemp("calm")
    scripts = _scripts(folder)
    scripts.mkdir()
    first = _script(scripts, "first.yaml", title="Evening & <calm>", author="Ana",
                    description="Short & sweet.", second="Resting")
    second = _script(scripts, "second.yaml", title="Morning", author="Ana",
                     description="Up you get.", second="Waking")
    _render(folder, first, "evening.mp3", "--subtitles", "auto")
    _render(folder, second, "morning.ogg")
    # An M4A as another tool (or the m4b export) would make it, with MP4 chapters.
    _render(scripts, second, "noon.wav", "--chapters", str(scripts / "noon.ffmetadata"))
    subprocess.run([find_ffmpeg().path, "-nostdin", "-v", "error", "-y", "-i",
                    str(scripts / "noon.wav"), "-i", str(scripts / "noon.ffmetadata"),
                    "-map_metadata", "1", "-map_chapters", "1", "-c:a", "aac", "-b:a", "48k",
                    str(folder / "noon.m4a")], check=True)
    plain = scripts / "plain.yaml"
    plain.write_text("title: Plain\nauthor: Ana\nalbum: Evening practice\n"
                     "steps:\n  - say: Just one line.\n", encoding="utf-8")
    _render(folder, plain, "plain.wav", "--sample-rate", "8000", "--mono")
    # Distinct times, so the order (newest first) is known.
    for age, name in enumerate(["evening.mp3", "morning.ogg", "noon.m4a", "plain.wav"]):
        os.utime(folder / name, (1_700_000_000 - age * 86400,) * 2)
    return folder


def _scripts(folder: Path) -> Path:
    return folder.with_name(f"{folder.name}-scripts")


#: The script each episode was rendered from.
SOURCES = {"evening.mp3": "first.yaml", "morning.ogg": "second.yaml",
           "noon.m4a": "second.yaml", "plain.wav": "plain.yaml"}


def _script_chapters(sessions: Path, name: str) -> list[tuple[float, str]]:
    """The chapters of an episode's script as inspect reports them: (start s, title)."""
    result = _cli("inspect", str(_scripts(sessions) / SOURCES[name]), "--engine", "draft",
                  "--json")
    return [(chapter["start_s"], chapter["title"])
            for chapter in json.loads(result.stdout)["chapters"]]


@pytest.fixture(scope="module")
def built(sessions: Path) -> dict[str, Any]:
    result = _cli("feed", "build", str(sessions), "--base-url", BASE.rstrip("/"),
                  "--author", "Ana B")
    assert result.exit_code == 0, result.output
    feed = sessions / "feed.xml"
    assert result.stdout == f"{feed}\n"
    assert result.stderr == "4 episodes (3 with chapters) to:\n"
    return {"path": feed, "bytes": feed.read_bytes(),
            "podcastparser": podcastparser.parse(BASE + "feed.xml", feed.open("rb")),
            "feedparser": feedparser.parse(feed.read_bytes())}


TYPES = {"evening.mp3": "audio/mpeg", "morning.ogg": "audio/ogg", "noon.m4a": "audio/x-m4a",
         "plain.wav": "audio/wav"}
TITLES = {"evening.mp3": "Evening & <calm>", "morning.ogg": "Morning", "noon.m4a": "Morning",
          "plain.wav": "Plain"}
SECTIONS = {"evening.mp3": ["Arriving", "Resting", "Closing"],
            "morning.ogg": ["Arriving", "Waking", "Closing"],
            "noon.m4a": ["Arriving", "Waking", "Closing"], "plain.wav": []}
ORDER = ["evening.mp3", "morning.ogg", "noon.m4a", "plain.wav"]


def test_podcastparser_reads_every_episode(sessions: Path, built: dict[str, Any]) -> None:
    parsed = built["podcastparser"]
    assert parsed["title"] == "Evening practice"          # the album every episode shares
    assert parsed["itunes_author"] == "Ana B"
    assert parsed["itunes_categories"] == [["Health & Fitness", "Mental Health"]]
    assert parsed["explicit"] is False
    episodes = parsed["episodes"]
    assert [urllib.parse.unquote(e["enclosures"][0]["url"].rsplit("/", 1)[1])
            for e in episodes] == ORDER
    for episode, name in zip(episodes, ORDER, strict=True):
        path = sessions / name
        (enclosure,) = episode["enclosures"]
        assert enclosure == {"url": BASE + name, "file_size": path.stat().st_size,
                             "mime_type": TYPES[name]}
        assert episode["title"] == TITLES[name]
        assert episode["guid"] == "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()
        assert episode["published"] == int(path.stat().st_mtime)
        assert episode["explicit"] is False
        length = mutagen.File(str(path)).info.length
        assert episode["total_time"] == round(length) and length > 2
        assert [c["title"] for c in episode.get("chapters", [])] == SECTIONS[name]


def test_podlove_chapters_match_the_files_chapters(sessions: Path,
                                                   built: dict[str, Any]) -> None:
    root = ET.fromstring(built["bytes"])
    for item, name in zip(root.iter("item"), ORDER, strict=True):
        starts = [chapter.get("start", "") for chapter in item.iter(f"{{{PSC}}}chapter")]
        if not SECTIONS[name]:
            assert item.find(f"{{{PSC}}}chapters") is None
            continue
        assert item.find(f"{{{PSC}}}chapters").get("version") == "1.2"  # type: ignore[union-attr]
        assert all(len(start) == 12 and start[8] == "." for start in starts)  # HH:MM:SS.mmm
        seconds = [podcastparser.parse_time(start.split(".")[0]) + int(start[-3:]) / 1000
                   for start in starts]
        scripted = _script_chapters(sessions, name)
        assert [title for _, title in scripted] == SECTIONS[name]
        assert seconds == pytest.approx([start for start, _ in scripted], abs=0.0015)
        assert seconds == sorted(seconds) and seconds[0] == 0


def test_json_chapters_beside_each_episode(sessions: Path, built: dict[str, Any]) -> None:
    for episode, name in zip(built["podcastparser"]["episodes"], ORDER, strict=True):
        stem = Path(name).stem
        chapters_file = sessions / f"{stem}.chapters.json"
        if not SECTIONS[name]:
            assert "chapters_json_url" not in episode or not episode["chapters_json_url"]
            assert not chapters_file.exists()
            continue
        assert episode["chapters_json_url"] == BASE + chapters_file.name
        data = json.loads(chapters_file.read_text(encoding="utf-8"))
        assert data["version"].startswith("1.2")
        assert data["fileName"] == name
        assert (data["title"], data["author"], data["podcastName"]) == (
            TITLES[name], "Ana B", "Evening practice")
        starts = [chapter["startTime"] for chapter in data["chapters"]]
        assert starts == sorted(starts) and starts[0] == 0
        assert [chapter["title"] for chapter in data["chapters"]] == SECTIONS[name]
        inline = [chapter["start"] for chapter in episode["chapters"]]
        assert [int(start) for start in starts] == inline
        ends = [chapter["endTime"] for chapter in data["chapters"]]
        assert ends[:-1] == starts[1:]


def test_transcript_only_where_a_vtt_sits_beside_the_audio(sessions: Path,
                                                           built: dict[str, Any]) -> None:
    assert (sessions / "evening.vtt").is_file()
    urls = [episode.get("transcript_url") for episode in built["podcastparser"]["episodes"]]
    assert urls == [BASE + "evening.vtt", None, None, None]
    root = ET.fromstring(built["bytes"])
    (transcript,) = root.iter(f"{{{PODCAST}}}transcript")
    assert transcript.attrib == {"url": BASE + "evening.vtt", "type": "text/vtt",
                                 "rel": "captions"}


def test_feedparser_reads_the_same_feed(sessions: Path, built: dict[str, Any]) -> None:
    parsed = built["feedparser"]
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == "rss20"
    assert parsed.feed.title == "Evening practice"
    assert parsed.feed.author == "Ana B"
    assert len(parsed.entries) == 4
    for entry, name in zip(parsed.entries, ORDER, strict=True):
        path = sessions / name
        (enclosure,) = entry.enclosures
        assert (enclosure.href, int(enclosure.length), enclosure.type) == (
            BASE + name, path.stat().st_size, TYPES[name])
        assert entry.title == TITLES[name]
        assert entry.guidislink is False
        assert int(entry.itunes_duration) == round(mutagen.File(str(path)).info.length)
        assert parsedate_to_datetime(entry.published).timestamp() == int(path.stat().st_mtime)
        chapters = entry.get("psc_chapters", {}).get("chapters", [])
        assert [chapter.title for chapter in chapters] == SECTIONS[name]
        if SECTIONS[name]:
            assert entry.podcast_chapters["url"] == BASE + f"{Path(name).stem}.chapters.json"
    assert parsed.entries[0].podcast_transcript["url"] == BASE + "evening.vtt"
    assert parsed.entries[0].podcast_transcript["type"] == "text/vtt"


def test_author_names_every_episode(built: dict[str, Any]) -> None:
    authors = [episode["itunes_author"] for episode in built["podcastparser"]["episodes"]]
    assert authors == ["Ana B"] * 4


def test_wav_tags_come_from_its_info_chunk(sessions: Path, tmp_path: Path) -> None:
    shutil.copy(sessions / "plain.wav", tmp_path / "plain.wav")
    result = _cli("feed", "build", str(tmp_path), "--base-url", BASE, "-q")
    assert result.exit_code == 0, result.output
    parsed = podcastparser.parse(BASE + "feed.xml", (tmp_path / "feed.xml").open("rb"))
    assert (parsed["title"], parsed["itunes_author"]) == ("Evening practice", "Ana")
    (wav,) = parsed["episodes"]
    assert (wav["title"], wav["itunes_author"]) == ("Plain", "Ana")


def test_the_same_folder_gives_the_same_feed(sessions: Path, built: dict[str, Any]) -> None:
    again = _cli("feed", "build", str(sessions), "--base-url", BASE, "--author", "Ana B", "-q")
    assert again.exit_code == 0, again.output
    assert (sessions / "feed.xml").read_bytes() == built["bytes"]
    assert not [p for p in sessions.iterdir() if p.name.startswith(".")]  # no temp files


def test_cover_image_is_copied_in_and_linked(sessions: Path, tmp_path: Path) -> None:
    folder = tmp_path / "feed"
    folder.mkdir()
    shutil.copy(sessions / "evening.mp3", folder / "evening.mp3")
    cover = tmp_path / "art.png"
    cover.write_bytes(png())
    result = _cli("feed", "build", str(folder), "--base-url", BASE, "--image", str(cover),
                  "--title", "Mine", "-o", str(folder / "podcast.xml"))
    assert result.exit_code == 0, result.output
    assert (folder / "art.png").read_bytes() == cover.read_bytes()
    parsed = podcastparser.parse(BASE + "podcast.xml", (folder / "podcast.xml").open("rb"))
    assert parsed["cover_url"] == BASE + "art.png"
    assert parsed["title"] == "Mine"
    root = ET.fromstring((folder / "podcast.xml").read_bytes())
    link = root.find("channel/{http://www.w3.org/2005/Atom}link")
    assert link is not None and link.get("href") == BASE + "podcast.xml"


def test_untrusted_folder(sessions: Path, tmp_path: Path) -> None:
    folder = tmp_path / "untrusted"
    outside = tmp_path / "outside"
    folder.mkdir()
    outside.mkdir()
    odd = 'night & <day> "one" 50%.mp3'
    shutil.copy(sessions / "evening.mp3", folder / odd)
    tagged = mutagen.File(str(folder / odd))
    from mutagen.id3 import TIT2
    tagged.tags.setall("TIT2", [TIT2(encoding=3, text="Bell\x07 & <b>bold</b> ]]>")])
    tagged.save()
    (folder / "broken.mp3").write_bytes(b"not audio at all" * 10)
    (folder / ".hidden.mp3").write_bytes(b"x")
    (folder / "sub").mkdir()
    shutil.copy(sessions / "morning.ogg", folder / "sub" / "morning.ogg")
    shutil.copy(sessions / "morning.ogg", outside / "away.ogg")
    (folder / "away.ogg").symlink_to(outside / "away.ogg")
    (folder / "again.mp3").symlink_to(folder / odd)
    result = _cli("feed", "build", str(folder), "--base-url", BASE)
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert warnings[0] == "warning: away.ogg: a link to something outside the folder; left out"
    assert warnings[1].startswith("warning: broken.mp3: ")
    assert warnings[1].endswith("; left out")
    assert warnings[2] == f"warning: {odd}: the same audio as again.mp3; left out"
    parsed = podcastparser.parse(BASE + "feed.xml", (folder / "feed.xml").open("rb"))
    (episode,) = parsed["episodes"]
    assert episode["title"] == "Bell & <b>bold</b> ]]>"
    assert episode["enclosures"][0]["url"] == BASE + "again.mp3"
    ET.fromstring((folder / "feed.xml").read_bytes())   # well-formed


def test_odd_names_are_quoted_and_escaped(sessions: Path, tmp_path: Path) -> None:
    folder = tmp_path / "odd"
    folder.mkdir()
    odd = 'night & <day> "one" 50%.mp3'
    shutil.copy(sessions / "evening.mp3", folder / odd)
    result = _cli("feed", "build", str(folder), "--base-url", BASE, "-q")
    assert result.exit_code == 0, result.output
    parsed = feedparser.parse((folder / "feed.xml").read_bytes())
    assert not parsed.bozo
    url = parsed.entries[0].enclosures[0].href
    assert url == BASE + "night%20%26%20%3Cday%3E%20%22one%22%2050%25.mp3"
    assert urllib.parse.unquote(url.rsplit("/", 1)[1]) == odd
    assert parsed.entries[0].podcast_chapters["url"] == BASE + urllib.parse.quote(
        'night & <day> "one" 50%.chapters.json', safe="")
    assert (folder / 'night & <day> "one" 50%.chapters.json').is_file()


def test_clean_text_keeps_only_what_xml_can_hold() -> None:
    assert clean_text("a\x00b\x1bc\td\ufffee\U0001f600") == "abc\tde\U0001f600"
    assert clean_text("x" * 50, 10) == "x" * 9 + "…"


@pytest.mark.parametrize(("args", "message"), [
    (["--base-url", "ftp://example.org/"],
     "error: --base-url 'ftp://example.org/': give the http:// or https:// address the folder "
     "is served at, like https://example.org/calm/\n"),
    (["--base-url", "example.org/calm"],
     "error: --base-url 'example.org/calm': give the http:// or https:// address the folder "
     "is served at, like https://example.org/calm/\n"),
    (["--base-url", BASE, "--image", "missing.jpg"],
     "error: --image missing.jpg: no such file; give a JPEG or PNG cover\n"),
])
def test_bad_options_are_one_line_and_exit_2(sessions: Path, args: list[str],
                                             message: str) -> None:
    before = sorted(p.name for p in sessions.iterdir())
    result = CliRunner().invoke(cli, ["feed", "build", str(sessions), *args])
    assert result.exit_code == 2
    assert result.stderr == message
    assert sorted(p.name for p in sessions.iterdir()) == before


def test_image_that_is_not_a_picture(sessions: Path, tmp_path: Path) -> None:
    fake = tmp_path / "cover.jpg"
    fake.write_text("not a picture", encoding="utf-8")
    result = CliRunner().invoke(cli, ["feed", "build", str(sessions), "--base-url", BASE,
                                      "--image", str(fake)])
    assert result.exit_code == 2
    assert result.stderr == (f"error: --image {fake}: not a JPEG or PNG, the only covers "
                             "podcast apps show\n")


def test_folder_without_audio(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello", encoding="utf-8")
    result = CliRunner().invoke(cli, ["feed", "build", str(tmp_path), "--base-url", BASE])
    assert result.exit_code == 2
    assert result.stderr == (
        f"error: {tmp_path} holds no audio files (.flac, .m4a, .m4b, .mp3, .oga, .ogg, .opus, "
        f".wav); render sessions into it first, e.g. audioguide render box-breathing -o "
        f"{tmp_path / 'box-breathing.mp3'}\n")
    assert not (tmp_path / "feed.xml").exists()


def test_output_may_not_overwrite_an_episode(sessions: Path) -> None:
    result = CliRunner().invoke(cli, ["feed", "build", str(sessions), "--base-url", BASE,
                                      "-o", str(sessions / "evening.mp3")])
    assert result.exit_code == 2
    assert "is one of the episodes" in result.stderr


def test_every_url_in_the_feed_is_served_by_a_static_server(sessions: Path,
                                                            tmp_path: Path) -> None:
    """The folder as any static web host serves it: every address resolves to its file."""
    import functools
    import http.server
    import threading
    import urllib.request

    folder = tmp_path / "served"
    folder.mkdir()
    odd = 'night & <day> "one" 50%.mp3'
    shutil.copy(sessions / "evening.mp3", folder / odd)
    shutil.copy(sessions / "evening.vtt", folder / 'night & <day> "one" 50%.vtt')
    shutil.copy(sessions / "morning.ogg", folder / "morning.ogg")
    (folder / "cover.png").write_bytes(png())
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}/"
        result = _cli("feed", "build", str(folder), "--base-url", base, "-q")
        assert result.exit_code == 0, result.output
        root = ET.fromstring((folder / "feed.xml").read_bytes())
        urls = {element.get("url") or element.get("href") for element in root.iter()
                if element.tag in ("enclosure", f"{{{PODCAST}}}chapters",
                                   f"{{{PODCAST}}}transcript",
                                   "{http://www.itunes.com/dtds/podcast-1.0.dtd}image")}
        # 2 enclosures, 2 chapters files, 1 transcript, and the cover.png found in the folder
        assert len(urls) == 6
        for url in sorted(u for u in urls if u):
            with urllib.request.urlopen(url, timeout=10) as response:
                body = response.read()
            name = urllib.parse.unquote(url.rsplit("/", 1)[1])
            assert body == (folder / name).read_bytes(), url
        for enclosure in root.iter("enclosure"):
            name = urllib.parse.unquote(enclosure.get("url", "").rsplit("/", 1)[1])
            assert int(enclosure.get("length", "0")) == (folder / name).stat().st_size
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
