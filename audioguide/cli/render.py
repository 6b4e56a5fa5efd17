"""`render`, `validate` and `inspect`: a script to a file, checked, or shown as its timeline."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from ..errors import AudioguideError
from ..jobs.options import SCRIPT_DEFAULT, ExportOptions
from ..jobs.prepare import prepare
from ..jobs.render import RenderResult, inspect_session, render_file
from ..output.subtitles import check_subtitles, subtitles_path, write_subtitles
from ..script.schema import CODECS, FORMATS
from ..timeline.model import Timeline
from ..units import format_seconds
from .main import Reporter, cli, print_warnings, render_options, report, script_options


class _LoudnessType(click.ParamType):
    """A LUFS number (-40 to -5) or the word off."""

    name = "loudness"

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> float | str:
        if isinstance(value, float):
            return value
        if str(value).strip().lower() in ("off", "none", "false"):
            return "off"
        try:
            number = float(value)
        except ValueError:
            self.fail(f"'{value}' is not a LUFS number (like -16) or off", param, ctx)
        if not -40 <= number <= -5:
            self.fail(f"{number:g} LUFS is outside -40..-5", param, ctx)
        return number


_LOUDNESS = _LoudnessType()


@cli.command()
@click.argument("script")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Output file (default: output/<script name>.<format>).")
@click.option("--format", "fmt", type=click.Choice(FORMATS),
              help="File format (default: from the output's extension, else the script's).")
@click.option("--codec", type=click.Choice(CODECS), help="Codec inside an ogg file "
              "(default vorbis; a .opus name means opus).")
@click.option("--quality", type=click.FloatRange(-1, 10),
              help="VBR quality: mp3 0 (best) to 9 (default 2); vorbis -1 to 10 (default 5).")
@click.option("--bitrate", type=click.IntRange(8, 512), metavar="KBPS",
              help="Bitrate in kbit/s: constant for mp3, a target for vorbis, opus and aac "
              "(m4b, m4a).")
@click.option("--bits", type=click.Choice(["16", "24"]),
              help="Bits a sample in flac and wav files (default 16).")
@click.option("--cover", metavar="FILE|none",
              help="Cover art, a PNG or JPEG (default: the script's cover:, else a square "
              "drawn with the title), or none.")
@click.option("--loudness", type=_LOUDNESS, metavar="LUFS|off",
              help="Integrated loudness target (default: the script's, -16), or off.")
@click.option("--sample-rate", type=click.IntRange(8000, 192000), help="Samples per second.")
@click.option("--mono", is_flag=True, help="One channel instead of two.")
@click.option("--chapters", "chapters_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the chapters to FILE (.ffmetadata, or HH:MM:SS.mmm Title lines).")
@click.option("--track", default="", metavar="N", help="Track number tag (like 3 or 3/12).")
@click.option("--date", help="Date tag (default: the script's date:, else today).")
@click.option("--subtitles", metavar="FILE|auto",
              help="Also write every spoken line as a cue: .vtt (with STEM.chapters.vtt), "
              ".srt or .lrc; auto is a .vtt beside the output.")
@click.option("-p", "--mkdir", "make_folder", is_flag=True,
              help="Create the output's folder if it does not exist.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar and no summary line.")
@script_options
def render(script: str, output: Path | None, fmt: str | None, codec: str | None,
           quality: float | None, bitrate: int | None, bits: str | None, cover: str | None,
           loudness: float | None | str,
           sample_rate: int | None, mono: bool, chapters_file: Path | None, track: str,
           date: str | None, subtitles: str | None, make_folder: bool, quiet: bool,
           **script_options: Any) -> None:
    """Render SCRIPT (a file or a built-in name) to an audio file.

    The file is tagged (title, artist, album, genre, date, comment), carries the
    script's sections as chapters, and is normalised to the loudness target with
    true peaks at or below -1 dBTP.

    \b
    Examples:
      audioguide render box-breathing
      audioguide render safe-place.yaml -o safe-place.mp3 --rate 120
      audioguide render session.yaml --format wav --set minutes=5 --loudness off
      audioguide render session.yaml -o phone/session.opus --bitrate 64 --mkdir
      audioguide render safe-place -o safe-place.mp3 --subtitles auto
      audioguide render safe-place -o safe-place.m4b --cover art/beach.jpg
    """
    if subtitles is not None:
        check_subtitles(subtitles, make_folder)
    with Reporter(sys.stderr.isatty() and not quiet) as reporter:
        options = render_options(sample_rate=sample_rate, channels=1 if mono else None,
                                 **script_options)
        export_options = ExportOptions(
            format=fmt, codec=codec, quality=quality, bitrate_kbps=bitrate,
            loudness_lufs=SCRIPT_DEFAULT if loudness is None else
            (None if loudness == "off" else loudness),
            chapters_file=chapters_file, make_folder=make_folder, track=track, date=date,
            bits=int(bits) if bits else None,
            cover=None if cover is None else "none" if cover.strip().lower() == "none"
            else Path(cover))
        result = render_file(script, output, options, export_options, reporter)
    print_warnings(result.timeline.warnings)
    written = ([] if subtitles is None else write_subtitles(
        result.timeline, subtitles_path(subtitles, result.path), make_folder))
    if not quiet:
        click.echo(_summary(result), err=True)
    for path in [result.path, *written]:
        click.echo(str(path))


def _summary(result: RenderResult) -> str:
    level = ""
    if result.measured is not None:
        level = (f", {result.measured.integrated_lufs:.1f} LUFS as written, "
                 f"{result.gain_db:+.1f} dB")
    return (f"rendered {format_seconds(result.timeline.seconds)} "
            f"({result.lines_made} new lines spoken{level}) to:")


@cli.command()
@click.argument("scripts", nargs=-1, required=True)
@script_options
def validate(scripts: Sequence[str], **script_options: Any) -> None:
    """Check SCRIPTS for errors and warnings; nothing is rendered.

    Speech is made (and cached) so that timing can be checked exactly.

    \b
    Example:
      audioguide validate content/*.yaml
    """
    options = render_options(**script_options)
    failed: AudioguideError | None = None
    for script in scripts:
        try:
            with prepare(script, options) as prepared:
                print_warnings(prepared.timeline.warnings)
                click.echo(f"ok: {script} ({format_seconds(prepared.timeline.seconds)}, "
                           f"{len(prepared.timeline.items)} steps)")
        except AudioguideError as error:
            report(error, f"{script}: ")
            failed = failed or error
    if failed is not None:
        sys.exit(failed.exit_code)


@cli.command()
@click.argument("script")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--loudness", "with_loudness", is_flag=True,
              help="Also measure loudness and true peak (renders once; writes nothing).")
@script_options
def inspect(script: str, as_json: bool, with_loudness: bool, **script_options: Any) -> None:
    """Show SCRIPT's compiled timeline: every step, its time and length, and the chapters.

    \b
    Examples:
      audioguide inspect box-breathing
      audioguide inspect session.yaml --json > timeline.json
      audioguide inspect session.yaml --loudness
    """
    options = render_options(**script_options)
    with Reporter(sys.stderr.isatty() and not as_json) as reporter:
        inspection = inspect_session(script, options, loudness=with_loudness,
                                     progress=reporter)
    if as_json:
        click.echo(json.dumps(inspection.to_json(), indent=2, ensure_ascii=False))
        return
    _print_timeline(inspection.timeline)
    for line in inspection.loudness.lines() if inspection.loudness is not None else []:
        click.echo(line)


def _print_timeline(timeline: Timeline) -> None:
    click.echo(f"{timeline.title} — {format_seconds(timeline.seconds)} "
               f"({timeline.sample_rate} Hz, {timeline.channels} ch, {len(timeline.clips)} clips)")
    click.echo("")
    click.echo(f"{'start':>11}  {'length':>10}  {'step':<8} line  detail")
    for item in timeline.items:
        click.echo(f"{format_seconds(item.start / timeline.sample_rate):>11}  "
                   f"{format_seconds(item.length / timeline.sample_rate):>10}  "
                   f"{item.kind:<8} {item.where.line:>4}  {item.detail}")
    if timeline.chapters:
        click.echo("")
        click.echo("chapters:")
        for chapter in timeline.chapters:
            click.echo(f"{format_seconds(chapter.start / timeline.sample_rate):>11}  "
                       f"{chapter.title}")
    print_warnings(timeline.warnings)
