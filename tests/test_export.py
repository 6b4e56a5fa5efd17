import os
import stat
import wave
from collections.abc import Iterator
from pathlib import Path

import mutagen
import numpy as np
import pytest

from audioguide.errors import ExportError, InputError
from audioguide.ffmpeg import find_ffmpeg
from audioguide.jobs.options import RenderOptions
from audioguide.jobs.render import render_file
from audioguide.media import decode
from audioguide.output.export import ExportSettings, export, format_for

from conftest import BrokenFfmpeg, WriteScript

SCRIPT = """
title: Export check
author: A. Tester
description: Four formats, one session.
voice: {engine: draft}
steps:
  - section: Start
  - say: A short line to export.
  - tone: {hz: 330, duration: 2s}
  - bell: soft
"""


def tone_blocks(seconds: float = 2.0, rate: int = 44100, channels: int = 2,
                fail_after: int | None = None) -> Iterator[np.ndarray]:
    t = np.arange(int(seconds * rate)) / rate
    signal = (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    audio = np.repeat(signal[:, None], channels, axis=1)
    for count, start in enumerate(range(0, len(audio), 8192)):
        if fail_after is not None and count == fail_after:
            raise RuntimeError("the mixer broke")
        yield audio[start: start + 8192]


def test_wav_is_written_exactly(write_script: WriteScript, tmp_path: Path) -> None:
    result = render_file(write_script(SCRIPT), tmp_path / "out.wav",
                         options=RenderOptions(engine="draft"))
    with wave.open(str(result.path), "rb") as wav:
        assert wav.getnchannels() == 2 and wav.getframerate() == 44100
        assert wav.getsampwidth() == 2
        assert wav.getnframes() == result.timeline.length
    mode = result.path.stat().st_mode
    assert mode & stat.S_IRGRP  # an ordinary file, not a private temporary one


@pytest.mark.real
@pytest.mark.parametrize("fmt", ["mp3", "ogg", "flac"])
def test_encoded_formats_read_back_with_tags(write_script: WriteScript, tmp_path: Path,
                                             fmt: str) -> None:
    result = render_file(write_script(SCRIPT), tmp_path / f"out.{fmt}",
                         options=RenderOptions(engine="draft"))
    seconds = result.timeline.seconds
    info = mutagen.File(result.path, easy=True)
    assert info is not None
    assert info.info.length == pytest.approx(seconds, abs=0.06)
    assert info["title"] == ["Export check"]
    assert info["artist"] == ["A. Tester"]
    assert info["genre"] == ["Meditation"]
    decoded = decode(result.path, 44100, 2)
    assert abs(len(decoded) - result.timeline.length) <= 2048  # encoder padding at most
    # The tone step is there, at 330 Hz, after the spoken line.
    tone = next(c for c in result.timeline.clips if c.kind == "tone")
    middle = decoded[tone.start + 22050: tone.start + 66150, 0]
    spectrum = np.abs(np.fft.rfft(middle * np.hanning(len(middle))))
    assert np.argmax(spectrum) * 44100 / len(middle) == pytest.approx(330, abs=3)


@pytest.mark.real
def test_flac_is_lossless_at_16_bits(write_script: WriteScript, tmp_path: Path) -> None:
    path = write_script(SCRIPT)
    wav = render_file(path, tmp_path / "a.wav", options=RenderOptions(engine="draft")).path
    flac = render_file(path, tmp_path / "a.flac", options=RenderOptions(engine="draft")).path
    assert np.max(np.abs(decode(wav, 44100, 2) - decode(flac, 44100, 2))) <= 1.5 / 32768


def test_format_comes_from_the_option_or_the_extension() -> None:
    assert format_for(Path("a.MP3"), None) == "mp3"
    assert format_for(Path("a.oga"), None) == "ogg"
    assert format_for(Path("a.mp3"), "wav") == "wav"
    assert format_for(Path("book.M4B"), None) == "m4b"
    assert format_for(Path("song.m4a"), None) == "m4a"
    with pytest.raises(InputError) as caught:
        format_for(Path("session.audio"), None)
    assert str(caught.value) == ("cannot tell the format from 'session.audio'; end it in .mp3, "
                                 ".wav, .ogg, .flac, .m4b or .m4a, or pass --format")


@pytest.mark.parametrize("fmt", ["wav", "mp3"])
@pytest.mark.parametrize("failure", [RuntimeError, KeyboardInterrupt])
def test_a_failed_export_keeps_the_old_file(tmp_path: Path, fmt: str,
                                            failure: type[BaseException]) -> None:
    target = tmp_path / f"session.{fmt}"
    target.write_bytes(b"the previous render")

    def blocks() -> Iterator[np.ndarray]:
        yield from tone_blocks(1.0)
        raise failure("stopped half way")

    with pytest.raises(failure):
        export(blocks(), target, ExportSettings(fmt, 44100, 2))
    assert target.read_bytes() == b"the previous render"
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"session.{fmt}"]


def test_an_encoder_failure_is_one_clear_error(tmp_path: Path,
                                                broken_ffmpeg: BrokenFfmpeg) -> None:
    broken = broken_ffmpeg("Unknown encoder libmp3lame", 1)
    with pytest.raises(ExportError) as caught:
        export(tone_blocks(), tmp_path / "x.mp3", ExportSettings("mp3", 44100, 2))
    assert str(caught.value) == ("ffmpeg could not encode mp3 with libmp3lame (exit 1): Unknown "
                                 "encoder libmp3lame; try --format wav, or set AUDIOGUIDE_FFMPEG "
                                 "to an ffmpeg built with that encoder")
    assert list(tmp_path.iterdir()) == [broken]


def test_ffmpeg_is_found_without_a_system_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AUDIOGUIDE_FFMPEG", raising=False)
    found = find_ffmpeg({"PATH": "/nonexistent"})
    from pydub import AudioSegment

    assert AudioSegment.converter == found.path  # handed to pydub as well
    assert found.origin == "imageio-ffmpeg wheel"
    assert Path(found.path).is_file()


def test_a_bad_env_var_for_ffmpeg_says_so() -> None:
    with pytest.raises(Exception) as caught:
        find_ffmpeg({"AUDIOGUIDE_FFMPEG": "/no/such/ffmpeg", "PATH": os.defpath})
    assert str(caught.value) == ("AUDIOGUIDE_FFMPEG=/no/such/ffmpeg is not an ffmpeg binary; "
                                 "fix or unset it")


def test_mono_and_other_rates(write_script: WriteScript, tmp_path: Path) -> None:
    options = RenderOptions(engine="draft", sample_rate=22050, channels=1)
    result = render_file(write_script(SCRIPT), tmp_path / "mono.wav", options=options)
    with wave.open(str(result.path), "rb") as wav:
        assert (wav.getnchannels(), wav.getframerate()) == (1, 22050)
        assert wav.getnframes() == result.timeline.length
