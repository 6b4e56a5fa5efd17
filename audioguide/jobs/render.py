"""A script to a file, as `render` makes it: the format, tags and chapters, the loudness
decision (measured once per unchanged session) and the export; and `inspect`'s report."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date as date_type
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .. import __version__
from ..atomic import write_text
from ..cover import Cover, option_cover, pick_cover
from ..errors import InputError
from ..output.export import COVER_FORMATS, ExportSettings, codec_for, export, format_for
from ..output.subtitles import lines_json
from ..output.tags import ChapterMark, Tags, chapters_sidecar, ms_at_or_after, track_numbers
from ..progress import Progress
from ..render.loudness import Loudness, measure_loudness
from ..render.memo import LoudnessMemo, fingerprint
from ..render.mixer import render_blocks
from ..script import Session
from ..script.schema import BITS
from ..timeline.model import Timeline
from ..voices import SpeechCache
from .options import (
    LIMITER_CEILING_DBTP,
    NORMALISE_PASSES,
    SCRIPT_DEFAULT,
    ExportOptions,
    RenderOptions,
)
from .prepare import Prepared, prepare


def default_output(session: Session, fmt: str | None) -> Path:
    """`output/<script name>.<format>` in the current folder."""
    return Path("output") / f"{session.name}.{fmt or session.output.format}"


def session_tags(session: Session, track: str = "", date: str | None = None) -> Tags:
    """The file's tags from the script (and the command line)."""
    if date is None:
        date = session.date or render_date()
    return Tags(title=session.title, artist=session.author or "audioguide",
                album=session.album or "audioguide", genre=session.genre or "Meditation",
                comment=session.description, date=date, track=track,
                source=session.source.name if session.source else session.name,
                encoder=f"audioguide {__version__}")


