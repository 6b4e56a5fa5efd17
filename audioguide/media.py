"""Reading the user's audio files (anything ffmpeg reads) as float32 at the session's rate."""

from __future__ import annotations

import subprocess
import wave
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .dsp import BLOCK_FRAMES, Audio
from .errors import MediaError
from .ffmpeg import ffmpeg_pipe, find_ffmpeg

#: Files longer than this are refused as clips (a bed file is looped instead).
MAX_CLIP_SECONDS = 3 * 3600


def _decode_command(path: Path, sample_rate: int, channels: int) -> list[str]:
    """ffmpeg reading the first audio stream of `path` as float32 at this rate and layout."""
    return [find_ffmpeg().path, "-nostdin", "-v", "error", "-i", str(path),
            "-vn", "-map", "0:a:0", "-f", "f32le", "-acodec", "pcm_f32le",
            "-ac", str(channels), "-ar", str(sample_rate), "pipe:1"]


def decode(path: Path, sample_rate: int, channels: int) -> Audio:
    """Decode a whole file to shape (frames, channels), resampled by ffmpeg."""
    native = read_wav(path, sample_rate, channels)
    if native is not None:
        return native
    command = _decode_command(path, sample_rate, channels)
    limit = MAX_CLIP_SECONDS * sample_rate * channels * 4
    try:
        result = subprocess.run(command, capture_output=True, check=False)
    except OSError as exc:
        raise MediaError(f"cannot run ffmpeg to read {path}: {exc}") from exc
    if result.returncode != 0:
        detail = result.stderr.decode("utf-8", "replace").strip().splitlines()
        reason = detail[-1] if detail else f"ffmpeg exit code {result.returncode}"
        raise MediaError(f"cannot read {path}: {reason}; is it an audio file?")
    if len(result.stdout) > limit:
        raise MediaError(f"{path} is longer than {MAX_CLIP_SECONDS // 3600} hours; trim it")
    data = np.frombuffer(result.stdout, dtype="<f4")
    if data.size == 0:
        raise MediaError(f"{path} has no audio in it")
    frames = data.size // channels
    return data[: frames * channels].reshape(frames, channels)


def read_wav(path: Path, sample_rate: int, channels: int) -> Audio | None:
    """A PCM WAV file already at `sample_rate`, read without starting ffmpeg; else None.

    The samples are exactly what ffmpeg gives (integers scaled by 1/2^(bits-1)). Anything
    else (another rate or channel count, float or compressed WAV) is left to ffmpeg.
    """
    if path.suffix.lower() not in (".wav", ".wave"):
        return None
    try:
        with wave.open(str(path), "rb") as file:
            rate, width, own = file.getframerate(), file.getsampwidth(), file.getnchannels()
            if (rate != sample_rate or width not in (2, 4) or own != channels
                    or file.getnframes() > MAX_CLIP_SECONDS * rate):
                return None
            data = file.readframes(file.getnframes())
    except (OSError, EOFError, wave.Error):
        return None
    samples = np.frombuffer(data, dtype="<i2" if width == 2 else "<i4")
    scale = np.float32(1.0 / 2 ** (8 * width - 1))
    audio = (samples.astype(np.float32) * scale).reshape(-1, own)
    return audio if audio.size else None


AUDIO_SUFFIXES = (".mp3", ".ogg", ".oga", ".opus", ".flac", ".wav", ".wave", ".m4a", ".aac",
                  ".mp4", ".wma", ".aif", ".aiff", ".webm")


@dataclass(frozen=True)
class AudioInfo:
    """What a file says about itself: its length and, if tagged, title and artist."""

    seconds: float
    title: str
    artist: str


def probe(path: Path) -> AudioInfo:
    """Length and tags through mutagen (headers only); MediaError if it is not audio."""
    import mutagen

    try:
        audio = mutagen.File(str(path), easy=True)
    except OSError as exc:
        raise MediaError(f"cannot read {path.name}: {exc.strerror or exc}") from exc
    except mutagen.MutagenError as exc:
        raise MediaError(f"{path.name} is not an audio file ffmpeg and mutagen recognise "
                         f"({exc})") from exc
    if audio is None or audio.info is None or not getattr(audio.info, "length", 0):
        raise MediaError(f"{path.name} is not an audio file ffmpeg and mutagen recognise")

    def first(key: str) -> str:
        values = (audio.tags or {}).get(key) if audio.tags is not None else None
        return str(values[0]).strip() if values else ""

    return AudioInfo(float(audio.info.length), first("title"), first("artist"))


