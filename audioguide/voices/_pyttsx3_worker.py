"""A pyttsx3 worker process: reads one JSON request per line, speaks one utterance at a time.

Run as a script (not through the package) so it starts fast and imports nothing
but pyttsx3. It runs in its own process because pyttsx3 can hang or crash inside
native code; the parent enforces a timeout and restarts it. pyttsx3 prints
"Audio saved to ..." on stdout, so the protocol uses a duplicate of the original
stdout and the real fd 1 is pointed at /dev/null.

With eSpeak NG (Linux and other POSIX systems) every utterance is said in a child
forked from this process before eSpeak starts. eSpeak keeps state from one
utterance to the next (the phase of its pitch flutter, its random numbers), so
the same line came out a little different each time it was said in one process,
and parallel synthesis differed from serial. A child that starts eSpeak afresh
makes a line's samples depend only on the line (about 40 ms a line). eSpeak
cannot be forked once started: it runs a thread of its own.
"""

import ctypes
import functools
import json
import os
import signal
import sys
import time
import wave
from typing import Any, TextIO

MAX_ATTEMPTS = 4


def _send(stream: TextIO, message: dict[str, Any]) -> None:
    stream.write(json.dumps(message) + "\n")
    stream.flush()


def _frames(path: str) -> int:
    try:
        with wave.open(path, "rb") as wav:
            return int(wav.getnframes())
    except (OSError, EOFError, wave.Error):
        return 0


def _apply_espeak(voice_id: str | None, request: dict[str, Any]) -> None:
    """Set voice, rate, pitch and volume through pyttsx3's eSpeak bindings, then synchronise.

    pyttsx3's setProperty queues these behind eSpeak's asynchronous synthesis, and they
    take effect utterances late or not at all (checked with eSpeak NG 1.52: the rate of a
    line depended on the lines before it). Setting them directly and waiting for eSpeak
    to settle makes every line use its own settings.
    """
    from pyttsx3.drivers import _espeak

    if voice_id:
        _espeak.SetVoiceByName(voice_id.encode("utf-8"))
    _espeak.SetParameter(_espeak.RATE, int(round(request["rate"])), 0)
    _espeak.SetParameter(_espeak.VOLUME, 100, 0)
    pitch = request.get("pitch")
    _espeak.SetParameter(_espeak.PITCH, 50 if pitch is None else int(round(pitch)), 0)
    _espeak.Synchronize()


def _voice_table(engine: Any) -> list[dict[str, Any]]:
    table = []
    for voice in engine.getProperty("voices") or []:
        languages = []
        for language in getattr(voice, "languages", None) or []:
            if isinstance(language, bytes):
                language = language.decode("utf-8", "replace")
            languages.append(str(language).strip())
        table.append({"id": str(voice.id), "name": str(getattr(voice, "name", "") or voice.id),
                      "languages": languages, "gender": getattr(voice, "gender", None)})
    return table


def _resolve_voice(wanted: str, table: list[dict[str, Any]]) -> dict[str, Any] | None:
    folded = wanted.casefold()
    for test in (
        lambda v: v["id"].casefold() == folded,
        lambda v: v["id"].casefold().rsplit("/", 1)[-1] == folded,
        lambda v: v["name"].casefold() == folded,
        lambda v: folded in (lang.casefold() for lang in v["languages"]),
    ):
        for voice in table:
            if test(voice):
                return voice
    return None


def _driver_name(engine: Any) -> str:
    return str(type(engine.proxy._driver).__module__.rsplit(".", 1)[-1])


