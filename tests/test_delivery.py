"""Files that players respect: formats, tags, chapters and loudness, read back by real tools."""

import os
import re
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path

import mutagen
import numpy as np
import pyloudnorm
import pytest
from click.testing import CliRunner
from scipy.signal import resample_poly

from audioguide.cli import cli
from audioguide.jobs.options import ExportOptions, RenderOptions
from audioguide.jobs.render import render_file
from audioguide.media import decode

from conftest import WriteScript

SESSION = """
title: Delivery check
author: A. Tester
album: Evening set
genre: Relaxation
date: "2026"
description: Sections become chapters; the level is normalised.
voice: {engine: draft}
bed: {sound: pink, level: -26dB}
steps:
  - section: Arriving
  - bell: soft
  - say: Welcome. Let us begin with a few slow breaths.
  - section: Breathing
  - breathe: {pattern: [3, 4], cycles: 2, cue: tone, level: -14dB}
  - section: Closing
  - say: That is all for now.
  - tone: {hz: 180, duration: 3s, level: -6dB}
"""

DRAFT = RenderOptions(engine="draft")


def true_peak_dbtp(audio: np.ndarray) -> float:
    up = resample_poly(audio.astype(np.float64), 4, 1, axis=0)
    return float(20 * np.log10(np.max(np.abs(up))))


def integrated_lufs(audio: np.ndarray, rate: int = 44100) -> float:
    return float(pyloudnorm.Meter(rate).integrated_loudness(audio.astype(np.float64)))


