"""The sound palette as heard: pitches, colours, ducking, loops, edges and breathing patterns."""

import wave
from dataclasses import replace
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from audioguide.breathing import PATTERNS
from audioguide.jobs.options import RenderOptions
from audioguide.jobs.prepare import prepare
from audioguide.render.mixer import render_blocks
from audioguide.units import seconds_to_samples

from conftest import WriteScript, dominant_hz, render_array

#: The breathing table as published in the README and docs: phase lengths in seconds.
TABLE = {
    "box": [("inhale", "4"), ("hold", "4"), ("exhale", "4"), ("hold_out", "4")],
    "4-7-8": [("inhale", "4"), ("hold", "7"), ("exhale", "8")],
    "resonance": [("inhale", "5.45"), ("exhale", "5.45")],
    "coherent": [("inhale", "5"), ("exhale", "5")],
    "prolonged-exhale": [("inhale", "4"), ("exhale", "6")],
    "7-11": [("inhale", "7"), ("exhale", "11")],
    "cyclic-sigh": [("inhale", "2"), ("top_up", "1"), ("exhale", "6")],
    "ujjayi": [("inhale", "5"), ("exhale", "5")],
}


def write_wav(path: Path, samples: np.ndarray, rate: int = 44100) -> Path:
    pcm = np.clip(samples * 32767, -32768, 32767).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(pcm.tobytes())
    return path


def test_the_table_is_the_code() -> None:
    assert set(TABLE) == set(PATTERNS)


@pytest.mark.parametrize("name", sorted(TABLE))
def test_each_pattern_lands_on_its_boundaries_to_the_sample(name: str,
                                                            write_script: WriteScript) -> None:
    path = write_script(f"voice: {{engine: draft}}\nsteps:\n  - pause: 0.7s\n"
                        f"  - breathe: {{pattern: {name}, cycles: 3, cue: tone}}\n"
                        f"  - bell: soft\n")
    with prepare(path, RenderOptions(engine="draft", sample_rate=48000)) as prepared:
        timeline = prepared.timeline
    expected, kinds = [], []
    now = Fraction("0.7")
    for _ in range(3):
        for kind, seconds in TABLE[name]:
            expected.append(seconds_to_samples(now, 48000))
            kinds.append(kind)
            now += Fraction(seconds)
    ticks = [c for c in timeline.clips if c.kind == "tick"]
    assert [c.start for c in ticks] == expected
    (pacer,) = [c for c in timeline.clips if c.kind == "pacer"]
    assert [kind for kind, _ in pacer.source.phases] == kinds  # type: ignore[attr-defined]
    bell = next(c for c in timeline.clips if c.kind == "bell")
    assert bell.start == seconds_to_samples(now, 48000)  # the step ends on a whole breath


def test_a_hum_at_a2_sounds_at_110_hz(write_script: WriteScript) -> None:
    path = write_script("steps:\n  - hum: {note: A2, duration: 6s, vowel: mm}\n")
    audio, _ = render_array(path)
    middle = audio[2 * 44100: 5 * 44100, 0]
    spectrum = np.abs(np.fft.rfft(middle * np.hanning(len(middle))))
    freqs = np.fft.rfftfreq(len(middle), 1 / 44100)
    assert freqs[np.argmax(spectrum)] == pytest.approx(110.0, abs=1.0)
    # Harmonics are there but weaker: a warm drone, not a bare sine.
    second = spectrum[(freqs > 215) & (freqs < 225)].max()
    assert 0.1 < second / spectrum.max() < 0.8


def test_humming_on_the_exhales_only(write_script: WriteScript) -> None:
    path = write_script("""
        steps:
          - breathe: {pattern: [4, 2, 6], cycles: 2, cue: none, hum: {note: C3, level: -18dB}}
    """)
    audio, timeline = render_array(path)
    hums = [c for c in timeline.clips if c.kind == "hum"]  # type: ignore[attr-defined]
    assert [(c.start, c.length) for c in hums] == [(6 * 44100, 6 * 44100), (18 * 44100, 6 * 44100)]
    left = audio[:, 0]
    assert np.all(left[: 6 * 44100] == 0) and np.all(left[12 * 44100: 18 * 44100] == 0)
    exhale = left[7 * 44100: 11 * 44100]
    assert dominant_hz(exhale, 44100) == pytest.approx(130.8, abs=1.5)


