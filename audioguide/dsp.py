"""Small numeric helpers shared by voices, sounds, media and the mixer."""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Iterator

import numpy as np
import numpy.typing as npt

Audio = npt.NDArray[np.float32]

#: Frames per block, everywhere audio moves in blocks: large enough for numpy to be
#: efficient, small enough to stay responsive.
BLOCK_FRAMES = 32768


def to_pcm16(samples: Audio) -> np.ndarray:
    """Float samples as little-endian 16-bit PCM (rounded, clipped at full scale)."""
    return np.rint(np.clip(samples, -1.0, 1.0) * 32767.0).astype("<i2")


def from_pcm16(pcm: bytes | np.ndarray) -> Audio:
    """Little-endian 16-bit PCM (bytes, or an array of it) as float samples."""
    return np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0


# numpy only, on purpose: importing scipy.signal takes most of a second, which would be
# most of the time from `audioguide breathe` to its first sound.


def lowpass_fir(taps: int, cutoff: float, beta: float) -> np.ndarray:
    """A Kaiser-windowed sinc low-pass; `cutoff` is a fraction of Nyquist; DC gain 1."""
    middle = (taps - 1) / 2
    n = np.arange(taps) - middle
    h = cutoff * np.sinc(cutoff * n) * np.kaiser(taps, beta)
    return h / h.sum()


@functools.lru_cache(maxsize=16)
def _polyphase(up: int, down: int) -> tuple[np.ndarray, int]:
    """The resampling filter (as scipy's resample_poly designs it) and its half length."""
    half = 10 * max(up, down)
    return lowpass_fir(2 * half + 1, 1.0 / max(up, down), 5.0) * up, half


