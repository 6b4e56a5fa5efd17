"""The public Python API (`import audioguide`): the same timing and audio as the commands."""

from __future__ import annotations

import subprocess
import sys
import wave
from pathlib import Path

import numpy as np
import pydub
import pydub.generators
import pytest

import audioguide

from conftest import WriteScript

SHORT = """
title: From Python
voice: {engine: draft}
output: {sample_rate: 22050, channels: 1}
steps:
  - section: One
  - pause: 0.5s
  - tone: {hz: 440, duration: 1s}
  - say: A few words.
  - section: Two
  - bell: soft
"""


def test_everything_public_is_in_all_and_documented() -> None:
    import audioguide.jobs.live  # noqa: F401 - loads every package, `render` too

    assert audioguide.render.__module__ == audioguide.play.__module__ == "audioguide"
    for name in audioguide.__all__:
        assert hasattr(audioguide, name), name
        value = getattr(audioguide, name)
        if callable(value):
            assert (value.__doc__ or "").strip(), name


def test_the_readme_example_prints_the_length_in_milliseconds(tmp_path: Path) -> None:
    code = ("import audioguide; s = audioguide.load_session('box-breathing'); "
            "audioguide.render(s, 'x.wav', engine='draft'); "
            "print(len(audioguide.to_segment(s, engine='draft')))")
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "264000\n"
    with wave.open(str(tmp_path / "x.wav")) as written:
        assert written.getnframes() == 264 * 44100


def test_blocks_segment_and_timeline_agree(write_script: WriteScript) -> None:
    session = audioguide.load_session(write_script(SHORT))
    timeline = audioguide.compile_timeline(session)
    assert [chapter.title for chapter in timeline.chapters] == ["One", "Two"]
    parts = list(audioguide.blocks(session))
    assert all(part.dtype == np.float32 and part.shape[1] == 1 for part in parts)
    audio = np.concatenate(parts)
    assert len(audio) == timeline.length
    segment = audioguide.to_segment(session)
    assert (segment.frame_rate, segment.channels, segment.sample_width) == (22050, 1, 2)
    assert int(segment.frame_count()) == timeline.length
    samples = np.array(segment.get_array_of_samples(), dtype=np.float32) / 32767
    assert np.max(np.abs(samples - audio[:, 0])) < 1 / 32767 + 1e-6
    # The tone sits exactly where the timeline put it.
    tone = next(clip for clip in timeline.clips if clip.kind == "tone")
    before, after = audio[tone.start - 200: tone.start, 0], audio[tone.start: tone.start + 11025, 0]
    assert np.max(np.abs(before)) < 1e-4 < 0.005 < np.sqrt(np.mean(after ** 2))


def test_render_writes_the_file_and_says_what_it_did(write_script: WriteScript,
                                                     tmp_path: Path) -> None:
    result = audioguide.render(write_script(SHORT), tmp_path / "out.wav", loudness=None)
    assert result.path == tmp_path / "out.wav" and result.format == "wav"
    with wave.open(str(result.path)) as written:
        assert written.getnframes() == result.timeline.length
    assert result.gain_db == 0.0                      # levels as written


def test_a_pydub_segment_becomes_a_sound_clip(write_script: WriteScript,
                                              tmp_path: Path) -> None:
    made = pydub.generators.Sine(330).to_audio_segment(duration=700).set_frame_rate(22050)
    path = audioguide.from_segment(made.set_channels(1), tmp_path)
    assert path.parent == tmp_path and path.suffix == ".wav"
    assert audioguide.from_segment(made.set_channels(1), tmp_path) == path   # by content
    script = write_script(f"voice: {{engine: draft}}\noutput: {{sample_rate: 22050, "
                          f"channels: 1}}\nsteps:\n  - pause: 0.5s\n  - sound: {{file: {path}}}\n")
    timeline = audioguide.compile_timeline(script)
    sound = next(clip for clip in timeline.clips if clip.kind == "sound")
    assert (sound.start, sound.length) == (11025, round(made.frame_count()))
    assert sound.length == 15435  # 0.7 s at 22.05 kHz


def test_errors_are_the_typed_tree(tmp_path: Path) -> None:
    with pytest.raises(audioguide.InputError):
        audioguide.load_session(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("steps:\n  - breathe: {pattern: boxx}\n", encoding="utf-8")
    with pytest.raises(audioguide.ScriptError) as caught:
        audioguide.load_session(bad)
    assert "did you mean 'box'" in str(caught.value)
    assert issubclass(audioguide.ScriptError, audioguide.AudioguideError)


def test_a_playlist_from_python(write_script: WriteScript, tmp_path: Path) -> None:
    audioguide.render(write_script(SHORT), tmp_path / "one.wav", loudness=None)
    playlist = tmp_path / "list.yaml"
    playlist.write_text("playlist: Mine\ntracks:\n  - one.wav\n", encoding="utf-8")
    result = audioguide.build_playlist(playlist)
    text = (tmp_path / "list.m3u8").read_text("utf-8")
    assert text.startswith("#EXTM3U") and "one.wav" in text
    assert len(result.tracks) == 1
