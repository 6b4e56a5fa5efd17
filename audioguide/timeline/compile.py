"""The compiler: a `Session` becomes a `Timeline` of clips placed at exact integer samples.

The cursor is an exact `Fraction` of seconds; each clip's start is that exact
time rounded to the nearest sample once. Nothing adds up rounded durations, so a
12-hour session has no drift. Clip lengths come from a `ClipLengths` object
(speech from the voice cache, files from ffmpeg, synthesized sounds from their
own definition), which keeps this module free of audio work; what is said and by which
voice comes from `narration`, and nothing here touches the file system.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from ..breathing import Pattern, breaths_per_minute
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
from .breaths import cycle_count, cycle_patterns
from .model import (
    SPOKEN_KINDS,
    BedTrack,
    Chapter,
    Clip,
    ClipLengths,
    FileClip,
    FileLoop,
    Item,
    NoiseSource,
    Timeline,
)
from .narration import CompileOptions, Narrator, line_voice

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
        self.base_voice = line_voice(session, VoiceSpec(), options)
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
        spec = line_voice(self.session, step.voice, self.options)
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

    def sustain(self, source: Hashable, step: RhythmStep | Hum | Tone, kind: str) -> None:
        """Place a sound that lasts the step, faded in and out; the session moves on past it
        unless it sounds under what follows."""
        length = self.sample(self.now + step.seconds) - self.sample(self.now)
        self.place(source, self.now, length, step.level_db, kind, step.where,
                   fade_in=step.fade_in_s, fade_out=step.fade_out_s)
        if not step.under:
            self.now += step.seconds

    def step_rhythm(self, step: RhythmStep) -> str:
        self.sustain(Rhythm(round(step.bpm, 6), step.style), step, "rhythm")
        return f"{step.style} at {step.bpm:g} bpm" + _under(step.under, step.seconds)

    def step_hum(self, step: Hum) -> str:
        self.sustain(HumDrone(round(step.hz, 6), step.vowel), step, "hum")
        return f"hum {step.hz:.1f} Hz ({step.vowel})" + _under(step.under, step.seconds)

    def step_tone(self, step: Tone) -> str:
        if step.beat_hz and self.channels < 2:
            self.warn(step.where, "a binaural beat needs stereo; this render is mono")
        beat = step.beat_hz if self.channels >= 2 else 0.0
        self.sustain(SteadyTone(round(step.hz, 6), step.wave, beat), step, "tone")
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
        cycles = cycle_count(step)
        patterns = cycle_patterns(step, cycles)
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
    return _merge_spans([(c.start, c.end) for c in clips if c.kind in SPOKEN_KINDS
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

