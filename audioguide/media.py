"""Reading the user's audio files (anything ffmpeg reads) as float32 at the session's rate."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np

from .dsp import Audio
from .errors import MediaError
from .ffmpeg import find_ffmpeg

#: Files longer than this are refused as clips (a bed file is looped instead).
MAX_CLIP_SECONDS = 3 * 3600


def decode(path: Path, sample_rate: int, channels: int) -> Audio:
    """Decode a whole file to shape (frames, channels), resampled by ffmpeg."""
    command = [find_ffmpeg().path, "-nostdin", "-v", "error", "-i", str(path),
               "-vn", "-map", "0:a:0", "-f", "f32le", "-acodec", "pcm_f32le",
               "-ac", str(channels), "-ar", str(sample_rate), "pipe:1"]
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
