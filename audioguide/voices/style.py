"""Calm-voice shaping: a touch of warmth and a small, soft room around a spoken line.

Applied after synthesis (and after the line is trimmed and levelled), so it works
the same for every engine. It is deliberately subtle:

- warmth: a low shelf of +3 dB below about 200 Hz, and a gentle -2 dB shelf above
  about 6 kHz that takes the edge off sibilants;
- room: a short synthetic room (decay to -60 dB in 0.35 s after a 12 ms pre-delay,
  darker as it decays), mixed 17 dB under the voice, so the line ends in a brief
  soft tail instead of cutting to digital silence.

The slower rate and lower pitch of `style: calm` are settings for the engine; see
`timeline.Narrator`.
"""

from __future__ import annotations

import numpy as np

from .base import Speech

WARMTH_DB = 3.0
WARMTH_HZ = 200.0
SOFTEN_DB = -2.0
SOFTEN_HZ = 6000.0
ROOM_RT60_S = 0.35
ROOM_PREDELAY_S = 0.012
ROOM_WET_DB = -17.0
#: The room's noise is always the same, so shaping is deterministic.
ROOM_SEED = 20261129


def _shelf(freqs: np.ndarray, corner_hz: float, gain_db: float, low: bool) -> np.ndarray:
    """A smooth first-order-like shelf as a magnitude curve (zero phase)."""
    ratio = (freqs / corner_hz) ** 2
    share = 1.0 / (1.0 + ratio) if low else ratio / (1.0 + ratio)
    return 10.0 ** (gain_db * share / 20.0)


def room_response(sample_rate: int) -> np.ndarray:
    """The impulse response of the small room: the direct sound is not included."""
    length = int(sample_rate * ROOM_RT60_S)
    predelay = int(sample_rate * ROOM_PREDELAY_S)
    rng = np.random.default_rng(ROOM_SEED)
    noise = rng.standard_normal(length)
    t = np.arange(length) / sample_rate
    # Darker as it decays: split into a bright part that dies fast and a dull part.
    spectrum = np.fft.rfft(noise)
    freqs = np.fft.rfftfreq(length, 1.0 / sample_rate)
    dull = np.fft.irfft(spectrum * _shelf(freqs, 1500.0, -12.0, low=False), length)
    decay = np.exp(-6.91 * t / ROOM_RT60_S)
    bright_decay = np.exp(-6.91 * t / (ROOM_RT60_S * 0.4))
    tail = dull * decay * (1 - bright_decay) + noise * bright_decay * 0.5
    onset = np.minimum(1.0, t / 0.004)  # no click at the start of the tail
    tail *= onset
    tail /= np.sqrt(np.sum(tail**2))
    response = np.zeros(predelay + length)
    response[predelay:] = tail
    return response


def shape_calm(speech: Speech) -> Speech:
    """The line with warmth and a soft room; the tail makes it a little longer."""
    rate = speech.sample_rate
    dry = speech.samples.astype(np.float64)
    room = room_response(rate)
    size = len(dry) + len(room) - 1
    fft_size = 1 << (size - 1).bit_length()
    freqs = np.fft.rfftfreq(fft_size, 1.0 / rate)
    eq = _shelf(freqs, WARMTH_HZ, WARMTH_DB, low=True) * _shelf(freqs, SOFTEN_HZ, SOFTEN_DB,
                                                                 low=False)
    spectrum = np.fft.rfft(dry, fft_size) * eq
    warm = np.fft.irfft(spectrum, fft_size)[:size]
    wet = np.fft.irfft(spectrum * np.fft.rfft(room, fft_size), fft_size)[:size]
    # The room's energy matches the voice's, then sits ROOM_WET_DB below it.
    out = warm + wet * 10.0 ** (ROOM_WET_DB / 20.0)
    fade = min(len(out), int(rate * 0.05))
    if fade:
        out[-fade:] *= np.linspace(1.0, 0.0, fade)
    return Speech(out.astype(np.float32), rate)
