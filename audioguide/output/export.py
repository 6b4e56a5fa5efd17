"""Writing blocks to a file: WAV directly; MP3, OGG, FLAC, M4B and M4A through ffmpeg
reading a pipe.

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
import tempfile
import wave
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np

from ..atomic import ELSEWHERE, atomic_output, atomic_path, disk_errno, errno_in_text
from ..cover import Cover
from ..dsp import Audio, to_pcm16
from ..errors import ExportError, InputError
from ..ffmpeg import ffmpeg_pipe, find_ffmpeg
from ..script.schema import CODECS, FORMATS
from .tags import MP4_FORMATS, ChapterMark, Tags, ffmetadata, info_chunk, write_tags

# FORMATS, CODECS and BITS (sample sizes of FLAC and WAV) are the script's `output:`
# vocabulary, defined once in script.schema.
#: Formats that carry cover art (WAV has no place for it that players read).
COVER_FORMATS = ("mp3", "ogg", "flac", "m4b", "m4a")

#: Extensions that name a format (and, for .opus, a codec).
_EXTENSIONS = {"mp3": ("mp3", None), "wav": ("wav", None), "wave": ("wav", None),
               "ogg": ("ogg", None), "oga": ("ogg", None), "opus": ("ogg", "opus"),
               "flac": ("flac", None), "m4b": ("m4b", None), "m4a": ("m4a", None)}
#: AAC's default bitrate (kbit/s) in M4B and M4A files, per channel count.
AAC_KBPS = {1: 64, 2: 96}


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
    bitrate_kbps: int | None = None   # constant (mp3) or target (vorbis, opus, aac) bitrate
    bits: int = 16                    # flac and wav: 16 or 24 bits a sample
    cover: Cover | None = None        # embedded in every format but wav


def format_for(path: Path, requested: str | None) -> str:
    """The format `--format` asks for, else the one the extension names."""
    if requested:
        if requested not in FORMATS:
            raise InputError(f"unknown format '{requested}' (choose one of: {', '.join(FORMATS)})")
        return requested
    suffix = path.suffix.lower().lstrip(".")
    if suffix in _EXTENSIONS:
        return _EXTENSIONS[suffix][0]
    raise InputError(f"cannot tell the format from '{path.name}'; end it in .mp3, .wav, .ogg, "
                     ".flac, .m4b or .m4a, or pass --format")


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
        # 16 bits: the samples arrive as the WAV writer's 16-bit PCM (see `pipe_format`), so
        # the FLAC decodes to exactly the WAV. Without a sample format ffmpeg would keep
        # float input at 24 bits, a file larger than the WAV.
        if settings.bits == 24:
            return ["-f", "flac", "-c:a", "flac", "-sample_fmt", "s32",
                    "-bits_per_raw_sample", "24"]
        return ["-f", "flac", "-c:a", "flac", "-sample_fmt", "s16"]
    if fmt in MP4_FORMATS:
        # The ipod muxer writes both chapter kinds (a QuickTime chapter track and Nero
        # `chpl`) and an edit list for the encoder delay; faststart puts the index first.
        kbps = bitrate or AAC_KBPS.get(settings.channels, 96)
        return ["-f", "ipod", "-c:a", "aac", "-b:a", f"{kbps}k", *_mp4_muxing(settings)]
    raise InputError(f"unknown format '{fmt}'")


def _mp4_muxing(settings: ExportSettings) -> list[str]:
    # The movie's timescale is the sample rate: at the default (ms), the edit list would
    # cut up to 1 ms of the last samples, and the file would not be sample-exact.
    return ["-movflags", "+faststart", "-movie_timescale", str(settings.sample_rate),
            "-brand", "M4B " if settings.format == "m4b" else "M4A "]


def pipe_format(settings: ExportSettings) -> str:
    """The raw sample format ffmpeg reads from the pipe: s16le for 16-bit FLAC, else f32le."""
    return "s16le" if settings.format == "flac" and settings.bits == 16 else "f32le"


def _pcm16_bytes(block: Audio) -> bytes:
    return to_pcm16(block).tobytes()


def to_pcm24(block: Audio) -> bytes:
    """Float samples to little-endian 24-bit PCM (rounded, clipped at full scale)."""
    scaled = np.rint(np.clip(block, -1.0, 1.0).astype(np.float64) * 8388607.0)
    wide = scaled.astype("<i4").reshape(-1, 1).view(np.uint8)
    return wide[:, :3].tobytes()


#: How a user writes somewhere else, in the advice for a folder that cannot take the file.
def export(blocks: Iterable[Audio], path: Path, settings: ExportSettings,
           make_folder: bool = False, elsewhere: str = ELSEWHERE) -> Path:
    """Write every block to `path` in `settings.format`, tagged; return the path."""
    with atomic_output(path, make_folder, elsewhere) as temporary:
        if settings.format == "wav":
            _write_wav(blocks, temporary, settings)
        elif settings.format in MP4_FORMATS:
            _write_mp4(blocks, temporary, settings)
            _write_tags(temporary, settings)
        else:
            _write_ffmpeg(blocks, temporary, settings)
            _write_tags(temporary, settings)
    return path


def _write_mp4(blocks: Iterable[Audio], path: Path, settings: ExportSettings) -> None:
    """Encode to M4B/M4A with the chapters. The mp4 muxer takes chapters only from an input
    (an ffmetadata file) before the audio; chapters known only once the blocks have been
    read (a playlist mix's) are muxed in afterwards by a second pass that copies the audio
    as it is (edit list and all)."""
    known = list(settings.chapters)
    if not known:
        _write_ffmpeg(blocks, path, settings)
        late = list(settings.chapters)
        if late:
            with _chapter_file(late) as chapters, atomic_path(path) as remuxed:
                _run_ffmpeg(["-i", str(path), "-f", "ffmetadata", "-i", str(chapters),
                             "-map", "0:a", "-map_chapters", "1", "-c", "copy",
                             *_mp4_muxing(settings), "-f", "ipod", str(remuxed)],
                            remuxed, settings)
        return
    with _chapter_file(known) as chapters:
        _write_ffmpeg(blocks, path, settings, chapters)


@contextlib.contextmanager
def _chapter_file(chapters: Sequence[ChapterMark]) -> Iterator[Path]:
    handle, name = tempfile.mkstemp(prefix="audioguide-chapters-", suffix=".ffmetadata")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            # Chapters only: the tags are mutagen's, written afterwards.
            file.write(ffmetadata(chapters))
        yield Path(name)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(name)


def _write_tags(path: Path, settings: ExportSettings) -> None:
    try:
        write_tags(path, settings.format, settings.tags, settings.chapters, settings.cover)
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
            wav.setsampwidth(settings.bits // 8)
            wav.setframerate(settings.sample_rate)
            convert = to_pcm24 if settings.bits == 24 else _pcm16_bytes
            for block in blocks:
                wav.writeframesraw(convert(block))
        # Title, artist and the rest in a LIST/INFO chunk after the audio data.
        if settings.tags.title:
            handle.write(info_chunk(settings.tags))
            size = handle.tell()
            handle.seek(4)
            handle.write((size - 8).to_bytes(4, "little"))


def _write_ffmpeg(blocks: Iterable[Audio], path: Path, settings: ExportSettings,
                  chapters: Path | None = None) -> None:
    raw = pipe_format(settings)
    command = ["-nostdin", "-hide_banner", "-loglevel", "error", "-y",
               "-f", raw, "-ar", str(settings.sample_rate), "-ac", str(settings.channels),
               "-i", "pipe:0"]
    if chapters is not None:
        command += ["-f", "ffmetadata", "-i", str(chapters), "-map", "0:a", "-map_chapters", "1"]
    command += [*encoder_options(settings), str(path)]
    def cannot_run(error: OSError) -> ExportError:
        return ExportError(f"cannot run ffmpeg ({find_ffmpeg().path}): {error}")

    with ffmpeg_pipe(command, feed=True, cannot_run=cannot_run) as pipe:
        for block in blocks:
            if not pipe.write(_pcm16_bytes(block) if raw == "s16le"
                              else np.ascontiguousarray(block, dtype="<f4").tobytes()):
                break
        code = pipe.finish()
        errors = pipe.error_lines()
    if code != 0:
        _failed(code, errors, path, settings)


def _run_ffmpeg(arguments: list[str], path: Path, settings: ExportSettings) -> None:
    """Run ffmpeg on files (no pipe), failing as the encoder does."""
    command = [find_ffmpeg().path, "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
               *arguments]
    try:
        result = subprocess.run(command, capture_output=True, check=False)
    except OSError as exc:
        raise ExportError(f"cannot run ffmpeg ({find_ffmpeg().path}): {exc}") from exc
    if result.returncode != 0:
        lines = (line.strip().decode("utf-8", "replace") for line in result.stderr.splitlines())
        _failed(result.returncode, [line for line in lines if line][-20:], path, settings)


def _failed(code: int, lines: list[str], path: Path, settings: ExportSettings) -> None:
    disk = errno_in_text("\n".join(lines))
    if disk is not None:
        # Not the encoder's fault: the folder could not take the file.
        raise OSError(disk, os.strerror(disk), str(path))
    detail = lines[-1] if lines else "no message"
    encoder = encoder_options(settings)[3]
    raise ExportError(f"ffmpeg could not encode {settings.format} with {encoder} (exit "
                      f"{code}): {detail}; try --format wav, or set AUDIOGUIDE_FFMPEG to "
                      "an ffmpeg built with that encoder")
