"""Cover art: a user's PNG or JPEG, checked with Pillow, or a generated square with the title.

The generated cover is 1400×1400 (the smallest square podcast directories accept):
the title on a soft gradient whose colours say what kind of session it is. The same
title, kind and Pillow give the same PNG bytes, and a generated cover is kept in the
cache by its content, so re-renders do not draw it again.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .atomic import CacheWarning, atomic_path
from .errors import InputError

if TYPE_CHECKING:
    from PIL.ImageFont import FreeTypeFont, ImageFont

    Font = FreeTypeFont | ImageFont

log = logging.getLogger(__name__)

#: A cover file may be at most this large (ID3, FLAC and Vorbis comments all carry it whole).
MAX_COVER_BYTES = 10_000_000
#: ... and at most this many pixels on a side.
MAX_COVER_SIDE = 8000
#: The generated cover's side: the minimum of Apple's and Spotify's podcast directories.
COVER_SIDE = 1400
#: Bump when the drawing changes, so covers cached by an older version are drawn again.
COVER_VERSION = 1
#: The word that turns cover art off, in a script and on the command line.
NO_COVER = "none"

#: Top and bottom colours of the background, by `Session.kind` (and one for playlists).
PALETTES: dict[str, tuple[tuple[int, int, int], tuple[int, int, int]]] = {
    "breathing": ((200, 226, 240), (234, 244, 246)),       # sky blue to mist
    "sound": ((214, 204, 236), (240, 234, 248)),           # lavender
    "movement": ((246, 214, 190), (250, 238, 222)),        # peach to sand
    "visualization": ((208, 196, 228), (244, 216, 222)),   # dusk violet to rose
    "awareness": ((200, 224, 206), (234, 244, 230)),       # sage to mint
    "together": ((244, 200, 192), (250, 230, 222)),        # coral to blush
    "writing": ((240, 226, 196), (250, 246, 232)),         # ochre to cream
    "other": ((210, 218, 228), (238, 240, 244)),           # grey-blue
    "playlist": ((192, 222, 220), (236, 244, 240)),        # teal
}
_INK = (46, 58, 72)
_MARK = (96, 108, 122)


@dataclass(frozen=True)
class Cover:
    """An image to embed: its encoded bytes, MIME type and size in pixels."""

    data: bytes
    mime: str
    width: int
    height: int
    depth: int = 24     # bits per pixel, as a FLAC picture block records it


class CoverProblem(ValueError):
    """A cover file that cannot be used; the message says why (without saying where)."""


def read_cover(path: Path) -> Cover:
    """A PNG or JPEG cover from a file, checked; CoverProblem says what is wrong."""
    from PIL import Image, UnidentifiedImageError

    try:
        size = path.stat().st_size
        if not path.is_file():
            raise CoverProblem(f"{path} is not a file")
        if size > MAX_COVER_BYTES:
            raise CoverProblem(f"{path.name} is {size / 1e6:.1f} MB; a cover may be at most "
                               f"{MAX_COVER_BYTES // 1_000_000} MB (save it smaller, such as "
                               f"{COVER_SIDE}×{COVER_SIDE} pixels)")
        data = path.read_bytes()
    except FileNotFoundError:
        raise CoverProblem(f"file not found: {path}") from None
    except OSError as exc:
        raise CoverProblem(f"cannot read {path}: {exc.strerror or exc}") from exc
    try:
        with Image.open(io.BytesIO(data)) as image:
            kind, (width, height), mode = image.format, image.size, image.mode
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError):
        raise CoverProblem(f"{path.name} is not a PNG or JPEG image") from None
    if kind not in ("PNG", "JPEG"):
        raise CoverProblem(f"{path.name} is a {kind} image; a cover must be PNG or JPEG")
    if width > MAX_COVER_SIDE or height > MAX_COVER_SIDE:
        raise CoverProblem(f"{path.name} is {width}×{height} pixels; a cover may be at most "
                           f"{MAX_COVER_SIDE}×{MAX_COVER_SIDE}")
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()   # every pixel decodes: not cut short or damaged
    except (OSError, ValueError, SyntaxError) as exc:
        raise CoverProblem(f"{path.name} is a damaged {kind} image ({exc}); save it again") \
            from None
    depth = {"1": 1, "L": 8, "P": 8, "LA": 16, "RGB": 24, "RGBA": 32, "CMYK": 32}.get(mode, 24)
    return Cover(data, "image/png" if kind == "PNG" else "image/jpeg", width, height, depth)


def option_cover(choice: Path | str | None, option: str = "--cover") -> Cover | str | None:
    """A command-line cover checked before any work: the image, NO_COVER, or None (not given);
    InputError names the option."""
    if choice is None or choice == NO_COVER:
        return choice
    try:
        return read_cover(Path(choice))
    except CoverProblem as problem:
        raise InputError(f"{option} {choice}: {problem}") from None


def pick_cover(chosen: Cover | str | None, script_choice: Path | str | None, title: str,
               kind: str, cache_dir: Path | None = None,
               warning: CacheWarning | None = None) -> Cover | None:
    """The art to embed: the command line's (`chosen`), else the script's, else one drawn
    for the title and kind; None when either says NO_COVER."""
    if chosen == NO_COVER:
        return None
    if isinstance(chosen, Cover):
        return chosen
    if script_choice == NO_COVER:
        return None
    if script_choice is not None:
        try:
            return read_cover(Path(script_choice))
        except CoverProblem as problem:   # changed since the script was checked
            raise InputError(f"cover: {problem}") from None
    return generated_cover(title, kind, cache_dir, warning)


def generated_cover(title: str, kind: str, cache_dir: Path | None = None,
                    warning: CacheWarning | None = None) -> Cover:
    """The square cover for a title and kind, from `cache_dir/covers/` when drawn before."""
    import PIL

    key = hashlib.sha256(repr((COVER_VERSION, PIL.__version__, COVER_SIDE, kind,
                               title)).encode("utf-8")).hexdigest()
    path = cache_dir / "covers" / f"{key[:32]}.png" if cache_dir is not None else None
    if path is not None:
        with contextlib.suppress(OSError):
            return Cover(path.read_bytes(), "image/png", COVER_SIDE, COVER_SIDE)
    cover = Cover(draw_cover(title, kind), "image/png", COVER_SIDE, COVER_SIDE)
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with atomic_path(path) as temporary:
                temporary.write_bytes(cover.data)
        except OSError as exc:
            # A cache only saves time: the cover is in hand, so the render goes on.
            if warning is None or not warning.report(exc):
                log.warning("cannot keep the cover in %s: %s", path.parent, exc)
    return cover


def draw_cover(title: str, kind: str) -> bytes:
    """PNG bytes of a 1400×1400 cover: `title` on a soft gradient chosen by `kind`."""
    from PIL import Image, ImageDraw, ImageFont

    side = COVER_SIDE
    top, bottom = (np.array(c, dtype=np.float64) for c in PALETTES.get(kind, PALETTES["other"]))
    rows = np.linspace(0.0, 1.0, side)[:, None, None]
    pixels = np.broadcast_to(top + (bottom - top) * rows, (side, side, 3)).copy()
    # A soft glow, like a low sun, above the title: a smooth radial falloff (no hard edge).
    y, x = np.mgrid[0:side, 0:side]
    distance = np.hypot(x - side * 0.5, y - side * 0.36) / (side * 0.30)
    glow = np.clip(1.0 - distance, 0.0, 1.0) ** 1.6
    pixels += (255.0 - pixels) * glow[..., None] * 0.55
    image = Image.fromarray(np.rint(pixels).astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(image)
    size, lines = _fit_title(title.strip() or "audioguide", side - 2 * 150)
    font = ImageFont.load_default(size=size)
    line_height = int(size * 1.22)
    block = line_height * len(lines)
    y0 = int(side * 0.66) - block // 2
    for index, line in enumerate(lines):
        width = font.getlength(line)
        draw.text(((side - width) / 2, y0 + index * line_height), line, font=font, fill=_INK)
    small = ImageFont.load_default(size=40)
    mark = "audioguide"
    draw.text(((side - small.getlength(mark)) / 2, side - 120), mark, font=small, fill=_MARK)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=False, compress_level=6)
    return out.getvalue()


def _fit_title(title: str, width: int) -> tuple[int, list[str]]:
    """The largest font size (and the lines) that fit the title in four lines of `width`."""
    from PIL import ImageFont

    for size in (124, 108, 96, 84, 72, 62, 54):
        font = ImageFont.load_default(size=size)
        lines = _wrap(title, font, width)
        if len(lines) <= 4 and all(font.getlength(line) <= width for line in lines):
            return size, lines
    lines = _wrap(title, font, width)
    if len(lines) > 4:
        lines = lines[:4]
        lines[3] += " …"
    for index, line in enumerate(lines):
        # A single word wider than the cover (or the shortened last line): cut it to fit.
        while len(line) > 1 and font.getlength(line) > width:
            line = line[:-2] + "…"
        lines[index] = line
    return size, lines


def _wrap(text: str, font: Font, width: int) -> list[str]:
    lines: list[str] = []
    for word in text.split():
        if lines and font.getlength(f"{lines[-1]} {word}") <= width:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    return lines or [text]
