"""The compiler: a `Session` becomes a `Timeline` of clips placed at exact integer samples.

The cursor is an exact `Fraction` of seconds; each clip's start is that exact
time rounded to the nearest sample once. Nothing adds up rounded durations, so a
12-hour session has no drift. Clip lengths come from a `ClipLengths` object
(speech from the voice cache, files from ffmpeg, synthesized sounds from their
own definition), which keeps this module free of audio work.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, Protocol

from ..breathing import PHASE_KINDS, Pattern, breaths_per_minute, pattern_from_lengths
from ..errors import Issue, ScriptError, UnknownVoiceError
from ..script.model import (
    At,
    Bed,
    Bell,
    Breathe,
    Choose,
    Hum,
    Location,
    Pause,
    Repeat,
    Say,
    Section,
    Session,
    Sound,
    Step,
    Tone,
    VoiceSpec,
)
from ..script.model import (
    Rhythm as RhythmStep,
)
from ..sounds import TICK_HZ, BellStrike, HumDrone, PacerTone, Rhythm, SteadyTone, Tick
from ..units import MAX_SESSION_SECONDS, format_seconds, seconds_to_samples
from ..voices import SpeechRequest, VoiceSettings
from ..voices.recorded import Line, RecordingFolder, number_lines

#: Holds longer than this draw a warning.
LONG_HOLD_S = 10
#: Paces faster than this many breaths a minute draw a warning.
FAST_PACE_BPM = 10.0
#: Every clip starts and ends with at least this fade, so nothing clicks at its edges.
EDGE_FADE_S = Fraction(3, 1000)
#: The pacing tone fades in and out over these at the ends of a breathe step.
PACER_FADE_IN_S = Fraction(1, 2)
PACER_FADE_OUT_S = Fraction(1)
#: Humming on the exhales rises and falls over this (or a quarter of the exhale).
EXHALE_HUM_FADE_S = Fraction(2, 5)
#: Lowest level the bed reaches during speech starts this long before the voice...
DUCK_ATTACK_S = Fraction(3, 10)
#: ...and rises back over this long after it.
DUCK_RELEASE_S = Fraction(6, 10)


@dataclass(frozen=True)
class FileClip:
    """An audio file, decoded at the session rate."""

    path: Path


@dataclass(frozen=True)
class FileLoop:
    """An audio file looped seamlessly as a bed."""

    path: Path


@dataclass(frozen=True)
class NoiseSource:
    """A generated noise bed."""

    kind: str
    seed: int = 1


class ClipLengths(Protocol):
    """Lengths of clips whose length is their own (speech, files, bells)."""

    def frames(self, source: Hashable) -> int:
        """Length in frames at the session rate."""
        ...


@dataclass(frozen=True, slots=True)
class Clip:
    """A sound placed in the session."""

    start: int
    length: int
    source: Hashable
    gain_db: float
    kind: str
    where: Location
    fade_in: int = 0
    fade_out: int = 0
    text: str | None = None

    @property
    def end(self) -> int:
        """First sample after the clip."""
        return self.start + self.length


@dataclass(frozen=True)
class BedTrack:
    """A background bed from `start` to `end`, dipping by `duck_db` during `duck` spans."""

    source: Hashable
    start: int
    end: int
    level_db: float
    duck_db: float
    fade_in: int
    fade_out: int
    duck: tuple[tuple[int, int], ...]
    attack: int
    release: int


@dataclass(frozen=True)
class Chapter:
    """A section of the session, from `start` up to `end`."""

    title: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Item:
    """One step as placed, for `inspect` and the live display."""

    kind: str
    start: int
    length: int
    where: Location
    detail: str
    #: For a breathe step: every phase of every breath, as (kind, frames).
    phases: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True)
class Timeline:
    """Everything the mixer needs, in integer samples at `sample_rate`."""

    title: str
    sample_rate: int
    channels: int
    length: int
    clips: tuple[Clip, ...]
    beds: tuple[BedTrack, ...]
    chapters: tuple[Chapter, ...]
    items: tuple[Item, ...]
    warnings: tuple[Issue, ...]

    @property
    def seconds(self) -> float:
        """Total length in seconds."""
        return self.length / self.sample_rate

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready description: every item and clip with samples and seconds."""
        rate = self.sample_rate

        def span(start: int, length: int) -> dict[str, Any]:
            return {"start": start, "length": length, "start_s": round(start / rate, 6),
                    "length_s": round(length / rate, 6)}

        return {
            "title": self.title, "sample_rate": rate, "channels": self.channels,
            "length": self.length, "length_s": round(self.length / rate, 6),
            "steps": [{"kind": item.kind, **span(item.start, item.length),
                       "line": item.where.line, "path": item.where.path,
                       "detail": item.detail} for item in self.items],
            "clips": [{"kind": clip.kind, **span(clip.start, clip.length),
                       "gain_db": clip.gain_db, "line": clip.where.line,
                       **({"text": clip.text} if clip.text is not None else {})}
                      for clip in self.clips],
            "beds": [{"source": describe_source(bed.source), **span(bed.start, bed.end - bed.start),
                      "level_db": bed.level_db, "duck_db": bed.duck_db} for bed in self.beds],
            "chapters": [{"title": chapter.title, **span(chapter.start,
                                                          chapter.end - chapter.start)}
                         for chapter in self.chapters],
            "warnings": [str(warning) for warning in self.warnings],
        }


