"""Writing blocks to a file: WAV directly, MP3/OGG/FLAC through ffmpeg reading a pipe.

Every file is written under a temporary name in the destination folder and
renamed into place only when complete, so a failure or Ctrl-C leaves the old file
(or nothing) under the final name, never a partial one.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import subprocess
import threading
import wave
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np

from .dsp import Audio
from .errors import ExportError, InputError
from .ffmpeg import find_ffmpeg

FORMATS = ("mp3", "wav", "ogg", "flac")

#: ffmpeg output options per format (quality chosen for calm speech and soft tones).
_ENCODERS: Mapping[str, tuple[str, ...]] = {
    "mp3": ("-f", "mp3", "-c:a", "libmp3lame", "-q:a", "2"),
    "ogg": ("-f", "ogg", "-c:a", "libvorbis", "-q:a", "5"),
    "flac": ("-f", "flac", "-c:a", "flac"),
}


@dataclass(frozen=True)
class ExportSettings:
    """What to write: format, rate, channels and text tags."""

    format: str
    sample_rate: int
    channels: int
    tags: Mapping[str, str] = field(default_factory=dict)


def format_for(path: Path, requested: str | None) -> str:
    """The format `--format` asks for, else the one the extension names."""
    if requested:
        if requested not in FORMATS:
            raise InputError(f"unknown format '{requested}' (choose one of: {', '.join(FORMATS)})")
        return requested
    suffix = path.suffix.lower().lstrip(".")
    if suffix in FORMATS:
        return suffix
    if suffix == "oga":
        return "ogg"
    raise InputError(f"cannot tell the format from '{path.name}'; end it in .mp3, .wav, .ogg or "
                     ".flac, or pass --format")


def to_pcm16(block: Audio) -> bytes:
    """Float samples to little-endian 16-bit PCM (rounded, clipped at full scale)."""
    scaled = np.clip(block, -1.0, 1.0) * 32767.0
    return np.rint(scaled).astype("<i2").tobytes()


@contextlib.contextmanager
def atomic_output(path: Path) -> Iterator[Path]:
    """A temporary path beside `path`; renamed onto `path` only if the block finishes."""
    folder = path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ExportError(f"cannot create the folder {folder}: {exc.strerror}") from exc
    temporary = folder / f".{path.name}.{secrets.token_hex(4)}.part"
    try:
        yield temporary
        _fsync(temporary)
        os.replace(temporary, path)
    except OSError as exc:
        raise ExportError(f"cannot write {path}: {exc.strerror or exc}") from exc
    finally:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()


def _fsync(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def export(blocks: Iterable[Audio], path: Path, settings: ExportSettings) -> Path:
    """Write every block to `path` in `settings.format`; return the path."""
    with atomic_output(path) as temporary:
        if settings.format == "wav":
            _write_wav(blocks, temporary, settings)
        elif settings.format in _ENCODERS:
            _write_ffmpeg(blocks, temporary, settings)
        else:
            raise InputError(f"unknown format '{settings.format}'")
    return path


def _write_wav(blocks: Iterable[Audio], path: Path, settings: ExportSettings) -> None:
    try:
        handle: BinaryIO = open(path, "xb")  # noqa: SIM115 - closed below
    except OSError as exc:
        raise ExportError(f"cannot write {path.parent}: {exc.strerror}") from exc
    with handle, wave.open(handle, "wb") as wav:
        wav.setnchannels(settings.channels)
        wav.setsampwidth(2)
        wav.setframerate(settings.sample_rate)
        for block in blocks:
            wav.writeframesraw(to_pcm16(block))


def _write_ffmpeg(blocks: Iterable[Audio], path: Path, settings: ExportSettings) -> None:
    command = [find_ffmpeg().path, "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
               "-f", "f32le", "-ar", str(settings.sample_rate), "-ac", str(settings.channels),
               "-i", "pipe:0"]
    for key, value in settings.tags.items():
        if value:
            command += ["-metadata", f"{key}={value}"]
    command += [*_ENCODERS[settings.format], str(path)]
    try:
        process = subprocess.Popen(command, stdin=subprocess.PIPE, stderr=subprocess.PIPE)
    except OSError as exc:
        raise ExportError(f"cannot run ffmpeg ({find_ffmpeg().path}): {exc}") from exc
    errors: deque[bytes] = deque(maxlen=20)
    assert process.stdin is not None and process.stderr is not None
    reader = threading.Thread(target=lambda: errors.extend(process.stderr), daemon=True)  # type: ignore[arg-type]
    reader.start()
    try:
        for block in blocks:
            process.stdin.write(np.ascontiguousarray(block, dtype="<f4").tobytes())
        process.stdin.close()
        code = process.wait()
    except BrokenPipeError:
        code = process.wait()
    except BaseException:
        process.kill()
        process.wait()
        raise
    reader.join(timeout=5)
    if code != 0:
        detail = b" ".join(line.strip() for line in errors).decode("utf-8", "replace")
        raise ExportError(f"ffmpeg could not encode {settings.format} (exit {code}): "
                          f"{detail or 'no message'}; try --format wav, or set AUDIOGUIDE_FFMPEG "
                          "to another ffmpeg")

