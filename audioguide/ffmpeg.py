"""Finding ffmpeg and running it through a pipe.

The binary: `AUDIOGUIDE_FFMPEG`, pydub's converter, the system's, or imageio-ffmpeg's.
The imageio-ffmpeg wheel carries a static ffmpeg, so a machine with no ffmpeg installed
still decodes and encodes. Whichever is chosen is also handed to pydub, so code that
mixes pydub in uses the same binary.

`ffmpeg_pipe` is the one way audioguide runs it on a stream (decoding, measuring,
encoding): stderr read on a thread, the process killed on any error or early exit.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import shutil
import subprocess
import threading
import warnings
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from .errors import AudioguideError

log = logging.getLogger(__name__)

ENV_VAR = "AUDIOGUIDE_FFMPEG"
#: Paths this module gave pydub, so they are not mistaken for a user's own setting.
_handed_to_pydub: set[str] = set()


@dataclass(frozen=True)
class Ffmpeg:
    """The ffmpeg binary in use and where it came from."""

    path: str
    origin: str


def _audio_segment() -> type | None:
    """pydub's AudioSegment, imported without its "Couldn't find ffmpeg" warning.

    pydub warns at import when no ffmpeg is on PATH; we hand it one right after.
    """
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Couldn't find ffmpeg",
                                    category=RuntimeWarning)
            from pydub import AudioSegment
    except ImportError:
        return None
    return AudioSegment


def _pydub_converter() -> str | None:
    """A converter someone set on pydub by hand (not pydub's own default guess)."""
    AudioSegment = _audio_segment()
    converter = getattr(AudioSegment, "converter", None)
    if converter in _handed_to_pydub:
        return None  # ours, from an earlier search
    if converter and converter not in ("ffmpeg", "avconv") and os.path.isfile(converter):
        return str(converter)
    return None


def find_ffmpeg(environ: Mapping[str, str] | None = None) -> Ffmpeg:
    """The ffmpeg to use, by `environ` (the process's environment unless given): its
    AUDIOGUIDE_FFMPEG and PATH. Raises AudioguideError (exit 1) with what to install if none
    is found. Looked up once per setting, so a changed environment is seen at once."""
    environ = os.environ if environ is None else environ
    found = _find(environ.get(ENV_VAR, "").strip(), environ.get("PATH", os.defpath),
                  _pydub_converter())
    _configure_pydub(found.path)
    return found


@functools.lru_cache(maxsize=8)
def _find(chosen: str, search_path: str, converter: str | None) -> Ffmpeg:
    if chosen:
        path = (shutil.which(chosen, path=search_path)
                or (chosen if os.path.isfile(chosen) else None))
        if path is None:
            raise AudioguideError(f"{ENV_VAR}={chosen} is not an ffmpeg binary; fix or unset it")
        found = Ffmpeg(path, ENV_VAR)
    elif converter:
        found = Ffmpeg(converter, "pydub's AudioSegment.converter")
    elif system := shutil.which("ffmpeg", path=search_path):
        found = Ffmpeg(system, "system PATH")
    else:
        try:
            import imageio_ffmpeg

            found = Ffmpeg(imageio_ffmpeg.get_ffmpeg_exe(), "imageio-ffmpeg wheel")
        except (ImportError, RuntimeError) as exc:
            raise AudioguideError(
                "no ffmpeg found: install ffmpeg, or `pip install imageio-ffmpeg`, or set "
                f"{ENV_VAR} to an ffmpeg binary ({exc})") from None
    log.info("using ffmpeg from %s (%s)", found.origin, found.path)
    return found


def _configure_pydub(path: str) -> None:
    segment = _audio_segment()
    if segment is not None and getattr(segment, "converter", None) != path:
        segment.converter = path  # type: ignore[attr-defined]
        _handed_to_pydub.add(path)


class FfmpegPipe:
    """A running ffmpeg fed or read through a pipe, its stderr read on a thread.

    Made by `ffmpeg_pipe`, which kills the process on any error or early exit, so a
    failure, a consumer that stops reading or Ctrl-C never leaves an ffmpeg behind.
    """

    def __init__(self, process: subprocess.Popen[bytes], keep_lines: int) -> None:
        self.process = process
        self._errors: deque[bytes] = deque(maxlen=keep_lines)
        self._reader = threading.Thread(target=self._read_errors, daemon=True)
        self._reader.start()
        self._broken = False

    def _read_errors(self) -> None:
        assert self.process.stderr is not None
        self._errors.extend(self.process.stderr)

    def write(self, data: bytes) -> bool:
        """Send `data` to ffmpeg's input; False once ffmpeg has stopped reading (stop
        sending then: `finish()`'s exit code and the stderr lines say why)."""
        assert self.process.stdin is not None
        if not self._broken:
            try:
                self.process.stdin.write(data)
            except BrokenPipeError:
                self._broken = True
        return not self._broken

    def read(self, size: int) -> bytes:
        """Up to `size` bytes of ffmpeg's output (fewer only at its end)."""
        assert self.process.stdout is not None
        return self.process.stdout.read(size)

    def finish(self) -> int:
        """Close the input (if fed), wait for ffmpeg to exit and for its stderr; its exit code."""
        if self.process.stdin is not None and not self.process.stdin.closed:
            with contextlib.suppress(BrokenPipeError):
                self.process.stdin.close()
        code = self.process.wait()
        self._reader.join(timeout=10)
        return code

    def error_lines(self) -> list[str]:
        """ffmpeg's last stderr lines, decoded and stripped, blank ones left out."""
        lines = (line.strip().decode("utf-8", "replace") for line in self._errors)
        return [line for line in lines if line]

    def stop(self) -> None:
        """Kill ffmpeg if it is still running, and wait for it."""
        if self.process.poll() is None:
            self.process.kill()
        self.finish()


@contextlib.contextmanager
def ffmpeg_pipe(arguments: Sequence[str], *, feed: bool,
                cannot_run: Callable[[OSError], Exception],
                keep_lines: int = 20) -> Iterator[FfmpegPipe]:
    """Run ffmpeg (found by `find_ffmpeg`) with `arguments`, fed on stdin (`feed`) or read
    from stdout; `cannot_run(error)` is raised if it cannot start. ffmpeg is killed if the
    block raises or leaves while it is still running; else the caller calls `finish()`."""
    command = [find_ffmpeg().path, *arguments]
    try:
        process = subprocess.Popen(command, stdin=subprocess.PIPE if feed else None,
                                   stdout=subprocess.DEVNULL if feed else subprocess.PIPE,
                                   stderr=subprocess.PIPE)
    except OSError as exc:
        raise cannot_run(exc) from exc
    pipe = FfmpegPipe(process, keep_lines)
    try:
        yield pipe
    finally:
        pipe.stop()