def describe_source(source: Hashable) -> str:
    """A short human name for a clip's source."""
    if isinstance(source, NoiseSource):
        return source.kind
    if isinstance(source, (FileClip, FileLoop)):
        return str(source.path)
    return type(source).__name__


@dataclass(frozen=True)
class AutoVoice:
    """What `engine: auto` means on this machine: the Piper voices installed, as
    (name, short name, language like `en_US`), best first. The jobs layer looks them up;
    the compiler only reads this list, so compiling stays free of the file system."""

    piper_voices: tuple[tuple[str, str, str], ...] = ()

    def pick(self, language: str, voice_id: str | None) -> tuple[str, str | None]:
        """(engine, voice id) for a line: an installed Piper voice for the script's language
        (or for the voice id, when it names one or a language one speaks), else pyttsx3."""
        if voice_id is not None:
            wanted = voice_id.casefold().replace("_", "-")
            for name, short, _ in self.piper_voices:
                if wanted in (name.casefold().replace("_", "-"), short.casefold()):
                    return "piper", voice_id
            if not _is_language(wanted):
                return "pyttsx3", voice_id   # a system voice's name
            language = wanted
        family = language.casefold().replace("_", "-")
        for name, _, code in self.piper_voices:
            code = code.casefold().replace("_", "-")
            if code == family or code.split("-")[0] == family:
                return "piper", name
        for name, _, code in self.piper_voices:
            if code.casefold().split("_")[0] == family.split("-")[0]:
                return "piper", name
        return "pyttsx3", voice_id


def _is_language(tag: str) -> bool:
    """`en`, `en-us`, `pt-br`: a language tag rather than a voice's name."""
    parts = tag.split("-")
    return 2 <= len(parts[0]) <= 3 and parts[0].isalpha() and len(parts) <= 2 and all(
        2 <= len(part) <= 4 and part.isalnum() for part in parts[1:])


@dataclass(frozen=True)
class CompileOptions:
    """Choices that come from the command line rather than the script."""

    sample_rate: int | None = None
    channels: int | None = None
    voice: VoiceSpec = field(default_factory=VoiceSpec)
    auto: AutoVoice = field(default_factory=AutoVoice)


@dataclass(frozen=True)
class Placed:
    """What the compiler has placed so far, as it is about to look up a clip's length.

    Nothing placed from now on starts before `frontier` (the start of the step being
    placed), so a clip, item, section or bed change that is here is final. The lists are
    the compiler's own, only ever appended to: read them (or copy from them) inside the
    callback.
    """

    frontier: int
    clips: list[Clip]
    items: list[Item]
    sections: list[tuple[str, int]]
    bed_changes: list[tuple[int, Bed | None]]
    issues: list[Issue]


