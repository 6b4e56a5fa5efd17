"""The playlist as one stream: the tracks end to end, joined by silence or a crossfade.

Not the render mixer: a session's clips all have known lengths when it is mixed, while
tracks are joined as they decode, each learning its length from its own stream; the
crossfade is equal-power (the square root of dsp's fade curve), since the two tracks
are unrelated sounds.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from fractions import Fraction

import numpy as np

from ..dsp import BLOCK_FRAMES, Audio, fade_curve
from ..media import decode_stream
from ..output.tags import ChapterMark, ms_at_or_after
from ..units import db_to_gain, seconds_to_samples
from .tracks import Track


def join_tracks(tracks: Sequence[Track], sample_rate: int, channels: int, *,
                gap_s: Fraction, crossfade_s: Fraction, gains_db: Sequence[float],
                chapters: list[ChapterMark], block_frames: int = BLOCK_FRAMES) -> Iterator[Audio]:
    """The tracks as one stream: each scaled by its gain, joined by silence or an equal-power
    crossfade. `chapters` is filled (one per track, in ms) as the stream is read."""
    gap = seconds_to_samples(gap_s, sample_rate)
    shortest = min((track.seconds for track in tracks), default=0.0)
    crossfade = min(seconds_to_samples(crossfade_s, sample_rate),
                    int(shortest * sample_rate / 2)) if crossfade_s else 0
    rise = np.sqrt(fade_curve(crossfade))[:, None] if crossfade else None
    fall = rise[::-1] if rise is not None else None
    emitted = 0
    carry: Audio | None = None
    starts: list[int] = []
    for index, (track, gain_db) in enumerate(zip(tracks, gains_db, strict=True)):
        factor = np.float32(db_to_gain(gain_db))
        stream = (block * factor for block in decode_stream(track.path, sample_rate, channels,
                                                           block_frames))
        if index and gap and not crossfade:
            for start in range(0, gap, block_frames):
                silence = np.zeros((min(block_frames, gap - start), channels), np.float32)
                emitted += len(silence)
                yield silence
        starts.append(emitted)
        pending: Audio = np.zeros((0, channels), dtype=np.float32)
        if carry is not None and rise is not None and fall is not None:
            head = pending
            for block in stream:
                head = np.concatenate([head, block])
                if len(head) >= crossfade:
                    break
            overlap = min(len(head), len(carry))
            mixed = carry[:overlap] * fall[-overlap:] + head[:overlap] * rise[:overlap]
            emitted += overlap
            yield mixed.astype(np.float32)
            pending = head[overlap:]
        last = index == len(tracks) - 1
        for block in stream:
            pending = np.concatenate([pending, block]) if len(pending) else block
            keep = 0 if last or not crossfade else crossfade
            if len(pending) > keep:
                out, pending = pending[: len(pending) - keep], pending[len(pending) - keep:]
                emitted += len(out)
                yield out
        if last or not crossfade:
            if len(pending):
                emitted += len(pending)
                yield pending
            carry = None
        else:
            carry = pending
    for index, track in enumerate(tracks):
        end = starts[index + 1] if index + 1 < len(starts) else emitted
        chapters.append(ChapterMark(track.title, ms_at_or_after(starts[index], sample_rate),
                                    ms_at_or_after(end, sample_rate)))
