"""Background beds made block by block: noise colours, ocean swell, rain, and looped files.

A bed is read front to back in blocks; each keeps only its filter state and a
short tail, so an 8-hour bed costs no more memory than an 8-minute one. Noise is
seeded, so the same script always gives the same bed. Output RMS is about 1.0
(per channel); the bed's level sets its loudness in the mix.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.signal import lfilter

from ..dsp import Audio, fade_curve

# Paul Kellet's economy pink-noise filter, as an IIR: -3 dB per octave within 0.5 dB.
_PINK_B = np.array([0.049922035, -0.095993537, 0.050612699, -0.004408786])
_PINK_A = np.array([1.0, -2.494956002, 2.017265875, -0.522189400])
#: Beds are generated in chunks of this many frames, independent of the mixer's blocks.
CHUNK_FRAMES = 8192


def _unit_gain(b: np.ndarray, a: np.ndarray, length: int = 1 << 16) -> float:
    """1 / RMS of the filter's output for unit white noise (from its impulse response)."""
    impulse = np.zeros(length)
    impulse[0] = 1.0
    response = lfilter(b, a, impulse)
    return 1.0 / math.sqrt(float(np.sum(response**2)))


class NoiseBed:
    """White, pink or brown noise, or the ocean and rain built from them."""

    def __init__(self, kind: str, sample_rate: int, channels: int, seed: int = 1) -> None:
        self.kind = kind
        self.sample_rate = sample_rate
        self.channels = channels
        self.rng = np.random.default_rng(seed)
        self.position = 0
        if kind in ("pink", "rain"):
            self.b, self.a = _PINK_B, _PINK_A
        elif kind in ("brown", "ocean"):
            # A leaky integrator: -6 dB per octave above ~20 Hz, no DC drift.
            pole = math.exp(-2 * math.pi * 20.0 / sample_rate)
            self.b, self.a = np.array([1.0]), np.array([1.0, -pole])
        else:
            self.b, self.a = np.array([1.0]), np.array([1.0])
        self.scale = _unit_gain(self.b, self.a)
        self.state = np.zeros((channels, max(len(self.a), len(self.b)) - 1))
        if kind == "ocean":
            # Wave periods between 8 and 12 s, fixed by the seed.
            self.wave_periods = self.rng.uniform(8.0, 12.0, size=4)
            self.wave_phases = self.rng.uniform(0.0, 2 * math.pi, size=4)
        self.drop_tail = np.zeros((0, channels))
        self.buffer = np.zeros((0, channels), dtype=np.float32)

    def read(self, frames: int) -> Audio:
        """The next `frames` frames, shape (frames, channels).

        Noise is made in fixed chunks whatever the caller asks for, so the bed is the
        same sample for sample however the mixer cuts up its blocks.
        """
        while len(self.buffer) < frames:
            self.buffer = np.concatenate([self.buffer, self._chunk(CHUNK_FRAMES)])
        out, self.buffer = self.buffer[:frames], self.buffer[frames:]
        return out

    def _chunk(self, frames: int) -> Audio:
        white = self.rng.standard_normal((frames, self.channels)).T
        if self.state.shape[1]:
            coloured, self.state = lfilter(self.b, self.a, white, axis=1, zi=self.state)
        else:
            coloured = white
        out = (coloured * self.scale).T
        if self.kind == "ocean":
            out = out * self._swell(frames)[:, None]
        elif self.kind == "rain":
            out = 0.6 * out + self._drops(frames)
        self.position += frames
        return out.astype(np.float32)

    def _swell(self, frames: int) -> np.ndarray:
        t = (np.arange(self.position, self.position + frames) / self.sample_rate)
        wave = np.zeros(frames)
        for period, phase in zip(self.wave_periods, self.wave_phases, strict=True):
            wave += 0.5 - 0.5 * np.cos(2 * math.pi * t / period + phase)
        # Between a quiet trough (0.25) and a full crest, so it breathes like surf.
        return 0.25 + 1.1 * (wave / len(self.wave_periods)) ** 1.5

    def _drops(self, frames: int) -> np.ndarray:
        """Soft droplets: short decaying high tones at random times, about 60 a second."""
        drop_length = int(0.012 * self.sample_rate)
        out = np.zeros((frames + drop_length, self.channels))
        out[: len(self.drop_tail)] += self.drop_tail
        count = self.rng.poisson(60 * frames / self.sample_rate)
        t = np.arange(drop_length) / self.sample_rate
        for _ in range(count):
            at = int(self.rng.integers(0, frames))
            hz = self.rng.uniform(2500.0, 6000.0)
            amplitude = self.rng.uniform(0.2, 1.0)
            pan = self.rng.uniform(0.2, 0.8)
            drop = amplitude * np.exp(-t / 0.002) * np.sin(2 * math.pi * hz * t)
            if self.channels == 1:
                out[at: at + drop_length, 0] += drop
            else:
                out[at: at + drop_length, 0] += drop * (1 - pan)
                out[at: at + drop_length, 1] += drop * pan
        self.drop_tail = out[frames:].copy()
        return out[:frames]


class LoopBed:
    """A decoded file played round and round with a crossfaded loop point (no click, no gap)."""

    def __init__(self, audio: Audio, sample_rate: int, crossfade_s: float = 2.0) -> None:
        frames = len(audio)
        crossfade = min(int(crossfade_s * sample_rate), frames // 3)
        body = np.array(audio[: frames - crossfade], dtype=np.float32, copy=True)
        if crossfade > 0:
            rise = np.sqrt(fade_curve(crossfade))[:, None]
            fall = np.sqrt(1.0 - fade_curve(crossfade))[:, None]
            body[:crossfade] = audio[:crossfade] * rise + audio[frames - crossfade:] * fall
        self.body = body
        self.position = 0

    def read(self, frames: int) -> Audio:
        """The next `frames` frames, wrapping round the loop."""
        parts = []
        remaining = frames
        while remaining > 0:
            start = self.position % len(self.body)
            take = min(remaining, len(self.body) - start)
            parts.append(self.body[start: start + take])
            self.position += take
            remaining -= take
        return np.concatenate(parts) if len(parts) > 1 else parts[0]
