"""The default voice: pyttsx3 (eSpeak NG on Linux, SAPI5 on Windows, NSSpeech on macOS).

pyttsx3 is fragile: it can hang, write an empty file, or keep only the last of
several queued `save_to_file` calls. So each line is spoken on its own, in a
worker process, with a timeout; a hung worker is killed and replaced, and every
file that comes back is checked before it is used.
"""

from __future__ import annotations

import importlib.metadata
import json
import logging
import os
import platform
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import wave
from collections import deque
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import UnknownVoiceError, VoiceError
from .base import Speech, VoiceInfo, VoiceSettings
from .espeak import espeak_version, find_espeak

log = logging.getLogger(__name__)

WORKER_SCRIPT = Path(__file__).with_name("_pyttsx3_worker.py")
START_TIMEOUT_S = 30.0
INSTALL_HINT = ("reinstall audioguide with `pip install audioguide` (it brings pyttsx3 and, on "
                "Linux, eSpeak NG), or install your system's eSpeak NG; `--engine draft` renders "
                "without speech")


class _Timeout(Exception):
    pass


class _SilentResult(VoiceError):
    """The engine answered with an empty or silent file."""


#: How many more times a line that came back silent is tried.
SILENT_RETRIES = 2


class _Worker:
    """One worker process and the threads that read its output."""

    def __init__(self, env: dict[str, str]) -> None:
        try:
            self.proc = subprocess.Popen(
                [sys.executable, str(WORKER_SCRIPT)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                env=env, text=True, encoding="utf-8",
            )
        except OSError as exc:
            raise VoiceError(f"cannot start the pyttsx3 worker: {exc}; {INSTALL_HINT}") from exc
        self.replies: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.stderr_tail: deque[str] = deque(maxlen=20)
        threading.Thread(target=self._read_stdout, daemon=True).start()
        threading.Thread(target=self._read_stderr, daemon=True).start()
        ready = self._reply(START_TIMEOUT_S)
        if not ready.get("ok"):
            self.kill()
            raise VoiceError(f"pyttsx3 could not start: {ready.get('error')}; {INSTALL_HINT}")
        self.driver = str(ready.get("driver", "?"))

    def _read_stdout(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            try:
                self.replies.put(json.loads(line))
            except json.JSONDecodeError:
                self.stderr_tail.append(line.rstrip())
        self.replies.put(None)

    def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.stderr_tail.append(line.rstrip())

    def _reply(self, timeout_s: float) -> dict[str, Any]:
        try:
            reply = self.replies.get(timeout=timeout_s)
        except queue.Empty:
            raise _Timeout() from None
        if reply is None:
            detail = "; ".join(list(self.stderr_tail)[-3:]) or f"exit code {self.proc.wait()}"
            return {"ok": False, "fatal": True, "error": f"the worker stopped ({detail})"}
        return reply

    def request(self, payload: dict[str, Any], timeout_s: float) -> dict[str, Any]:
        """Send one request and wait for its reply."""
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(json.dumps(payload) + "\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            return {"ok": False, "fatal": True, "error": "the worker is gone"}
        return self._reply(timeout_s)

    def kill(self) -> None:
        """Stop the process now."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()

    def close(self) -> None:
        """Let the process end on its own, or stop it."""
        try:
            if self.proc.stdin:
                self.proc.stdin.close()
            self.proc.wait(timeout=2)
        except (subprocess.TimeoutExpired, OSError):
            self.kill()


class Pyttsx3Engine:
    """pyttsx3 behind worker processes, one utterance per request."""

    name = "pyttsx3"

    def __init__(self, workers: int | None = None, timeout_s: float = 60.0) -> None:
        self.parallelism = workers or max(1, min(2, os.cpu_count() or 1))
        self.timeout_s = timeout_s
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._workers: list[_Worker] = []
        self._lock = threading.Lock()
        self._tmp = tempfile.mkdtemp(prefix="audioguide-tts-")
        self._warned_pitch = False

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

    def _acquire(self) -> _Worker:
        while True:
            try:
                return self._idle.get_nowait()
            except queue.Empty:
                pass
            with self._lock:
                if len(self._workers) < self.parallelism:
                    worker = _Worker(self._environment())
                    self._workers.append(worker)
                    library = find_espeak()
                    if library is not None and len(self._workers) == 1:
                        log.info("pyttsx3 uses the %s driver with eSpeak NG from %s (%s)",
                                 worker.driver, library.origin, library.path)
                    return worker
            try:
                # Wait for a busy worker; look again in a moment in case one was discarded.
                return self._idle.get(timeout=0.5)
            except queue.Empty:
                continue

    def _discard(self, worker: _Worker) -> None:
        worker.kill()
        with self._lock:
            if worker in self._workers:
                self._workers.remove(worker)

    def _call(self, payload: dict[str, Any], timeout_s: float) -> dict[str, Any]:
        """Run one request, replacing a hung or dead worker and trying once more."""
        for attempt in (1, 2):
            worker = self._acquire()
            try:
                reply = worker.request(payload, timeout_s)
            except _Timeout:
                self._discard(worker)
                log.warning("pyttsx3 did not answer within %.0f s; restarting it", timeout_s)
                if attempt == 2:
                    raise VoiceError(f"pyttsx3 hung twice (no answer within {timeout_s:.0f} s) "
                                     f"on: {payload.get('text', '')[:60]!r}; try again, or try "
                                     "--engine draft to check the rest of the script") from None
                continue
            if reply.get("fatal"):
                self._discard(worker)
                if attempt == 2:
                    raise VoiceError(f"pyttsx3 failed: {reply.get('error')}; {INSTALL_HINT}")
                continue
            self._idle.put(worker)
            return reply
        raise AssertionError("unreachable")

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
            reply = self._call({"op": "speak", "text": text, "path": path,
                                "voice": settings.voice_id, "rate": settings.rate_wpm,
                                "pitch": settings.pitch},
                               self.timeout_s + len(text) / 20.0)
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
        with self._lock:
            workers, self._workers = self._workers, []
        for worker in workers:
            worker.close()
        while not self._idle.empty():
            self._idle.get_nowait()
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
    samples = np.frombuffer(frames, dtype="<i2").astype(np.float32) / 32768.0
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