#: on_length(placed, source): called before each clip length is looked up (see `Placed`).
OnLength = Callable[[Placed, Hashable], None]


#: The calm style speaks this much slower than the script's rate...
CALM_RATE = 0.9
#: ...and, where the engine has a pitch setting and the script sets none, at this pitch
#: (eSpeak's default is 50).
CALM_PITCH = 40.0


def voice_settings(spec: VoiceSpec, language: str = "en",
                   auto: AutoVoice | None = None) -> VoiceSettings:
    """Fully resolved settings for the speech engine (no recordings looked up)."""
    return Narrator.resolve(spec, None, language, auto or AutoVoice())


class Respeller:
    """A script's `pronounce:` map applied to a line: each listed word (whole words, any
    case) is replaced by how to say it, a respelling or `[[phonemes]]` for Piper/eSpeak."""

    def __init__(self, words: Mapping[str, str]) -> None:
        self.words = {key.casefold(): value for key, value in words.items()}
        keys = sorted(words, key=len, reverse=True)   # longest first: "New York" before "New"
        self.pattern = re.compile(r"(?<!\w)(" + "|".join(re.escape(k) for k in keys) + r")(?!\w)",
                                  re.IGNORECASE) if keys else None

    def __call__(self, text: str) -> str:
        """The text as the engine should get it."""
        if self.pattern is None:
            return text
        return self.pattern.sub(lambda match: self.words[match.group(1).casefold()], text)


class Narrator:
    """Turns a line's voice settings into an engine request: style, Piper model, recordings."""

    def __init__(self, session: Session, options: CompileOptions | None = None) -> None:
        self.lines: dict[str, Line] = {line.text: line
                                       for line in number_lines(narration_texts(session))}
        self._folders: dict[Path, RecordingFolder] = {}
        self.language = session.language
        self.auto = (options or CompileOptions()).auto
        self.say_as = Respeller(session.pronounce)

    def folder(self, path: Path) -> RecordingFolder:
        """The recordings in a folder (listed once)."""
        if path not in self._folders:
            self._folders[path] = RecordingFolder(path)
        return self._folders[path]

    def recording(self, spec: VoiceSpec, text: str) -> Path | None:
        """The recording for `text` in the voice's folder, if the voice is `recorded`."""
        if spec.engine != "recorded" or spec.folder is None or text not in self.lines:
            return None
        return self.folder(spec.folder).find(self.lines[text])

    def request(self, spec: VoiceSpec, text: str, where: Location,
                audio: Path | None = None) -> SpeechRequest:
        """The request for one line."""
        audio = audio or self.recording(spec, text)
        settings = self.resolve(spec, audio, self.language, self.auto)
        spoken = text if settings.engine == "recorded" else self.say_as(text)
        return SpeechRequest(spoken, settings, where=str(where))

    @staticmethod
    def resolve(spec: VoiceSpec, audio: Path | None, language: str = "en",
                auto: AutoVoice | None = None) -> VoiceSettings:
        """Settings for the engine: a recording if there is one, else the (fallback) engine."""
        rate = float(spec.rate_wpm or 130.0)
        if audio is not None:
            return VoiceSettings("recorded", str(audio.resolve()), rate, None, "plain")
        engine = spec.engine or "auto"
        if engine == "recorded":
            engine = spec.fallback or "auto"
        voice_id = spec.voice_id
        if engine == "auto":
            engine, voice_id = ("piper", voice_id) if spec.model is not None else (
                (auto or AutoVoice()).pick(language, voice_id))
        if engine == "piper" and spec.model is not None:
            voice_id = str(spec.model.resolve())
        style = spec.style or "plain"
        pitch = spec.pitch
        if style == "calm":
            rate = round(rate * CALM_RATE, 3)
            if pitch is None and engine in ("pyttsx3", "draft"):
                pitch = CALM_PITCH
        return VoiceSettings(engine, voice_id, rate, pitch, style,
                             spec.speaker if engine == "piper" else None)


