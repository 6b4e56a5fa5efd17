"""Reading the user's audio files (anything ffmpeg reads) as float32 at the session's rate.

And the few MP4 atoms audioguide reads itself: the audio track's timescale, length and
edit list. An AAC stream starts with the encoder's priming samples and ends padded to a
whole frame. The edit list (`elst`) says which stretch of the track is the real audio;
players that honour it (and `iTunSMPB`, which says the same for older ones) play exactly
the samples that were encoded, so a sequence of files joins without gaps.
"""

from __future__ import annotations

import struct
import subprocess
import wave
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

import numpy as np

from .dsp import BLOCK_FRAMES, Audio
from .errors import MediaError
from .ffmpeg import ffmpeg_pipe, find_ffmpeg

if TYPE_CHECKING:
    from mutagen.mp4 import Atom, Atoms

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


#: The extensions taken for audio files in a folder (of recordings, of playlist tracks):
#: what phones, recorders and players write, all of which ffmpeg reads.
AUDIO_SUFFIXES = (".mp3", ".ogg", ".oga", ".opus", ".flac", ".wav", ".wave", ".m4a", ".aac",
                  ".mp4", ".wma", ".aif", ".aiff", ".webm", ".3gp", ".amr", ".caf")


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


# --- MP4 timing ----------------------------------------------------------------------

@dataclass(frozen=True)
class AudioTiming:
    """Where the real audio lies in an MP4 file's sound track, in samples of its timescale."""

    sample_rate: int       # the track's timescale (the sample rate, for ffmpeg's AAC)
    track_samples: int     # every frame's samples: priming and padding included
    delay: int             # priming samples before the first real one
    samples: int           # the real audio

    @property
    def padding(self) -> int:
        """Samples after the last real one."""
        return max(0, self.track_samples - self.delay - self.samples)

    @property
    def seconds(self) -> float:
        """The real audio's length in seconds."""
        return self.samples / self.sample_rate

    def itunsmpb(self) -> str:
        """The same facts as an iTunes gapless string (`iTunSMPB`)."""
        return (f" 00000000 {self.delay:08X} {self.padding:08X} {self.samples:016X}"
                + " 00000000" * 8)


def audio_timing(path: Path) -> AudioTiming | None:
    """The sound track's timing, or None when the file has no readable sound track."""
    from mutagen.mp4 import AtomError, Atoms

    with open(path, "rb") as handle:
        try:
            return _sound_track(handle, Atoms(handle))
        except (AtomError, KeyError, IndexError, struct.error, ValueError, EOFError):
            return None


def _sound_track(handle: BinaryIO, atoms: Atoms) -> AudioTiming | None:
    moov = atoms[(b"moov",)]
    movie_scale = _timescale(_read(handle, moov[(b"mvhd",)]))
    for trak in moov.findall(b"trak"):
        if _read(handle, trak[b"mdia", b"hdlr"])[8:12] != b"soun":
            continue
        mdhd = _read(handle, trak[b"mdia", b"mdhd"])
        scale, total = _timescale(mdhd), _padded_length(
            _read(handle, trak[b"mdia", b"minf", b"stbl", b"stts"]))
        delay, samples = 0, total
        edts = next((child for child in trak.children or [] if child.name == b"edts"), None)
        if edts is not None:
            # mutagen does not open `edts`: its first box is the `elst`.
            inner = _read(handle, edts)
            size, name = struct.unpack(">I4s", inner[:8])
            edit = _first_edit(inner[8:size]) if name == b"elst" else None
            if edit is not None and movie_scale:
                segment, delay = edit
                # The segment is in the movie's timescale, the delay in the track's.
                samples = round(segment * scale / movie_scale)
        return AudioTiming(scale, total, delay, max(0, min(samples, total - delay)))
    return None


def _read(handle: BinaryIO, atom: Atom) -> bytes:
    ok, data = atom.read(handle)
    if not ok:
        raise ValueError("truncated atom")
    return bytes(data)


def _timescale(box: bytes) -> int:
    """The timescale of an `mvhd` or `mdhd` box (after 64-bit times in a version 1 box)."""
    offset = 20 if box[0] == 1 else 12
    return int(struct.unpack(">I", box[offset: offset + 4])[0])


def _padded_length(stts: bytes) -> int:
    """Frames × samples per frame: the track's whole length, padding of the last frame included
    (muxers shorten the last frame's duration to the real end, so the sum of durations and
    `mdhd` may leave the padding out)."""
    (count,) = struct.unpack(">I", stts[4:8])
    if not count:
        return 0
    frames = sum(struct.unpack(">I", stts[8 + 8 * i: 12 + 8 * i])[0] for i in range(count))
    (frame_length,) = struct.unpack(">I", stts[12:16])
    return int(frames * frame_length)


def _first_edit(elst: bytes) -> tuple[int, int] | None:
    """(segment duration, media time) of the first edit that plays media (not an empty one)."""
    version = elst[0]
    (count,) = struct.unpack(">I", elst[4:8])
    size = 20 if version == 1 else 12
    for index in range(count):
        entry = elst[8 + index * size: 8 + (index + 1) * size]
        if version == 1:
            segment, media_time = struct.unpack(">Qq", entry[:16])
        else:
            segment, media_time = struct.unpack(">Ii", entry[:8])
        if media_time >= 0:
            return int(segment), int(media_time)
    return None
