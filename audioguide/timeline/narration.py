"""What the session says, and in which voice: every spoken line and breathing cue, as the
speech request an engine gets (style, Piper model, `engine: auto`, a recording of the line,
the script's respellings). Nothing here looks at the file system: what is installed
(`AutoVoice`) and what is recorded (`CompileOptions.recordings`) are handed in."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from ..breathing import PHASE_KINDS
from ..script.model import Breathe, Location, Say, Session, Step, VoiceSpec, walk_steps
from ..voices import SpeechRequest, VoiceSettings
from ..voices.recorded import Line, number_lines
from .breaths import cycle_patterns


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


class Recordings(Protocol):
    """The recordings in one folder, matched to the session's numbered lines."""

    def find(self, line: Line) -> Path | None:
        """The recording of `line`, if the folder has one."""
        ...


#: Opens a recordings folder (the part of the recorded voice that lists files).
OpenRecordings = Callable[[Path], Recordings]


@dataclass(frozen=True)
class CompileOptions:
    """Choices that come from the command line rather than the script."""

    sample_rate: int | None = None
    channels: int | None = None
    voice: VoiceSpec = field(default_factory=VoiceSpec)
    auto: AutoVoice = field(default_factory=AutoVoice)
    #: How to look in a `recorded` voice's folder: the jobs layer passes
    #: `voices.recorded.RecordingFolder`. None looks in no folder (lines use the fallback).
    recordings: OpenRecordings | None = None


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
        self._folders: dict[Path, Recordings] = {}
        options = options or CompileOptions()
        self.language = session.language
        self.auto = options.auto
        self.open_recordings = options.recordings
        self.say_as = Respeller(session.pronounce)

    def folder(self, path: Path) -> Recordings | None:
        """The recordings in a folder (opened once), if there is a way to look."""
        if self.open_recordings is None:
            return None
        if path not in self._folders:
            self._folders[path] = self.open_recordings(path)
        return self._folders[path]

    def recording(self, spec: VoiceSpec, text: str) -> Path | None:
        """The recording for `text` in the voice's folder, if the voice is `recorded`."""
        if spec.engine != "recorded" or spec.folder is None or text not in self.lines:
            return None
        folder = self.folder(spec.folder)
        return folder.find(self.lines[text]) if folder is not None else None

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


def line_voice(session: Session, line: VoiceSpec, options: CompileOptions) -> VoiceSpec:
    """A line's voice: the command line's settings over the line's over the session's."""
    return options.voice.over(line.over(session.voice))


def spoken_steps(steps: tuple[Step, ...]) -> Iterator[tuple[Step, str | None]]:
    """Every Say step, and every breathe step with each of its spoken words, in order."""
    for step, kind, _ in _spoken(steps):
        yield step, kind


def _spoken(steps: tuple[Step, ...]) -> Iterator[tuple[Step, str | None, int]]:
    """As `spoken_steps`, with how many times each is said (repeats multiply)."""
    for step, times in walk_steps(steps):
        if isinstance(step, Say):
            yield step, None, times
        elif isinstance(step, Breathe) and step.cue in ("voice", "both"):
            kinds = {phase.kind for phase in cycle_patterns(step, 1)[0].phases} | set(step.ramp)
            for kind in sorted(kinds, key=PHASE_KINDS.index):
                yield step, kind, times * (step.cycles or 1)


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
    for request, _ in _plan(session, options or CompileOptions(), narrator):
        yield request


def speech_plan(session: Session, options: CompileOptions | None = None
                ) -> Iterator[tuple[SpeechRequest, int]]:
    """Every line the session will speak, with how many times it is said."""
    return _plan(session, options or CompileOptions(), None)


def _plan(session: Session, options: CompileOptions, narrator: Narrator | None
          ) -> Iterator[tuple[SpeechRequest, int]]:
    narrator = narrator or Narrator(session, options)
    base = line_voice(session, VoiceSpec(), options)
    for step, kind, times in _spoken(session.steps):
        if isinstance(step, Say):
            spec = line_voice(session, step.voice, options)
            yield narrator.request(spec, step.text, step.where, step.audio), times
        elif isinstance(step, Breathe) and kind is not None:
            yield narrator.request(base, step.words[kind], step.where), times