def _line_voice(session: Session, line: VoiceSpec, options: CompileOptions) -> VoiceSpec:
    return options.voice.over(line.over(session.voice))


def spoken_steps(steps: tuple[Step, ...]) -> Iterator[tuple[Step, str | None]]:
    """Every Say step, and every breathe step with each of its spoken words, in order."""
    for step, kind, _ in _spoken(steps, 1):
        yield step, kind


def _spoken(steps: tuple[Step, ...], times: int) -> Iterator[tuple[Step, str | None, int]]:
    """As `spoken_steps`, with how many times each is said (repeats multiply)."""
    for step in steps:
        if isinstance(step, Say):
            yield step, None, times
        elif isinstance(step, Breathe) and step.cue in ("voice", "both"):
            kinds = {phase.kind for phase in _cycle_patterns(step, 1)[0].phases} | set(step.ramp)
            for kind in sorted(kinds, key=PHASE_KINDS.index):
                yield step, kind, times * (step.cycles or 1)
        elif isinstance(step, Repeat):
            yield from _spoken(step.steps, times * step.times)
        elif isinstance(step, Choose):
            for option in step.picked:
                yield from _spoken(option, times)


def narration_texts(session: Session) -> Iterator[str]:
    """The text of every spoken line and breathing cue, in script order (with repeats)."""
    for step, kind in spoken_steps(session.steps):
        if isinstance(step, Say):
            yield step.text
        elif isinstance(step, Breathe) and kind is not None:
            yield step.words[kind]


def speech_requests(session: Session, options: CompileOptions | None = None,
                    narrator: Narrator | None = None) -> Iterator[SpeechRequest]:
    """Every line the session will speak (with repeats), so they can be made ahead of time."""
    options = options or CompileOptions()
    narrator = narrator or Narrator(session, options)
    base = _line_voice(session, VoiceSpec(), options)
    for step, kind in spoken_steps(session.steps):
        if isinstance(step, Say):
            spec = _line_voice(session, step.voice, options)
            yield narrator.request(spec, step.text, step.where, step.audio)
        elif isinstance(step, Breathe) and kind is not None:
            yield narrator.request(base, step.words[kind], step.where)


def speech_plan(session: Session, options: CompileOptions | None = None
                ) -> Iterator[tuple[SpeechRequest, int]]:
    """Every line the session will speak, with how many times it is said."""
    options = options or CompileOptions()
    narrator = Narrator(session, options)
    base = _line_voice(session, VoiceSpec(), options)
    for step, kind, times in _spoken(session.steps, 1):
        if isinstance(step, Say):
            spec = _line_voice(session, step.voice, options)
            yield narrator.request(spec, step.text, step.where, step.audio), times
        elif isinstance(step, Breathe) and kind is not None:
            yield narrator.request(base, step.words[kind], step.where), times


def _cycle_patterns(step: Breathe, cycles: int) -> list[Pattern]:
    """The pattern of each cycle: fixed, or moving linearly to `ramp` by the last cycle."""
    start = step.pattern.lengths()
    if not step.ramp:
        return [step.pattern] * cycles
    end = {**start, **step.ramp}
    kinds = set(start) | set(end)
    patterns = []
    for index in range(cycles):
        share = Fraction(index, cycles - 1) if cycles > 1 else Fraction(0)
        lengths = {kind: start.get(kind, Fraction(0)) + (end.get(kind, Fraction(0))
                   - start.get(kind, Fraction(0))) * share for kind in kinds}
        patterns.append(pattern_from_lengths(step.pattern.name, lengths))
    return patterns


def _cycles_for(step: Breathe) -> int:
    if step.cycles is not None:
        return step.cycles
    if step.duration_s is None:
        return 6
    # Whole breaths only: the fewest cycles that fill the duration. Phase lengths move
    # linearly from the first cycle to the last, so n ≥ 2 cycles last n × (first + last) / 2.
    first = step.pattern.cycle_seconds
    if first >= step.duration_s:
        return 1
    last = _cycle_patterns(step, 2)[-1].cycle_seconds
    return max(2, math.ceil(2 * step.duration_s / (first + last)))


