"""Voices as the `voices` command uses them: what each engine offers, samples of each."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import VoiceError
from ..output.export import ExportSettings, export
from ..output.tags import Tags
from ..voices import ENGINES, SpeechBank, SpeechCache, SpeechRequest, VoiceInfo, VoiceSettings
from ..voices.bank import create_engine
from ..voices.catalogue import language_matches

#: The rate voice samples are written at.
SAMPLE_RATE = 44100


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
