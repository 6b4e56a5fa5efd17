"""Calm-voice shaping, per kind of engine: warmth and a small, soft room where they help.

Applied after synthesis (and after the line is trimmed and levelled). What helps depends
on the voice, so each kind of engine has its own `CalmProfile` (see
docs/benchmarks.md, "Calm style by measurement"):

- formant voices (eSpeak through pyttsx3, and the draft murmur): a low shelf of +3 dB
  below about 200 Hz, a gentle -2 dB shelf above about 6 kHz that takes the edge off
  sibilants, and a short synthetic room (decay to -60 dB in 0.35 s after a 12 ms
  pre-delay, darker as it decays) mixed 17 dB under the voice, so the line ends in a
  brief soft tail instead of cutting to digital silence;
- neural voices (Piper): no EQ, and a much fainter, shorter room (0.25 s decay, 32 dB
  under the voice). Piper already sounds natural: the formant profile's EQ and room
  lowered its predicted quality (DistillMOS) by about 0.1, while this faint tail raises
  it a little and still ends each line softly.

The slower rate and lower pitch of `style: calm` are settings for the engine; see
`timeline.Narrator`. `shaping_identity` goes into the speech cache key, so a line made
with an older profile is not reused.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .base import Speech

#: Bump when the shaping code changes in a way the profiles' numbers do not show.
SHAPING_VERSION = 2
#: The room's noise is always the same, so shaping is deterministic.
ROOM_SEED = 20261129
#: Length of the fade that ends a room's tail.
TAIL_FADE_S = 0.05


@dataclass(frozen=True)
class CalmProfile:
    """How `style: calm` shapes a line after synthesis (0 dB / no room: left as it is)."""

    name: str
    warmth_db: float = 0.0          # low shelf below warmth_hz
    warmth_hz: float = 200.0
    soften_db: float = 0.0          # high shelf above soften_hz
    soften_hz: float = 6000.0
    room_wet_db: float | None = None  # the room this far under the voice; None: no room
    room_rt60_s: float = 0.35
    room_predelay_s: float = 0.012

    @property
    def shapes(self) -> bool:
        """Whether the profile changes the samples at all."""
        return bool(self.warmth_db or self.soften_db or self.room_wet_db is not None)


FORMANT_CALM = CalmProfile("formant", warmth_db=3.0, soften_db=-2.0, room_wet_db=-17.0)
NEURAL_CALM = CalmProfile("neural", room_wet_db=-32.0, room_rt60_s=0.25)
#: Engines whose calm is not the formant one.
CALM_PROFILES: dict[str, CalmProfile] = {"piper": NEURAL_CALM}


def calm_profile(engine: str) -> CalmProfile:
    """The calm shaping for an engine by name (formant for any engine not listed)."""
    return CALM_PROFILES.get(engine, FORMANT_CALM)


def shaping_identity(engine: str, style: str) -> str:
    """What a line of this engine and style is shaped with, for the cache key ('' if nothing)."""
    if style != "calm" or engine == "recorded":
        return ""
    return f"calm v{SHAPING_VERSION} {calm_profile(engine)!r}"


def _shelf(freqs: np.ndarray, corner_hz: float, gain_db: float, low: bool) -> np.ndarray:
    """A smooth first-order-like shelf as a magnitude curve (zero phase)."""
    ratio = (freqs / corner_hz) ** 2
    share = 1.0 / (1.0 + ratio) if low else ratio / (1.0 + ratio)
    return 10.0 ** (gain_db * share / 20.0)


def room_response(sample_rate: int, rt60_s: float = FORMANT_CALM.room_rt60_s,
                  predelay_s: float = FORMANT_CALM.room_predelay_s) -> np.ndarray:
    """The impulse response of the small room: the direct sound is not included."""
    length = int(sample_rate * rt60_s)
    predelay = int(sample_rate * predelay_s)
    rng = np.random.default_rng(ROOM_SEED)
    noise = rng.standard_normal(length)
    t = np.arange(length) / sample_rate
    # Darker as it decays: split into a bright part that dies fast and a dull part.
    spectrum = np.fft.rfft(noise)
    freqs = np.fft.rfftfreq(length, 1.0 / sample_rate)
    dull = np.fft.irfft(spectrum * _shelf(freqs, 1500.0, -12.0, low=False), length)
    decay = np.exp(-6.91 * t / rt60_s)
    bright_decay = np.exp(-6.91 * t / (rt60_s * 0.4))
    tail = dull * decay * (1 - bright_decay) + noise * bright_decay * 0.5
    onset = np.minimum(1.0, t / 0.004)  # no click at the start of the tail
    tail *= onset
    tail /= np.sqrt(np.sum(tail**2))
    response = np.zeros(predelay + length)
    response[predelay:] = tail
    return response


def shape_calm(speech: Speech, profile: CalmProfile = FORMANT_CALM) -> Speech:
    """The line shaped by the profile; a room's tail makes it a little longer."""
    if not profile.shapes:
        return speech
    rate = speech.sample_rate
    dry = speech.samples.astype(np.float64)
    room = (room_response(rate, profile.room_rt60_s, profile.room_predelay_s)
            if profile.room_wet_db is not None else np.zeros(1))
    size = len(dry) + len(room) - 1
    fft_size = 1 << (size - 1).bit_length()
    freqs = np.fft.rfftfreq(fft_size, 1.0 / rate)
    eq = (_shelf(freqs, profile.warmth_hz, profile.warmth_db, low=True)
          * _shelf(freqs, profile.soften_hz, profile.soften_db, low=False))
    spectrum = np.fft.rfft(dry, fft_size) * eq
    out = np.fft.irfft(spectrum, fft_size)[:size]
    if profile.room_wet_db is not None:
        wet = np.fft.irfft(spectrum * np.fft.rfft(room, fft_size), fft_size)[:size]
        # The room's energy matches the voice's, then sits room_wet_db below it.
        out = out + wet * 10.0 ** (profile.room_wet_db / 20.0)
        fade = min(len(out), int(rate * TAIL_FADE_S))
        if fade:
            out[-fade:] *= np.linspace(1.0, 0.0, fade)
    return Speech(out.astype(np.float32), rate)
