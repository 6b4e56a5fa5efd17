"""Synthesized clips: breathing cue tones, steady tones, a humming drone, bells.

Every sound is a pure function of the absolute sample index, so any stretch of it
can be made on its own (the mixer asks for one block at a time) and the result is
the same however it is cut up. Amplitude peaks near 1.0; the clip's gain sets the
level in the mix.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from ..dsp import Audio

TWO_PI = 2.0 * math.pi


def _times(sample_rate: int, start: int, frames: int) -> np.ndarray:
    return (np.arange(start, start + frames, dtype=np.float64)) / sample_rate


@dataclass(frozen=True)
class Tick:
    """A short soft tick (a tiny wooden knock) that marks the start of a breathing phase."""

    hz: float
    seconds: float = 0.06
    channels = 1

    def frames(self, sample_rate: int) -> int:
        """Its own length."""
        return int(round(self.seconds * sample_rate))

    def render(self, sample_rate: int, start: int, frames: int) -> Audio:
        """A decaying sine with a 1.5 ms raised-cosine attack, faded out by its end."""
        total = self.frames(sample_rate)
        t = _times(sample_rate, start, frames)
        attack = np.clip(t / 0.0015, 0.0, 1.0)
        attack = 0.5 - 0.5 * np.cos(np.pi * attack)
        decay = np.exp(-t / 0.012)
        index = np.arange(start, start + frames, dtype=np.float64)
        tail = np.clip((total - index) / (0.25 * total), 0.0, 1.0)
        tone = np.sin(TWO_PI * self.hz * t) + 0.3 * np.sin(TWO_PI * 2.7 * self.hz * t)
        return (tone * attack * decay * tail / 1.3).astype(np.float32)


#: Where the pacing tone sits: low at the bottom of a breath, high at the top.
PACER_LOW_HZ = 196.0     # G3
PACER_HIGH_HZ = 293.66   # D4, a fifth above
PACER_TOP_HZ = 329.63    # E4, for a top-up inhale


def _pacer_pitches(kinds: tuple[str, ...], low: float, high: float,
                   top: float) -> list[tuple[float, float]]:
    """(start Hz, end Hz) for each phase: up on inhales, level on holds, down on exhales."""
    pitches = []
    now = low
    for kind in kinds:
        if kind == "inhale":
            target = high
        elif kind == "top_up":
            target = top
        elif kind == "exhale":
            target = low
        else:
            target = now
        pitches.append((now, target))
        now = target
    return pitches


@dataclass(frozen=True)
class PacerTone:
    """One continuous tone across a breathe step that glides with the breath.

    The pitch eases up over each inhale, stays put on a hold and eases down over each
    exhale. Its phase is integrated exactly (in closed form, per phase), so there is
    never a click at a phase boundary, and any stretch can be made on its own.
    `phases` is (kind, frames) for every phase of every breath, in order.
    """

    phases: tuple[tuple[str, int], ...]
    low_hz: float = PACER_LOW_HZ
    high_hz: float = PACER_HIGH_HZ
    top_hz: float = PACER_TOP_HZ
    channels = 1

    @classmethod
    def around(cls, phases: tuple[tuple[str, int], ...], drone_hz: float) -> PacerTone:
        """A pacer in tune with a drone: from its octave up to the fifth above that."""
        low = drone_hz * 2
        while low > 400:
            low /= 2
        return cls(phases, round(low, 4), round(low * 1.5, 4), round(low * 1.5 * 9 / 8, 4))

    def frames(self, sample_rate: int) -> int:
        """The whole breathe step."""
        return sum(frames for _, frames in self.phases)

    @functools.cached_property
    def _plans(self) -> dict[int, tuple[np.ndarray, list[tuple[float, float]], list[float]]]:
        # Worked out once per sample rate and kept on the instance (not in its hash).
        return {}

    def render(self, sample_rate: int, start: int, frames: int) -> Audio:
        """Samples `start .. start+frames`."""
        if sample_rate not in self._plans:
            self._plans[sample_rate] = _pacer_plan(self.phases, sample_rate, self.low_hz,
                                                   self.high_hz, self.top_hz)
        starts, pitches, phases0 = self._plans[sample_rate]
        out = np.zeros(frames, dtype=np.float64)
        first = max(0, int(np.searchsorted(starts, start, side="right")) - 1)
        end = start + frames
        for index in range(first, len(self.phases)):
            seg_start = int(starts[index])
            if seg_start >= end:
                break
            seg_frames = self.phases[index][1]
            lo, hi = max(seg_start, start), min(seg_start + seg_frames, end)
            if hi <= lo:
                continue
            t = np.arange(lo - seg_start, hi - seg_start, dtype=np.float64) / sample_rate
            length = seg_frames / sample_rate
            f0, f1 = pitches[index]
            # f(t) = f0 + (f1 - f0)(1 - cos(πt/T))/2 integrates to this phase.
            phase = phases0[index] + TWO_PI * (
                f0 * t + (f1 - f0) / 2 * (t - length / math.pi * np.sin(math.pi * t / length)))
            sine, cosine = np.sin(phase), np.cos(phase)
            # sin 2x = 2 sin x cos x and sin 3x = sin x (3 - 4 sin² x): one sine, one cosine.
            out[lo - start: hi - start] = sine * (1.0 + 0.36 * cosine
                                                  + 0.05 * (3.0 - 4.0 * sine * sine))
        return (out / 1.23).astype(np.float32)


def _pacer_plan(phases: tuple[tuple[str, int], ...], sample_rate: int, low: float, high: float,
                top: float) -> tuple[np.ndarray, list[tuple[float, float]], list[float]]:
    """Start frame, pitches and starting phase (radians) of every phase of a pacer."""
    pitches = _pacer_pitches(tuple(kind for kind, _ in phases), low, high, top)
    starts = np.zeros(len(phases), dtype=np.int64)
    phases0 = []
    position, phase = 0, 0.0
    for index, (_, frames) in enumerate(phases):
        starts[index] = position
        phases0.append(phase)
        f0, f1 = pitches[index]
        # Over a whole phase the eased glide averages (f0 + f1) / 2.
        phase = (phase + TWO_PI * (f0 + f1) / 2 * frames / sample_rate) % TWO_PI
        position += frames
    return starts, pitches, phases0


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
        # Harmonics by the recurrence sin((k+1)x) = 2 cos x sin kx - sin((k-1)x):
        # one sine and one cosine instead of one sine per harmonic.
        twice_cos = 2.0 * np.cos(phase)
        # Annotated as any-length arrays: numpy's stubs give np.zeros a fixed shape type.
        previous: np.ndarray = np.zeros(frames)
        current: np.ndarray = np.sin(phase)
        for harmonic, weight in enumerate(weights, start=1):
            if self.hz * harmonic >= nyquist * 0.9:
                break
            if weight:
                signal += weight * current
            previous, current = current, twice_cos * current - previous
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


#: Tick pitches for each breathing phase: higher on the way in, lower on the way out.
TICK_HZ = {"inhale": 1318.5, "top_up": 1568.0, "hold": 1046.5, "exhale": 880.0,
           "hold_out": 987.8}
