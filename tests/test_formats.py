"""Files every player reads right, read back by real tools: ffprobe, mediainfo, mutagen, Pillow.

16-bit FLAC, M4B/M4A (AAC, both kinds of MP4 chapters, iTunes atoms, gapless timing), cover
art in every format, track totals, chapter starts that land inside their chapter, and
playlist lengths from the decoded audio.
"""

from __future__ import annotations

import base64
import io
import json
import shutil
import struct
import subprocess
import wave
from fractions import Fraction
from pathlib import Path
from typing import Any

import mutagen
import numpy as np
import pytest
from click.testing import CliRunner
from mutagen.flac import FLAC, Picture
from mutagen.mp4 import MP4, Atoms
from PIL import Image

from audioguide.cli import cli
from audioguide.cover import MAX_COVER_BYTES, PALETTES, draw_cover, generated_cover, read_cover
from audioguide.ffmpeg import find_ffmpeg
from audioguide.jobs.options import ExportOptions, RenderOptions
from audioguide.jobs.playlists import build_playlist
from audioguide.jobs.render import render_file
from audioguide.media import audio_timing, decode, probe
from audioguide.script.schema import KINDS

from conftest import WriteScript

pytestmark = pytest.mark.real

FFPROBE = shutil.which("ffprobe")
MEDIAINFO = shutil.which("mediainfo")
needs_ffprobe = pytest.mark.skipif(
    FFPROBE is None, reason="ffprobe is not installed (apt-get install ffmpeg; .ci/run does); "
    "the ffmpeg in the imageio-ffmpeg wheel comes without it")
needs_mediainfo = pytest.mark.skipif(
    MEDIAINFO is None, reason="mediainfo is not installed (apt-get install mediainfo; .ci/run "
    "does)")

SESSION = """
title: Formats check
author: A. Tester
album: Evening set
genre: Relaxation
date: "2026"
kind: breathing
description: Every player should read this file right.
voice: {engine: draft}
steps:
  - section: Arriving
  - say: Welcome, and settle in.
  - section: Breathing
  - say: Breathe in slowly through the nose, and out through the mouth.
  - tone: {hz: 220, duration: 1.3s}
  - section: Closing
  - say: That is all.
"""
DRAFT = RenderOptions(engine="draft")
QUIET = ExportOptions(loudness_lufs=None)
TITLES = ["Arriving", "Breathing", "Closing"]


def ffprobe(path: Path, *entries: str) -> dict[str, Any]:
    assert FFPROBE is not None
    result = subprocess.run([FFPROBE, "-v", "error", "-of", "json", *entries, str(path)],
                            capture_output=True, text=True, check=True)
    return dict(json.loads(result.stdout))


def chapters_read(path: Path) -> list[tuple[Fraction, str]]:
    """(start in seconds, exactly, title) of each chapter, as ffprobe reads them."""
    found = ffprobe(path, "-show_chapters")["chapters"]
    return [(Fraction(c["start"]) * Fraction(c["time_base"]), c["tags"]["title"])
            for c in found]


# --- FLAC: 16 bits unless asked -------------------------------------------------------

@needs_ffprobe
def test_flac_is_16_bit_lossless_and_smaller_than_the_wav(write_script: WriteScript,
                                                          tmp_path: Path) -> None:
    script = write_script(SESSION)
    wav = render_file(script, tmp_path / "a.wav", DRAFT, QUIET).path
    flac = render_file(script, tmp_path / "a.flac", DRAFT, QUIET).path
    assert FLAC(str(flac)).info.bits_per_sample == 16
    (stream,) = ffprobe(flac, "-show_streams", "-select_streams", "a")["streams"]
    assert stream["sample_fmt"] == "s16" and stream["bits_per_raw_sample"] == "16"
    # The same 16-bit samples as the WAV, exactly, in less room.
    assert np.array_equal(decode(flac, 44100, 2), decode(wav, 44100, 2))
    assert flac.stat().st_size < wav.stat().st_size


