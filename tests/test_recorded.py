"""The recorded voice: lines read by a person, matched to the script, trimmed and levelled."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from audioguide.cli import cli
from audioguide.ffmpeg import find_ffmpeg
from audioguide.jobs.options import RenderOptions
from audioguide.voices.recorded import RecordingFolder, number_lines, slugify

from conftest import WriteScript, dominant_hz, render_array

RATE = 44100


def make_recording(path: Path, hz: float, *, seconds: float = 1.5, level_db: float = -12.0,
                   lead_s: float = 0.8, tail_s: float = 1.2, noise_db: float = -62.0) -> None:
    """A stand-in for a phone recording: a voiced buzz between stretches of room noise."""
    rng = np.random.default_rng(int(hz))
    t = np.arange(int(seconds * RATE)) / RATE
    buzz = sum(np.sin(2 * np.pi * hz * k * t) / k for k in range(1, 6))
    envelope = np.minimum(1, np.minimum(t, seconds - t) / 0.05)
    voiced = buzz / np.max(np.abs(buzz)) * envelope * 10 ** (level_db / 20)
    signal = np.concatenate([np.zeros(int(lead_s * RATE)), voiced, np.zeros(int(tail_s * RATE))])
    signal += rng.standard_normal(len(signal)) * 10 ** (noise_db / 20)
    pcm = (np.clip(signal, -1, 1) * 32767).astype("<i2").tobytes()
    subprocess.run([find_ffmpeg().path, "-v", "error", "-y", "-f", "s16le", "-ar", str(RATE),
                    "-ac", "1", "-i", "pipe:0", str(path)], input=pcm, check=True)


def voiced_rms_db(samples: np.ndarray) -> float:
    window = int(RATE * 0.02)
    frames = samples[: len(samples) // window * window].reshape(-1, window)
    rms = np.sqrt(np.mean(frames.astype(np.float64) ** 2, axis=1))
    voiced = rms[rms > rms.max() * 0.1]
    return float(20 * np.log10(np.sqrt(np.mean(voiced**2))))


def test_slugs_are_short_stable_ascii() -> None:
    assert slugify("Let your shoulders soften.") == "let-your-shoulders-soften"
    assert slugify("Welcome. For the next little while, you are going") == (
        "welcome-for-the-next-little-while")
    assert slugify("Ça va? Don't worry — it's fine.") == "ca-va-dont-worry-its-fine"
    assert slugify("…") == "line"
    lines = number_lines(["In.", "Out.", "In.", "Rest now."])
    assert [(line.number, line.name) for line in lines] == [
        (1, "001-in"), (2, "002-out"), (3, "003-rest-now")]


def test_files_match_lines_by_name_slug_or_number(tmp_path: Path) -> None:
    for name in ("001-welcome-back.m4a", "let-your-shoulders-soften.wav", "3.mp3",
                 "004-an-older-version-of-the-line.wav", "005 take 2.ogg", "notes.txt",
                 ".hidden.wav"):
        (tmp_path / name).write_bytes(b"")
    folder = RecordingFolder(tmp_path)
    lines = number_lines(["Welcome back.", "Let your shoulders soften.", "Breathe in.",
                          "Rest your hands in your lap.", "Notice your feet.",
                          "Nothing recorded for this one."])
    found = {line.number: (p.name if (p := folder.find(line)) else None) for line in lines}
    assert found == {1: "001-welcome-back.m4a", 2: "let-your-shoulders-soften.wav",
                     3: "3.mp3", 4: None, 5: "005 take 2.ogg", 6: None}


SCRIPT = """
    title: Read by Gran
    voice: {engine: recorded, folder: recordings, fallback: draft, gap: 0.5s}
    steps:
      - say: Welcome back.
      - say: Let your shoulders soften.
      - say: Nobody recorded this line yet.
      - say: {text: Breathe out slowly., audio: extra/out.wav}
      - say: Welcome back.
