"""Rendering a live session as far as it is compiled, and holding at a pause when the
speech is not ready.

The blocks are the ones `render_blocks` makes of the finished timeline (the same mixer,
block size and limiter), rendered only up to the live timeline's frontier. Audio is
handed to the player only up to the last place where no line is being spoken (between
lines; where nothing but a bed sounds, if there is such a place since the last line), so
if the speech falls behind the player's queue runs dry at a pause, never inside a line:
the player then holds its position in silence until the next line is ready, and that is
said once, as a log warning.
"""

from __future__ import annotations

import bisect
import logging
from collections.abc import Callable, Iterator, Sequence

import numpy as np

from ..dsp import BLOCK_FRAMES, Audio
from ..render.limiter import Limiter
from ..render.mixer import Mixer
from ..render.sources import ClipLibrary
from ..timeline.model import SPOKEN_KINDS, Clip, Timeline
from .timeline import Frontier, LiveTimeline

log = logging.getLogger(__name__)

#: How often a wait for the frontier looks whether the player has stopped.
POLL_S = 0.1

BEHIND = ("the voice is being made more slowly than the session plays; holding at a pause "
          "until the next line is ready (it is cached for next time)")


class Spans:
    """Where clips sound, as sorted merged (start, end) spans, added in timeline order."""

    def __init__(self) -> None:
        self.spans: list[tuple[int, int]] = []

    def add(self, clips: Sequence[Clip]) -> None:
        """More clips, none starting before those added already."""
        for clip in clips:
            if clip.length <= 0:
                continue
            if self.spans and clip.start <= self.spans[-1][1]:
                last = self.spans[-1]
                self.spans[-1] = (last[0], max(last[1], clip.end))
            else:
                self.spans.append((clip.start, clip.end))

    def clear_before(self, sample: int) -> int:
        """The latest place at or before `sample` where nothing of these sounds on both
        sides: `sample` itself, or the start of the span sounding there."""
        index = bisect.bisect_right(self.spans, (sample, sample)) - 1
        if index >= 0 and self.spans[index][0] < sample < self.spans[index][1]:
            return self.spans[index][0]
        return sample

    def end_before(self, sample: int) -> int:
        """Where the last span that starts before `sample` ends (0 if none)."""
        index = bisect.bisect_left(self.spans, (sample, sample)) - 1
        return self.spans[index][1] if index >= 0 else 0


def hold_point(lines: Spans, sounds: Spans, start: int, end: int) -> int:
    """The latest place in [start, end] to stop at if the next audio is late: not inside a
    line, and where nothing but a bed sounds if there is such a place after the last line
    (`start` if there is no place at all)."""
    cut = lines.clear_before(end)
    if cut <= start:
        return start
    calm = sounds.clear_before(cut)
    return calm if calm > start and calm >= lines.end_before(cut) else cut


def live_blocks(live: LiveTimeline, library: ClipLibrary, *,
                underruns: Callable[[], int] | None = None,
                stopped: Callable[[], bool] | None = None,
                show: Callable[[Timeline], None] | None = None,
                block_frames: int = BLOCK_FRAMES) -> Iterator[Audio]:
    """The session's audio as `render_blocks(finished timeline)` gives it (pieces of any
    size), made as far as `live` is compiled, each piece ending at a pause.

    `underruns` (the player's count) tells when the player ran dry while this waited, so
    the warning is said only when the wait was heard; `stopped` ends a wait when the
    player stops; `show` is given the timeline as far as placed whenever it grows (for
    the display).
    """
    rate, channels = live.sample_rate, live.channels
    mixer = Mixer(library, channels)
    limiter = Limiter(rate)
    lines, sounds = Spans(), Spans()
    held: list[Audio] = []          # limited audio not yet handed out, from held_start
    held_start = held_end = 0
    mixed_to = 0
    previous: Audio | None = None   # a mixed block waiting for the next (the limiter's look-ahead)
    warned = False
    frontier = Frontier(0, (), ())

    def take(new: Frontier) -> Frontier:
        if show is not None and (new.end != frontier.end or new.timeline is not None
                                 and frontier.timeline is None):
            show(live.view())
        mixer.add(new.clips)
        mixer.set_beds(new.beds)
        lines.add([clip for clip in new.clips if clip.kind in SPOKEN_KINDS])
        sounds.add(new.clips)
        return new

    def hand_out(upto: int) -> Iterator[Audio]:
        nonlocal held, held_start
        if upto <= held_start:
            return
        joined = np.concatenate(held) if len(held) > 1 else held[0]
        cut = upto - held_start
        yield joined[:cut]
        rest = joined[cut:]
        held = [rest] if len(rest) else []
        held_start = upto

    frontier = take(live.advance(0, 0))
    while True:
        length = frontier.timeline.length if frontier.timeline is not None else None
        if length is not None and mixed_to >= length:
            break
        frames = block_frames if length is None else min(block_frames, length - mixed_to)
        if frontier.end < mixed_to + frames and frontier.timeline is None:
            yield from hand_out(hold_point(lines, sounds, held_start, held_end))
            heard_before = underruns() if underruns else 0
            while frontier.end < mixed_to + frames and frontier.timeline is None:
                if stopped is not None and stopped():
                    return
                frontier = take(live.advance(mixed_to + frames, POLL_S))
                if not warned and underruns is not None and underruns() > heard_before:
                    log.warning(BEHIND)
                    warned = True
            continue   # the length may be known now
        block = mixer.mix(mixed_to, frames)
        mixed_to += frames
        if previous is not None:
            held.append(limiter.process(previous, block))
            held_end += len(previous)
        previous = block
        before = held_start
        yield from hand_out(hold_point(lines, sounds, held_start, held_end))
        if held_start > before:
            live.start_speech()   # the player has its first audio: the voice may have the CPU
    if previous is not None:
        held.append(limiter.process(previous, np.zeros((0, channels), dtype=np.float32)))
        held_end += len(previous)
    yield from hand_out(held_end)