@needs_ffprobe
def test_bits_24_on_request_for_flac_and_wav(write_script: WriteScript, tmp_path: Path) -> None:
    script = write_script(SESSION)
    runner = CliRunner()
    for name in ("deep.flac", "deep.wav"):
        result = runner.invoke(cli, ["render", str(script), "-o", str(tmp_path / name),
                                     "--bits", "24", "--loudness", "off", "-q"])
        assert result.exit_code == 0, result.output
    assert FLAC(str(tmp_path / "deep.flac")).info.bits_per_sample == 24
    with wave.open(str(tmp_path / "deep.wav"), "rb") as file:
        assert file.getsampwidth() == 3
    (stream,) = ffprobe(tmp_path / "deep.wav", "-show_streams")["streams"]
    assert stream["codec_name"] == "pcm_s24le"
    flac, wav = decode(tmp_path / "deep.flac", 44100, 2), decode(tmp_path / "deep.wav", 44100, 2)
    assert np.max(np.abs(flac - wav)) <= 1.5 / 2 ** 23
    refused = runner.invoke(cli, ["render", str(script), "-o", str(tmp_path / "x.mp3"),
                                  "--bits", "24"])
    assert refused.exit_code == 2
    assert refused.stderr == "error: --bits 24 is for flac and wav files, not mp3\n"
    assert not (tmp_path / "x.mp3").exists()


# --- M4B and M4A ----------------------------------------------------------------------

def _boxes(data: bytes) -> dict[bytes, bytes]:
    """The boxes directly inside `data`, by name (the last of each name)."""
    found, position = {}, 0
    while position + 8 <= len(data):
        size, name = struct.unpack(">I4s", data[position: position + 8])
        found[name] = data[position + 8: position + size]
        position += max(size, 8)
    return found


def _tracks(path: Path) -> list[dict[str, Any]]:
    """Each trak's id, handler and chapter references, read from the file's own bytes."""
    tracks = []
    with open(path, "rb") as handle:
        atoms = Atoms(handle)
        for trak in atoms[(b"moov",)].findall(b"trak"):
            _, body = trak.read(handle)
            inner = _boxes(body)
            tkhd = inner[b"tkhd"]
            track_id = struct.unpack(">I", tkhd[20:24] if tkhd[0] == 1 else tkhd[12:16])[0]
            handler = _boxes(inner[b"mdia"])[b"hdlr"][8:12]
            chap = _boxes(inner.get(b"tref", b"")).get(b"chap", b"")
            refs = [struct.unpack(">I", chap[i: i + 4])[0] for i in range(0, len(chap), 4)]
            tracks.append({"id": track_id, "handler": handler, "chap": refs})
    return tracks


def _nero_chapters(path: Path) -> list[tuple[int, str]]:
    """(start in 100 ns units, title) from the `chpl` atom in moov/udta."""
    with open(path, "rb") as handle:
        atoms = Atoms(handle)
        _, udta = atoms[(b"moov", b"udta")].read(handle)
    chpl = _boxes(udta)[b"chpl"]
    count, position, found = chpl[8], 9, []
    for _ in range(count):
        start, length = struct.unpack(">QB", chpl[position: position + 9])
        title = chpl[position + 9: position + 9 + length].decode("utf-8")
        found.append((start, title))
        position += 9 + length
    return found


