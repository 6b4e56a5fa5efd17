"""The mixer: a `Timeline` becomes a stream of fixed-size float32 blocks (frames × channels).

Each block sums only the clips that overlap it, plus the beds, then passes a
look-ahead peak limiter, so memory depends on the block size and the clips in
flight, never on the session's length, and nothing ever clips.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from ..dsp import BLOCK_FRAMES, Audio, envelope_slice
from ..progress import Progress
from ..timeline.model import BedTrack, Clip, Timeline
from ..units import db_to_gain
from .limiter import Limiter, limit_stream
from .sources import ClipLibrary, Reader


@dataclass
class _Playing:
    clip: Clip
    reader: Reader
    gain: float


class _BedPlayer:
    """A bed's reader and its gain curve: level × fades × ducking, made block by block.

    The ducking depth is a piecewise-linear curve (0 → 1 over the attack before each
    spoken span, 1 → 0 over the release after it; the compiler merges spans closer than
    attack + release, so the ramps never overlap), eased with a smoothstep and applied
    in dB, so the bed glides down and up without pumping or clicks.
    """

    def __init__(self, bed: BedTrack, reader: Reader) -> None:
        self.reader = reader
        self.update(bed)

    def update(self, bed: BedTrack) -> None:
        """Take the bed's (newer) description; the reader plays on where it was."""
        self.bed = bed
        self.level = db_to_gain(bed.level_db)
        points: list[float] = []
        depths: list[float] = []
        for start, end in bed.duck:
            points += [start - bed.attack, start, end, end + bed.release]
            depths += [0.0, 1.0, 1.0, 0.0]
        self.points = np.array(points, dtype=np.float64)
        self.depths = np.array(depths, dtype=np.float64)
        self.duck_rate = -bed.duck_db * math.log(10.0) / 20.0  # gain = exp(rate × depth)
        self.ducked = db_to_gain(-bed.duck_db)

    def gain(self, start: int, frames: int) -> np.ndarray | float:
        """The bed's gain for `frames` samples from `start` (a number where it is constant)."""
        bed = self.bed
        offset = start - bed.start
        length = bed.end - bed.start
        fading = offset < bed.fade_in or offset + frames > length - bed.fade_out
        gain: np.ndarray | float = self.level
        if fading:
            gain = envelope_slice(length, bed.fade_in, bed.fade_out, offset,
                                  frames).astype(np.float64) * self.level
        if bed.duck_db > 0 and len(self.points):
            first = int(np.searchsorted(self.points, start, side="right"))
            last = int(np.searchsorted(self.points, start + frames, side="left"))
            if first == last and first % 4 == 2:
                return gain * self.ducked  # wholly under one spoken span
            if first != last or first % 4 != 0:  # some ramp or span meets this block
                index = np.arange(start, start + frames, dtype=np.float64)
                depth = np.interp(index, self.points, self.depths)
                eased = depth * depth * (3.0 - 2.0 * depth)  # smoothstep: no corners
                gain = gain * np.exp(self.duck_rate * eased)
        return gain

    def add_to(self, block: Audio, start: int) -> None:
        """Mix this bed into `block`, which starts at sample `start`."""
        end = start + len(block)
        bed = self.bed
        if bed.start >= end or bed.end <= start:
            return
        first, last = max(bed.start, start), min(bed.end, end)
        noise = self.reader.read(last - first)
        gain = self.gain(first, last - first)
        target = block[first - start: last - start]
        if isinstance(gain, float):
            target += noise * np.float32(gain)
        else:
            target += noise * gain.astype(np.float32)[:, None]


