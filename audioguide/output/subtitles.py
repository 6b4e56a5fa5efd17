"""Subtitles: every spoken line of a timeline as a timed cue, in WebVTT, SRT or LRC.

A cue runs from the first sample of its line's clip to the first sample after it, so the
words show exactly while they are heard. `spoken_lines` is the one place cues come from:
`inspect --json` reports the same cues (with their samples) that the files are written
from. Times are rounded once, from samples, to the format's unit (milliseconds, or
hundredths of a second for LRC). WebVTT chapters go to a second file, `STEM.chapters.vtt`
(`<track kind="chapters">` is how web players read them).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..atomic import write_text
from ..errors import InputError
from ..timeline.model import SPOKEN_KINDS, Timeline
from .tags import format_ms

#: The formats written, by extension.
SUBTITLE_FORMATS = ("vtt", "srt", "lrc")
#: `--subtitles auto`: a .vtt beside the audio, with its stem.
AUTO = "auto"

_SPACE = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class Cue:
    """One spoken line: its text from sample `start` up to (not including) sample `end`."""

    start: int
    end: int
    text: str
    kind: str
    line: int


def spoken_lines(timeline: Timeline) -> tuple[Cue, ...]:
    """Every spoken line of `timeline` as a cue, in order of time."""
    cues = [Cue(clip.start, clip.end, one_line(clip.text), clip.kind, clip.where.line)
            for clip in timeline.clips
            if clip.kind in SPOKEN_KINDS and clip.text is not None and clip.text.strip()]
    return tuple(sorted(cues, key=lambda cue: (cue.start, cue.end)))


def lines_json(timeline: Timeline) -> list[dict[str, Any]]:
    """The cues as `inspect --json` shows them: exact samples beside seconds."""
    rate = timeline.sample_rate
    return [{"kind": cue.kind, "start": cue.start, "end": cue.end,
             "start_s": round(cue.start / rate, 6), "end_s": round(cue.end / rate, 6),
             "line": cue.line, "text": cue.text} for cue in spoken_lines(timeline)]


def one_line(text: str) -> str:
    """`text` with every run of white space (line breaks, blank lines) made one space."""
    return _SPACE.sub(" ", text).strip()


def subtitle_format(path: Path) -> str:
    """The format a subtitles file's extension names; bad input if it names none."""
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in SUBTITLE_FORMATS:
        raise InputError(f"--subtitles {path}: name a .vtt, .srt or .lrc file (or say "
                         f"'{AUTO}' for a .vtt beside the audio)")
    return fmt


def subtitles_path(choice: str, audio: Path) -> Path:
    """The file `--subtitles` names: `auto` is `audio`'s stem with .vtt, beside it."""
    if choice == AUTO:
        return audio.with_suffix(".vtt")
    path = Path(choice)
    subtitle_format(path)
    return path


def check_subtitles(choice: str, make_folder: bool) -> None:
    """Refuse a `--subtitles` choice that could not be written, before any audio work."""
    if choice == AUTO:
        return
    path = subtitles_path(choice, Path())
    if not make_folder and not path.absolute().parent.is_dir():
        raise InputError(f"--subtitles {path}: the folder {path.parent} does not exist; "
                         "create it, or add --mkdir")


def chapters_path(path: Path) -> Path:
    """Where a WebVTT file's chapters go: `STEM.chapters.vtt` beside it."""
    return path.with_name(f"{path.stem}.chapters.vtt")


def samples_to_units(sample: int, rate: int, per_second: int) -> int:
    """`sample` in whole units of 1/`per_second` s, rounded to the nearest (halves up)."""
    return (2 * sample * per_second + rate) // (2 * rate)


def clock(sample: int, rate: int, separator: str = ".") -> str:
    """`HH:MM:SS.mmm` (WebVTT; SRT uses a comma) for a sample position."""
    return format_ms(samples_to_units(sample, rate, 1000)).replace(".", separator)


def lrc_clock(centis: int) -> str:
    """`mm:ss.xx` for a time in hundredths (minutes may pass 59, as LRC players expect)."""
    minutes, rest = divmod(centis, 6000)
    seconds, hundredths = divmod(rest, 100)
    return f"{minutes:02d}:{seconds:02d}.{hundredths:02d}"


