import wave
from dataclasses import replace

import numpy as np
import pytest

from audioguide.jobs.options import RenderOptions
from audioguide.jobs.prepare import prepare
from audioguide.render.limiter import LIMIT, Limiter
from audioguide.render.mixer import mix_blocks, render_blocks
from audioguide.sounds import BellStrike, HumDrone, NoiseBed, PacerTone, SteadyTone, Tick

from conftest import WriteScript, dominant_hz, render_array


def test_ticks_begin_on_their_exact_sample(write_script: WriteScript) -> None:
    path = write_script("""
        steps:
          - pause: 0.123457s
          - breathe: {pattern: [3.3, 1.1, 4.4], cycles: 3, cue: tone}
    """)
    with prepare(path, RenderOptions(engine="draft")) as prepared:
        ticks = tuple(c for c in prepared.timeline.clips if c.kind == "tick")
        alone = replace(prepared.timeline, clips=ticks)
        audio = np.concatenate(list(render_blocks(alone, prepared.library)))
    starts = [clip.start for clip in ticks]
    assert starts[0] == 5444  # 0.123457 s × 44100 = 5444.45, rounded once
    for start in starts:
        assert np.all(audio[start - 200: start] == 0.0), start  # silence right up to the tick
        assert np.all(audio[start + 1: start + 50] != 0.0), start  # sound from the next sample
    # Higher ticks on the way in than on the way out.
    inhale, hold, exhale = (dominant_hz(audio[s: s + 2646, 0], 44100) for s in starts[:3])
    assert inhale > hold > exhale


def test_the_pacing_tone_rises_on_inhales_and_falls_on_exhales(write_script: WriteScript) -> None:
    path = write_script("""
        steps:
          - breathe: {pattern: [4, 2, 6, 2], cycles: 2, cue: tone}
    """)
    with prepare(path, RenderOptions(engine="draft")) as prepared:
        pacer = tuple(c for c in prepared.timeline.clips if c.kind == "pacer")
        audio = np.concatenate(list(render_blocks(replace(prepared.timeline, clips=pacer),
                                                  prepared.library)))[:, 0]

    def pitch(at_s: float) -> float:
        start = int(at_s * 44100)
        return dominant_hz(audio[start: start + 8192], 44100)

    for cycle in (0, 14):
        rising = [pitch(cycle + t) for t in (0.6, 1.6, 2.6)]     # the inhale, 0-4 s
        held = [pitch(cycle + t) for t in (4.3, 5.2)]            # the hold, 4-6 s
        falling = [pitch(cycle + t) for t in (6.5, 8.0, 9.5)]    # the exhale, 6-12 s
        assert rising[0] < rising[1] < rising[2]
        assert held[0] == pytest.approx(293.66, abs=6) and held[1] == pytest.approx(held[0])
        assert falling[0] > falling[1] > falling[2]
        assert pitch(cycle + 12.4) == pytest.approx(196.0, abs=6)  # low on the rest
    # A continuous phase: no step between samples comes near a jump of the amplitude
    # (a phase break would make one of up to twice the peak).
    assert np.max(np.abs(np.diff(audio))) < 0.1 * np.max(np.abs(audio))


def test_speech_fills_its_slot_and_gaps_are_silent(write_script: WriteScript) -> None:
    path = write_script("""
        voice: {engine: draft, gap: 2s}
        steps:
          - say: The first line is spoken here.
          - say: A second, shorter line.
          - pause: 1s
    """)
    audio, timeline = render_array(path)
    first, second = timeline.clips  # type: ignore[attr-defined]
    for clip in (first, second):
        spoken = audio[clip.start: clip.end, 0]
        assert np.sqrt(np.mean(spoken**2)) > 0.03
    assert np.all(audio[first.end: second.start] == 0.0)
    assert np.all(audio[second.end:] == 0.0)
    assert len(audio) == second.end + 3 * 44100


def test_nothing_passes_the_limiter(write_script: WriteScript) -> None:
    path = write_script("""
        bed: {sound: white, level: 0dB, fade_in: 0, fade_out: 0}
        steps:
          - bell: {kind: chime, count: 20, gap: 0.05s, level: 12dB}
    """)
    audio, _ = render_array(path)
    assert np.max(np.abs(audio)) <= LIMIT + 1e-6
    assert np.max(np.abs(audio)) > 0.85  # limited, not silenced


def test_limiter_leaves_quiet_audio_untouched_and_catches_every_peak() -> None:
    rng = np.random.default_rng(4)
    quiet = (rng.standard_normal((100_000, 2)) * 0.05).astype(np.float32)
    loud = quiet.copy()
    loud[50_000] = 3.0                      # one wild peak
    loud[70_000:70_300] *= 40               # a loud burst across nothing in particular
    for signal in (quiet, loud):
        limiter = Limiter(44100)
        blocks = [signal[i: i + 32768] for i in range(0, len(signal), 32768)]
        out = np.concatenate([
            limiter.process(block, blocks[n + 1] if n + 1 < len(blocks) else signal[:0])
            for n, block in enumerate(blocks)])
        assert np.max(np.abs(out)) <= LIMIT + 1e-6
        if signal is quiet:
            assert np.array_equal(out, quiet)
        else:
            # Far from the peaks nothing changes.
            assert np.array_equal(out[:40_000], loud[:40_000])
            assert np.array_equal(out[90_000:], loud[90_000:])