def _in_child(work: Any, timeout_s: float) -> Any:
    """Run `work()` in a forked child; return what it returns (JSON), or raise."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: do the work and leave without any Python clean-up
        os.close(read_end)
        code = 1
        try:
            result = work()
            os.write(write_end, json.dumps({"result": result}).encode("utf-8"))
            code = 0
        except BaseException as exc:  # noqa: BLE001 - tell the parent, whatever it was
            message = json.dumps({"error": f"{type(exc).__name__}: {exc}"}).encode("utf-8")
            os.write(write_end, message)
        finally:
            os._exit(code)
    os.close(write_end)
    deadline = time.monotonic() + timeout_s
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            os.close(read_end)
            raise TimeoutError(f"pyttsx3 did not finish within {timeout_s:.0f} s")
        time.sleep(0.002)
    with os.fdopen(read_end, "rb") as pipe:
        data = pipe.read()
    if not data:
        raise RuntimeError(f"the speaking process ended with code "
                           f"{os.waitstatus_to_exitcode(status)}")
    reply = json.loads(data)
    if "error" in reply:
        raise RuntimeError(reply["error"])
    return reply["result"]


def _start() -> dict[str, Any]:
    """Start pyttsx3 and describe it: driver, voices, default voice."""
    import pyttsx3

    engine = pyttsx3.init()
    return {"driver": _driver_name(engine), "voices": _voice_table(engine),
            "default_voice": engine.getProperty("voice")}


def _speak_espeak(text: str, path: str, voice_id: str | None,
                  request: dict[str, Any]) -> None:
    import pyttsx3
    from pyttsx3.drivers import _espeak

    engine = pyttsx3.init()
    _apply_espeak(voice_id, request)
    if "[[" in text:
        # pyttsx3 does not let eSpeak read [[phonemes]] (a `pronounce:` entry); this
        # child says only this line, so passing eSpeak's flag for it here touches no other.
        synth = _espeak.Synth
        _espeak.Synth = functools.partial(_with_phonemes, synth)
    engine.save_to_file(text, path)
    engine.runAndWait()
    # runAndWait can return while eSpeak's own thread is still speaking (pyttsx3 ends
    # its loop as soon as the queue is empty); the file is written when eSpeak says
    # the message is done, so wait for that before this process ends.
    _espeak.Synchronize()


def _with_phonemes(synth: Any, text: bytes, *args: Any, flags: int = 0, **kwargs: Any) -> Any:
    from pyttsx3.drivers import _espeak

    return synth(text, *args, flags=flags | _espeak.PHONEMES, **kwargs)


def _speak_other(engine: Any, driver: str, text: str, path: str, voice_id: str | None,
                 request: dict[str, Any], reply: dict[str, Any]) -> None:
    if voice_id:
        engine.setProperty("voice", voice_id)
    engine.setProperty("rate", int(round(request["rate"])))
    engine.setProperty("volume", 1.0)
    if request.get("pitch") is not None:
        try:
            engine.setProperty("pitch", int(round(request["pitch"])))
        except (KeyError, ValueError, TypeError):
            reply["pitch_ignored"] = driver  # the parent says so once
    engine.save_to_file(text, path)
    engine.runAndWait()


def main() -> int:
    protocol = os.fdopen(os.dup(1), "w", encoding="utf-8")
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    library = os.environ.get("AUDIOGUIDE_WORKER_ESPEAK_LIB")
    data_path = os.environ.get("AUDIOGUIDE_WORKER_ESPEAK_DATA")
    forking = hasattr(os, "fork") and sys.platform not in ("darwin", "win32")
    engine = None
    try:
        if library:
            ctypes.CDLL(library, mode=ctypes.RTLD_GLOBAL)
        if data_path:
            os.environ["ESPEAK_DATA_PATH"] = data_path
        import pyttsx3  # noqa: F401 - loaded once here, shared by every child

        if forking:
            started = _in_child(_start, 30.0)
            forking = started["driver"] == "espeak"
        if not forking:
            engine = pyttsx3.init()
            started = {"driver": _driver_name(engine), "voices": _voice_table(engine),
                       "default_voice": engine.getProperty("voice")}
    except Exception as exc:  # noqa: BLE001 - a process boundary: report, do not crash silently
        _send(protocol, {"ok": False, "fatal": True, "error": f"{type(exc).__name__}: {exc}"})
        return 1
    driver, table, default_voice = (started["driver"], started["voices"],
                                    started["default_voice"])
    _send(protocol, {"ok": True, "ready": True, "driver": driver, "voices": len(table),
                     "forking": forking})
    for line in sys.stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        try:
            if request["op"] == "voices":
                _send(protocol, {"ok": True, "voices": table})
                continue
            wanted = request.get("voice")
            voice = _resolve_voice(wanted, table) if wanted else None
            if wanted and voice is None:
                _send(protocol, {"ok": False, "unknown_voice": True,
                                 "error": f"pyttsx3 has no voice '{wanted}'",
                                 "ids": [v["id"] for v in table]})
                continue
            reply: dict[str, Any] = {"ok": True}
            text, path = request["text"], request["path"]
            chosen = voice["id"] if voice else (default_voice if driver == "espeak" else None)
            timeout_s = float(request.get("timeout", 60.0))
            # pyttsx3's eSpeak driver sometimes finishes an utterance before any audio
            # arrives and writes an empty file; say it again (the parent checks the rest).
            for attempt in range(1, MAX_ATTEMPTS + 1):
                if os.path.exists(path):
                    os.remove(path)
                if forking:
                    _in_child(functools.partial(_speak_espeak, text, path, chosen, request),
                              timeout_s)
                elif driver == "espeak":
                    _apply_espeak(chosen, request)
                    assert engine is not None
                    engine.save_to_file(text, path)
                    engine.runAndWait()
                else:
                    _speak_other(engine, driver, text, path, chosen, request, reply)
                if _frames(path) > 0:
                    break
                time.sleep(0.05 * attempt)
            reply["attempts"] = attempt
            _send(protocol, reply)
        except Exception as exc:  # noqa: BLE001 - report every failure to the parent
            _send(protocol, {"ok": False, "error": f"{type(exc).__name__}: {exc}"})
    return 0


if __name__ == "__main__":
    sys.exit(main())