def resampled_length(frames: int, from_rate: int, to_rate: int) -> int:
    """How many frames `frames` at `from_rate` become at `to_rate` (as `resample` makes them)."""
    if from_rate == to_rate:
        return frames
    up, down = _ratio(from_rate, to_rate)
    return -(-frames * up // down)


def resample(samples: Audio, from_rate: int, to_rate: int) -> Audio:
    """Band-limited rational resampling along the first axis (polyphase, Kaiser window).

    Output frame n sits at input time n·down/up: y[n] = Σ_j h[p + j·up] · x[i - j], with
    p and i from n·down + half. Outputs that share a phase p are n0 + k·up, whose inputs
    step by `down`, so each (phase, tap) pair is one strided slice.
    """
    if from_rate == to_rate:
        return samples
    up, down = _ratio(from_rate, to_rate)
    h, half = _polyphase(up, down)
    frames = len(samples)
    out_frames = resampled_length(frames, from_rate, to_rate)
    per_phase = -(-len(h) // up)
    padded = np.concatenate([np.zeros((per_phase,) + samples.shape[1:], dtype=np.float64),
                             samples.astype(np.float64),
                             np.zeros((per_phase + down + 2,) + samples.shape[1:])])
    out = np.zeros((out_frames,) + samples.shape[1:], dtype=np.float64)
    for first in range(min(up, out_frames)):
        count = -(-(out_frames - first) // up)
        t = first * down + half
        phase, newest = t % up, t // up
        taps = h[phase::up]
        acc = out[first::up]
        for j, tap in enumerate(taps):
            start = newest - j + per_phase
            acc += tap * padded[start: start + (count - 1) * down + 1: down]
    return out.astype(np.float32)


def _ratio(from_rate: int, to_rate: int) -> tuple[int, int]:
    common = math.gcd(from_rate, to_rate)
    return to_rate // common, from_rate // common


def fade_curve(length: int) -> Audio:
    """A raised-cosine rise from 0 to 1 over `length` samples (no click at either end)."""
    if length <= 0:
        return np.ones(0, dtype=np.float32)
    position = (np.arange(length, dtype=np.float64) + 0.5) / length
    return (0.5 - 0.5 * np.cos(np.pi * position)).astype(np.float32)


def envelope_slice(length: int, fade_in: int, fade_out: int, start: int, count: int) -> Audio:
    """Gain for samples `start .. start+count` of a clip `length` long with these fades."""
    index = np.arange(start, start + count, dtype=np.float64)
    gain = np.ones(count, dtype=np.float64)
    if fade_in > 0:
        rising = index < fade_in
        if rising.any():
            position = (index[rising] + 0.5) / fade_in
            gain[rising] = 0.5 - 0.5 * np.cos(np.pi * position)
    if fade_out > 0:
        falling = index >= length - fade_out
        if falling.any():
            position = (length - index[falling] - 0.5) / fade_out
            gain[falling] *= 0.5 - 0.5 * np.cos(np.pi * np.clip(position, 0.0, 1.0))
    return gain.astype(np.float32)


def trim_silence(samples: Audio, sample_rate: int, threshold_db: float = -45.0,
                 keep_s: float = 0.02) -> Audio:
    """Cut leading and trailing silence, keeping a short margin and easing the cut edges."""
    if samples.size == 0:
        return samples
    window = max(1, int(sample_rate * 0.005))
    frames = len(samples) // window
    if frames == 0:
        return samples
    blocks = np.abs(samples[: frames * window]).reshape(frames, window).max(axis=1)
    threshold = float(np.max(blocks)) * 10 ** (threshold_db / 20.0)
    loud = np.nonzero(blocks > threshold)[0]
    if loud.size == 0:
        return samples[:0]
    return _cut_around(samples, loud, window, int(sample_rate * keep_s))


def _cut_around(samples: Audio, loud: np.ndarray, window: int, keep: int) -> Audio:
    """From the first to the last loud window, `keep` frames more each side, edges eased."""
    start = max(0, int(loud[0]) * window - keep)
    end = min(len(samples), (int(loud[-1]) + 1) * window + keep)
    trimmed = samples[start:end].copy()
    edge = min(keep, len(trimmed) // 2)
    if edge > 0:
        curve = fade_curve(edge)
        trimmed[:edge] *= curve
        trimmed[-edge:] *= curve[::-1]
    return trimmed


def rms_db(samples: Audio) -> float:
    """Root-mean-square level in dBFS (-inf for silence)."""
    if samples.size == 0:
        return -math.inf
    value = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))
    return 20 * math.log10(value) if value > 0 else -math.inf


def trim_recording(samples: Audio, sample_rate: int, above_floor_db: float = 12.0,
                   keep_s: float = 0.03) -> Audio:
    """Cut the room noise before and after a recorded line.

    The line is where the short-term level rises a clear margin above the recording's
    own noise floor (its quietest tenth), and never less than 50 dB under its loudest
    moment; a short margin is kept and the cut edges eased.
    """
    if samples.size == 0:
        return samples
    window = max(1, int(sample_rate * 0.01))
    frames = len(samples) // window
    if frames < 3:
        return samples
    blocks = samples[: frames * window].reshape(frames, window).astype(np.float64)
    level = 10 * np.log10(np.mean(blocks**2, axis=1) + 1e-20)
    floor = float(np.percentile(level, 10))
    threshold = max(floor + above_floor_db, float(level.max()) - 50.0)
    loud = np.nonzero(level > threshold)[0]
    if loud.size == 0:
        return samples[:0]
    return _cut_around(samples, loud, window, int(sample_rate * keep_s))


def normalize_speech(samples: Audio, sample_rate: int, target_rms_db: float = -20.0,
                     peak_limit: float = 0.89) -> Audio:
    """Bring the voiced part of a line to a common RMS level, never letting peaks pass -1 dBFS."""
    if samples.size == 0:
        return samples
    window = max(1, int(sample_rate * 0.02))
    frames = len(samples) // window
    if frames:
        blocks = samples[: frames * window].reshape(frames, window).astype(np.float64)
        block_rms = np.sqrt(np.mean(blocks**2, axis=1))
        voiced = block_rms[block_rms > block_rms.max() * 0.1]
        level = float(np.sqrt(np.mean(voiced**2))) if voiced.size else 0.0
    else:
        level = float(np.sqrt(np.mean(samples.astype(np.float64) ** 2)))
    peak = float(np.max(np.abs(samples)))
    if level <= 0 or peak <= 0:
        return samples
    gain = min(10 ** (target_rms_db / 20.0) / level, peak_limit / peak)
    return (samples * gain).astype(np.float32)


def sliding_min(values: np.ndarray, size: int) -> np.ndarray:
    """min(values[i : i+size]) for every i that has a full window (a sparse table)."""
    count = len(values) - size + 1
    if count <= 0:
        return np.zeros(0, dtype=values.dtype)
    span, current = 1, values
    while span * 2 <= size:
        current = np.minimum(current[:-span], current[span:])
        span *= 2
    # current[i] = min over [i, i+span); two overlapping spans cover the window.
    return np.minimum(current[:count], current[size - span: size - span + count])


def rechunk(blocks: Iterable[Audio], frames: int) -> Iterator[Audio]:
    """The same audio in blocks of exactly `frames` (the last one may be shorter)."""
    pending: list[Audio] = []
    held = 0
    for block in blocks:
        pending.append(block)
        held += len(block)
        if held >= frames:
            joined = np.concatenate(pending)
            cut = held - held % frames
            for start in range(0, cut, frames):
                yield joined[start: start + frames]
            rest = joined[cut:]
            pending, held = ([rest] if len(rest) else []), len(rest)
    if held:
        yield np.concatenate(pending)
