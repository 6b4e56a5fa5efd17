"""What the commands may change about a script and about the file, and the defaults they share."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ..script.limits import Limits

#: The limiter's true-peak ceiling when normalising: under the -1 dBTP promise, with room
#: for lossy encoders, which add a little overshoot of their own.
LIMITER_CEILING_DBTP = -1.5
#: Extra loudness passes allowed to correct for what the limiter takes back.
NORMALISE_PASSES = 2
#: A stand-in for "the script decides" where None means "off".
SCRIPT_DEFAULT = "script"


@dataclass(frozen=True)
class RenderOptions:
    """What the command line may change about a script."""

    variables: Mapping[str, str] = field(default_factory=dict)
    engine: str | None = None
    voice_id: str | None = None
    rate_wpm: float | None = None
    style: str | None = None
    #: Bounds on the work one session may ask for (default: from the environment).
    limits: Limits | None = None
    sample_rate: int | None = None
    channels: int | None = None
    cache_dir: Path | None = None


@dataclass(frozen=True)
class ExportOptions:
    """What the command line may choose about the file."""

    format: str | None = None
    codec: str | None = None
    quality: float | None = None
    bitrate_kbps: int | None = None
    loudness_lufs: float | None | str = SCRIPT_DEFAULT   # a number, None for off
    chapters_file: Path | None = None
    make_folder: bool = False
    track: str = ""
    date: str | None = None
    bits: int | None = None              # flac and wav; None: the script's (16)
    #: Cover art: an image file, NO_COVER ("none"), or None for the script's or the
    #: generated one.
    cover: Path | str | None = None
