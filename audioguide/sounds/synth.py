"""Synthesized clips: breathing cue tones, steady tones, a humming drone, bells.

Every sound is a pure function of the absolute sample index, so any stretch of it
can be made on its own (the mixer asks for one block at a time) and the result is
the same however it is cut up. Amplitude peaks near 1.0; the clip's gain sets the
level in the mix.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..dsp import Audio

TWO_PI = 2.0 * math.pi


def _times(sample_rate: int, start: int, frames: int) -> np.ndarray:
    return (np.arange(start, start + frames, dtype=np.float64)) / sample_rate


@dataclass(frozen=True)
class CueTone:
    """A short soft sine that marks the start of a breathing phase."""

    hz: float
    seconds: float = 0.4
    channels = 1

    def frames(self, sample_rate: int) -> int:
        """Its own length."""
        return int(round(self.seconds * sample_rate))

    def render(self, sample_rate: int, start: int, frames: int) -> Audio:
        """A sine under a sin² bell-shaped envelope: no attack click, no tail."""
        total = self.frames(sample_rate)
        t = _times(sample_rate, start, frames)
        index = np.arange(start, start + frames, dtype=np.float64)
        envelope = np.sin(np.pi * np.clip(index / total, 0.0, 1.0)) ** 2
        tone = np.sin(TWO_PI * self.hz * t) + 0.15 * np.sin(TWO_PI * 2 * self.hz * t)
        return (tone * envelope / 1.15).astype(np.float32)


@dataclass(frozen=True)
class SteadyTone:
    """A tone of any length; with `beat_hz` the left and right ears differ by that much."""

    hz: float
    wave: str = "sine"
    beat_hz: float = 0.0

    @property
    def channels(self) -> int:
        """Stereo only when there is a binaural beat."""
        return 2 if self.beat_hz > 0 else 1

    def frames(self, sample_rate: int) -> int | None:
        """As long as the step asks."""
        return None

    def _shape(self, phase: np.ndarray) -> np.ndarray:
        if self.wave == "triangle":
            return (2.0 / math.pi) * np.arcsin(np.sin(phase))
        if self.wave == "soft-square":
            return np.tanh(3.0 * np.sin(phase)) / math.tanh(3.0)
        return np.sin(phase)

    def render(self, sample_rate: int, start: int, frames: int) -> Audio:
        """Samples `start .. start+frames` (phase computed from the absolute index)."""
        t = _times(sample_rate, start, frames)
        if self.beat_hz <= 0:
            return self._shape(TWO_PI * self.hz * t).astype(np.float32)
        left = self._shape(TWO_PI * (self.hz - self.beat_hz / 2) * t)
        right = self._shape(TWO_PI * (self.hz + self.beat_hz / 2) * t)
        return np.stack([left, right], axis=1).astype(np.float32)


#: Relative strength of harmonics 1..8 for each vowel colour of the hum.
_VOWELS = {
    "mm": (1.0, 0.35, 0.12, 0.05, 0.02, 0.01, 0.0, 0.0),
    "oo": (1.0, 0.55, 0.2, 0.08, 0.03, 0.015, 0.01, 0.0),
    "ah": (1.0, 0.7, 0.5, 0.4, 0.3, 0.18, 0.1, 0.06),
}


@dataclass(frozen=True)
class HumDrone:
    """A warm voiced drone: harmonics with a slight vibrato and a slow breath-like swell."""

    hz: float
    vowel: str = "mm"
    channels = 1

    def frames(self, sample_rate: int) -> int | None:
        """As long as the step asks."""
        return None

    def render(self, sample_rate: int, start: int, frames: int) -> Audio:
        """Samples `start .. start+frames`; vibrato phase is integrated analytically."""
        t = _times(sample_rate, start, frames)
        vibrato_hz, depth = 5.0, 0.004
        # Instantaneous frequency hz*(1 + depth*sin(2πvt)) integrates to this phase.
        phase = TWO_PI * self.hz * (t - depth / (TWO_PI * vibrato_hz)
                                    * np.cos(TWO_PI * vibrato_hz * t))
        weights = _VOWELS.get(self.vowel, _VOWELS["mm"])
        nyquist = sample_rate / 2
        signal = np.zeros(frames, dtype=np.float64)
        for harmonic, weight in enumerate(weights, start=1):
            if weight and self.hz * harmonic < nyquist * 0.9:
                signal += weight * np.sin(harmonic * phase)
        swell = 0.85 + 0.15 * np.sin(TWO_PI * 0.1 * t)
        return (signal * swell / sum(weights)).astype(np.float32)


@dataclass(frozen=True)
class _Partial:
    ratio: float
    amplitude: float
    t60: float            # seconds to fall by 60 dB
    detune_hz: float = 0.0  # a second copy this far away makes the slow beating of a bowl


_BELLS: dict[str, tuple[float, tuple[_Partial, ...]]] = {
    "bowl": (220.0, (
        _Partial(1.0, 1.0, 14.0, 0.6), _Partial(2.71, 0.55, 9.0, 1.1),
        _Partial(5.15, 0.3, 5.0, 1.7), _Partial(8.43, 0.12, 2.5))),
    "chime": (880.0, (
        _Partial(1.0, 1.0, 6.0), _Partial(2.0, 0.45, 3.5), _Partial(3.01, 0.25, 2.0),
        _Partial(4.2, 0.12, 1.2))),
    "soft": (523.25, (
        _Partial(1.0, 1.0, 4.0), _Partial(2.0, 0.25, 2.0), _Partial(3.0, 0.08, 1.0))),
}


@dataclass(frozen=True)
class BellStrike:
    """One strike of a singing bowl, a chime or a soft bell, ringing until it fades out."""

    kind: str = "bowl"
    channels = 1

    def frames(self, sample_rate: int) -> int:
        """Until the longest partial has fallen by 60 dB."""
        _, partials = _BELLS[self.kind]
        return int(math.ceil(max(p.t60 for p in partials) * sample_rate))

    def render(self, sample_rate: int, start: int, frames: int) -> Audio:
        """Decaying partials with a 6 ms soft attack."""
        base_hz, partials = _BELLS[self.kind]
        t = _times(sample_rate, start, frames)
        signal = np.zeros(frames, dtype=np.float64)
        for partial in partials:
            hz = base_hz * partial.ratio
            decay = np.exp(-6.907755 * t / partial.t60)
            tone = np.sin(TWO_PI * hz * t)
            if partial.detune_hz:
                tone = 0.5 * (tone + np.sin(TWO_PI * (hz + partial.detune_hz) * t))
            signal += partial.amplitude * decay * tone
        attack = np.clip(t / 0.006, 0.0, 1.0)
        peak = sum(p.amplitude for p in partials)
        return (signal * attack / peak).astype(np.float32)


#: Cue pitches for each breathing phase: higher on the way in, lower on the way out.
CUE_HZ = {"inhale": 392.0, "top_up": 440.0, "hold": 329.63, "exhale": 261.63, "hold_out": 293.66}