"""


@pytest.fixture
def recorded_script(write_script: WriteScript, tmp_path: Path) -> Path:
    (tmp_path / "recordings").mkdir()
    (tmp_path / "extra").mkdir()
    make_recording(tmp_path / "recordings" / "001-welcome-back.m4a", 220.0, level_db=-6.0)
    make_recording(tmp_path / "recordings" / "2.mp3", 330.0, level_db=-24.0, seconds=2.0)
    make_recording(tmp_path / "extra" / "out.wav", 440.0, level_db=-18.0, seconds=1.0)
    return write_script(SCRIPT)


@pytest.mark.real
def test_recordings_replace_lines_trimmed_and_levelled(recorded_script: Path) -> None:
    audio, timeline = render_array(recorded_script, RenderOptions())
    clips = timeline.clips  # type: ignore[attr-defined]
    assert [clip.text for clip in clips] == ["Welcome back.", "Let your shoulders soften.",
                                             "Nobody recorded this line yet.",
                                             "Breathe out slowly.", "Welcome back."]
    engines = [clip.source.settings.engine for clip in clips]
    assert engines == ["recorded", "recorded", "draft", "recorded", "recorded"]
    # Each line is the right recording: its pitch shows which.
    for clip, hz in zip([clips[0], clips[1], clips[3], clips[4]], [220, 330, 440, 220],
                        strict=True):
        assert abs(dominant_hz(audio[clip.start:clip.end, 0], RATE) - hz) < 5
    # Trimmed: the 0.8 s of room noise before and 1.2 s after are gone.
    for clip, seconds in ((clips[0], 1.5), (clips[1], 2.0), (clips[3], 1.0)):
        assert abs(clip.length / RATE - seconds) < 0.08, clip.text
    # Levelled: recordings made 18 dB apart come out at the level of the synthetic line.
    levels = [voiced_rms_db(audio[c.start:c.end, 0]) for c in clips[:4]]
    assert max(levels) - min(levels) < 1.0, levels


@pytest.mark.real
def test_a_new_take_is_picked_up(recorded_script: Path, tmp_path: Path) -> None:
    audio, timeline = render_array(recorded_script, RenderOptions())
    first = timeline.clips[0]  # type: ignore[attr-defined]
    assert abs(dominant_hz(audio[first.start:first.end, 0], RATE) - 220) < 5
    make_recording(tmp_path / "recordings" / "001-welcome-back.m4a", 275.0)
    audio, timeline = render_array(recorded_script, RenderOptions())
    first = timeline.clips[0]  # type: ignore[attr-defined]
    assert abs(dominant_hz(audio[first.start:first.end, 0], RATE) - 275) < 5


@pytest.mark.real
def test_record_list_names_the_files_to_record(recorded_script: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["record-list", str(recorded_script)])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines() == [
        f"# Read by Gran: 4 lines, 3 recorded in {recorded_script.parent / 'recordings'}",
        "001-welcome-back  [have: 001-welcome-back.m4a]",
        "    Welcome back.",
        "002-let-your-shoulders-soften  [have: 2.mp3]",
        "    Let your shoulders soften.",
        "003-nobody-recorded-this-line-yet",
        "    Nobody recorded this line yet.",
        "004-breathe-out-slowly  [have: out.wav]",
        "    Breathe out slowly.",
    ]
    as_json = json.loads(runner.invoke(cli, ["record-list", str(recorded_script),
                                             "--json"]).stdout)
    assert [line["where"] for line in as_json["lines"]] == [
        f"{recorded_script}:{n}:5" for n in (4, 5, 6, 7)]
    assert as_json["lines"][2]["recording"] is None


def test_record_list_covers_breathing_cues(write_script: WriteScript) -> None:
    path = write_script("""
        steps:
          - say: Settle in.
          - breathe: {pattern: box, cycles: 2, cue: voice}
    """)
    result = CliRunner().invoke(cli, ["record-list", str(path)])
    assert result.exit_code == 0, result.stderr
    names = [line for line in result.stdout.splitlines()[1:] if not line.startswith(" ")]
    # Box breathing's two holds say the same word: one recording serves both.
    assert names == ["001-settle-in", "002-breathe-in", "003-hold", "004-breathe-out"]


def test_a_missing_recordings_folder_is_refused_at_its_line(write_script: WriteScript) -> None:
    path = write_script("""
        voice: {engine: recorded, folder: nowhere}
        steps:
          - say: Hello.
    """)
    result = CliRunner().invoke(cli, ["validate", str(path)])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"{path}:1:35: voice.folder: folder ")
    assert "nowhere not found" in result.stderr and "record-list" in result.stderr


def test_a_missing_line_recording_is_refused_at_its_line(write_script: WriteScript) -> None:
    path = write_script("""
        steps:
          - say: {text: Hello., audio: gone.m4a}
    """)
    result = CliRunner().invoke(cli, ["validate", str(path)])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"{path}:2:32: steps[0].say.audio: file not found")
