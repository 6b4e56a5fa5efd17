"""Steady synthesized rhythms to move, rock or breathe with: drum, heartbeat, shaker, tick, sway.

Each style is a one-bar pattern (four beats) of short hits. Hits are made once per
sample rate and laid down at exact beat positions (the beat's time rounded once to a
sample, never a running sum), so a rhythm stays on the beat for any length, and any
stretch of it can be made on its own.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from ..dsp import Audio

TWO_PI = 2.0 * math.pi


def _noise_burst(sample_rate: int, seconds: float, low_hz: float, high_hz: float,
                 decay_s: float, seed: int) -> np.ndarray:
    """A band of noise (coloured in the frequency domain) under a soft attack and decay."""
    frames = int(seconds * sample_rate)
    rng = np.random.default_rng(seed)
    spectrum = np.fft.rfft(rng.standard_normal(frames))
    freqs = np.fft.rfftfreq(frames, 1.0 / sample_rate)
    spectrum[(freqs < low_hz) | (freqs > high_hz)] = 0.0
    burst = np.fft.irfft(spectrum, frames)
    burst /= np.max(np.abs(burst)) or 1.0
    t = np.arange(frames) / sample_rate
    return burst * np.clip(t / 0.004, 0, 1) * np.exp(-t / decay_s)


def _thump(sample_rate: int, start_hz: float, end_hz: float, seconds: float,
           decay_s: float) -> np.ndarray:
    """A sine whose pitch drops from start to end (a soft drum or heart sound)."""
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    hz = end_hz + (start_hz - end_hz) * np.exp(-t / 0.04)
    phase = TWO_PI * np.cumsum(hz) / sample_rate
    return np.sin(phase) * np.clip(t / 0.003, 0, 1) * np.exp(-t / decay_s)


def _swell(sample_rate: int, seconds: float) -> np.ndarray:
    """A slow rise and fall of warm low noise and a soft low tone (for swaying)."""
    frames = int(seconds * sample_rate)
    t = np.arange(frames) / sample_rate
    envelope = np.sin(np.pi * t / seconds) ** 2
    body = 0.6 * np.sin(TWO_PI * 110.0 * t) + 0.4 * _noise_burst(
        sample_rate, seconds, 80, 600, 10.0, seed=7)[:frames]
    return body * envelope


@functools.lru_cache(maxsize=16)
def _instruments(sample_rate: int) -> dict[str, np.ndarray]:
    """Every hit, made once per sample rate: peak 1.0, mono."""
    return {
        "kick": _thump(sample_rate, 110.0, 48.0, 0.45, 0.12),
        "hat": 0.5 * _noise_burst(sample_rate, 0.08, 5000, 12000, 0.015, seed=1),
        "clap": 0.6 * _noise_burst(sample_rate, 0.2, 900, 3500, 0.05, seed=2),
        "lub": _thump(sample_rate, 75.0, 45.0, 0.3, 0.07),
        "dub": 0.7 * _thump(sample_rate, 85.0, 55.0, 0.25, 0.05),
        "shake": 0.7 * _noise_burst(sample_rate, 0.12, 3000, 9000, 0.035, seed=3),
        "shake_soft": 0.35 * _noise_burst(sample_rate, 0.1, 3000, 9000, 0.03, seed=4),
        "tick": _thump(sample_rate, 1800.0, 1500.0, 0.05, 0.008),
        "tock": 0.6 * _thump(sample_rate, 1300.0, 1100.0, 0.05, 0.008),
    }


#: One bar (four beats) of each style: (beat within the bar, hit, gain, pan -1..1).
PATTERNS: dict[str, tuple[tuple[Fraction, str, float, float], ...]] = {
    "drum": ((Fraction(0), "kick", 1.0, 0.0), (Fraction(1), "clap", 0.5, 0.1),
             (Fraction(2), "kick", 0.8, 0.0), (Fraction(3), "clap", 0.5, 0.1),
             *((Fraction(k, 2), "hat", 0.35, 0.3) for k in range(8))),
    "heartbeat": tuple(item for beat in range(4) for item in (
        (Fraction(beat), "lub", 1.0, 0.0), (Fraction(beat) + Fraction(3, 10), "dub", 0.8, 0.0))),
    "shaker": tuple((Fraction(k, 2), "shake" if k % 2 == 0 else "shake_soft", 1.0,
                     0.3 if k % 4 < 2 else -0.3) for k in range(8)),
    "tick": ((Fraction(0), "tick", 1.0, 0.0), (Fraction(1), "tock", 1.0, 0.0),
             (Fraction(2), "tock", 1.0, 0.0), (Fraction(3), "tock", 1.0, 0.0)),
    "sway": tuple((Fraction(beat), "swell", 1.0, -0.6 if beat % 2 == 0 else 0.6)
                  for beat in range(4)),
}


@dataclass(frozen=True)
class Rhythm:
    """A style at a tempo, as long as the step asks; stereo (hits are panned)."""

    bpm: float
    style: str = "drum"
    channels = 2

    def frames(self, sample_rate: int) -> int | None:
        """As long as the step asks."""
        return None

    def _hits(self, sample_rate: int) -> dict[str, np.ndarray]:
        hits = dict(_instruments(sample_rate))
        if self.style == "sway":
            # One swell fills most of a beat, whatever the tempo.
            hits["swell"] = _swell(sample_rate, 0.9 * 60.0 / self.bpm)
        return hits

    def render(self, sample_rate: int, start: int, frames: int) -> Audio:
        """Samples `start .. start+frames`: every hit that sounds in that stretch."""
        out = np.zeros((frames, 2), dtype=np.float64)
        hits = self._hits(sample_rate)
        longest = max(len(hits[name]) for _, name, _, _ in PATTERNS[self.style])
        beat = Fraction(60) / Fraction(self.bpm).limit_denominator(1000)
        first_bar = max(0, math.floor((start - longest) / (4 * beat * sample_rate)))
        bar = first_bar
        while True:
            bar_start = bar * 4 * beat
            if math.floor(bar_start * sample_rate) >= start + frames:
                break
            for offset, name, gain, pan in PATTERNS[self.style]:
                at = math.floor((bar_start + offset * beat) * sample_rate + Fraction(1, 2))
                hit = hits[name]
                lo, hi = max(at, start), min(at + len(hit), start + frames)
                if hi <= lo:
                    continue
                piece = hit[lo - at: hi - at] * gain
                out[lo - start: hi - start, 0] += piece * math.sqrt((1 - pan) / 2)
                out[lo - start: hi - start, 1] += piece * math.sqrt((1 + pan) / 2)
            bar += 1
        return (out * 0.8).astype(np.float32)