def test_two_renders_are_byte_identical(write_script: WriteScript, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from audioguide.jobs.render import render_file

    path = write_script("""
        voice: {engine: draft}
        bed: {sound: rain, level: -20dB}
        steps:
          - bell: soft
          - say: Twice the same, to the byte.
          - hum: {note: C3, duration: 3s}
          - tone: {hz: 200, duration: 2s, beat: 5}
    """)
    one = render_file(path, tmp_path / "one.wav", options=RenderOptions(engine="draft"))
    two = render_file(path, tmp_path / "two.wav", options=RenderOptions(engine="draft"))
    assert one.path.read_bytes() == two.path.read_bytes()
    with wave.open(str(one.path), "rb") as wav:
        assert wav.getnframes() == one.timeline.length


def test_the_mix_does_not_depend_on_the_block_size(write_script: WriteScript) -> None:
    path = write_script("""
        voice: {engine: draft}
        bed: {sound: rain, level: -26dB}
        steps:
          - say: Blocks of any size give the same sound.
          - breathe: {pattern: [2, 3], cycles: 2, cue: both}
          - hum: {hz: 150, duration: 3s}
    """)
    with prepare(path, RenderOptions(engine="draft")) as prepared:
        mixes = [np.concatenate(list(mix_blocks(prepared.timeline, prepared.library, size)))
                 for size in (32768, 4096, 1000)]
    assert np.array_equal(mixes[0], mixes[1])
    assert np.array_equal(mixes[0], mixes[2])


def test_memory_is_bounded_by_blocks_not_length(write_script: WriteScript) -> None:
    # Ten hours of bed and tone: the renderer must stream it (we only look at a few blocks).
    path = write_script("""
        bed: brown
        steps:
          - tone: {hz: 220, duration: 10h}
    """)
    with prepare(path, RenderOptions(engine="draft")) as prepared:
        stream = prepared.blocks()
        first = [next(stream) for _ in range(3)]
    assert prepared.timeline.length == 10 * 3600 * 44100
    assert all(block.shape == (32768, 2) and block.dtype == np.float32 for block in first)


@pytest.mark.parametrize("sound", [
    Tick(1000.0), SteadyTone(300.0, "triangle", 4.0), HumDrone(110.0, "ah"), BellStrike("bowl"),
    PacerTone((("inhale", 4000), ("hold", 3000), ("exhale", 6000), ("hold_out", 2000),
               ("inhale", 5000)))])
def test_synthesized_sounds_are_the_same_however_they_are_cut(sound: object) -> None:
    whole = sound.render(44100, 0, 20_000)  # type: ignore[attr-defined]
    parts = np.concatenate([sound.render(44100, start, 5000)  # type: ignore[attr-defined]
                            for start in range(0, 20_000, 5000)])
    assert np.allclose(whole, parts, atol=1e-6)
    assert np.max(np.abs(whole)) <= 1.0


def test_noise_beds_have_their_colour() -> None:
    def band_ratio(kind: str) -> float:
        noise = NoiseBed(kind, 44100, 1).read(44100 * 4)[:, 0]
        spectrum = np.abs(np.fft.rfft(noise)) ** 2
        freqs = np.fft.rfftfreq(len(noise), 1 / 44100)
        low = spectrum[(freqs > 100) & (freqs < 200)].mean()
        high = spectrum[(freqs > 3200) & (freqs < 6400)].mean()
        return float(10 * np.log10(low / high))

    # 100-200 Hz against 3.2-6.4 kHz is five octaves: white 0 dB, pink ~15 dB, brown ~30 dB.
    assert abs(band_ratio("white")) < 2
    assert 12 < band_ratio("pink") < 18
    assert 25 < band_ratio("brown") < 35
    for kind in ("white", "pink", "brown", "ocean", "rain"):
        noise = NoiseBed(kind, 44100, 2).read(44100 * 12)
        rms = float(np.sqrt(np.mean(noise**2)))
        assert 0.4 < rms < 1.6, kind


@pytest.mark.parametrize("kind", ["white", "pink", "brown", "ocean", "rain"])
def test_beds_are_seeded_and_loop_without_a_seam(kind: str) -> None:
    first = NoiseBed(kind, 8000, 2, seed=3, tile_s=4.0)
    second = NoiseBed(kind, 8000, 2, seed=3, tile_s=4.0)
    a = first.read(8000 * 10)          # two and a half times round the loop
    assert np.array_equal(a, second.read(8000 * 10))
    loop = len(first.loop.body)
    # Across the loop point the signal steps no further than it does anywhere else.
    steps = np.abs(np.diff(a[:, 0]))
    assert steps[loop - 1] <= np.percentile(steps, 99.9)
