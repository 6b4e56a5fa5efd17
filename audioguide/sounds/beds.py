"""Background beds made block by block: noise colours, ocean swell, rain, and looped files.

A bed is read front to back in blocks from a loop of bounded length (a minute of
noise, or the user's file), so an 8-hour bed costs no more memory than an 8-minute
one. Noise is seeded, so the same script always gives the same bed. Output RMS is about 1.0
(per channel); the bed's level sets its loudness in the mix.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator

import numpy as np

from ..dsp import Audio, fade_curve
from ..errors import MediaError

#: Seconds of noise made once and looped (a minute of noise does not repeat audibly).
TILE_SECONDS = 60.0
#: Below this the pink and brown slopes level off, so the noise has no DC drift.
CORNER_HZ = 20.0
#: The spectral slope of each colour, as the power of frequency in the amplitude.
_SLOPES = {"white": 0.0, "pink": 0.5, "rain": 0.5, "brown": 1.0, "ocean": 1.0}


class NoiseBed:
    """White, pink or brown noise, or the ocean and rain built from them.

    A minute of noise is made once, coloured in the frequency domain (white noise's
    spectrum divided by f^0.5 for pink, -3 dB an octave, or by f for brown, -6 dB an
    octave), which makes the minute exactly periodic: played round and round it has no
    seam at all. So an hour of bed costs a little copying per block instead of seconds
    of random numbers and filtering. A minute of noise does not repeat audibly; the
    ocean's swell is laid over the loop live, from the absolute position, so the waves
    never repeat with it.
    """

    def __init__(self, kind: str, sample_rate: int, channels: int, seed: int = 1,
                 tile_s: float = TILE_SECONDS) -> None:
        self.kind = kind
        self.sample_rate = sample_rate
        self.channels = channels
        self.rng = np.random.default_rng(seed)
        self.position = 0
        if kind == "ocean":
            # Wave periods between 8 and 12 s, fixed by the seed.
            self.wave_periods = self.rng.uniform(8.0, 12.0, size=4)
            self.wave_phases = self.rng.uniform(0.0, 2 * math.pi, size=4)
        crossfade_s = 1.0
        self.loop = LoopBed(self._tile(int((tile_s + crossfade_s) * sample_rate),
                                       int(crossfade_s * sample_rate)),
                            sample_rate, crossfade_s, copy=False)

    def _tile(self, frames: int, crossfade: int) -> Audio:
        """`frames` of coloured noise (RMS 1 in each channel), looped by the caller.

        It is made in pieces of at most 2^20 frames, each coloured with one FFT and
        joined to the next with an equal-power crossfade: one FFT over the whole minute
        would need about 80 MB of working memory for a moment.
        """
        tile = np.empty((frames, self.channels), dtype=np.float32)
        piece = min(frames, 1 << 20)
        slope = _SLOPES.get(self.kind, 0.0)
        freqs = np.fft.rfftfreq(piece, 1.0 / self.sample_rate)
        shape = ((freqs**2 + CORNER_HZ**2) ** (-slope / 2) if slope
                 else np.ones(len(freqs))).astype(np.float32)
        shape[0] = 0.0  # no DC
        rise = np.sqrt(fade_curve(crossfade))
        fall = rise[::-1]
        for channel in range(self.channels):
            written = 0
            while written < frames:
                white = self.rng.standard_normal(piece, dtype=np.float32)
                coloured = np.fft.irfft(np.fft.rfft(white) * shape, piece).astype(np.float32)
                coloured /= np.float32(np.sqrt(np.mean(np.square(coloured, dtype=np.float64))))
                if written == 0:
                    take = min(piece, frames)
                    tile[:take, channel] = coloured[:take]
                    written = take
                    continue
                # Overlap the new piece's start with the last `crossfade` frames written.
                start = written - crossfade
                tile[start:written, channel] = (tile[start:written, channel] * fall
                                                + coloured[:crossfade] * rise)
                take = min(piece - crossfade, frames - written)
                tile[written: written + take, channel] = coloured[crossfade: crossfade + take]
                written += take
        if self.kind == "rain":
            tile *= 0.6
            tile += self._drops(frames).astype(np.float32)
        return tile

    def read(self, frames: int) -> Audio:
        """The next `frames` frames, shape (frames, channels)."""
        out = self.loop.read(frames)
        if self.kind == "ocean":
            out = out * self._swell(frames)[:, None].astype(np.float32)
        self.position += frames
        return out

    def _swell(self, frames: int) -> np.ndarray:
        """The waves' envelope, computed every 64 samples and joined with straight lines."""
        step = 64
        first = self.position // step
        last = (self.position + frames) // step + 1
        knots = np.arange(first, last + 1, dtype=np.float64) * step
        t = knots / self.sample_rate
        wave = np.zeros(len(knots))
        for period, phase in zip(self.wave_periods, self.wave_phases, strict=True):
            wave += 0.5 - 0.5 * np.cos(2 * math.pi * t / period + phase)
        # Between a quiet trough (0.25) and a full crest, so it breathes like surf.
        envelope = 0.25 + 1.1 * (wave / len(self.wave_periods)) ** 1.5
        index = np.arange(self.position, self.position + frames, dtype=np.float64)
        return np.interp(index, knots, envelope)

    def _drops(self, frames: int) -> np.ndarray:
        """Soft droplets: short decaying high tones at random times, about 60 a second."""
        drop_length = int(0.012 * self.sample_rate)
        out = np.zeros((frames + drop_length, self.channels))
        count = self.rng.poisson(60 * frames / self.sample_rate)
        t = np.arange(drop_length) / self.sample_rate
        starts = self.rng.integers(0, frames, size=count)
        pitches = self.rng.uniform(2500.0, 6000.0, size=count)
        amplitudes = self.rng.uniform(0.2, 1.0, size=count)
        pans = self.rng.uniform(0.2, 0.8, size=count)
        for at, hz, amplitude, pan in zip(starts, pitches, amplitudes, pans, strict=True):
            drop = amplitude * np.exp(-t / 0.002) * np.sin(2 * math.pi * hz * t)
            if self.channels == 1:
                out[at: at + drop_length, 0] += drop
            else:
                out[at: at + drop_length, 0] += drop * (1 - pan)
                out[at: at + drop_length, 1] += drop * pan
        # Drops hanging over the end wrap round to the start, so the loop stays seamless.
        out[:drop_length] += out[frames:]
        return out[:frames]


