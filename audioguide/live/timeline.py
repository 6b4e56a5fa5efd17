"""The compiler run while a session's speech is still being made, for `play` and `breathe`.

A step's place depends only on the steps before it, so the compiler runs on its own
thread and, when it needs the length of a line not yet made, shows what it has placed so
far (`timeline.Placed`) and waits for the line. Nothing placed after that starts before
the step being placed, and what sounds before the *render frontier* is final:

- a bed dips under the voice from a little before each line (and stays down between
  lines close together), so it is final only up to the attack and join before the step;
- a bed's fades depend on where it ends, which a later section or the end of the session
  decides; the session is at least as long as the compile with every unknown line taken
  as silent of length zero (every other time is fixed, so a line only ever pushes what
  follows later), which bounds how soon that end can come.

The mixer renders up to the frontier; once every line is made the compile finishes and
the timeline is exactly the one `compile_timeline` gives with all lengths known.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass

from ..errors import ScriptError, UnknownVoiceError
from ..render.sources import ClipLibrary
from ..script import Session
from ..script.model import Bed
from ..timeline.compile import (
    DUCK_ATTACK_S,
    DUCK_RELEASE_S,
    Placed,
    _merge_spans,
    bed_tracks,
    compile_timeline,
    duck_spans,
)
from ..timeline.model import BedTrack, Chapter, Clip, FileClip, Item, Timeline
from ..timeline.narration import CompileOptions
from ..units import seconds_to_samples
from ..voices import SpeechRequest
from ..voices.ahead import SpeechAhead

#: Stands in for "not known yet" as the end of a session: later than any real one.
UNKNOWN_END = 2**62


class FloorLengths:
    """Clip lengths with every line taken as silent (length 0), other clips as they are;
    the file lengths it looks up are kept (`files`)."""

    def __init__(self, library: ClipLibrary) -> None:
        self.library = library
        self.files: dict[Hashable, int] = {}

    def frames(self, source: Hashable) -> int:
        """0 for a line, else the clip's own length."""
        if isinstance(source, SpeechRequest):
            return 0
        if isinstance(source, FileClip):
            if source not in self.files:
                self.files[source] = self.library.frames(source)
            return self.files[source]
        return self.library.frames(source)


def floor_timeline(session: Session, library: ClipLibrary, options: CompileOptions,
                   lengths: FloorLengths | None = None) -> Timeline:
    """The session compiled with every line silent: no step of the real session starts
    earlier, and it is at least this long (ScriptError here is an error there too)."""
    return compile_timeline(session, lengths or FloorLengths(library), options)


@dataclass(frozen=True)
class Frontier:
    """How far a live timeline is final: everything that sounds before `end`."""

    #: Sample up to which the mix is final (the whole length once `timeline` is set).
    end: int
    #: Clips starting before `end` not handed out before, in timeline order.
    clips: tuple[Clip, ...]
    #: The beds as far as known; before `end` they sound as the finished timeline's.
    beds: tuple[BedTrack, ...]
    #: The whole timeline, once compiled.
    timeline: Timeline | None = None
    #: Where the compile waits: the start of the step whose line is not made yet.
    placed_to: int = 0


class _WaitingLengths:
    """Clip lengths for the compile thread: a line's once it is made (waiting for it)."""

    def __init__(self, library: ClipLibrary, ahead: SpeechAhead,
                 files: Mapping[Hashable, int], made: dict[SpeechRequest, int]) -> None:
        self.library = library
        self.ahead = ahead
        self.files = files
        self.made = made

    def frames(self, source: Hashable) -> int:
        """The clip's length, once it is known."""
        if isinstance(source, SpeechRequest):
            self.ahead.wait(source)
            frames = self.library.frames(source)
            self.made[source] = frames
            return frames
        if source in self.files:  # decoded by the floor compile, on the caller's thread
            return self.files[source]
        return self.library.frames(source)


