"""How much a session may ask for, and the line where it asks too much — told before any
work is done.

At load (`check_bounds`): repeats multiply, and three nested `repeat: {times: 1000}` turn
one step into a billion. The compiler would walk every one of them, so the loader walks
the script first — counting, never building — and stops at the first step that passes a
limit. The walk is bounded by the limits themselves, so it is quick however absurd the
script.

Once speech is planned (`check_speech`, `check_files`): a script that asks for 50,000
distinct spoken lines, days of speech, or thousands of files is almost certainly a
mistake (a runaway `repeat` with changing text, a generated script gone wrong); it is
refused with the line where the limit was passed, before any speech is made or file
decoded. These limits can be raised with environment variables for the rare session that
needs more.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from ..errors import InputError, Issue, ScriptError
from ..units import MAX_SESSION_SECONDS, format_seconds
from ..voices import SpeechRequest
from .model import (
    At,
    Bell,
    Breathe,
    Choose,
    Hum,
    Location,
    Pause,
    Repeat,
    Rhythm,
    Say,
    Section,
    Session,
    Sound,
    Step,
    Tone,
    walk_steps,
)

# --- the script's shape, at load ---------------------------------------------------------

#: Steps (each breath, each bell strike) a session may expand to once repeats are unrolled.
MAX_EXPANDED_STEPS = 250_000


class _TooBig(Exception):
    def __init__(self, where: Location, message: str) -> None:
        super().__init__(message)
        self.where = where


class _Walk:
    def __init__(self, gap_s: Fraction) -> None:
        self.gap_s = gap_s
        self.steps = 0
        self.seconds = Fraction(0)   # a lower bound: speech and sound files count as 0

    def add(self, step: Step, count: int, seconds: Fraction) -> None:
        self.steps += count
        self.seconds += seconds
        if self.steps > MAX_EXPANDED_STEPS:
            raise _TooBig(step.where, f"the session expands to more than "
                          f"{MAX_EXPANDED_STEPS:,} steps by here (repeats multiply); use fewer "
                          "repeats or split it into several sessions")
        if self.seconds > MAX_SESSION_SECONDS:
            raise _TooBig(step.where, f"the session lasts at least "
                          f"{format_seconds(self.seconds)} by here; the limit is 12 hours: "
                          "shorten it or split it into several sessions")

    def run(self, steps: tuple[Step, ...]) -> None:
        for step, _ in walk_steps(steps, unroll=True):
            if isinstance(step, (Repeat, Choose)):
                self.add(step, 1, Fraction(0))
            else:
                self.add(step, *self.cost(step))

    def cost(self, step: Step) -> tuple[int, Fraction]:
        if isinstance(step, Pause):
            return 1, step.seconds
        if isinstance(step, Say):
            return 1, step.after_s if step.after_s is not None else self.gap_s
        if isinstance(step, (Hum, Tone, Rhythm)):
            return 1, Fraction(0) if step.under else step.seconds
        if isinstance(step, Bell):
            return step.count, step.gap_s * step.count
        if isinstance(step, Sound):
            return 1, step.after_s
        if isinstance(step, Breathe):
            cycle = step.pattern.cycle_seconds
            if step.cycles is not None:
                shortest = min(cycle, _ramped_cycle(step))
                return step.cycles * len(step.pattern.phases), step.cycles * shortest
            if step.duration_s is not None:
                shortest = min(cycle, _ramped_cycle(step)) or Fraction(1)
                return int(step.duration_s / shortest + 1) * len(step.pattern.phases), \
                    step.duration_s
            return 6 * len(step.pattern.phases), 6 * cycle
        if isinstance(step, At):
            return 1, max(Fraction(0), step.seconds - self.seconds)
        return 1, Fraction(0)


def _ramped_cycle(step: Breathe) -> Fraction:
    """The length of the last cycle of a ramped breathe step (its first when not ramped)."""
    lengths = {**step.pattern.lengths(), **step.ramp}
    return sum(lengths.values(), Fraction(0))


def check_bounds(session: Session) -> None:
    """Raise ScriptError at the first step that makes the session too long or too big."""
    walk = _Walk(session.gap_s)
    try:
        walk.run(session.steps)
    except _TooBig as too_big:
        where = too_big.where
        raise ScriptError([Issue(where.file, where.line, where.column,
                                 f"{where.path}: {too_big}")]) from None


# --- the work it asks for, once speech is planned -----------------------------------

#: Defaults, and the environment variables that change them.
MAX_LINES = 3000
MAX_SPEECH_MINUTES = 600.0
MAX_FILES = 500
ENV_LINES = "AUDIOGUIDE_MAX_LINES"
ENV_SPEECH = "AUDIOGUIDE_MAX_SPEECH_MINUTES"
ENV_FILES = "AUDIOGUIDE_MAX_FILES"


def _from_env(name: str, default: float) -> float:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        number = float(value)
    except ValueError:
        raise InputError(f"{name}={value!r} is not a number; unset it or give a number "
                         f"like {default:g}") from None
    if not number > 0:
        raise InputError(f"{name}={value!r} must be more than 0")
    return number


@dataclass(frozen=True)
class Limits:
    """How much one session may ask for."""

    max_lines: int = MAX_LINES                    # distinct spoken lines
    max_speech_minutes: float = MAX_SPEECH_MINUTES  # speech in all, estimated from the text
    max_files: int = MAX_FILES                    # distinct audio files referenced

    @classmethod
    def from_environment(cls) -> Limits:
        """The defaults, or what AUDIOGUIDE_MAX_LINES / _SPEECH_MINUTES / _FILES say."""
        return cls(int(_from_env(ENV_LINES, MAX_LINES)),
                   _from_env(ENV_SPEECH, MAX_SPEECH_MINUTES),
                   int(_from_env(ENV_FILES, MAX_FILES)))


def estimated_seconds(request: SpeechRequest) -> float:
    """How long a line will take to say, from its words and rate (recordings: 0)."""
    if request.settings.engine == "recorded":
        return 0.0
    return len(request.text.split()) * 60.0 / request.settings.rate_wpm


def _issue(where: str | Location | None, fallback: str, message: str) -> Issue:
    if isinstance(where, Location):
        return Issue(where.file, where.line, where.column, f"{where.path}: {message}")
    if where:
        file, _, rest = where.rpartition(":")
        file, _, line = file.rpartition(":")
        try:
            return Issue(file, int(line), int(rest), message)
        except ValueError:
            pass
    return Issue(fallback, 1, 1, message)


def check_speech(plan: Iterable[tuple[SpeechRequest, int]], limits: Limits, file: str) -> None:
    """Refuse a session with too many distinct lines or too much speech (each line as
    often as it is said), at the line that passes the limit."""
    distinct: set[SpeechRequest] = set()
    total_s = 0.0
    for request, times in plan:
        if request not in distinct:
            distinct.add(request)
            if len(distinct) > limits.max_lines:
                raise ScriptError([_issue(request.where, file, (
                    f"this is distinct spoken line {len(distinct)}; a session may have at "
                    f"most {limits.max_lines}: split it into several sessions, or set "
                    f"{ENV_LINES} higher"))])
        total_s += estimated_seconds(request) * times
        if total_s > limits.max_speech_minutes * 60:
            raise ScriptError([_issue(request.where, file, (
                f"speech passes {limits.max_speech_minutes:g} minutes here (estimated from "
                f"the words and rate); a session may have at most that: split it into several "
                f"sessions, or set {ENV_SPEECH} higher"))])


def _files(steps: tuple[Step, ...]) -> Iterator[tuple[Path, Location]]:
    for step, _ in walk_steps(steps):
        if isinstance(step, Sound):
            yield step.file, step.where
        elif isinstance(step, Bell) and step.file is not None:
            yield step.file, step.where
        elif isinstance(step, Section) and step.bed is not None and step.bed.file is not None:
            yield step.bed.file, step.where
        audio = getattr(step, "audio", None)
        if isinstance(audio, Path):
            yield audio, step.where


def check_files(session: Session, requests: Iterable[SpeechRequest], limits: Limits) -> None:
    """Refuse a session that references too many distinct audio files (sounds, bells, beds
    and recordings)."""
    seen: set[Path] = set()
    file = str(session.source or session.name)
    if session.bed is not None and session.bed.file is not None:
        seen.add(session.bed.file.resolve())
    found: list[tuple[Path, str | Location | None]] = [
        (path, where) for path, where in _files(session.steps)]
    found += [(Path(r.settings.voice_id), r.where) for r in requests
              if r.settings.engine == "recorded" and r.settings.voice_id]
    for path, where in found:
        seen.add(path.resolve())
        if len(seen) > limits.max_files:
            raise ScriptError([_issue(where, file, (
                f"this is audio file {len(seen)}; a session may use at most "
                f"{limits.max_files}: join some of them, or set {ENV_FILES} higher"))])