def vtt_escape(text: str) -> str:
    """Cue text WebVTT shows as written: `&`, `<` and `>` as character references (which also
    breaks up any `-->`), on one line (a blank line would end the cue)."""
    return one_line(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _span(start: int, end: int, rate: int, separator: str) -> str:
    begin = samples_to_units(start, rate, 1000)
    # A cue shorter than a millisecond still lasts one: players drop empty cues.
    finish = max(samples_to_units(end, rate, 1000), begin + 1)
    return f"{format_ms(begin)} --> {format_ms(finish)}".replace(".", separator)


def webvtt(cues: Sequence[Cue], rate: int) -> str:
    """The cues as a WebVTT file."""
    blocks = ["WEBVTT"]
    for number, cue in enumerate(cues, start=1):
        blocks.append(f"{number}\n{_span(cue.start, cue.end, rate, '.')}\n{vtt_escape(cue.text)}")
    return "\n\n".join(blocks) + "\n"


def webvtt_chapters(timeline: Timeline) -> str:
    """The timeline's chapters as a WebVTT chapters track."""
    blocks = ["WEBVTT"]
    for number, chapter in enumerate(timeline.chapters, start=1):
        blocks.append(f"chapter-{number}\n"
                      f"{_span(chapter.start, chapter.end, timeline.sample_rate, '.')}\n"
                      f"{vtt_escape(chapter.title)}")
    return "\n\n".join(blocks) + "\n"


def srt(cues: Sequence[Cue], rate: int) -> str:
    """The cues as a SubRip file."""
    # SRT has no escapes: keep the text on one line, and never let it read as a timing line.
    return "".join(f"{number}\n{_span(cue.start, cue.end, rate, ',')}\n"
                   f"{one_line(cue.text).replace('-->', '->')}\n\n"
                   for number, cue in enumerate(cues, start=1))


def lrc(cues: Sequence[Cue], rate: int, title: str = "", length: int = 0) -> str:
    """The cues as LRC lyrics: a line at each start, and an empty line where speech stops."""
    header = [f"[ti:{_lrc_tag(title)}]"] if title else []
    if length:
        minutes, seconds = divmod(samples_to_units(length, rate, 1), 60)
        header.append(f"[length:{minutes:02d}:{seconds:02d}]")
    header.append("[re:audioguide]")
    body: list[str] = []
    for index, cue in enumerate(cues):
        body.append(f"[{lrc_clock(samples_to_units(cue.start, rate, 100))}]{one_line(cue.text)}")
        stop = samples_to_units(cue.end, rate, 100)
        following = (samples_to_units(cues[index + 1].start, rate, 100)
                     if index + 1 < len(cues) else None)
        # LRC lines have no end: a blank line clears the words when the voice stops.
        if following is None or following > stop:
            body.append(f"[{lrc_clock(stop)}]")
    return "\n".join(header + body) + "\n"


def _lrc_tag(text: str) -> str:
    return one_line(text).replace("[", "(").replace("]", ")")


def subtitles_text(timeline: Timeline, fmt: str) -> str:
    """The spoken lines of `timeline` as a `fmt` (vtt, srt or lrc) file."""
    cues = spoken_lines(timeline)
    rate = timeline.sample_rate
    if fmt == "vtt":
        return webvtt(cues, rate)
    if fmt == "srt":
        return srt(cues, rate)
    if fmt == "lrc":
        return lrc(cues, rate, timeline.title, timeline.length)
    raise ValueError(f"no subtitle writer for {fmt}")


def write_subtitles(timeline: Timeline, path: Path, make_folder: bool = False) -> list[Path]:
    """Write `path` (its extension names the format) and, for WebVTT with chapters, the
    chapters beside it; return the files written."""
    fmt = subtitle_format(path)
    elsewhere = "choose another file with --subtitles"
    written = [write_text(path, subtitles_text(timeline, fmt), make_folder, elsewhere)]
    if fmt == "vtt" and timeline.chapters:
        written.append(write_text(chapters_path(path), webvtt_chapters(timeline), make_folder,
                                  elsewhere))
    return written