def test_the_bed_dips_by_duck_under_speech(write_script: WriteScript) -> None:
    # The voice is nearly silent here so that only the bed is measured.
    path = write_script("""
        voice: {engine: draft, level: -96dB}
        bed: {sound: pink, level: -20dB, duck: 9dB, fade_in: 0.5s, fade_out: 0.5s}
        steps:
          - pause: 6s
          - say: This line is long enough to measure the bed beneath it, word after word.
          - pause: 6s
    """)
    audio, timeline = render_array(path)
    (line,) = [c for c in timeline.clips if c.kind == "say"]  # type: ignore[attr-defined]

    def level(start: int, end: int) -> float:
        return float(20 * np.log10(np.sqrt(np.mean(audio[start:end] ** 2))))

    under = level(line.start + 22050, line.end - 22050)
    between = level(2 * 44100, 5 * 44100)
    assert between - under == pytest.approx(9.0, abs=1.0)
    assert between == pytest.approx(-20.0, abs=1.5)


def test_a_file_bed_loops_without_a_seam(write_script: WriteScript, tmp_path: Path) -> None:
    # 3.3 s of a 220 Hz tone ends mid-cycle: looping it bare would click every time round.
    t = np.arange(int(3.3 * 44100)) / 44100
    write_wav(tmp_path / "loop.wav", 0.5 * np.sin(2 * np.pi * 220 * t))
    path = write_script("""
        bed: {sound: loop.wav, level: 0dB, duck: 0dB, fade_in: 0, fade_out: 0}
        steps:
          - pause: 12s
    """)
    audio, _ = render_array(path)
    steps = np.abs(np.diff(audio[44100: 11 * 44100, 0]))
    # Nowhere, loop points included, does it jump more than a 220 Hz sine steps (a bare
    # loop would jump by up to the tone's full swing).
    assert steps.max() < 2 * np.pi * 220 / 44100 * 0.5 * 1.2


def test_no_clip_starts_or_ends_with_a_click(write_script: WriteScript, tmp_path: Path) -> None:
    square = np.sign(np.sin(2 * np.pi * 150 * np.arange(44100) / 44100)) * 0.6
    write_wav(tmp_path / "square.wav", square)
    path = write_script("""
        voice: {engine: draft}
        steps:
          - sound: {file: square.wav, level: 0dB}
          - tone: {hz: 300, duration: 2s, fade_in: 0, fade_out: 0, level: -6dB}
          - hum: {hz: 120, duration: 2s, fade_in: 0, fade_out: 0, level: -6dB}
          - bell: {kind: chime, level: -6dB}
          - breathe: {pattern: [1.5, 1.5], cycles: 2, cue: both, level: -6dB}
          - say: The end.
    """)
    audio, timeline = render_array(path)
    left = audio[:, 0]
    for clip in timeline.clips:  # type: ignore[attr-defined]
        for edge in (clip.start, clip.end):
            if 0 < edge < len(left):
                jump = abs(float(left[edge]) - float(left[edge - 1]))
                assert jump < 0.02, (clip.kind, edge, jump)


def test_a_section_can_change_the_bed(write_script: WriteScript) -> None:
    path = write_script("""
        bed: {sound: brown, level: -24dB, fade_out: 2s}
        steps:
          - section: One
          - pause: 10s
          - section: {title: Two, bed: {sound: ocean, level: -20dB, fade_in: 2s}}
          - pause: 10s
          - section: {title: Three, bed: none}
          - pause: 10s
    """)
    audio, timeline = render_array(path)
    brown, ocean = timeline.beds  # type: ignore[attr-defined]
    assert brown.source.kind == "brown" and ocean.source.kind == "ocean"
    assert (brown.start, brown.end) == (0, 12 * 44100)           # fades out under "Two"
    # The ocean takes what it does not say from the session's bed (level -20 dB is its
    # own; the 2 s fade-out is inherited) and fades out under "Three", which has none.
    assert (ocean.start, ocean.end) == (10 * 44100, 22 * 44100)
    assert ocean.level_db == -20 and ocean.fade_out == 2 * 44100
    assert np.all(audio[22 * 44100:] == 0) and len(audio) == 30 * 44100
    assert np.sqrt(np.mean(audio[15 * 44100: 19 * 44100] ** 2)) > 0.02
    assert [c.title for c in timeline.chapters] == ["One", "Two", "Three"]  # type: ignore[attr-defined]