class _Compiler:
    def __init__(self, session: Session, lengths: ClipLengths, options: CompileOptions) -> None:
        self.session = session
        self.lengths = lengths
        self.options = options
        self.rate = options.sample_rate or session.output.sample_rate
        self.channels = options.channels or session.output.channels
        self.now = Fraction(0)
        self.clips: list[Clip] = []
        self.items: list[Item] = []
        self.sections: list[tuple[str, int]] = []
        self.issues: list[Issue] = []
        self.warnings: list[Issue] = []
        self.warned: set[tuple[str, str]] = set()
        self.late: set[Location] = set()
        self.phases: tuple[tuple[str, int], ...] = ()  # of the breathe step just placed
        self.bed_changes: list[tuple[int, Bed | None]] = [(0, session.bed)]
        self.base_voice = _line_voice(session, VoiceSpec(), options)
        self.narrator = Narrator(session, options)
        #: Where the step being placed begins (every clip it places starts there or later).
        self.step_begin = Fraction(0)
        self.on_length: OnLength | None = None

    # -- helpers ------------------------------------------------------------------------
    def sample(self, seconds: Fraction) -> int:
        return seconds_to_samples(seconds, self.rate)

    def error(self, where: Location, message: str) -> None:
        self.issues.append(Issue(where.file, where.line, where.column,
                                 f"{where.path}: {message}"))

    def warn(self, where: Location, message: str) -> None:
        if (where.path, message) not in self.warned:
            self.warned.add((where.path, message))
            self.warnings.append(Issue(where.file, where.line, where.column,
                                       f"warning: {where.path}: {message}"))

    def frames_of(self, source: Hashable, where: Location) -> int | None:
        if self.on_length is not None:
            self.on_length(Placed(self.sample(self.step_begin), self.clips, self.items,
                                  self.sections, self.bed_changes, self.issues), source)
        try:
            return self.lengths.frames(source)
        except UnknownVoiceError as exc:
            self.error(where, str(exc))
            return None

    def place(self, source: Hashable, at: Fraction, length: int, gain_db: float, kind: str,
              where: Location, *, fade_in: Fraction = Fraction(0), fade_out: Fraction = Fraction(0),
              text: str | None = None) -> Clip:
        edge = self.sample(EDGE_FADE_S)
        clip = Clip(start=self.sample(at), length=length, source=source, gain_db=gain_db,
                    kind=kind, where=where,
                    fade_in=min(max(self.sample(fade_in), edge), length),
                    fade_out=min(max(self.sample(fade_out), edge), length), text=text)
        self.clips.append(clip)
        return clip

    def item(self, kind: str, begin: Fraction, where: Location, detail: str) -> None:
        start = self.sample(begin)
        phases, self.phases = self.phases, ()
        self.items.append(Item(kind, start, self.sample(self.now) - start, where, detail,
                               phases))

    # -- steps --------------------------------------------------------------------------
    def run(self, steps: tuple[Step, ...]) -> None:
        for step in steps:
            begin = self.step_begin = self.now
            handler: Callable[[Any], str] = getattr(self, f"step_{type(step).__name__.lower()}")
            detail = handler(step)
            if not isinstance(step, (Repeat, At, Choose)):
                self.item(type(step).__name__.lower(), begin, step.where, detail)

    def step_say(self, step: Say) -> str:
        spec = _line_voice(self.session, step.voice, self.options)
        request = self.narrator.request(spec, step.text, step.where, step.audio)
        length = self.frames_of(request, step.where)
        if length is None:
            return step.text
        self.place(request, self.now, length, float(spec.level_db or 0.0), "say", step.where,
                   text=step.text)
        gap = step.after_s if step.after_s is not None else self.session.gap_s
        self.now += Fraction(length, self.rate) + gap
        return step.text

    def step_pause(self, step: Pause) -> str:
        self.now += step.seconds
        return f"{format_seconds(step.seconds)} of silence"

    def step_at(self, step: At) -> str:
        if step.seconds < self.now:
            if step.where in self.late:
                return ""  # inside a repeat: say it once
            self.late.add(step.where)
            self.error(step.where, f"'at: {format_seconds(step.seconds)}' is earlier than where "
                       f"the session already is ({format_seconds(self.now)}); move it later or "
                       "shorten the steps before it")
        else:
            self.now = step.seconds
        return ""

    def step_section(self, step: Section) -> str:
        self.sections.append((step.title, self.sample(self.now)))
        if step.changes_bed:
            self.bed_changes.append((self.sample(self.now), step.bed))
            return step.title + (f" (bed: {step.bed.sound})" if step.bed else " (no bed)")
        return step.title

    def step_repeat(self, step: Repeat) -> str:
        for _ in range(step.times):
            self.run(step.steps)
        return ""

    def step_choose(self, step: Choose) -> str:
        for option in step.picked:
            self.run(option)
        return ""

    def step_rhythm(self, step: RhythmStep) -> str:
        length = self.sample(self.now + step.seconds) - self.sample(self.now)
        self.place(Rhythm(round(step.bpm, 6), step.style), self.now, length, step.level_db,
                   "rhythm", step.where, fade_in=step.fade_in_s, fade_out=step.fade_out_s)
        if not step.under:
            self.now += step.seconds
        return f"{step.style} at {step.bpm:g} bpm" + _under(step.under, step.seconds)

    def step_hum(self, step: Hum) -> str:
        length = self.sample(self.now + step.seconds) - self.sample(self.now)
        self.place(HumDrone(round(step.hz, 6), step.vowel), self.now, length, step.level_db,
                   "hum", step.where, fade_in=step.fade_in_s, fade_out=step.fade_out_s)
        if not step.under:
            self.now += step.seconds
        return f"hum {step.hz:.1f} Hz ({step.vowel})" + _under(step.under, step.seconds)

    def step_tone(self, step: Tone) -> str:
        if step.beat_hz and self.channels < 2:
            self.warn(step.where, "a binaural beat needs stereo; this render is mono")
        length = self.sample(self.now + step.seconds) - self.sample(self.now)
        beat = step.beat_hz if self.channels >= 2 else 0.0
        self.place(SteadyTone(round(step.hz, 6), step.wave, beat), self.now, length,
                   step.level_db, "tone", step.where, fade_in=step.fade_in_s,
                   fade_out=step.fade_out_s)
        if not step.under:
            self.now += step.seconds
        return (f"{step.wave} {step.hz:.1f} Hz" + (f", {beat:g} Hz beat" if beat else "")
                + _under(step.under, step.seconds))

    def step_bell(self, step: Bell) -> str:
        source: Hashable = FileClip(step.file) if step.file else BellStrike(step.kind)
        length = self.frames_of(source, step.where)
        if length is None:
            return step.kind
        for strike in range(step.count):
            self.place(source, self.now + step.gap_s * strike, length, step.level_db, "bell",
                       step.where)
        self.now += step.gap_s * step.count
        return f"{step.count} × {step.file.name if step.file else step.kind}"

    def step_sound(self, step: Sound) -> str:
        source = FileClip(step.file)
        length = self.frames_of(source, step.where)
        if length is None:
            return str(step.file)
        self.place(source, self.now, length, step.level_db, "sound", step.where,
                   fade_in=step.fade_in_s, fade_out=step.fade_out_s)
        self.now += Fraction(length, self.rate) + step.after_s
        return step.file.name

    def step_breathe(self, step: Breathe) -> str:
        cycles = _cycles_for(step)
        patterns = _cycle_patterns(step, cycles)
        begin = self.now
        spoken: dict[str, int | None] = {}
        pacer: list[tuple[str, int]] = []
        for pattern in patterns:
            for phase in pattern.phases:
                phase_start = self.now
                room = self.sample(phase_start + phase.seconds) - self.sample(phase_start)
                pacer.append((phase.kind, room))
                if step.cue in ("voice", "both"):
                    self._spoken_cue(step, phase.kind, phase.seconds, room, spoken)
                if step.cue in ("tone", "both"):
                    tick = Tick(TICK_HZ[phase.kind], min(0.06, float(phase.seconds)))
                    self.place(tick, phase_start, tick.frames(self.rate), step.level_db, "tick",
                               step.where)
                if step.hum is not None and phase.kind == "exhale":
                    fade = min(EXHALE_HUM_FADE_S, phase.seconds / 4)
                    self.place(HumDrone(round(step.hum.hz, 6), step.hum.vowel), phase_start,
                               room, step.hum.level_db, "hum", step.where, fade_in=fade,
                               fade_out=fade)
                self.now += phase.seconds
        self.phases = tuple(pacer)
        if step.cue in ("tone", "both"):
            total = self.sample(self.now) - self.sample(begin)
            tone = (PacerTone.around(tuple(pacer), step.hum.hz) if step.hum is not None
                    else PacerTone(tuple(pacer)))
            self.place(tone, begin, total, step.level_db, "pacer",
                       step.where, fade_in=PACER_FADE_IN_S, fade_out=PACER_FADE_OUT_S)
        self._breathing_warnings(step, patterns, cycles)
        cycle = patterns[0].cycle_seconds
        last = patterns[-1].cycle_seconds
        pace = f"{breaths_per_minute(patterns[0]):.2f}".rstrip("0").rstrip(".")
        if step.ramp:
            pace += f" → {breaths_per_minute(patterns[-1]):.2f}".rstrip("0").rstrip(".")
        return (f"{step.pattern.name} × {cycles} ({float(cycle):g}s a breath"
                + (f" → {float(last):g}s" if step.ramp else "") + f", {pace} a minute)"
                + (f", humming {step.hum.hz:.0f} Hz on the exhales" if step.hum else ""))

    def _spoken_cue(self, step: Breathe, kind: str, seconds: Fraction, room: int,
                    spoken: dict[str, int | None]) -> None:
        request = self.narrator.request(self.base_voice, step.words[kind], step.where)
        if kind not in spoken:
            spoken[kind] = self.frames_of(request, step.where)
        length = spoken[kind]
        if length is not None and length > room:
            self.error(step.where, f"the spoken cue '{step.words[kind]}' takes "
                       f"{length / self.rate:.2f}s but the {kind.replace('_', '-')} "
                       f"lasts {float(seconds):.2f}s; shorten the words, slow the pattern or "
                       "use cue: tone")
            spoken[kind] = None  # one error per phase kind is enough
        elif length is not None:
            self.place(request, self.now, length, float(self.base_voice.level_db or 0.0), "cue",
                       step.where, text=step.words[kind])

    def _breathing_warnings(self, step: Breathe, patterns: list[Pattern], cycles: int) -> None:
        advised = step.pattern.advised_cycles
        if advised is not None and cycles > advised:
            self.warn(step.where, f"{cycles} breaths of {step.pattern.name} is more than the "
                      f"{advised} its author advises in one go")
        for pattern in (patterns[0], patterns[-1]):
            for phase in pattern.phases:
                if phase.kind in ("hold", "hold_out") and phase.seconds > LONG_HOLD_S:
                    self.warn(step.where, f"a {float(phase.seconds):g}s hold is long; holds over "
                              f"{LONG_HOLD_S}s can leave people light-headed")
            pace = breaths_per_minute(pattern)
            if pace > FAST_PACE_BPM:
                self.warn(step.where, f"{pace:.1f} breaths a minute is faster than the "
                          f"{FAST_PACE_BPM:g} or fewer usually used to calm down")
        for kind in step.ramp:
            if kind not in step.pattern.lengths() and step.ramp[kind] > 0:
                self.warn(step.where, f"ramp adds a {kind.replace('_', '-')} phase the pattern "
                          "does not have")

    # -- the whole ----------------------------------------------------------------------
    def finish(self) -> Timeline:
        end_of_steps = self.sample(self.now)
        if self.now > MAX_SESSION_SECONDS:
            first = self.session.steps[0].where
            self.issues.append(Issue(first.file, first.line, first.column,
                                     f"steps: the session lasts {format_seconds(self.now)}; the "
                                     "limit is 12 hours"))
        if self.issues:
            raise ScriptError(sorted(self.issues, key=lambda i: (i.line, i.column)))
        length = max([end_of_steps] + [clip.end for clip in self.clips])
        clips = tuple(sorted(self.clips, key=lambda c: (c.start, c.length)))
        chapters = tuple(
            Chapter(title, start, self.sections[i + 1][1] if i + 1 < len(self.sections)
                    else length)
            for i, (title, start) in enumerate(self.sections))
        beds = self._beds(length, clips)
        return Timeline(title=self.session.title, sample_rate=self.rate, channels=self.channels,
                        length=length, clips=clips, beds=beds, chapters=chapters,
                        items=tuple(self.items), warnings=tuple(self.warnings))

    def _beds(self, length: int, clips: tuple[Clip, ...]) -> tuple[BedTrack, ...]:
        """One bed track per stretch between bed changes, each fading out into the next."""
        return bed_tracks(self.bed_changes, length, duck_spans(clips, self.rate), self.rate)