def render_date() -> str:
    """Today, or the day of `SOURCE_DATE_EPOCH` (for byte-identical files on any day)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch and epoch.isdigit():
        return datetime.fromtimestamp(int(epoch), tz=timezone.utc).date().isoformat()
    return date_type.today().isoformat()


def chapter_marks(timeline: Timeline) -> list[ChapterMark]:
    """The timeline's chapters in milliseconds, each at or just after (< 1 ms) its first
    sample, so seeking to a chapter lands inside it."""
    rate = timeline.sample_rate
    return [ChapterMark(chapter.title, ms_at_or_after(chapter.start, rate),
                        ms_at_or_after(chapter.end, rate)) for chapter in timeline.chapters]


@dataclass(frozen=True)
class RenderResult:
    """What a render wrote."""

    path: Path
    format: str
    timeline: Timeline
    lines_made: int
    measured: Loudness | None = None
    gain_db: float = 0.0


def loudness_target(session: Session, options: ExportOptions) -> float | None:
    """The integrated loudness to normalise to, or None to leave levels as written."""
    if options.loudness_lufs == SCRIPT_DEFAULT:
        return session.output.loudness_lufs
    return options.loudness_lufs  # type: ignore[return-value]


def measure(prepared: Prepared, progress: Progress | None = None,
            gain_db: float = 0.0, true_peak: bool = True) -> Loudness:
    """Integrated loudness and true peak of the session (as written, or with `gain_db`)."""
    timeline = prepared.timeline
    blocks = render_blocks(timeline, prepared.library, progress=progress, stage="measure",
                           gain_db=gain_db,
                           true_peak_ceiling_db=LIMITER_CEILING_DBTP if gain_db else None)
    return measure_loudness(blocks, timeline.sample_rate, timeline.channels, true_peak)


def loudness_memo(cache: SpeechCache) -> LoudnessMemo:
    """The remembered loudness results, in `loudness/` beside the speech cache."""
    return LoudnessMemo(cache.root.parent / "loudness", cache.unwritable)


def normalising_gain(prepared: Prepared, target_lufs: float,
                     progress: Progress | None = None) -> tuple[Loudness, float]:
    """The loudness as written and the gain that brings the finished mix to `target_lufs`.

    Where the gain would push true peaks over the ceiling, the limiter takes a little
    loudness back; the mix is then measured again with the limiter in place and the
    gain corrected, until it lands within 0.1 LU (at most two extra passes). An
    unchanged session's result is remembered (see `memo`), so it is measured once.
    """
    memo = loudness_memo(prepared.library.speech.cache)
    key = fingerprint(prepared.timeline, prepared.library.speech.key,
                      [target_lufs, LIMITER_CEILING_DBTP, NORMALISE_PASSES])
    remembered = memo.get(key)
    if remembered is not None:
        return remembered
    written, gain = _measure_gain(prepared, target_lufs, progress)
    memo.put(key, written, gain)
    return written, gain


def _measure_gain(prepared: Prepared, target_lufs: float,
                  progress: Progress | None) -> tuple[Loudness, float]:
    written = measure(prepared, progress)
    gain = written.gain_to(target_lufs)
    if written.silent or written.true_peak_dbtp + gain <= LIMITER_CEILING_DBTP:
        return written, gain  # no limiting needed: the gain lands exactly
    for _ in range(NORMALISE_PASSES):
        # Only the integrated loudness is needed now (the limiter holds the peaks).
        limited = measure(prepared, progress, gain_db=gain, true_peak=False)
        miss = target_lufs - limited.integrated_lufs
        gain += miss
        if abs(miss) <= 0.3:
            # The correction adds a little more limiting, but only a fraction of a small
            # miss: no need to measure again.
            break
    return written, gain


def render_file(script: str | Path | Session, output: Path | None = None,
                options: RenderOptions | None = None, export_options: ExportOptions | None = None,
                progress: Progress | None = None) -> RenderResult:
    """Render a script to a file; nothing is created if the script or the options are bad."""
    export_options = export_options or ExportOptions()
    chosen_cover = option_cover(export_options.cover)
    track_numbers(export_options.track)   # a bad --track is refused before any work
    with prepare(script, options, progress) as prepared:
        session = prepared.session
        chosen_format = export_options.format or (None if output else session.output.format)
        path = output if output is not None else default_output(session, chosen_format)
        fmt = format_for(path, chosen_format)
        codec = codec_for(path, fmt, export_options.codec or (
            session.output.codec if fmt == "ogg" else None))
        if session.source is not None and path.exists() and path.samefile(session.source):
            raise InputError(f"{path} is the script itself; choose another output with -o")
        bits = export_options.bits or session.output.bits
        if export_options.bits is not None and fmt not in ("flac", "wav"):
            raise InputError(f"--bits {export_options.bits} is for flac and wav files, not {fmt}")
        if bits not in BITS:
            raise InputError(f"--bits {bits}: choose 16 or 24")
        timeline = prepared.timeline
        settings = ExportSettings(
            fmt, timeline.sample_rate, timeline.channels,
            tags=session_tags(session, export_options.track, export_options.date),
            chapters=chapter_marks(timeline), codec=codec,
            quality=export_options.quality if export_options.quality is not None
            else session.output.quality,
            bitrate_kbps=export_options.bitrate_kbps or session.output.bitrate_kbps,
            bits=bits, cover=_cover(fmt, chosen_cover, session, prepared))
        target = loudness_target(session, export_options)
        measured, gain = (normalising_gain(prepared, target, progress) if target is not None
                          else (None, 0.0))
        blocks = render_blocks(timeline, prepared.library, progress=progress, gain_db=gain,
                               true_peak_ceiling_db=LIMITER_CEILING_DBTP if measured else None)
        make_folder = export_options.make_folder or output is None
        export(blocks, path, settings, make_folder=make_folder)
        if export_options.chapters_file is not None:
            write_text(export_options.chapters_file,
                       chapters_sidecar(settings.chapters, export_options.chapters_file,
                                        session.title), make_folder,
                       "choose another folder with --chapters")
        return RenderResult(path, fmt, timeline, prepared.lines_made, measured, gain)


def _cover(fmt: str, chosen: Cover | str | None, session: Session,
           prepared: Prepared) -> Cover | None:
    if fmt not in COVER_FORMATS:
        return None
    cache = prepared.library.speech.cache
    return pick_cover(chosen, session.cover, session.title, session.kind, cache.root.parent,
                      cache.unwritable)


@dataclass(frozen=True)
class LoudnessReport:
    """The session's loudness as written, and what normalising to the script's target does."""

    measured: Loudness
    target_lufs: float | None

    @property
    def gain_db(self) -> float:
        """The gain normalising applies (0 when it is off)."""
        return self.measured.gain_to(self.target_lufs) if self.target_lufs is not None else 0.0

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        measured = self.measured
        return {"integrated_lufs": measured.integrated_lufs,
                "true_peak_dbtp": measured.true_peak_dbtp, "range_lu": measured.range_lu,
                "target_lufs": self.target_lufs, "gain_db": self.gain_db}

    def lines(self) -> list[str]:
        """The report in words, a line each."""
        measured, target = self.measured, self.target_lufs
        lines = [f"loudness as written: {measured.integrated_lufs:.1f} LUFS integrated, "
                 f"true peak {measured.true_peak_dbtp:.1f} dBTP, range "
                 f"{measured.range_lu:.1f} LU"]
        if target is None:
            lines.append("normalisation: off (levels stay as written)")
        elif measured.silent:
            lines.append("normalisation: none (the session is silent)")
        else:
            lines.append(f"normalisation: {measured.gain_to(target):+.1f} dB to reach "
                         f"{target:g} LUFS, true peaks held at or below -1 dBTP")
        return lines


@dataclass(frozen=True)
class Inspection:
    """What `inspect` shows: the compiled timeline, and its loudness if asked for."""

    timeline: Timeline
    loudness: LoudnessReport | None = None

    def to_json(self) -> dict[str, Any]:
        """The timeline as JSON, with every spoken line (and the loudness)."""
        data = self.timeline.to_json()
        data["lines"] = lines_json(self.timeline)
        if self.loudness is not None:
            data["loudness"] = self.loudness.to_json()
        return data


def inspect_session(script: str | Path, options: RenderOptions | None = None, *,
                    loudness: bool = False, progress: Progress | None = None) -> Inspection:
    """Compile a script, and with `loudness` measure it once (writing nothing)."""
    with prepare(script, options) as prepared:
        report = None
        if loudness:
            report = LoudnessReport(measure(prepared, progress),
                                    loudness_target(prepared.session, ExportOptions()))
        return Inspection(prepared.timeline, report)
