"""Finding ffmpeg: `AUDIOGUIDE_FFMPEG`, pydub's converter, the system's, or imageio-ffmpeg's.

The imageio-ffmpeg wheel carries a static ffmpeg, so a machine with no ffmpeg
installed still decodes and encodes. Whichever is chosen is also handed to
pydub, so code that mixes pydub in uses the same binary.
"""

from __future__ import annotations

import functools
import logging
import os
import shutil
import warnings
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


@functools.lru_cache(maxsize=1)
def find_ffmpeg() -> Ffmpeg:
    """The ffmpeg to use; raises AudioguideError (exit 1) with what to install if none is found."""
    chosen = os.environ.get(ENV_VAR, "").strip()
    if chosen:
        path = shutil.which(chosen) or (chosen if os.path.isfile(chosen) else None)
        if path is None:
            raise AudioguideError(f"{ENV_VAR}={chosen} is not an ffmpeg binary; fix or unset it")
        found = Ffmpeg(path, ENV_VAR)
    elif converter := _pydub_converter():
        found = Ffmpeg(converter, "pydub's AudioSegment.converter")
    elif system := shutil.which("ffmpeg"):
        found = Ffmpeg(system, "system PATH")
    else:
        try:
            import imageio_ffmpeg

            found = Ffmpeg(imageio_ffmpeg.get_ffmpeg_exe(), "imageio-ffmpeg wheel")
        except (ImportError, RuntimeError) as exc:
            raise AudioguideError(
                "no ffmpeg found: install ffmpeg, or `pip install imageio-ffmpeg`, or set "
                f"{ENV_VAR} to an ffmpeg binary ({exc})") from None
    _configure_pydub(found.path)
    log.info("using ffmpeg from %s (%s)", found.origin, found.path)
    return found


def _configure_pydub(path: str) -> None:
    segment = _audio_segment()
    if segment is not None:
        segment.converter = path  # type: ignore[attr-defined]
        _handed_to_pydub.add(path)
