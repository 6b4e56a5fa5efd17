"""What is playing at a position (for a display), and where a stream may be cut unheard."""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass

from ..timeline.model import Item, Timeline


def loud_spans(timeline: Timeline) -> list[tuple[int, int]]:
    """Where something other than a bed sounds: the clips' extents, merged and sorted."""
    spans: list[tuple[int, int]] = []
    for start, end in sorted((clip.start, clip.start + clip.length) for clip in timeline.clips):
        if spans and start <= spans[-1][1]:
            spans[-1] = (spans[-1][0], max(spans[-1][1], end))
        else:
            spans.append((start, end))
    return spans


def quiet_cut(loud: list[tuple[int, int]], start: int, limit: int) -> int:
    """The latest good place to cut in (start, limit]: `limit` itself if nothing sounds
    there, else the middle of the last quiet gap before it (only beds play in a gap), else
    `limit` (a long sound with no gap must be cut somewhere)."""
    index = bisect.bisect_right(loud, (limit, limit)) - 1
    if index < 0 or loud[index][1] <= limit:
        return limit
    while index >= 0:
        gap_end = loud[index][0]
        gap_start = loud[index - 1][1] if index > 0 else 0
        if gap_end > start + 1 and gap_end > gap_start:
            return max(start + 1, (max(gap_start, start) + gap_end) // 2)
        if gap_end <= start:
            break
        index -= 1
    return limit


@dataclass(frozen=True)
class PlayState:
    """What is playing at a position, for a display."""

    position: int
    length: int
    sample_rate: int
    section: str
    item: Item | None
    phase: str | None = None
    phase_left_s: float = 0.0
    #: How full the breath is: 0 at the bottom of the exhale, 1 at the top of the inhale.
    breath: float = 0.0

    @property
    def elapsed_s(self) -> float:
        """Seconds into the session."""
        return self.position / self.sample_rate

    @property
    def total_s(self) -> float:
        """Seconds in the session."""
        return self.length / self.sample_rate


def describe(timeline: Timeline, position: int) -> PlayState:
    """The section, step and (for breathing) phase at a session position."""
    section = ""
    for chapter in timeline.chapters:
        if chapter.start <= position:
            section = chapter.title
    item = None
    for candidate in timeline.items:
        if candidate.length > 0 and candidate.start <= position < candidate.start + \
                candidate.length:
            item = candidate
    if item is None or not item.phases:
        return PlayState(position, timeline.length, timeline.sample_rate, section, item)
    at = item.start
    fill = 0.0
    for index, (kind, frames) in enumerate(item.phases):
        following = item.phases[index + 1][0] if index + 1 < len(item.phases) else ""
        target = {"inhale": 0.85 if following == "top_up" else 1.0, "top_up": 1.0,
                  "exhale": 0.0, "hold_out": 0.0}.get(kind, fill)
        if position < at + frames:
            done = (position - at) / frames
            eased = 0.5 - 0.5 * math.cos(math.pi * done)
            left = (at + frames - position) / timeline.sample_rate
            return PlayState(position, timeline.length, timeline.sample_rate, section, item,
                             kind, left, fill + (target - fill) * eased)
        fill = target
        at += frames
    return PlayState(position, timeline.length, timeline.sample_rate, section, item)
