"""The few MP4 atoms audioguide reads itself: the audio track's timescale, length and edit list.

An AAC stream starts with the encoder's priming samples and ends padded to a whole
frame. The edit list (`elst`) says which stretch of the track is the real audio; players
that honour it (and `iTunSMPB`, which says the same for older ones) play exactly the
samples that were encoded, so a sequence of files joins without gaps.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

if TYPE_CHECKING:
    from mutagen.mp4 import Atom, Atoms


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