def duck_spans(clips: Iterable[Clip], rate: int) -> tuple[tuple[int, int], ...]:
    """Where the voice speaks (lines and spoken cues), merged where the bed would only bob
    up between them; the beds duck under these."""
    return _merge_spans([(c.start, c.end) for c in clips if c.kind in ("say", "cue")
                         and c.text is not None],
                        seconds_to_samples(DUCK_ATTACK_S + DUCK_RELEASE_S, rate))


def bed_tracks(bed_changes: Sequence[tuple[int, Bed | None]], length: int,
               duck: tuple[tuple[int, int], ...], rate: int) -> tuple[BedTrack, ...]:
    """One bed track per stretch between bed changes, each fading out into the next."""
    def sample(seconds: Fraction) -> int:
        return seconds_to_samples(seconds, rate)

    tracks = []
    changes = list(bed_changes) + [(length, None)]
    pairs = zip(changes[:-1], changes[1:], strict=True)
    for index, ((start, bed), (next_start, _)) in enumerate(pairs):
        if bed is None or next_start <= start:
            continue
        fade_out = sample(bed.fade_out_s)
        # The bed carries on under the next section while it fades out.
        end = min(length, next_start + fade_out) if next_start < length else length
        span = end - start
        source: Hashable = (FileLoop(bed.file) if bed.file
                            else NoiseSource(bed.sound, seed=index + 1))
        tracks.append(BedTrack(
            source=source, start=start, end=end, level_db=bed.level_db,
            duck_db=bed.duck_db, fade_in=min(sample(bed.fade_in_s), span),
            fade_out=min(fade_out, span),
            duck=tuple((a, b) for a, b in duck if b > start and a < end),
            attack=sample(DUCK_ATTACK_S), release=sample(DUCK_RELEASE_S)))
    return tuple(tracks)


def _under(under: bool, seconds: Fraction) -> str:
    return f", for {format_seconds(seconds)} under what follows" if under else ""


def _merge_spans(spans: list[tuple[int, int]], join_gap: int) -> tuple[tuple[int, int], ...]:
    """Sorted spans, with those closer than `join_gap` merged (so the bed does not bob)."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start - merged[-1][1] <= join_gap:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return tuple(merged)


def compile_timeline(session: Session, lengths: ClipLengths,
                     options: CompileOptions | None = None, *,
                     on_length: OnLength | None = None) -> Timeline:
    """Place every step of `session`; raise ScriptError listing every timing problem.

    `on_length` sees what is placed so far before each length is looked up (the live
    player renders up to there while the length is still being made).
    """
    compiler = _Compiler(session, lengths, options or CompileOptions())
    compiler.on_length = on_length
    compiler.run(session.steps)
    return compiler.finish()