def chapter_starts_ms(timeline: object) -> list[int]:
    """Each chapter's first sample, rounded up to the millisecond (a seek lands inside it)."""
    rate = timeline.sample_rate  # type: ignore[attr-defined]
    return [-(-c.start * 1000 // rate) for c in timeline.chapters]  # type: ignore[attr-defined]


@pytest.mark.real
@pytest.mark.parametrize(("name", "codec"), [("out.mp3", None), ("out.ogg", "vorbis"),
                                             ("out.opus", "opus"), ("out.flac", None)])
def test_each_format_reads_back_with_tags_chapters_and_length(
        write_script: WriteScript, tmp_path: Path, name: str, codec: str | None) -> None:
    result = render_file(write_script(SESSION), tmp_path / name, DRAFT,
                         ExportOptions(track="3/12"))
    timeline = result.timeline
    info = mutagen.File(result.path)
    assert info is not None
    # Decoded (ffmpeg honours the encoder delay and padding it wrote): within one MP3
    # frame of the timeline. mutagen's header estimate does not subtract Lavc's delay and
    # padding, so it may be up to two frames long.
    decoded = decode(result.path, 44100, 2)
    assert abs(len(decoded) - timeline.length) <= 1152
    assert abs(info.info.length - timeline.seconds) <= 2 * 1152 / 44100
    titles = ["Arriving", "Breathing", "Closing"]
    starts = chapter_starts_ms(timeline)
    if name.endswith(".mp3"):
        tags = info.tags
        assert tags.version == (2, 4, 0)
        assert str(tags["TIT2"]) == "Delivery check" and str(tags["TPE1"]) == "A. Tester"
        assert str(tags["TALB"]) == "Evening set" and str(tags["TCON"]) == "Relaxation"
        assert str(tags["TDRC"]) == "2026" and str(tags["TRCK"]) == "3/12"
        assert str(tags["TXXX:AUDIOGUIDE_SOURCE"]) == "s.yaml"
        assert str(tags["COMM::eng"]).startswith("Sections become chapters")
        (toc,) = tags.getall("CTOC")
        chaps = {c.element_id: c for c in tags.getall("CHAP")}
        ordered = [chaps[i] for i in toc.child_element_ids]
        assert [str(c.sub_frames["TIT2"]) for c in ordered] == titles
        assert [c.start_time for c in ordered] == starts
        assert ordered[-1].end_time == -(-timeline.length * 1000 // 44100)
    else:
        tags = info.tags
        assert tags["TITLE"] == ["Delivery check"] and tags["ARTIST"] == ["A. Tester"]
        assert tags["ALBUM"] == ["Evening set"] and tags["GENRE"] == ["Relaxation"]
        assert tags["DATE"] == ["2026"]
        assert tags["TRACKNUMBER"] == ["3"] and tags["TRACKTOTAL"] == ["12"]
        assert [tags[f"CHAPTER{i:03d}NAME"][0] for i in (1, 2, 3)] == titles
        read = [tags[f"CHAPTER{i:03d}"][0] for i in (1, 2, 3)]
        assert read == [f"{ms // 3600000:02d}:{ms // 60000 % 60:02d}:{ms // 1000 % 60:02d}."
                        f"{ms % 1000:03d}" for ms in starts]
    if codec == "opus":
        assert type(info).__name__ == "OggOpus"


@pytest.mark.real
@pytest.mark.parametrize("name", ["out.mp3", "out.wav"])
@pytest.mark.parametrize("target", [-16.0, -23.0])
def test_loudness_lands_on_target_with_true_peaks_under_minus_one(
        write_script: WriteScript, tmp_path: Path, name: str, target: float) -> None:
    result = render_file(write_script(SESSION), tmp_path / name, DRAFT,
                         ExportOptions(loudness_lufs=target))
    audio = decode(result.path, 44100, 2)
    assert integrated_lufs(audio) == pytest.approx(target, abs=0.5)
    assert true_peak_dbtp(audio) <= -1.0
    assert result.measured is not None
    assert result.gain_db == pytest.approx(target - result.measured.integrated_lufs, abs=1.5)


def test_loudness_off_keeps_levels_as_written(write_script: WriteScript, tmp_path: Path) -> None:
    path = write_script(SESSION)
    off = render_file(path, tmp_path / "off.wav", DRAFT, ExportOptions(loudness_lufs=None))
    normal = render_file(path, tmp_path / "normal.wav", DRAFT)
    assert off.measured is None and off.gain_db == 0.0
    quiet, loud = decode(off.path, 44100, 2), decode(normal.path, 44100, 2)
    # The tone step is far from any limiting: its level differs by exactly the gain.
    tone = next(c for c in off.timeline.clips if c.kind == "tone")
    middle = slice(tone.start + 44100, tone.start + 88200)
    ratio = np.sqrt(np.mean(loud[middle] ** 2) / np.mean(quiet[middle] ** 2))
    assert 20 * np.log10(ratio) == pytest.approx(normal.gain_db, abs=0.05)


def _info_chunk(path: Path) -> dict[str, str]:
    data = path.read_bytes()
    assert data[:4] == b"RIFF" and struct.unpack("<I", data[4:8])[0] == len(data) - 8
    position, found = 12, {}
    while position < len(data):
        chunk, size = data[position: position + 4], struct.unpack(
            "<I", data[position + 4: position + 8])[0]
        if chunk == b"LIST" and data[position + 8: position + 12] == b"INFO":
            inner = position + 12
            while inner < position + 8 + size:
                key, length = data[inner: inner + 4], struct.unpack(
                    "<I", data[inner + 4: inner + 8])[0]
                found[key.decode()] = data[inner + 8: inner + 8 + length].rstrip(b"\0").decode()
                inner += 8 + length + (length % 2)
        position += 8 + size + (size % 2)
    return found


def test_wav_carries_an_info_chunk(write_script: WriteScript, tmp_path: Path) -> None:
    result = render_file(write_script(SESSION), tmp_path / "out.wav", DRAFT)
    info = _info_chunk(result.path)
    assert info["INAM"] == "Delivery check" and info["IART"] == "A. Tester"
    assert info["IPRD"] == "Evening set" and info["IGNR"] == "Relaxation"
    assert info["ICRD"] == "2026" and info["ISFT"].startswith("audioguide ")
    # Only the fields RIFF INFO has for these tags (the script's name has none: not ISRC).
    assert set(info) == {"INAM", "IART", "IPRD", "IGNR", "ICMT", "ICRD", "ISFT"}


def test_the_date_is_today_unless_the_script_or_environment_says(
        write_script: WriteScript, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import datetime

    path = write_script("voice: {engine: draft}\nsteps:\n  - say: Dated.\n")
    today = render_file(path, tmp_path / "a.wav", DRAFT, ExportOptions(loudness_lufs=None))
    assert _info_chunk(today.path)["ICRD"] == datetime.date.today().isoformat()
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    fixed = render_file(path, tmp_path / "b.wav", DRAFT, ExportOptions(loudness_lufs=None))
    assert _info_chunk(fixed.path)["ICRD"] == "2023-11-14"


@pytest.mark.real
def test_chapter_sidecars(write_script: WriteScript, tmp_path: Path) -> None:
    script = write_script(SESSION)
    runner = CliRunner()
    for sidecar in ("chapters.txt", "chapters.ffmetadata"):
        result = runner.invoke(cli, ["render", str(script), "-o", str(tmp_path / "x.wav"),
                                     "--chapters", str(tmp_path / sidecar), "--loudness", "off"])
        assert result.exit_code == 0, result.output
    text = (tmp_path / "chapters.txt").read_text("utf-8").splitlines()
    assert [line.split(" ", 1)[1] for line in text] == ["Arriving", "Breathing", "Closing"]
    assert text[0] == "00:00:00.000 Arriving"
    meta = (tmp_path / "chapters.ffmetadata").read_text("utf-8")
    assert meta.startswith(";FFMETADATA1\ntitle=Delivery check\n")
    assert meta.count("[CHAPTER]") == 3 and "title=Closing" in meta


def test_output_over_the_script_itself_is_refused(write_script: WriteScript) -> None:
    script = write_script(SESSION, "session.wav")
    result = CliRunner().invoke(cli, ["render", str(script), "-o", str(script)])
    assert result.exit_code == 2
    assert result.stderr == f"error: {script} is the script itself; choose another output with -o\n"
    assert script.read_text("utf-8").startswith("\ntitle: Delivery check") or \
        script.read_text("utf-8").startswith("title: Delivery check")


def test_an_unwritable_destination_is_one_clear_error(write_script: WriteScript) -> None:
    result = CliRunner().invoke(cli, ["render", str(write_script(SESSION)), "-o",
                                      "/proc/audioguide-test.wav", "--loudness", "off"])
    assert result.exit_code == 1
    assert result.stderr.startswith("error: cannot write /proc/audioguide-test.wav")


@pytest.mark.real
def test_mp3_bitrate_and_quality_and_opus(write_script: WriteScript, tmp_path: Path) -> None:
    script = write_script(SESSION)
    cbr = render_file(script, tmp_path / "cbr.mp3", DRAFT,
                      ExportOptions(bitrate_kbps=128, loudness_lufs=None))
    from mutagen.mp3 import BitrateMode

    info = mutagen.File(cbr.path).info
    assert info.bitrate_mode == BitrateMode.CBR and info.bitrate == 128000
    vbr = render_file(script, tmp_path / "vbr.mp3", DRAFT,
                      ExportOptions(quality=6, loudness_lufs=None))
    assert mutagen.File(vbr.path).info.bitrate_mode == BitrateMode.VBR
    opus = render_file(script, tmp_path / "x.ogg", DRAFT,
                       ExportOptions(codec="opus", bitrate_kbps=48, loudness_lufs=None))
    assert type(mutagen.File(opus.path)).__name__ == "OggOpus"


def test_inspect_reports_loudness_without_writing(write_script: WriteScript,
                                                  tmp_path: Path) -> None:
    script = write_script(SESSION)
    result = CliRunner().invoke(cli, ["inspect", str(script), "--loudness"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[-2].startswith("loudness as written: -")
    assert " LUFS integrated, true peak " in lines[-2] and lines[-2].endswith(" LU")
    assert re.fullmatch(r"normalisation: [+-]\d+\.\d dB to reach -16 LUFS, true peaks held at "
                        r"or below -1 dBTP", lines[-1])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.yaml"]


@pytest.mark.real
def test_a_killed_export_keeps_the_old_file_and_leaves_no_litter(
        write_script: WriteScript, tmp_path: Path) -> None:
    script = write_script("""
        voice: {engine: draft}
        bed: {sound: brown, level: -24dB}
        steps:
          - say: A long one, to be killed while it encodes.
          - at: 40m
    """)
    target = tmp_path / "session.mp3"
    target.write_bytes(b"yesterday's good render")
    command = [sys.executable, "-m", "audioguide", "render", str(script), "-o", str(target),
               "--loudness", "off"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    deadline = time.monotonic() + 60
    part: list[Path] = []
    while time.monotonic() < deadline and not part:
        part = [p for p in tmp_path.iterdir() if p.name.endswith(".part")
                and p.stat().st_size > 100_000]
        time.sleep(0.05)
    assert part, "the export never started writing"
    os.killpg(process.pid, signal.SIGKILL)  # the render and its ffmpeg, mid-encode
    process.wait()
    assert target.read_bytes() == b"yesterday's good render"
    assert [p for p in tmp_path.iterdir() if p.name.endswith(".part")]  # litter, for now
    short = write_script("voice: {engine: draft}\nsteps:\n  - say: Done.\n", "short.yaml")
    done = subprocess.run([sys.executable, "-m", "audioguide", "render", str(short), "-o",
                           str(target)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.yaml", "session.mp3", "short.yaml"]
    assert mutagen.File(target) is not None


@pytest.mark.real
def test_an_unchanged_session_is_measured_once(write_script: WriteScript, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    import audioguide.jobs.render as pipeline_module

    calls: list[float] = []
    real_measure = pipeline_module.measure

    def counting_measure(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(kwargs.get("gain_db", 0.0))
        return real_measure(*args, **kwargs)

    monkeypatch.setattr(pipeline_module, "measure", counting_measure)
    bed = tmp_path / "bed.wav"
    rate = 44100
    tone = (0.2 * np.sin(2 * np.pi * 110 * np.arange(rate * 2) / rate) * 32767).astype("<i2")
    import wave

    def write_bed(data: np.ndarray) -> None:
        with wave.open(str(bed), "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(rate)
            out.writeframes(data.tobytes())

    write_bed(tone)
    path = write_script(SESSION.replace("bed: {sound: pink, level: -26dB}",
                                        "bed: {sound: bed.wav, level: -6dB}"))
    first = render_file(path, tmp_path / "one.wav", DRAFT)
    measured = len(calls)
    assert measured >= 1
    second = render_file(path, tmp_path / "two.wav", DRAFT)
    assert len(calls) == measured  # remembered: straight to the final pass
    assert (second.measured, second.gain_db) == (first.measured, first.gain_db)
    assert (tmp_path / "one.wav").read_bytes() == (tmp_path / "two.wav").read_bytes()
    time.sleep(0.01)
    write_bed(tone * 4)  # a louder bed in the same file: the mix changed
    third = render_file(path, tmp_path / "three.wav", DRAFT)
    assert len(calls) > measured
    assert third.measured is not None and first.measured is not None
    assert third.measured.integrated_lufs > first.measured.integrated_lufs + 1