@needs_ffprobe
def test_m4b_is_an_audiobook_with_both_kinds_of_chapters_tags_cover_and_exact_length(
        write_script: WriteScript, tmp_path: Path) -> None:
    result = render_file(write_script(SESSION), tmp_path / "book.m4b", DRAFT,
                         ExportOptions(track="3/12"))
    path, timeline = result.path, result.timeline
    assert result.format == "m4b" and path.read_bytes()[4:12] == b"ftypM4B "
    probed = ffprobe(path, "-show_streams", "-show_format")
    audio = [s for s in probed["streams"] if s["codec_type"] == "audio"]
    assert [s["codec_name"] for s in audio] == ["aac"]
    # Gapless: the edit list hides the encoder's priming and padding, so the track is
    # exactly the rendered samples (ffprobe reads the edit list; mutagen reads iTunSMPB).
    assert int(audio[0]["duration_ts"]) == timeline.length
    assert float(audio[0]["start_time"]) == 0.0
    timing = audio_timing(path)
    assert timing is not None and timing.samples == timeline.length and timing.delay >= 1024
    tags = MP4(str(path)).tags
    assert tags is not None
    smpb = str(tags["----:com.apple.iTunes:iTunSMPB"][0].decode()).split()
    assert int(smpb[1], 16) == timing.delay and int(smpb[3], 16) == timeline.length
    assert int(smpb[2], 16) == timing.padding and 0 <= timing.padding < 1024
    # The index comes first (faststart), so a player can start before the whole download.
    top = [atom.name for atom in Atoms(io.BytesIO(path.read_bytes())).atoms]
    assert top.index(b"moov") < top.index(b"mdat")
    # Chapters as ffprobe reads them (from the QuickTime chapter track) ...
    read = chapters_read(path)
    assert [title for _, title in read] == TITLES
    # ... a chapter track, referenced by the sound track through tref/chap ...
    tracks = _tracks(path)
    sound = next(t for t in tracks if t["handler"] == b"soun")
    (chapter_track,) = [t for t in tracks if t["id"] in sound["chap"]]
    assert chapter_track["handler"] == b"text"
    # ... and Nero chapters (chpl) with the same starts and titles.
    nero = _nero_chapters(path)
    assert [title for _, title in nero] == TITLES
    for (start, _), (track_start, _) in zip(nero, read, strict=True):
        # chpl counts in 100 ns, the chapter track in samples: the same time to a sample.
        assert abs(Fraction(start, 10_000_000) - track_start) <= Fraction(1, 44100)
    # iTunes atoms.
    assert tags["\xa9nam"] == ["Formats check"] and tags["\xa9ART"] == ["A. Tester"]
    assert tags["\xa9alb"] == ["Evening set"] and tags["\xa9gen"] == ["Relaxation"]
    assert tags["\xa9day"] == ["2026"] and tags["trkn"] == [(3, 12)]
    assert tags["\xa9cmt"] == ["Every player should read this file right."]
    assert tags["stik"] == [2]  # audiobook
    assert tags["\xa9too"][0].startswith("audioguide ")
    cover = Image.open(io.BytesIO(bytes(tags["covr"][0])))
    assert (cover.format, cover.size) == ("PNG", (1400, 1400))
    # What the track's decoded audio sounds like: the tone is there, at its place.
    decoded = decode(path, 44100, 2)
    tone = next(c for c in timeline.clips if c.kind == "tone")
    middle = decoded[tone.start + 11025: tone.start + 44100, 0]
    spectrum = np.abs(np.fft.rfft(middle * np.hanning(len(middle))))
    assert np.argmax(spectrum) * 44100 / len(middle) == pytest.approx(220, abs=3)


@needs_mediainfo
def test_mediainfo_sees_both_chapter_lists_and_the_cover(write_script: WriteScript,
                                                          tmp_path: Path) -> None:
    path = render_file(write_script(SESSION), tmp_path / "book.m4b", DRAFT, QUIET).path
    assert MEDIAINFO is not None
    report = json.loads(subprocess.run([MEDIAINFO, "--Output=JSON", str(path)],
                                       capture_output=True, text=True, check=True).stdout)
    tracks = report["media"]["track"]
    general = next(t for t in tracks if t["@type"] == "General")
    assert general["Cover"] == "Yes" and general["ContentType"] == "Audiobook"
    assert general["Track"] == "Formats check" and general["Album"] == "Evening set"
    menus = [t for t in tracks if t["@type"] == "Menu"]
    # One from the QuickTime chapter track (Timed Text), one from Nero's chpl.
    assert len(menus) == 2 and any(m.get("Format") == "Timed Text" for m in menus)
    for menu in menus:
        assert [v for k, v in menu["extra"].items() if k.startswith("_")] == TITLES


@needs_ffprobe
def test_m4a_from_the_extension_is_plain_music(write_script: WriteScript,
                                               tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["render", str(write_script(SESSION)), "-o",
                                      str(tmp_path / "song.m4a"), "--bitrate", "64", "-q"])
    assert result.exit_code == 0, result.output
    path = tmp_path / "song.m4a"
    assert path.read_bytes()[4:12] == b"ftypM4A "
    tags = MP4(str(path)).tags
    assert tags is not None and "stik" not in tags and tags["\xa9nam"] == ["Formats check"]
    (audio,) = [s for s in ffprobe(path, "-show_streams")["streams"]
                if s["codec_type"] == "audio"]
    assert audio["codec_name"] == "aac" and int(audio["bit_rate"]) < 80_000
    assert [title for _, title in chapters_read(path)] == TITLES


