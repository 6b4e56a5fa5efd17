"""Small numeric helpers shared by voices, sounds, media and the mixer."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from scipy.signal import resample_poly

Audio = npt.NDArray[np.float32]


def resampled_length(frames: int, from_rate: int, to_rate: int) -> int:
    """How many frames `frames` at `from_rate` become at `to_rate` (as `resample` makes them)."""
    if from_rate == to_rate:
        return frames
    up, down = _ratio(from_rate, to_rate)
    return -(-frames * up // down)


def resample(samples: Audio, from_rate: int, to_rate: int) -> Audio:
    """Band-limited rational resampling along the first axis (polyphase, Kaiser window)."""
    if from_rate == to_rate:
        return samples
    up, down = _ratio(from_rate, to_rate)
    out = resample_poly(samples, up, down, axis=0)
    return np.asarray(out, dtype=np.float32)


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
    keep = int(sample_rate * keep_s)
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