def decoded_seconds(path: Path) -> float:
    """The length a player plays, exactly: sample counts from WAV and FLAC headers and from
    an MP4 file's edit list; for anything else, the samples the ffmpeg in use decodes.

    Header lengths (mutagen's `probe`) can include an encoder's delay and padding.
    """
    suffix = path.suffix.lower()
    try:
        if suffix in (".wav", ".wave"):
            with wave.open(str(path), "rb") as file:
                return file.getnframes() / file.getframerate()
        if suffix == ".flac":
            from mutagen.flac import FLAC

            info = FLAC(str(path)).info
            if info.total_samples:
                return float(info.total_samples / info.sample_rate)
        if suffix in (".m4a", ".m4b", ".mp4"):
            from .output.mp4 import audio_timing

            timing = audio_timing(path)
            if timing is not None and timing.samples:
                return timing.seconds
    except (OSError, EOFError, wave.Error, ValueError, ZeroDivisionError):
        pass   # not what its name says: ffmpeg decodes it, or says what is wrong
    except Exception as exc:  # mutagen's own errors
        if not type(exc).__module__.startswith("mutagen"):
            raise
    return _decoded_length(path)


def _decoded_length(path: Path) -> float:
    # A WAV stream from ffmpeg says the rate it decodes at in its header; the samples after
    # it are counted as they come, never held.
    arguments = ["-nostdin", "-v", "error", "-i", str(path), "-vn", "-map", "0:a:0",
                 "-map_metadata", "-1", "-ac", "1", "-c:a", "pcm_s16le", "-f", "wav", "pipe:1"]
    with ffmpeg_pipe(arguments, feed=False, cannot_run=_cannot_run(path)) as pipe:
        head, rate, samples_bytes = b"", 0, -1
        while samples_bytes < 0:
            more = pipe.read(4096)
            if not more:
                break
            head += more
            rate, samples_bytes = _wav_stream_start(head)
            if len(head) > 1 << 20:
                break   # no data chunk in the first MB: not the WAV asked for
        if samples_bytes < 0:
            pipe.stop()
        else:
            while chunk := pipe.read(1 << 20):
                samples_bytes += len(chunk)
        code = pipe.finish()
        if code == 0 and rate and samples_bytes > 0:
            return samples_bytes // 2 / rate
        detail = pipe.error_lines()
    reason = detail[-1] if detail else "no audio in it"
    raise MediaError(f"cannot read {path}: {reason}; is it an audio file?")


def _cannot_run(path: Path) -> Callable[[OSError], MediaError]:
    return lambda error: MediaError(f"cannot run ffmpeg to read {path}: {error}")


def _wav_stream_start(head: bytes) -> tuple[int, int]:
    """(rate, bytes of samples already in `head`) once its data chunk has begun, else (0, -1)."""
    position, rate = 12, 0
    while position + 8 <= len(head):
        chunk = head[position: position + 4]
        size = int.from_bytes(head[position + 4: position + 8], "little")
        if chunk == b"fmt " and position + 16 <= len(head):
            rate = int.from_bytes(head[position + 12: position + 16], "little")
        elif chunk == b"data" and rate:
            return rate, len(head) - position - 8
        position += 8 + size + size % 2
    return 0, -1


def decode_stream(path: Path, sample_rate: int, channels: int,
                  block_frames: int = BLOCK_FRAMES) -> Iterator[Audio]:
    """Decode a file block by block (never the whole file in memory)."""
    arguments = _decode_command(path, sample_rate, channels)[1:]
    size = block_frames * channels * 4
    produced = 0
    with ffmpeg_pipe(arguments, feed=False, cannot_run=_cannot_run(path)) as pipe:
        while data := pipe.read(size):
            usable = len(data) - len(data) % (channels * 4)
            if usable:
                produced += usable
                yield np.frombuffer(data[:usable], dtype="<f4").reshape(-1, channels)
        code = pipe.finish()
        detail = pipe.error_lines()
    if code != 0 or produced == 0:
        reason = detail[-1] if detail else "no audio in it"
        raise MediaError(f"cannot read {path}: {reason}; is it an audio file?")