# --- chapter starts -------------------------------------------------------------------

@needs_ffprobe
@pytest.mark.parametrize("name", ["a.mp3", "a.ogg", "a.opus", "a.flac", "a.m4b"])
def test_chapters_start_on_or_just_after_their_first_sample(
        write_script: WriteScript, tmp_path: Path, name: str) -> None:
    result = render_file(write_script(SESSION), tmp_path / name, DRAFT, QUIET)
    rate = result.timeline.sample_rate
    firsts = [chapter.start for chapter in result.timeline.chapters]
    # At least one section starts between two milliseconds, where rounding down would
    # put the chapter (and a player seeking to it) on the previous section's last sample.
    assert any(first * 1000 % rate for first in firsts)
    read = chapters_read(result.path)
    assert [title for _, title in read] == TITLES
    for (start_s, _), first in zip(read, firsts, strict=True):
        assert 0 <= start_s - Fraction(first, rate) <= Fraction(1, 1000)


# --- track totals ---------------------------------------------------------------------

@pytest.mark.parametrize("name", ["t.ogg", "t.flac", "t.opus"])
def test_vorbis_comments_carry_the_track_and_the_total_apart(
        write_script: WriteScript, tmp_path: Path, name: str) -> None:
    path = render_file(write_script(SESSION), tmp_path / name, DRAFT,
                       ExportOptions(track="1/2", loudness_lufs=None)).path
    tags = mutagen.File(str(path)).tags
    assert tags["TRACKNUMBER"] == ["1"] and tags["TRACKTOTAL"] == ["2"]


def test_a_track_that_is_not_a_number_is_refused_first(write_script: WriteScript,
                                                        tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["render", str(write_script(SESSION)), "-o",
                                      str(tmp_path / "x.ogg"), "--track", "three"])
    assert result.exit_code == 2
    assert result.stderr == ("error: --track three: expected a track number like 3, or 3/12 "
                             "for the third of twelve\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.yaml"]


# --- cover art ------------------------------------------------------------------------

def embedded_cover(path: Path) -> bytes | None:
    """The front cover's bytes, read back with mutagen the way each format keeps it."""
    audio = mutagen.File(str(path))
    suffix = path.suffix
    if suffix == ".mp3":
        pictures = audio.tags.getall("APIC")
        return bytes(pictures[0].data) if pictures else None
    if suffix == ".flac":
        return bytes(audio.pictures[0].data) if audio.pictures else None
    if suffix in (".ogg", ".opus"):
        blocks = audio.tags.get("METADATA_BLOCK_PICTURE", [])
        return bytes(Picture(base64.b64decode(blocks[0])).data) if blocks else None
    if suffix in (".m4b", ".m4a"):
        covers = (audio.tags or {}).get("covr", [])
        return bytes(covers[0]) if covers else None
    raise AssertionError(suffix)


FORMATS = ["c.mp3", "c.ogg", "c.opus", "c.flac", "c.m4b", "c.m4a"]


@needs_ffprobe
def test_every_format_but_wav_carries_the_same_generated_cover(write_script: WriteScript,
                                                               tmp_path: Path) -> None:
    script = write_script(SESSION)
    found = {}
    for name in FORMATS:
        path = render_file(script, tmp_path / name, DRAFT, QUIET).path
        found[name] = embedded_cover(path)
        # ffprobe sees it too, as an attached picture.
        pictures = [s for s in ffprobe(path, "-show_streams")["streams"]
                    if s["codec_type"] == "video"]
        assert [(s["codec_name"], s["width"], s["height"]) for s in pictures] == [
            ("png", 1400, 1400)], name
    first = found["c.mp3"]
    assert first is not None and all(data == first for data in found.values())
    image = Image.open(io.BytesIO(first))
    assert (image.format, image.size, image.mode) == ("PNG", (1400, 1400), "RGB")
    assert first == draw_cover("Formats check", "breathing")
    wav = render_file(script, tmp_path / "c.wav", DRAFT, QUIET).path
    assert b"APIC" not in wav.read_bytes() and b"PNG" not in wav.read_bytes()


