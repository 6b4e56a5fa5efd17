"""Writing blocks to a file: WAV directly, MP3/OGG/FLAC through ffmpeg reading a pipe.

Every file is written through the one atomic writer (`atomic`): under a temporary
name in the destination folder, tagged, fsynced and renamed into place only when
complete, so a failure, Ctrl-C or even SIGKILL leaves the old file (or nothing) under
the final name, never a partial one. A full disk, a read-only folder or a missing
permission, whether Python or ffmpeg meets it, is said as such with what to do.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import threading
import wave
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np

from .atomic import atomic_path, disk_errno, errno_in_text, unwritable, writes_to
from .dsp import Audio
from .errors import ExportError, InputError
from .ffmpeg import find_ffmpeg
from .tags import ChapterMark, Tags, info_chunk, write_tags

FORMATS = ("mp3", "wav", "ogg", "flac")
CODECS = ("vorbis", "opus")

#: Extensions that name a format (and, for .opus, a codec).
_EXTENSIONS = {"mp3": ("mp3", None), "wav": ("wav", None), "wave": ("wav", None),
               "ogg": ("ogg", None), "oga": ("ogg", None), "opus": ("ogg", "opus"),
               "flac": ("flac", None)}


@dataclass(frozen=True)
class ExportSettings:
    """What to write: format and encoder settings, rate, channels, tags and chapters."""

    format: str
    sample_rate: int
    channels: int
    tags: Tags = field(default_factory=lambda: Tags(title=""))
    chapters: Sequence[ChapterMark] = ()
    codec: str | None = None          # ogg: vorbis (default) or opus
    quality: float | None = None      # VBR quality: mp3 0 (best) - 9; vorbis -1 - 10 (best)
    bitrate_kbps: int | None = None   # constant (mp3) or target (vorbis, opus) bitrate


def format_for(path: Path, requested: str | None) -> str:
    """The format `--format` asks for, else the one the extension names."""
    if requested:
        if requested not in FORMATS:
            raise InputError(f"unknown format '{requested}' (choose one of: {', '.join(FORMATS)})")
        return requested
    suffix = path.suffix.lower().lstrip(".")
    if suffix in _EXTENSIONS:
        return _EXTENSIONS[suffix][0]
    raise InputError(f"cannot tell the format from '{path.name}'; end it in .mp3, .wav, .ogg or "
                     ".flac, or pass --format")


def codec_for(path: Path, fmt: str, requested: str | None) -> str | None:
    """The codec inside an OGG file: as asked, `opus` for a .opus name, else vorbis."""
    if fmt != "ogg":
        if requested:
            raise InputError(f"--codec {requested} is for ogg files, not {fmt}")
        return None
    if requested:
        if requested not in CODECS:
            raise InputError(f"unknown codec '{requested}' (choose one of: {', '.join(CODECS)})")
        return requested
    return _EXTENSIONS.get(path.suffix.lower().lstrip("."), ("ogg", None))[1] or "vorbis"


def encoder_options(settings: ExportSettings) -> list[str]:
    """ffmpeg output options for the format, codec, quality and bitrate."""
    fmt, quality, bitrate = settings.format, settings.quality, settings.bitrate_kbps
    if fmt == "mp3":
        # No ID3 from ffmpeg: mutagen writes ID3v2.4 with chapters afterwards.
        options = ["-f", "mp3", "-c:a", "libmp3lame", "-id3v2_version", "0",
                   "-write_id3v1", "0"]
        if bitrate:
            return options + ["-b:a", f"{bitrate}k"]
        return options + ["-q:a", f"{2 if quality is None else quality:g}"]
    if fmt == "ogg" and settings.codec == "opus":
        return ["-f", "ogg", "-c:a", "libopus", "-b:a", f"{bitrate or 96}k"]
    if fmt == "ogg":
        options = ["-f", "ogg", "-c:a", "libvorbis"]
        if bitrate:
            return options + ["-b:a", f"{bitrate}k"]
        return options + ["-q:a", f"{5 if quality is None else quality:g}"]
    if fmt == "flac":
        return ["-f", "flac", "-c:a", "flac"]
    raise InputError(f"unknown format '{fmt}'")


def to_pcm16(block: Audio) -> bytes:
    """Float samples to little-endian 16-bit PCM (rounded, clipped at full scale)."""
    scaled = np.clip(block, -1.0, 1.0) * 32767.0
    return np.rint(scaled).astype("<i2").tobytes()


#: How a user writes somewhere else, in the advice for a folder that cannot take the file.
ELSEWHERE = "choose another folder with -o"


@contextlib.contextmanager
def atomic_output(path: Path, make_folder: bool = False,
                  elsewhere: str = ELSEWHERE) -> Iterator[Path]:
    """A temporary path beside `path`; renamed onto `path` only if the block finishes.

    A folder that cannot take the file (full, read-only, not ours) is an ExportError that
    names it and says what to do (`elsewhere`: how to choose another place).
    """
    folder = path.parent
    if not folder.is_dir():
        if not make_folder:
            raise InputError(f"the folder {folder} does not exist; create it, or add --mkdir")
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            existing = next((p for p in path.absolute().parents if p.is_dir()), Path("/"))
            plain = unwritable(exc, existing, elsewhere)
            raise ExportError(f"cannot create the folder {folder}: "
                              f"{plain or exc.strerror or exc}") from exc
    try:
        with atomic_path(path) as temporary:
            yield temporary
    except OSError as exc:
        # Only a failure writing this file is about its folder; a file read meanwhile
        # (a bed, a recording) that fails is named as itself.
        if writes_to(path, exc.filename):
            reason = unwritable(exc, path.absolute().parent, elsewhere) or exc.strerror
        else:
            reason = f"{exc.strerror or exc}: {exc.filename}"
        raise ExportError(f"cannot write {path}: {reason or exc}") from exc


def export(blocks: Iterable[Audio], path: Path, settings: ExportSettings,
           make_folder: bool = False, elsewhere: str = ELSEWHERE) -> Path:
    """Write every block to `path` in `settings.format`, tagged; return the path."""
    with atomic_output(path, make_folder, elsewhere) as temporary:
        if settings.format == "wav":
            _write_wav(blocks, temporary, settings)
        else:
            _write_ffmpeg(blocks, temporary, settings)
            _write_tags(temporary, settings)
    return path


def write_text(path: Path, text: str, make_folder: bool = False,
               elsewhere: str = ELSEWHERE) -> Path:
    """Write a small text file (a chapter list, a playlist, a script) the same safe way."""
    with atomic_output(path, make_folder, elsewhere) as temporary:
        temporary.write_text(text, encoding="utf-8")
    return path


def _write_tags(path: Path, settings: ExportSettings) -> None:
    try:
        write_tags(path, settings.format, settings.tags, settings.chapters)
    except ExportError as exc:
        # Tagging grows the file: on a full disk that is the disk's fault, said as such.
        code = disk_errno(exc)
        if code is None:
            raise
        raise OSError(code, os.strerror(code), str(path)) from exc


def _write_wav(blocks: Iterable[Audio], path: Path, settings: ExportSettings) -> None:
    handle: BinaryIO = open(path, "wb")  # noqa: SIM115 - closed below
    with handle:
        with wave.open(handle, "wb") as wav:
            wav.setnchannels(settings.channels)
            wav.setsampwidth(2)
            wav.setframerate(settings.sample_rate)
            for block in blocks:
                wav.writeframesraw(to_pcm16(block))
        # Title, artist and the rest in a LIST/INFO chunk after the audio data.
        if settings.tags.title:
            handle.write(info_chunk(settings.tags))
            size = handle.tell()
            handle.seek(4)
            handle.write((size - 8).to_bytes(4, "little"))


def _write_ffmpeg(blocks: Iterable[Audio], path: Path, settings: ExportSettings) -> None:
    command = [find_ffmpeg().path, "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
               "-f", "f32le", "-ar", str(settings.sample_rate), "-ac", str(settings.channels),
               "-i", "pipe:0", *encoder_options(settings), str(path)]
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
        lines = [line.strip().decode("utf-8", "replace") for line in errors if line.strip()]
        disk = errno_in_text("\n".join(lines))
        if disk is not None:
            # Not the encoder's fault: the folder could not take the file.
            raise OSError(disk, os.strerror(disk), str(path))
        detail = lines[-1] if lines else "no message"
        encoder = encoder_options(settings)[3]
        raise ExportError(f"ffmpeg could not encode {settings.format} with {encoder} (exit "
                          f"{code}): {detail}; try --format wav, or set AUDIOGUIDE_FFMPEG to "
                          "an ffmpeg built with that encoder")