class LiveTimeline:
    """A session's timeline compiled on a thread while `ahead` makes its lines.

    One consumer (the live renderer) asks `advance` for more; `view` is the timeline
    as far as placed, for the display, with the total estimated until it is known.
    """

    def __init__(self, session: Session, library: ClipLibrary, options: CompileOptions,
                 ahead: SpeechAhead, floor: Timeline, files: Mapping[Hashable, int]) -> None:
        self.session = session
        self.library = library
        self.options = options
        self.ahead = ahead
        self.floor = floor
        self.sample_rate = floor.sample_rate
        self.channels = floor.channels
        self._changed = threading.Condition()
        self._speech_lock = threading.Lock()
        self._speaking = False
        self._made: dict[SpeechRequest, int] = {}
        self._lengths = _WaitingLengths(library, ahead, files, self._made)
        self._thread = threading.Thread(target=self._compile, daemon=True,
                                        name="audioguide-live-compile")
        # What the compile thread has shown (guarded by _changed).
        self._placed_at = 0
        self._clips: list[Clip] = []
        self._items: list[Item] = []
        self._sections: list[tuple[str, int]] = []
        self._changes: list[tuple[int, Bed | None]] = [(0, session.bed)]
        self._final: Timeline | None = None
        self._error: BaseException | None = None
        self._version = 0
        # What the consumer has taken (its own thread only).
        self._seen = 0
        self._handed = 0                   # clips handed out so far
        self._waiting: list[Clip] = []     # shown, not yet handed out, in timeline order
        self._duck: list[tuple[int, int]] = []
        self._handed_final = False
        self._computed = -1                # the version _end and _beds were worked out for
        self._end = 0
        self._beds: tuple[BedTrack, ...] = ()
        self._view: tuple[int, Timeline] | None = None
        # For the estimated total: each line's occurrences in the floor timeline.
        self._said = Counter(clip.source for clip in floor.clips if clip.kind == "say")
        rate = self.sample_rate
        self._join = seconds_to_samples(DUCK_ATTACK_S + DUCK_RELEASE_S, rate)
        self._attack = seconds_to_samples(DUCK_ATTACK_S, rate)

    # -- the compile thread ---------------------------------------------------------------
    def start(self) -> None:
        """Start compiling (and waiting for lines as it goes)."""
        self._thread.start()

    def start_speech(self) -> None:
        """Start making the lines, if not yet begun: once the first audio is out, or as
        soon as anything waits for a line (so the first sound does not share the CPU)."""
        with self._speech_lock:
            if not self._speaking:
                self._speaking = True
                self.ahead.start()

    def _compile(self) -> None:
        try:
            timeline = compile_timeline(self.session, self._lengths, self.options,
                                        on_length=self._on_length)
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer by advance()
            with self._changed:
                self._error = exc
                self._changed.notify_all()
            return
        with self._changed:
            self._final = timeline
            self._version += 1
            self._changed.notify_all()

    def _on_length(self, placed: Placed, source: Hashable) -> None:
        if not isinstance(source, SpeechRequest) or self.ahead.ready(source):
            return
        if placed.issues:
            # Playing on past a bad line would only end in this error later.
            raise ScriptError(sorted(placed.issues, key=lambda i: (i.line, i.column)))
        with self._changed:
            self._placed_at = placed.frontier
            self._clips.extend(placed.clips[len(self._clips):])
            self._items.extend(placed.items[len(self._items):])
            self._sections.extend(placed.sections[len(self._sections):])
            self._changes.extend(placed.bed_changes[len(self._changes):])
            self._version += 1
            self._changed.notify_all()

    # -- the consumer ---------------------------------------------------------------------
    def advance(self, needed: int, timeout_s: float | None = None) -> Frontier:
        """What is final now, waiting (up to `timeout_s`) until it reaches `needed` frames
        or the whole session; raises what stopped the compile (a bad line, an engine)."""
        with self._changed:
            while True:
                if self._error is not None:
                    raise self._error
                frontier = self._frontier()
                if (frontier.end >= needed or frontier.timeline is not None
                        or timeout_s is not None and timeout_s <= 0):
                    return frontier
                self.start_speech()
                self._changed.wait(timeout=timeout_s)
                timeout_s = 0 if timeout_s is not None else None

    def _frontier(self) -> Frontier:
        """Take what the compile thread has shown (lock held) and say how far it is final."""
        if self._final is not None:
            final = self._final
            rest = () if self._handed_final else final.clips[self._handed:]
            self._handed_final = True
            return Frontier(final.length, tuple(rest), final.beds, final, final.length)
        if self._computed == self._version:
            return Frontier(self._end, (), self._beds, None, self._placed_at)
        self._computed = self._version
        fresh = self._clips[self._seen:]
        self._seen = len(self._clips)
        # Stable, so clips at the same sample keep the order they were placed in, as
        # the finished timeline's sort keeps them.
        self._waiting = sorted(self._waiting + fresh, key=lambda c: (c.start, c.length))
        spans = duck_spans(fresh, self.sample_rate)
        if spans:
            merged = _merge_spans(self._duck[-1:] + list(spans), self._join)
            self._duck[-1:] = merged
        beds = bed_tracks(self._changes, UNKNOWN_END, tuple(self._duck), self.sample_rate)
        end = max(0, min([self._placed_at - self._join] + self._bed_limits()))
        ready = 0
        while ready < len(self._waiting) and self._waiting[ready].start < end:
            ready += 1
        handed, self._waiting = self._waiting[:ready], self._waiting[ready:]
        self._handed += ready
        self._end, self._beds = end, beds
        return Frontier(end, tuple(handed), beds, None, self._placed_at)

    def _bed_limits(self) -> list[int]:
        """For each bed known so far, the sample before which it sounds as it will in the
        finished timeline (see the module's docstring)."""
        limits = []
        floor_end = self.floor.length
        rate = self.sample_rate
        changes = self._changes
        for index, (start, bed) in enumerate(changes):
            following = changes[index + 1][0] if index + 1 < len(changes) else None
            if bed is None or (following is not None and following <= start):
                continue
            fade_in = seconds_to_samples(bed.fade_in_s, rate)
            fade_out = seconds_to_samples(bed.fade_out_s, rate)
            # It ends fading out after the next section, or with the session, whichever
            # comes first; neither comes before these.
            ends_after = min(floor_end, (following if following is not None
                                         else self._placed_at) + fade_out)
            if ends_after - start >= max(fade_in, fade_out):
                # (Before its start a bed is not heard at all.)
                limits.append(max(start, ends_after - max(fade_out, self._attack)))
            else:  # its fades may yet be shortened to fit: nothing of it is final
                limits.append(start)
        return limits

    def view(self) -> Timeline:
        """The timeline as far as placed, with the total estimated, for the display."""
        with self._changed:
            if self._final is not None:
                return self._final
            if self._view is not None and self._view[0] == self._version:
                return self._view[1]
            length = max(self._placed_at, self._estimated_length())
            sections = self._sections
            chapters = tuple(Chapter(title, start, sections[i + 1][1] if i + 1 < len(sections)
                                     else length) for i, (title, start) in enumerate(sections))
            view = Timeline(self.floor.title, self.sample_rate, self.channels, length,
                            (), (), chapters, tuple(self._items), self.floor.warnings)
            self._view = (self._version, view)
            return view

    def _estimated_length(self) -> int:
        """The floor's length plus every line's, made or guessed from its words (at the
        pace the lines made so far were spoken)."""
        made_frames = made_guess = 0.0
        for request, frames in list(self._made.items()):
            made_frames += frames
            made_guess += _guess(request, self.sample_rate)
        pace = made_frames / made_guess if made_guess else 1.0
        total = 0.0
        for line, times in self._said.items():
            if not isinstance(line, SpeechRequest):
                continue
            known = self._made.get(line)
            total += times * (known if known is not None
                              else pace * _guess(line, self.sample_rate))
        return self.floor.length + int(total)

    @property
    def timeline(self) -> Timeline | None:
        """The whole timeline, once compiled."""
        with self._changed:
            return self._final

    def close(self) -> None:
        """Stop making lines; the compile thread ends at the next line it waits for."""
        self.ahead.close()


def _guess(request: SpeechRequest, sample_rate: int) -> float:
    """A line's length guessed from its words and the voice's rate."""
    words = max(1, len(request.text.split()))
    return words * 60.0 / max(1.0, request.settings.rate_wpm) * sample_rate


def start_live(session: Session, library: ClipLibrary, options: CompileOptions,
               requests: Sequence[SpeechRequest]) -> LiveTimeline | None:
    """Start making the session's missing lines (first needed first) and compiling it as
    they come; None if nothing is missing, or if the script is bad: an unknown voice, or
    a problem that the compile with silent lines already shows (the usual prepare then
    reports it, with the times the real lines give)."""
    bank = library.speech
    try:
        missing = bank.missing(requests)
    except UnknownVoiceError:
        return None
    if not missing:
        return None
    lengths = FloorLengths(library)
    try:
        floor = floor_timeline(session, library, options, lengths)
    except ScriptError:
        return None
    live = LiveTimeline(session, library, options, SpeechAhead(bank, missing), floor,
                        lengths.files)
    live.start()
    return live