def _image(path: Path, size: tuple[int, int], kind: str, colour: str = "#7a9") -> Path:
    Image.new("RGB", size, colour).save(path, format=kind)
    return path


@pytest.mark.parametrize("name", FORMATS)
def test_the_script_cover_and_the_option_win_and_none_leaves_it_out(
        write_script: WriteScript, tmp_path: Path, name: str) -> None:
    art = _image(tmp_path / "art.jpg", (600, 600), "JPEG")
    other = _image(tmp_path / "other.png", (500, 500), "PNG", "#a97")
    script = write_script(SESSION + "cover: art.jpg\n")
    from_script = render_file(script, tmp_path / name, DRAFT, QUIET).path
    assert embedded_cover(from_script) == art.read_bytes()
    runner = CliRunner()
    result = runner.invoke(cli, ["render", str(script), "-o", str(tmp_path / name), "--cover",
                                 str(other), "--loudness", "off", "-q"])
    assert result.exit_code == 0, result.output
    assert embedded_cover(tmp_path / name) == other.read_bytes()
    result = runner.invoke(cli, ["render", str(script), "-o", str(tmp_path / name), "--cover",
                                 "none", "--loudness", "off", "-q"])
    assert result.exit_code == 0, result.output
    assert embedded_cover(tmp_path / name) is None


def test_cover_none_in_the_script(write_script: WriteScript, tmp_path: Path) -> None:
    script = write_script(SESSION + "cover: none\n")
    assert embedded_cover(render_file(script, tmp_path / "x.mp3", DRAFT, QUIET).path) is None


@pytest.mark.parametrize(("make", "message"), [
    (lambda folder: folder / "missing.png",
     "file not found: {folder}/missing.png (paths are relative to the folder of the file that "
     "names them)"),
    (lambda folder: (folder / "notes.png").write_text("not a picture") and folder / "notes.png",
     "notes.png is not a PNG or JPEG image"),
    (lambda folder: _image(folder / "anim.gif", (10, 10), "GIF"),
     "anim.gif is a GIF image; a cover must be PNG or JPEG"),
    (lambda folder: _image(folder / "wide.png", (8001, 8), "PNG"),
     "wide.png is 8001×8 pixels; a cover may be at most 8000×8000"),
    (lambda folder: (folder / "huge.jpg").write_bytes(b"\xff" * (MAX_COVER_BYTES + 1))
     and folder / "huge.jpg",
     "huge.jpg is 10.0 MB; a cover may be at most 10 MB (save it smaller, such as 1400×1400 "
     "pixels)"),
])
def test_a_bad_cover_is_one_located_line_before_any_work(
        write_script: WriteScript, tmp_path: Path, make: Any, message: str) -> None:
    bad = make(tmp_path)
    expected = message.format(folder=tmp_path)
    script = write_script(SESSION + f"cover: {bad.name}\n")
    line = SESSION.count("\n")   # the cover: line, after the session's lines
    runner = CliRunner()
    result = runner.invoke(cli, ["render", str(script), "-o", str(tmp_path / "out.mp3")])
    assert result.exit_code == 2
    assert result.stderr == f"{script}:{line}:8: cover: {expected}\n"
    plain = write_script(SESSION, "plain.yaml")
    result = runner.invoke(cli, ["render", str(plain), "-o", str(tmp_path / "out.mp3"),
                                 "--cover", str(bad)])
    assert result.exit_code == 2
    shown = expected.replace(f"{tmp_path}/missing.png (paths are relative to the folder of "
                             "the file that names them)", f"{bad}")
    assert result.stderr == f"error: --cover {bad}: {shown}\n"
    assert not (tmp_path / "out.mp3").exists()


