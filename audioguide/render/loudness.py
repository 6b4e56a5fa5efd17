"""Measuring loudness (ITU-R BS.1770 / EBU R128) with ffmpeg's ebur128 filter, as a stream.

The meter is ffmpeg's, not ours: the rendered blocks are piped through
`ebur128=peak=true` and its summary (integrated loudness, loudness range, true peak)
is read back. Nothing is held in memory, so an 8-hour session measures like a
short one.
"""

from __future__ import annotations

import math
import re
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..dsp import Audio
from ..errors import AudioguideError
from ..ffmpeg import ffmpeg_pipe, find_ffmpeg

#: ebur128 reports this (its gate) for silence.
SILENT_LUFS = -70.0
#: ffmpeg's stderr lines kept while measuring: its closing summary is the last dozen.
SUMMARY_LINES = 200

_SUMMARY = re.compile(r"Integrated loudness:\s*I:\s*(?P<i>-?[\d.]+|-inf) LUFS.*?"
                      r"Loudness range:\s*LRA:\s*(?P<lra>-?[\d.]+|-?inf|nan) LU.*?"
                      r"(?:True|Sample) peak:\s*Peak:\s*(?P<tp>-?[\d.]+|-inf) dBFS", re.S)


@dataclass(frozen=True)
class Loudness:
    """What the meter found."""

    integrated_lufs: float
    true_peak_dbtp: float
    range_lu: float

    @property
    def silent(self) -> bool:
        """True when nothing rises above the meter's absolute gate."""
        return self.integrated_lufs <= SILENT_LUFS + 0.5 or math.isinf(self.integrated_lufs)

    def gain_to(self, target_lufs: float) -> float:
        """dB to add to reach `target_lufs` (0 for silence)."""
        return 0.0 if self.silent else target_lufs - self.integrated_lufs


def _number(text: str) -> float:
    return float(text.replace("inf", "Infinity")) if "inf" in text else float(text)


def parse_summary(stderr: str) -> Loudness:
    """Read ebur128's closing summary."""
    match = _SUMMARY.search(stderr)
    if not match:
        tail = stderr.strip().splitlines()[-1:] or ["no output"]
        raise AudioguideError(f"could not read ffmpeg's loudness summary ({tail[0]}); "
                              "set AUDIOGUIDE_FFMPEG to an ffmpeg with the ebur128 filter")
    lra = match.group("lra")
    return Loudness(_number(match.group("i")), _number(match.group("tp")),
                    0.0 if lra == "nan" else _number(lra))


def measure_loudness(blocks: Iterable[Audio], sample_rate: int, channels: int,
                     true_peak: bool = True) -> Loudness:
    """Integrated loudness, true peak and loudness range of the blocks.

    Without `true_peak` the (4× oversampled, slower) true-peak meter is left out and
    the peak reported is the sample peak.
    """
    arguments = ["-nostdin", "-hide_banner", "-nostats", "-loglevel", "info",
                 "-f", "f32le", "-ar", str(sample_rate), "-ac", str(channels), "-i", "pipe:0",
                 "-af", f"ebur128=peak={'true' if true_peak else 'sample'}:framelog=verbose",
                 "-f", "null", "-"]

    def cannot_run(error: OSError) -> AudioguideError:
        return AudioguideError(f"cannot run ffmpeg to measure loudness: {error}")

    # The summary is the last dozen lines; the per-frame log before it is not kept.
    with ffmpeg_pipe(arguments, feed=True, cannot_run=cannot_run, keep_lines=SUMMARY_LINES) as pipe:
        for block in blocks:
            if not pipe.write(np.ascontiguousarray(block, dtype="<f4").tobytes()):
                break
        code = pipe.finish()
        stderr = "\n".join(pipe.error_lines())
    if code != 0:
        tail = stderr.strip().splitlines()[-1:] or [f"exit {code}"]
        raise AudioguideError(f"ffmpeg could not measure loudness: {tail[0]}; try --loudness "
                              "off, or set AUDIOGUIDE_FFMPEG to another ffmpeg")
    return parse_summary(stderr)


def measure_file_loudness(path: Path, true_peak: bool = False) -> Loudness:
    """The loudness of an audio file, measured by ffmpeg reading the file itself."""
    command = [find_ffmpeg().path, "-nostdin", "-hide_banner", "-nostats", "-loglevel", "info",
               "-i", str(path), "-vn", "-map", "0:a:0",
               "-af", f"ebur128=peak={'true' if true_peak else 'sample'}:framelog=verbose",
               "-f", "null", "-"]
    try:
        result = subprocess.run(command, capture_output=True, check=False)
    except OSError as exc:
        raise AudioguideError(f"cannot run ffmpeg to measure {path.name}: {exc}") from exc
    stderr = result.stderr.decode("utf-8", "replace")
    if result.returncode != 0:
        tail = stderr.strip().splitlines()[-1:] or [f"exit {result.returncode}"]
        raise AudioguideError(f"ffmpeg could not measure the loudness of {path.name}: {tail[0]}")
    return parse_summary(stderr)