class Mixer:
    """Sums the clips and beds of a session into blocks, one block after the other.

    Clips come in timeline order (`add` more before mixing the blocks they reach); beds
    may be replaced by what more is known of them (`set_beds`), as long as nothing already
    mixed would change. So a session still being compiled mixes to the same samples as
    the whole timeline, block for block.
    """

    def __init__(self, library: ClipLibrary, channels: int, clips: Sequence[Clip] = (),
                 beds: Sequence[BedTrack] = ()) -> None:
        self.library = library
        self.channels = channels
        self._clips: list[Clip] = list(clips)
        self._upcoming = 0
        self._playing: list[_Playing] = []
        self._beds: dict[tuple[int, Hashable], _BedPlayer] = {}
        self.set_beds(beds)

    def add(self, clips: Iterable[Clip]) -> None:
        """More clips, in timeline order, none starting before the block to mix next."""
        self._clips.extend(clips)

    def set_beds(self, beds: Sequence[BedTrack]) -> None:
        """The beds as now known (a bed keeps its place in its sound from one call to
        the next)."""
        players: dict[tuple[int, Hashable], _BedPlayer] = {}
        for bed in beds:
            key = (bed.start, bed.source)
            player = self._beds.get(key)
            if player is None:
                player = _BedPlayer(bed, self.library.open_bed(bed.source))
            elif player.bed != bed:
                player.update(bed)
            players[key] = player
        self._beds = players

    def mix(self, start: int, frames: int) -> Audio:
        """The raw mix (before the limiter) of `frames` frames from `start`, which is
        where the previous block ended."""
        clips = self._clips
        channels = self.channels
        end = start + frames
        block = np.zeros((frames, channels), dtype=np.float32)
        while self._upcoming < len(clips) and clips[self._upcoming].start < end:
            clip = clips[self._upcoming]
            if clip.length > 0:
                self._playing.append(_Playing(clip, self.library.open(clip.source),
                                              db_to_gain(clip.gain_db)))
            self._upcoming += 1
        still: list[_Playing] = []
        for item in self._playing:
            clip = item.clip
            first, last = max(clip.start, start), min(clip.end, end)
            samples = item.reader.read(last - first)
            offset = first - clip.start
            if clip.fade_in > offset or clip.fade_out > clip.length - last + clip.start:
                shape = envelope_slice(clip.length, clip.fade_in, clip.fade_out, offset,
                                       last - first) * item.gain
            else:
                shape = None
            target = block[first - start: last - start]
            if samples.ndim == 1:
                samples = samples * (shape if shape is not None else item.gain)
                target += samples[:, None]
            else:
                if channels == 1 and samples.shape[1] > 1:
                    samples = samples.mean(axis=1, keepdims=True)
                factor = shape[:, None] if shape is not None else item.gain
                target += samples * factor
            if clip.end > end:
                still.append(item)
        self._playing = still
        for bed in self._beds.values():
            bed.add_to(block, start)
        return block


def mix_blocks(timeline: Timeline, library: ClipLibrary,
               block_frames: int = BLOCK_FRAMES) -> Iterator[Audio]:
    """The raw mix (before the limiter), block by block."""
    mixer = Mixer(library, timeline.channels, timeline.clips, timeline.beds)
    for start in range(0, timeline.length, block_frames):
        yield mixer.mix(start, min(block_frames, timeline.length - start))


def render_blocks(timeline: Timeline, library: ClipLibrary, *,
                  block_frames: int = BLOCK_FRAMES, progress: Progress | None = None,
                  stage: str = "render", limit: bool = True, gain_db: float = 0.0,
                  true_peak_ceiling_db: float | None = None) -> Iterator[Audio]:
    """Timeline → blocks of shape (frames, channels), float32.

    `gain_db` is applied to the whole mix (loudness normalisation). The limiter then
    holds sample peaks at -1 dBFS, or, given `true_peak_ceiling_db`, true peaks at that.
    """
    mixed = mix_blocks(timeline, library, block_frames)
    if gain_db:
        factor = np.float32(db_to_gain(gain_db))
        mixed = (block * factor for block in mixed)
    limiter = None
    if true_peak_ceiling_db is not None:
        limiter = Limiter(timeline.sample_rate, db_to_gain(true_peak_ceiling_db),
                          true_peak=True)
    elif limit:
        limiter = Limiter(timeline.sample_rate)
    done = 0
    for block in limit_stream(mixed, limiter, timeline.channels):
        done += len(block)
        if progress:
            progress(stage, done, timeline.length)
        yield block