def test_the_generated_cover_is_deterministic_cached_and_coloured_by_kind(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert set(KINDS) <= set(PALETTES)   # every kind of session has its colours
    first = generated_cover("Safe Place", "visualization", tmp_path)
    cached = list((tmp_path / "covers").iterdir())
    assert len(cached) == 1 and cached[0].read_bytes() == first.data
    assert first.data == draw_cover("Safe Place", "visualization")

    def no_drawing(title: str, kind: str) -> bytes:
        raise AssertionError("drawn again")

    monkeypatch.setattr("audioguide.cover.draw_cover", no_drawing)
    assert generated_cover("Safe Place", "visualization", tmp_path).data == first.data
    monkeypatch.undo()
    corners = {kind: Image.open(io.BytesIO(draw_cover("Safe Place", kind))).getpixel((2, 2))
               for kind in ("breathing", "writing", "together")}
    assert len(set(corners.values())) == 3
    # A long title still fits: four lines at most, nothing drawn past the margins.
    long = Image.open(io.BytesIO(draw_cover("A very long title " * 12, "sound")))
    margin = np.asarray(long)[:, :60]
    assert margin.std(axis=1).max() < 2   # the left margin is only the smooth gradient
    assert read_cover(cached[0]).mime == "image/png"


# --- playlists: lengths from the decoded audio, and the mix's cover -------------------

def _tone(path: Path, seconds: float, rate: int = 44100, *extra: str) -> Path:
    subprocess.run([find_ffmpeg().path, "-v", "error", "-y", "-f", "lavfi", "-i",
                    f"sine=f=330:d={seconds}:r={rate}", "-ac", "2", *extra, str(path)],
                   check=True)
    return path


def test_m3u8_lengths_are_what_players_play(tmp_path: Path) -> None:
    music = tmp_path / "music"
    music.mkdir()
    files = [_tone(music / "a.mp3", 3.3), _tone(music / "b.ogg", 3.3),
             _tone(music / "c.opus", 3.3, 48000), _tone(music / "d.flac", 3.3),
             _tone(music / "e.wav", 3.3), _tone(music / "f.m4a", 3.3)]
    playlist = tmp_path / "p.yaml"
    playlist.write_text("playlist: Lengths\ntracks:\n  - folder: music\n", encoding="utf-8")
    result = build_playlist(playlist)
    assert result.m3u8 is not None
    lines = result.m3u8.read_text("utf-8").splitlines()
    lengths = [line.split(":", 1)[1].split(",", 1)[0] for line in lines
               if line.startswith("#EXTINF:")]
    assert lengths == ["3.300"] * len(files)
    # The MP3's header length counts the encoder's padding: the old, wrong figure.
    assert probe(files[0]).seconds > 3.32


@needs_ffprobe
def test_the_mix_takes_the_playlist_cover_or_draws_one(tmp_path: Path) -> None:
    _tone(tmp_path / "one.mp3", 2.0)
    _tone(tmp_path / "two.flac", 2.0)
    art = _image(tmp_path / "mix.png", (800, 800), "PNG")
    playlist = tmp_path / "p.yaml"
    playlist.write_text("playlist: Evening mix\ncover: mix.png\ntracks:\n  - one.mp3\n"
                        "  - two.flac\n", encoding="utf-8")
    result = build_playlist(playlist, mix=tmp_path / "mix.m4b")
    assert embedded_cover(tmp_path / "mix.m4b") == art.read_bytes()
    assert [title for _, title in chapters_read(tmp_path / "mix.m4b")] == ["one", "two"]
    assert result.chapters[1].start_ms >= 2000
    playlist.write_text("playlist: Evening mix\ntracks:\n  - one.mp3\n  - two.flac\n",
                        encoding="utf-8")
    build_playlist(playlist, mix=tmp_path / "mix.mp3")
    assert embedded_cover(tmp_path / "mix.mp3") == draw_cover("Evening mix", "playlist")
    playlist.write_text("playlist: Evening mix\ncover: nope.png\ntracks:\n  - one.mp3\n",
                        encoding="utf-8")
    refused = CliRunner().invoke(cli, ["playlist", "build", str(playlist), "--mix",
                                       str(tmp_path / "again.mp3")])
    assert refused.exit_code == 2
    assert refused.stderr == (f"{playlist}:2:8: cover: file not found: "
                              f"{tmp_path}/nope.png (paths are relative to the folder of the "
                              "file that names them)\n")


def test_an_unwritable_folder_for_an_m4b_is_exit_1(write_script: WriteScript) -> None:
    result = CliRunner().invoke(cli, ["render", str(write_script(SESSION)), "-o",
                                      "/proc/audioguide-test.m4b", "--loudness", "off"])
    assert result.exit_code == 1
    assert result.stderr.startswith("error: cannot write /proc/audioguide-test.m4b")