def loop_seam(head: Audio, tail: Audio) -> Audio:
    """A loop point: the file's end fading out (equal power) as its start fades in."""
    rise = np.sqrt(fade_curve(len(head)))[:, None]
    fall = np.sqrt(1.0 - fade_curve(len(head)))[:, None]
    return (head * rise + tail * fall).astype(np.float32)


class StreamLoopBed:
    """A long file played round and round without holding it in memory.

    Each pass streams the file from its decoder and holds back only its last `crossfade`
    frames, which are crossfaded into the file's first `crossfade` frames (kept from the
    first pass) before the next pass goes on from there: the same seam as LoopBed, in
    memory the size of the crossfade and one block.
    """

    def __init__(self, open_stream: Callable[[], Iterator[Audio]], sample_rate: int,
                 crossfade_s: float = 2.0) -> None:
        self.open_stream = open_stream
        self.crossfade_s = crossfade_s
        self.crossfade = int(crossfade_s * sample_rate)
        self.pending: Audio = np.zeros((0, 0), dtype=np.float32)
        self._blocks = self._passes()

    def _passes(self) -> Iterator[Audio]:
        """The file's frames, pass after pass, without the first `crossfade` after pass 1."""
        first = True
        head_parts: list[Audio] = []        # the file's first `crossfade` frames
        while True:
            skip = 0 if first else self.crossfade
            held = None
            produced = 0
            for block in self.open_stream():
                block = np.asarray(block, dtype=np.float32)
                if first and produced < self.crossfade:
                    head_parts.append(block[: self.crossfade - produced].copy())
                produced += len(block)
                if skip:
                    cut = min(skip, len(block))
                    block, skip = block[cut:], skip - cut
                held = block if held is None else np.concatenate([held, block])
                if len(held) > self.crossfade:
                    yield held[: len(held) - self.crossfade]
                    held = held[len(held) - self.crossfade:]
            if produced < 3 * self.crossfade:
                raise MediaError(f"the bed file is too short to loop (under "
                                 f"{3 * self.crossfade_s:g} s)")
            assert held is not None
            yield loop_seam(np.concatenate(head_parts), held)
            first = False

    def read(self, frames: int) -> Audio:
        """The next `frames` frames, wrapping round the loop."""
        parts = [self.pending] if len(self.pending) else []
        have = len(self.pending)
        while have < frames:
            block = next(self._blocks)
            parts.append(block)
            have += len(block)
        joined = np.concatenate(parts) if len(parts) > 1 else parts[0]
        self.pending = joined[frames:]
        return joined[:frames]


class LoopBed:
    """A decoded file played round and round with a crossfaded loop point (no click, no gap)."""

    def __init__(self, audio: Audio, sample_rate: int, crossfade_s: float = 2.0,
                 copy: bool = True) -> None:
        frames = len(audio)
        crossfade = min(int(crossfade_s * sample_rate), frames // 3)
        # Without copy the loop is built in `audio` itself (the caller gives it up).
        body = np.array(audio[: frames - crossfade], dtype=np.float32, copy=copy)
        if crossfade > 0:
            body[:crossfade] = loop_seam(audio[:crossfade], audio[frames - crossfade:])
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