def test_ticks_and_pacer_render_alone(write_script: WriteScript) -> None:
    """cue: tone is a continuous tone plus ticks; cue: none is silence (but still paced)."""
    path = write_script("steps:\n  - breathe: {pattern: box, cycles: 1, cue: none}\n")
    audio, timeline = render_array(path)
    assert len(timeline.clips) == 0 and len(audio) == 16 * 44100  # type: ignore[attr-defined]
    assert not audio.any()
    path = write_script("steps:\n  - breathe: {pattern: box, cycles: 1, cue: tone}\n", "t.yaml")
    with prepare(path, RenderOptions(engine="draft")) as prepared:
        kinds = sorted(c.kind for c in prepared.timeline.clips)
        quiet = replace(prepared.timeline, clips=())
        assert not np.concatenate(list(render_blocks(quiet, prepared.library))).any()
    assert kinds == ["pacer", "tick", "tick", "tick", "tick"]


def test_advice_and_words_that_come_with_a_pattern(write_script: WriteScript) -> None:
    path = write_script("""
        voice: {engine: draft}
        steps:
          - breathe: {pattern: 4-7-8, cycles: 10, cue: tone}
          - breathe: {pattern: ujjayi, cycles: 1, cue: voice}
    """)
    with prepare(path, RenderOptions(engine="draft")) as prepared:
        timeline = prepared.timeline
    assert [str(w).split(": ", 3)[-1] for w in timeline.warnings] == [
        "10 breaths of 4-7-8 is more than the 8 its author advises in one go"]
    assert [c.text for c in timeline.clips if c.kind == "cue"] == [
        "In through the nose", "Out, with a soft ocean sound"]


def test_rhythm_beats_land_on_exact_samples(write_script: WriteScript) -> None:
    # 71 bpm: a beat every 0.845070... s, never a whole number of samples.
    path = write_script("steps:\n  - rhythm: {bpm: 71, duration: 30s, style: tick, "
                        "fade_in: 0, fade_out: 0}\n")
    audio, _ = render_array(path)
    left = audio[:, 0]
    for beat in range(1, 35):
        at = seconds_to_samples(Fraction(60, 71) * beat, 44100)
        assert not left[at - 500: at + 1].any(), beat    # silence up to the beat...
        assert np.all(left[at + 1: at + 40] != 0), beat  # ...and the tick from the next sample
    # The first beat of every bar is the higher tick.
    first = seconds_to_samples(Fraction(60, 71) * 4, 44100)
    second = seconds_to_samples(Fraction(60, 71) * 5, 44100)
    assert dominant_hz(left[first: first + 2000], 44100) > dominant_hz(
        left[second: second + 2000], 44100)


@pytest.mark.parametrize("style", ["drum", "heartbeat", "shaker", "tick", "sway"])
def test_every_rhythm_style_sounds_and_stays_in_range(style: str,
                                                      write_script: WriteScript) -> None:
    path = write_script(f"steps:\n  - rhythm: {{bpm: 90, duration: 6s, style: {style}}}\n")
    audio, _ = render_array(path)
    middle = audio[2 * 44100: 4 * 44100]
    assert np.sqrt(np.mean(middle**2)) > 0.0005
    assert np.max(np.abs(audio)) < 1.0


def test_sounds_can_play_under_what_follows(write_script: WriteScript) -> None:
    path = write_script("""
        voice: {engine: draft}
        steps:
          - rhythm: {bpm: 40, duration: 10s, style: sway, under: true}
          - say: Keep rocking while I speak.
          - pause: 2s
          - hum: {note: A2, duration: 4s, under: true}
          - tone: {hz: 300, duration: 1s}
    """)
    _, timeline = render_array(path)
    clips = {clip.kind: clip for clip in timeline.clips}  # type: ignore[attr-defined]
    rhythm, say, hum, tone = (clips[kind] for kind in ("rhythm", "say", "hum", "tone"))
    assert rhythm.start == 0 and say.start == 0          # the voice starts with the rhythm
    assert rhythm.length == 10 * 44100
    assert hum.start == tone.start == say.end + 3 * 44100  # the 1 s gap and the pause
    assert timeline.length == 10 * 44100                # the rhythm outlasts the steps
    assert timeline.items[0].detail == "sway at 40 bpm, for 0:10.000 under what follows"


def test_humming_keeps_the_pacing_tone_in_tune(write_script: WriteScript) -> None:
    path = write_script("""
        steps:
          - breathe: {pattern: [4, 6], cycles: 1, cue: tone, hum: A2}
    """)
    _, timeline = render_array(path)
    (pacer,) = [c for c in timeline.clips if c.kind == "pacer"]  # type: ignore[attr-defined]
    assert (pacer.source.low_hz, pacer.source.high_hz) == (220.0, 330.0)  # A3 up to E4
