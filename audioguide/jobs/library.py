"""Voices as the `voices`, `record-list` and `cache` commands use them."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import InputError, VoiceError
from ..output.export import ExportSettings, export
from ..output.tags import Tags
from ..script import Session, load_session
from ..script.model import Say
from ..timeline.compile import Narrator, spoken_steps
from ..voices import ENGINES, SpeechBank, SpeechCache, SpeechRequest, VoiceInfo, VoiceSettings
from ..voices.bank import create_engine
from ..voices.catalogue import language_matches
from ..voices.recorded import AUDIO_EXTENSIONS, RecordingFolder

SAMPLE_RATE = 44100


# --- record-list ---------------------------------------------------------------------

@dataclass(frozen=True)
class LineToRecord:
    """One distinct line of a session and its recording, if there is one."""

    number: int
    name: str               # the file name to record it as, without extension
    text: str
    where: str              # file:line:col of its first use
    recording: Path | None  # the file that will be used
    explicit: bool          # named on the line with `audio:`


@dataclass(frozen=True)
class RecordList:
    """Every line to record for a session."""

    session: Session
    folder: Path | None
    lines: list[LineToRecord]

    @property
    def recorded(self) -> int:
        """How many lines have a recording."""
        return sum(1 for line in self.lines if line.recording is not None)


def record_list(script: str | Path, variables: Mapping[str, str] | None = None,
                folder: Path | None = None) -> RecordList:
    """The lines of a script, numbered, with the file each will be read from."""
    session = load_session(script, variables or {})
    folder = folder or session.voice.folder
    if folder is not None and not folder.is_dir():
        raise InputError(f"the recordings folder {folder} does not exist; create it")
    narrator = Narrator(session)
    recordings = RecordingFolder(folder) if folder is not None else None
    first_use: dict[str, str] = {}
    explicit: dict[str, Path] = {}
    for step, kind in spoken_steps(session.steps):
        text = step.text if isinstance(step, Say) else step.words[kind]  # type: ignore[attr-defined]
        first_use.setdefault(text, str(step.where))
        if isinstance(step, Say) and step.audio is not None:
            explicit.setdefault(text, step.audio)
    lines = []
    for line in narrator.lines.values():
        found = explicit.get(line.text)
        if found is None and recordings is not None:
            found = recordings.find(line)
        lines.append(LineToRecord(line.number, line.name, line.text, first_use[line.text],
                                  found, line.text in explicit))
    return RecordList(session, folder, lines)


# --- voices --------------------------------------------------------------------------

@dataclass(frozen=True)
class EngineVoices:
    """The voices of one engine, or why there are none."""

    engine: str
    voices: list[VoiceInfo]
    problem: str | None = None


def _matches_language(voice: VoiceInfo, language: str) -> bool:
    return any(language_matches(code, language) for code in voice.languages)


def voice_catalogue(engine: str | None = None, language: str | None = None
                    ) -> list[EngineVoices]:
    """The voices every engine (or one) offers, optionally only for a language."""
    names = ([engine] if engine and engine != "auto"
             else [name for name in ENGINES if name not in ("recorded", "auto")])
    result = []
    for name in names:
        try:
            speaker = create_engine(name)
        except VoiceError as exc:
            result.append(EngineVoices(name, [], str(exc)))
            continue
        try:
            voices = list(speaker.voices())
        except VoiceError as exc:
            result.append(EngineVoices(name, [], str(exc)))
            continue
        finally:
            speaker.close()
        if language:
            voices = [v for v in voices if _matches_language(v, language)]
        result.append(EngineVoices(name, voices))
    return result


def sample_name(voice: VoiceInfo) -> str:
    """The file name of a voice's sample."""
    slug = re.sub(r"[^A-Za-z0-9]+", "-", voice.voice_id).strip("-") or "voice"
    return f"{voice.engine}-{slug}.wav"


def write_samples(voices: list[VoiceInfo], text: str, folder: Path, *,
                  rate_wpm: float = 130.0, style: str = "plain",
                  cache: SpeechCache | None = None,
                  each: Callable[[VoiceInfo, Path | None, str | None], None] | None = None
                  ) -> list[Path]:
    """Speak `text` with each voice into `folder/<engine>-<id>.wav`; a voice that fails is
    reported through `each(voice, None, problem)` and skipped; a sample written, through
    `each(voice, path, None)` (a result for each voice, not a progress count)."""
    folder.mkdir(parents=True, exist_ok=True)
    bank = SpeechBank(cache)
    written = []
    try:
        for voice in voices:
            request = SpeechRequest(text, VoiceSettings(voice.engine, voice.voice_id, rate_wpm,
                                                        None, style))
            try:
                bank.prepare([request])
                samples = np.asarray(bank.samples(request, SAMPLE_RATE))
            except VoiceError as exc:
                if each:
                    each(voice, None, str(exc))
                continue
            path = folder / sample_name(voice)
            export([samples.reshape(-1, 1)], path,
                   ExportSettings("wav", SAMPLE_RATE, 1,
                                  Tags(title=f"{voice.name} ({voice.engine})")))
            written.append(path)
            if each:
                each(voice, path, None)
    finally:
        bank.close()
    return written


__all__ = ["AUDIO_EXTENSIONS", "EngineVoices", "LineToRecord", "RecordList", "record_list",
           "sample_name", "voice_catalogue", "write_samples"]
