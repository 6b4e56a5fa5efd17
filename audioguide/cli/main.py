"""The command line: thin Click commands over the library; the only module that imports click."""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

from .. import __version__
from ..errors import AudioguideError, PlaybackError, ScriptError
from ..jobs.pipeline import (
    SCRIPT_DEFAULT,
    ExportOptions,
    Prepared,
    RenderOptions,
    builtin_catalogue,
    loudness_target,
    measure,
    prepare,
    render_file,
)
from ..output.export import CODECS, FORMATS
from ..output.subtitles import check_subtitles, lines_json, subtitles_path, write_subtitles
from ..script import (
    Session,
    find_script,
    load_variables,
    new_session,
)
from ..script.editor import install_schema, schema_text
from ..script.schema import CUES, KINDS, STYLES
from ..timeline.compile import Timeline
from ..units import format_seconds
from ..voices import ENGINES

if TYPE_CHECKING:
    from ..live.player import Player

DEBUG_ENV = "AUDIOGUIDE_DEBUG"


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


class _Reporter:
    """A progress bar per stage (elapsed and remaining time) on a terminal.

    A stage gets a bar only once it has run for a second, so quick work stays quiet;
    nothing at all is drawn when stderr is not a terminal.
    """

    LABELS = {"speech": "Speaking lines", "measure": "Measuring loudness", "render": "Rendering",
              "mix": "Mixing"}

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.bar: Any = None
        self.stage = ""
        self.started = 0.0
        self.done = 0

    def __call__(self, stage: str, done: int, total: int) -> None:
        if not self.enabled or total <= 0:
            return
        if stage != self.stage:
            self.close()
            self.stage, self.started, self.done = stage, time.monotonic(), 0
        if self.bar is None:
            if time.monotonic() - self.started < 1.0 or done >= total:
                return
            self.bar = click.progressbar(
                length=total, label=self.LABELS.get(stage, stage), file=sys.stderr,
                show_eta=True, item_show_func=lambda _: self._elapsed())
            self.bar.__enter__()
        self.bar.update(done - self.done)
        self.done = done

    def _elapsed(self) -> str:
        seconds = int(time.monotonic() - self.started)
        return f"elapsed {seconds // 60}:{seconds % 60:02d}"

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None
        self.stage = ""


def _debug_enabled(ctx: click.Context | None) -> bool:
    if os.environ.get(DEBUG_ENV, "") not in ("", "0"):
        return True
    while ctx is not None:
        if ctx.obj and ctx.obj.get("debug"):
            return True
        ctx = ctx.parent
    return False


def _report(error: AudioguideError, context: str = "") -> None:
    """Print an error as its script issues, one per line, or as one `error:` line."""
    if isinstance(error, ScriptError):
        for issue in error.issues:
            click.echo(str(issue), err=True)
    else:
        click.echo(f"error: {context}{error}", err=True)


def _fail(error: AudioguideError) -> NoReturn:
    _report(error)
    sys.exit(error.exit_code)


class _Group(click.Group):
    """Turns library errors into one clear line each and an exit code (1 runtime, 2 input)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except AudioguideError as error:
            if _debug_enabled(ctx):
                raise
            _fail(error)
        except KeyboardInterrupt:
            if _debug_enabled(ctx):
                raise
            click.echo("interrupted; nothing was written", err=True)
            sys.exit(130)


class _WarningHandler(logging.Handler):
    """Library log records as one line each on stderr: `warning: ...` or `note: ...`."""

    def emit(self, record: logging.LogRecord) -> None:
        prefix = "warning" if record.levelno >= logging.WARNING else "note"
        click.echo(f"{prefix}: {record.getMessage()}", err=True)


def _setup_logging(verbose: bool) -> None:
    logger = logging.getLogger("audioguide")
    if not any(isinstance(h, _WarningHandler) for h in logger.handlers):
        logger.addHandler(_WarningHandler())
    logger.setLevel(logging.INFO if verbose else logging.WARNING)
    logger.propagate = False


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="audioguide")
@click.option("--debug", is_flag=True, help="Show tracebacks (or set AUDIOGUIDE_DEBUG=1).")
@click.option("-v", "--verbose", is_flag=True, help="Say which engines and tools are used.")
@click.pass_context
def cli(ctx: click.Context, debug: bool, verbose: bool) -> None:
    """Turn a YAML session script into timed, calming audio.

    \b
    Examples:
      audioguide list
      audioguide render box-breathing
      audioguide render my-session.yaml -o calm.mp3 --set place="a quiet beach"
      audioguide inspect my-session.yaml
    """
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug
    _setup_logging(verbose)


def _parse_sets(values: Sequence[str]) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for value in values:
        name, sep, text = value.partition("=")
        if not sep or not name.strip():
            raise click.BadParameter(f"'{value}' is not name=value", param_hint="--set")
        pairs[name.strip()] = text
    return pairs


def _script_options(func: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option("--set", "sets", multiple=True, metavar="NAME=VALUE",
                     help="Fill a {NAME} placeholder (overrides vars: and --vars)."),
        click.option("--vars", "vars_file", type=click.Path(exists=True, dir_okay=False,
                                                            path_type=Path),
                     help="A YAML file of NAME: VALUE to fill placeholders with."),
        click.option("--engine", type=click.Choice(ENGINES), help="Speech engine for every line."),
        click.option("--voice", "voice_id", metavar="ID", help="The engine's voice id."),
        click.option("--rate", type=click.FloatRange(40, 500), help="Words per minute."),
        click.option("--style", type=click.Choice(STYLES), help="calm: slower, with a soft "
                     "tail (eSpeak: lower, warmer, a small room); plain: the engine as it is."),
        click.option("--cache", "cache_dir", type=click.Path(file_okay=False, path_type=Path),
                     help="Speech cache folder (default: $AUDIOGUIDE_CACHE or your cache dir)."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _options(sets: Sequence[str], vars_file: Path | None, engine: str | None,
             voice_id: str | None, rate: float | None, style: str | None,
             cache_dir: Path | None, **extra: Any) -> RenderOptions:
    variables = load_variables(vars_file) if vars_file is not None else {}
    variables.update(_parse_sets(sets))
    return RenderOptions(variables=variables, engine=engine, voice_id=voice_id,
                         rate_wpm=rate, style=style, cache_dir=cache_dir, **extra)


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
@_script_options
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
    reporter = _Reporter(sys.stderr.isatty() and not quiet)
    options = _options(sample_rate=sample_rate, channels=1 if mono else None, **script_options)
    export_options = ExportOptions(
        format=fmt, codec=codec, quality=quality, bitrate_kbps=bitrate,
        loudness_lufs=SCRIPT_DEFAULT if loudness is None else
        (None if loudness == "off" else loudness),
        chapters_file=chapters_file, make_folder=make_folder, track=track, date=date,
        bits=int(bits) if bits else None,
        cover=None if cover is None else "none" if cover.strip().lower() == "none"
        else Path(cover))
    try:
        result = render_file(script, output, options, export_options, reporter)
    finally:
        reporter.close()
    _print_warnings(result.timeline)
    written = ([] if subtitles is None else write_subtitles(
        result.timeline, subtitles_path(subtitles, result.path), make_folder))
    if not quiet:
        level = ""
        if result.measured is not None:
            level = (f", {result.measured.integrated_lufs:.1f} LUFS as written, "
                     f"{result.gain_db:+.1f} dB")
        click.echo(f"rendered {format_seconds(result.timeline.seconds)} "
                   f"({result.lines_made} new lines spoken{level}) to:", err=True)
    click.echo(str(result.path))
    for path in written:
        click.echo(str(path))


@cli.command()
@click.argument("scripts", nargs=-1, required=True)
@_script_options
def validate(scripts: Sequence[str], **script_options: Any) -> None:
    """Check SCRIPTS for errors and warnings; nothing is rendered.

    Speech is made (and cached) so that timing can be checked exactly.

    \b
    Example:
      audioguide validate content/*.yaml
    """
    options = _options(**script_options)
    failed: AudioguideError | None = None
    for script in scripts:
        try:
            with prepare(script, options) as prepared:
                _print_warnings(prepared.timeline)
                click.echo(f"ok: {script} ({format_seconds(prepared.timeline.seconds)}, "
                           f"{len(prepared.timeline.items)} steps)")
        except AudioguideError as error:
            _report(error, f"{script}: ")
            failed = failed or error
    if failed is not None:
        sys.exit(failed.exit_code)


@cli.command()
@click.argument("script")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--loudness", "with_loudness", is_flag=True,
              help="Also measure loudness and true peak (renders once; writes nothing).")
@_script_options
def inspect(script: str, as_json: bool, with_loudness: bool, **script_options: Any) -> None:
    """Show SCRIPT's compiled timeline: every step, its time and length, and the chapters.

    \b
    Examples:
      audioguide inspect box-breathing
      audioguide inspect session.yaml --json > timeline.json
      audioguide inspect session.yaml --loudness
    """
    with prepare(script, _options(**script_options)) as prepared:
        data = prepared.timeline.to_json()
        data["lines"] = lines_json(prepared.timeline)
        lines: list[str] = []
        if with_loudness:
            reporter = _Reporter(sys.stderr.isatty() and not as_json)
            try:
                measured = measure(prepared, reporter)
            finally:
                reporter.close()
            target = loudness_target(prepared.session, ExportOptions())
            data["loudness"] = {"integrated_lufs": measured.integrated_lufs,
                                "true_peak_dbtp": measured.true_peak_dbtp,
                                "range_lu": measured.range_lu, "target_lufs": target,
                                "gain_db": measured.gain_to(target) if target is not None
                                else 0.0}
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
        if as_json:
            click.echo(json.dumps(data, indent=2, ensure_ascii=False))
        else:
            _print_timeline(prepared)
            for line in lines:
                click.echo(line)


def _print_timeline(prepared: Prepared) -> None:
    timeline = prepared.timeline
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
    _print_warnings(timeline)


def _print_warnings(timeline: Timeline) -> None:
    for warning in timeline.warnings:
        click.echo(str(warning), err=True)


@cli.command()
@click.option("--install", "scripts", multiple=True, metavar="SCRIPT",
              type=click.Path(path_type=Path),
              help="Write the schema beside SCRIPT and point SCRIPT's first line at it "
                   "(for editors using yaml-language-server, such as VS Code's YAML). "
                   "Repeatable.")
def schema(scripts: tuple[Path, ...]) -> None:
    """Print the JSON Schema of the script format (for editor help and autocompletion).

    \b
    Examples:
      audioguide schema > audioguide.schema.json
      audioguide schema --install my-session.yaml
    """
    if not scripts:
        click.echo(schema_text(), nl=False)
    for script in scripts:
        click.echo(f"{script}: uses {install_schema(script)}")


@cli.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def list_sessions(as_json: bool) -> None:
    """List the built-in sessions you can render or play by name, grouped by kind.

    Lengths are with the default voice (the first listing makes and caches its speech).

    \b
    Examples:
      audioguide list
      audioguide list --json
    """
    reporter = _Reporter(sys.stderr.isatty() and not as_json)
    try:
        entries = builtin_catalogue(reporter)
    finally:
        reporter.close()
    if as_json:
        click.echo(json.dumps([entry.to_json() for entry in entries], indent=2,
                              ensure_ascii=False))
        return
    for kind in KINDS:
        group = [entry for entry in entries if entry.kind == kind]
        if not group:
            continue
        click.echo(f"{kind.capitalize()}:")
        for entry in group:
            length = format_seconds(entry.seconds)[:-4]
            click.echo(f"  {entry.name:<22} {length:>6}  {entry.title}: {entry.description}")


@cli.command()
@click.argument("name")
def show(name: str) -> None:
    """Print a session's script (a built-in name or a file), to read or copy.

    \b
    Example:
      audioguide show safe-place
    """
    click.echo(find_script(name).read_text(encoding="utf-8"), nl=False)


@cli.command()
@click.argument("name")
@click.option("--from", "source", default="box-breathing", show_default=True,
              help="The session to start from (a built-in name or a file).")
@click.option("--force", is_flag=True, help="Replace NAME.yaml if it is there.")
@click.option("-o", "--folder", type=click.Path(file_okay=False, path_type=Path),
              help="The folder to write NAME.yaml in (default: this one).")
def new(name: str, source: str, force: bool, folder: Path | None) -> None:
    """Start a new session NAME.yaml here (or in -o FOLDER), as a copy of another to edit.

    \b
    Examples:
      audioguide new my-safe-place --from safe-place
      audioguide new evening -o ~/sessions
      audioguide render my-safe-place.yaml
    """
    path = new_session(name, source, force, folder)
    click.echo(str(path))


@cli.group(invoke_without_command=True)
@click.option("--engine", type=click.Choice(ENGINES), help="Only this engine (default: all).")
@click.option("-l", "--language", metavar="CODE", help="Only voices for a language (en, en-gb).")
@click.option("--available", is_flag=True,
              help="List the Piper voices you can download (with `voices add NAME`).")
@click.option("--sample", metavar="TEXT", help="Speak TEXT with each voice listed, into --out.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("voice-samples"), show_default=True,
              help="Folder for the --sample files.")
@click.option("--style", type=click.Choice(STYLES), default="plain", show_default=True,
              help="Style of the samples.")
@click.pass_context
def voices(ctx: click.Context, engine: str | None, language: str | None, available: bool,
           sample: str | None, out_dir: Path, style: str) -> None:
    """List the voices each engine offers, and optionally hear each say something.

    Use an id with --voice, or as voice.id in a script (with voice.engine).
    More Piper voices: --available lists the catalogue, `voices add NAME` installs
    one, `voices remove NAME` removes it.

    \b
    Examples:
      audioguide voices -l en
      audioguide voices --engine piper --sample "Let your shoulders soften."
      audioguide voices --available -l en_GB
      audioguide voices add en_GB-alan-medium
    """
    if ctx.invoked_subcommand is not None:
        return
    if available:
        if sample is not None or engine is not None:
            raise click.UsageError("--available lists the catalogue only; install a voice "
                                   "with `audioguide voices add NAME`, then use --sample")
        _list_available(language)
        return
    from ..jobs.library import voice_catalogue, write_samples

    if sample is not None and not sample.strip():
        raise click.BadParameter("the text is empty; write a short sentence",
                                 param_hint="--sample")
    catalogue = voice_catalogue(engine, language)
    listed = []
    for group in catalogue:
        if group.problem:
            click.echo(f"{group.engine:<9} (none: {group.problem})")
            continue
        for voice in group.voices:
            languages = ",".join(voice.languages)
            click.echo(f"{group.engine:<9} {voice.voice_id:<28} {voice.name:<32} "
                       f"{languages:<10} {voice.gender or ''}".rstrip())
            listed.append(voice)
    if sample is None:
        return

    def report(voice: Any, path: Path | None, problem: str | None) -> None:
        if path is not None:
            click.echo(f"wrote {path}", err=True)
        else:
            click.echo(f"warning: {voice.engine} {voice.voice_id}: {problem}", err=True)

    written = write_samples(listed, sample, out_dir, style=style, each=report)
    click.echo(f"{len(written)} samples in {out_dir}", err=True)


def _list_available(language: str | None) -> None:
    from ..voices.catalogue import fetch_catalogue, installed_names

    found = fetch_catalogue().matching(language)
    have = installed_names()
    click.echo(f"{'name':<40} {'language':<9} {'quality':<8} {'size':>7} {'speakers':>8}  "
               "installed")
    for voice in found:
        click.echo(f"{voice.key:<40} {voice.language:<9} {voice.quality:<8} "
                   f"{voice.size_bytes / 1e6:>4.0f} MB {voice.num_speakers:>8}  "
                   f"{'yes' if voice.key in have else ''}".rstrip())
    count = f"{len(found)} voice" + ("" if len(found) == 1 else "s")
    click.echo(f"{count}; install one with `audioguide voices add NAME` (each voice has its "
               "own licence: see its MODEL_CARD)", err=True)


@voices.command("add")
@click.argument("names", nargs=-1, required=True)
@click.option("--force", is_flag=True, help="Download again even if it is installed.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
def voices_add(names: Sequence[str], force: bool, quiet: bool) -> None:
    """Download Piper voices by NAME into the voices folder, checked against the catalogue.

    The folder is $AUDIOGUIDE_VOICES, else your user data folder; the catalogue is
    rhasspy/piper-voices v1.0.0 on Hugging Face, or the mirror in $AUDIOGUIDE_VOICES_URL.
    Each file's size and md5 must match the catalogue; a voice appears only once it is
    complete. Use it with voice: {engine: piper, id: NAME}.

    \b
    Examples:
      audioguide voices add en_GB-alan-medium
      AUDIOGUIDE_VOICES_URL=http://mirror.local/piper-voices/ audioguide voices add en_US-amy-low
    """
    from ..voices.catalogue import fetch_catalogue, install_voice
    from ..voices.piper_engine import INSTALL_HINT, piper_available

    catalogue = fetch_catalogue()
    chosen = [catalogue.find(name) for name in names]
    for voice in chosen:
        reporter = _Reporter(sys.stderr.isatty() and not quiet)
        try:
            result = install_voice(voice, catalogue.base_url, force=force, progress=reporter)
        finally:
            reporter.close()
        if result.downloaded:
            card = result.folder / "MODEL_CARD"
            licence = (f"; its licence is in {card}" if card.is_file() else
                       "; check its licence on the voice's model card before sharing audio")
            click.echo(f"installed {voice.key} ({voice.size_bytes / 1e6:.0f} MB, "
                       f"{voice.language_name}) in {result.folder}{licence}", err=True)
        else:
            click.echo(f"{voice.key} is already installed (--force downloads it again)",
                       err=True)
        click.echo(voice.key)
    if not piper_available():
        click.echo(f"note: to speak with it, {INSTALL_HINT}", err=True)


@voices.command("remove")
@click.argument("names", nargs=-1, required=True)
def voices_remove(names: Sequence[str]) -> None:
    """Remove installed Piper voices by NAME from the voices folder.

    \b
    Example:
      audioguide voices remove en_GB-alan-medium
    """
    from ..voices.catalogue import remove_voice

    for name in names:
        click.echo(f"removed {remove_voice(name)}", err=True)


@cli.command("record-list")
@click.argument("script")
@click.option("--folder", type=click.Path(file_okay=False, exists=True, path_type=Path),
              help="Recordings folder (default: the script's voice.folder).")
@click.option("--set", "sets", multiple=True, metavar="NAME=VALUE",
              help="Fill a {NAME} placeholder, as when rendering.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def record_list_command(script: str, folder: Path | None, sets: Sequence[str],
                        as_json: bool) -> None:
    """List the lines to record, with the file name to give each recording.

    Record each line (a phone is fine; any format ffmpeg reads) and save it in the
    folder as the name shown, with any extension: 007-let-your-shoulders-soften.m4a.
    The number alone (7.m4a) also works. Then set voice.engine: recorded and
    voice.folder in the script; lines with no recording use voice.fallback.

    \b
    Example:
      audioguide record-list safe-place --folder recordings/
    """
    from ..jobs.library import record_list

    listing = record_list(script, _parse_sets(sets), folder)
    if as_json:
        click.echo(json.dumps({
            "session": listing.session.title, "folder": str(listing.folder or ""),
            "lines": [{"number": line.number, "name": line.name, "text": line.text,
                       "where": line.where,
                       "recording": str(line.recording) if line.recording else None}
                      for line in listing.lines]}, indent=2, ensure_ascii=False))
        return
    click.echo(f"# {listing.session.title}: {len(listing.lines)} lines, "
               f"{listing.recorded} recorded"
               + (f" in {listing.folder}" if listing.folder else ""))
    for line in listing.lines:
        status = (f"  [have: {line.recording.name}]" if line.recording is not None else "")
        click.echo(f"{line.name}{status}")
        click.echo(f"    {line.text}")


@cli.group()
def cache() -> None:
    """Look at or empty the speech cache (lines already spoken, reused by every render).

    \b
    Examples:
      audioguide cache info
      audioguide cache clear
    """


def _cache_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--cache", "cache_dir", type=click.Path(file_okay=False,
                                                                path_type=Path),
                        help="Speech cache folder (default: $AUDIOGUIDE_CACHE or your cache "
                        "dir).")(func)


@cache.command("info")
@_cache_option
def cache_info(cache_dir: Path | None) -> None:
    """Where the cache is, how many lines it holds and how big it is."""
    from ..voices import SpeechCache

    stats = SpeechCache(cache_dir).stats()
    click.echo(f"folder   {stats.root}")
    click.echo(f"entries  {stats.entries} lines ({format_seconds(stats.seconds)} of speech)")
    click.echo(f"size     {stats.bytes / 1e6:.1f} MB")
    if stats.damaged:
        click.echo(f"damaged  {stats.damaged} (made again when next needed)")


@cache.command("clear")
@_cache_option
def cache_clear(cache_dir: Path | None) -> None:
    """Remove every cached line and remembered loudness (made again when next needed)."""
    from ..render.memo import LoudnessMemo
    from ..voices import SpeechCache

    store = SpeechCache(cache_dir)
    removed = store.clear()
    LoudnessMemo(store.root.parent / "loudness").clear()
    click.echo(f"removed {removed} lines from {store.root}")


@cli.command()
@click.argument("script")
def where(script: str) -> None:
    """Print the file a script name refers to (a built-in session's YAML, to copy and edit).

    \b
    Example:
      cp "$(audioguide where box-breathing)" my-breathing.yaml
    """
    click.echo(str(find_script(script)))


def _playback_options(func: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option("--device", metavar="NAME|N", help="Output device (see `audioguide "
                     "devices`); default: the system's."),
        click.option("--backend", type=click.Choice(["miniaudio", "simpleaudio"]),
                     default="miniaudio", show_default=True, help="Playback library."),
        click.option("--speed", type=click.IntRange(1, 100), default=1, show_default=True,
                     help="Preview N times faster (plays every Nth stretch)."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _play(script: str | Session, options: RenderOptions, backend: str, device: str | None,
          speed: int) -> None:
    """Play live, starting at once (lines not yet cached are made as it plays, or first,
    with a progress bar, where it cannot start so); exit 130 after Ctrl-C."""
    from ..jobs.pipeline import live_player, starts_at_once
    from ..playlist.load import is_playlist
    from .tui import run_live

    if isinstance(script, str) and Path(script).is_file() and is_playlist(Path(script)):
        _play_playlist(Path(script), backend, device)
        return
    reporter = _Reporter(sys.stderr.isatty())
    try:
        # Lines not made yet are made while the session plays, first needed first.
        prepared = prepare(script, options, reporter, live=starts_at_once(backend, speed))
    finally:
        reporter.close()
    with prepared:
        _print_warnings(prepared.timeline)
        player = live_player(prepared, backend, device, speed)
        code = run_live(player, prepared.session.title)
        _leave_if_stuck(player, code)
    if code:
        sys.exit(code)


def _play_playlist(path: Path, backend: str, device: str | None) -> None:
    from ..jobs.pipeline import live_playlist
    from .tui import run_live

    reporter = _Reporter(sys.stderr.isatty())
    try:
        live = live_playlist(path, backend, device, reporter)
    finally:
        reporter.close()
    code = run_live(live.player, live.title, navigate=live.navigate)
    _leave_if_stuck(live.player, code)
    if code:
        sys.exit(code)


def _leave_if_stuck(player: Player, code: int) -> None:
    """End now if the sound device hung while stopping: exiting normally would wait for it
    (the terminal is already restored and the display closed)."""
    if player.stuck:
        click.echo("warning: the sound device did not stop; leaving it", err=True)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


@cli.command()
@click.argument("script")
@_playback_options
@_script_options
def play(script: str, device: str | None, backend: str, speed: int,
         **script_options: Any) -> None:
    """Play SCRIPT (a file, a built-in name, or a playlist) live, following the sound.

    Keys: space pauses and resumes, q or Esc ends with a short fade, + and - change
    the volume, n and p go to the next and previous track of a playlist, Ctrl-C stops
    at once (with a fade).

    \b
    Examples:
      audioguide play box-breathing
      audioguide play my-session.yaml --speed 10      # a quick preview
    """
    _play(script, _options(**script_options), backend, device, speed)


@cli.command()
@click.argument("pattern", default="box")
@click.option("--minutes", type=click.FloatRange(0.1, 720), help="How long (rounded up to "
              "whole breaths; default 3).")
@click.option("--cycles", type=click.IntRange(1, 20000), help="How many breaths.")
@click.option("--cue", type=click.Choice(CUES), default="both", show_default=True,
              help="Spoken words, the pacing tone, both, or nothing.")
@click.option("--bed", default="brown", show_default=True,
              help="Background: white, pink, brown, ocean, rain or none.")
@click.option("--hum", is_flag=True, help="A drone to hum along with on every exhale.")
@click.option("--save", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
              help="Write the session to FILE instead of playing it.")
@click.option("--subtitles", metavar="FILE|auto",
              help="With --save, also write the spoken cues (.vtt, .srt or .lrc; auto: .vtt "
              "beside FILE).")
@click.option("--engine", type=click.Choice(ENGINES), help="Speech engine for the cues.")
@click.option("--voice", "voice_id", metavar="ID", help="The engine's voice id.")
@click.option("--rate", type=click.FloatRange(40, 500), help="Words per minute.")
@_playback_options
def breathe(pattern: str, minutes: float | None, cycles: int | None, cue: str, bed: str,
            hum: bool, save: Path | None, subtitles: str | None, engine: str | None,
            voice_id: str | None, rate: float | None, device: str | None, backend: str,
            speed: int) -> None:
    """Paced breathing now, without a script: PATTERN is a name or phase lengths.

    PATTERN: box (default), 4-7-8, resonance, coherent, prolonged-exhale, 7-11,
    cyclic-sigh, ujjayi, or 2 to 4 numbers of seconds like 4-7-8 or 4,4,6,2
    ([in, out], [in, hold, out] or [in, hold, out, hold]).

    \b
    Examples:
      audioguide breathe box --cycles 4
      audioguide breathe 4-7-8 --minutes 2 --cue tone --bed ocean
      audioguide breathe prolonged-exhale --hum --save humming.mp3
      audioguide breathe 4-7-8 --cycles 8 --save calm/478.mp3 --subtitles auto
    """
    from ..script.adhoc import breathing_session

    if subtitles is not None:
        if save is None:
            raise click.UsageError("--subtitles goes with --save FILE")
        check_subtitles(subtitles, make_folder=True)
    session = breathing_session(pattern, minutes=minutes, cycles=cycles, cue=cue, bed=bed,
                                hum=hum, rate=rate, voice=voice_id, engine=engine)
    if save is not None:
        result = render_file(session, save, RenderOptions(), ExportOptions(make_folder=True))
        click.echo(str(result.path))
        if subtitles is not None:
            for path in write_subtitles(result.timeline, subtitles_path(subtitles, result.path),
                                        make_folder=True):
                click.echo(str(path))
        return
    _play(session, RenderOptions(), backend, device, speed)


@cli.command()
def devices() -> None:
    """List the sound outputs `play` and `breathe` can use (--device NAME or number).

    \b
    Example:
      audioguide devices
    """
    from ..live.player import output_devices

    found = output_devices()
    if not found:
        raise PlaybackError("no sound outputs found; is a sound server (PulseAudio, "
                            "PipeWire) or an ALSA device available?")
    for device in found:
        click.echo(f"{device.index:>3}  {device.name}")


@cli.group()
def playlist() -> None:
    """Comfort playlists: music, recordings and sessions in one list, or one mix.

    \b
    Example playlist.yaml:
      playlist: Evening comfort
      tracks:
        - music/clair-de-lune.mp3
        - {file: memos/goodnight.m4a, title: Goodnight from Mum}
        - {session: humming, set: {minutes: 5}}
        - {folder: music/comfort, shuffle: true, seed: 7}
      crossfade: 4s
    """


@playlist.command(name="build")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="The .m3u8 to write (default: beside FILE, same name).")
@click.option("--mix", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE.mp3",
              help="Also write one continuous file of every track.")
@click.option("--absolute", is_flag=True, help="Absolute paths in the .m3u8.")
@click.option("--skip-missing", is_flag=True,
              help="Leave out missing or unreadable files (with a warning) instead of failing.")
@click.option("-p", "--mkdir", "make_folder", is_flag=True, help="Create missing folders.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar and no summary.")
def playlist_build(file: Path, output: Path | None, mix: Path | None, absolute: bool,
                   skip_missing: bool, make_folder: bool, quiet: bool) -> None:
    """Write FILE's tracks as an .m3u8 (sessions are rendered and kept beside it).

    \b
    Examples:
      audioguide playlist build evening.yaml
      audioguide playlist build evening.yaml --mix evening.mp3
    """
    from ..jobs.pipeline import build_playlist

    reporter = _Reporter(sys.stderr.isatty() and not quiet)
    try:
        result = build_playlist(file, output, mix, absolute=absolute, skip_missing=skip_missing,
                                make_folder=make_folder, progress=reporter)
    finally:
        reporter.close()
    for warning in result.warnings:
        click.echo(f"warning: skipped: {warning}", err=True)
    if not quiet:
        total = result.mix_seconds or sum(track.seconds for track in result.tracks)
        click.echo(f"{len(result.tracks)} tracks, {format_seconds(total)[:-4]}", err=True)
    click.echo(str(result.m3u8))
    if result.mix is not None:
        click.echo(str(result.mix))


@playlist.command(name="show")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def playlist_show(file: Path) -> None:
    """List FILE's tracks with their lengths and the total; nothing is written.

    \b
    Example:
      audioguide playlist show evening.yaml
    """
    from ..jobs.pipeline import playlist_tracks

    chosen, tracks, _ = playlist_tracks(file)
    click.echo(f"{chosen.title}")
    width = len(str(len(tracks)))
    for number, track in enumerate(tracks, start=1):
        kind = " (session)" if track.from_session else ""
        click.echo(f"  {number:>{width}}. {format_seconds(track.seconds)[:-4]:>7}  "
                   f"{track.label}{kind}")
    joins = max(0, len(tracks) - 1)
    total = sum(track.seconds for track in tracks) + joins * float(
        chosen.gap_s - chosen.crossfade_s)
    click.echo(f"  {len(tracks)} tracks, {format_seconds(total)[:-4]} in all")


@cli.group()
def feed() -> None:
    """Podcast feeds of rendered sessions, for the podcast app on your phone.

    \b
    Example:
      audioguide render box-breathing -o calm/box-breathing.mp3 --subtitles auto --mkdir
      audioguide feed build calm --base-url https://example.org/calm/
    """


@feed.command(name="build")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--base-url", required=True, metavar="URL",
              help="The http(s) address FOLDER is served at; file URLs are this + the name.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="The feed to write (default: FOLDER/feed.xml).")
@click.option("--title", help="The podcast's title (default: the episodes' album, else FOLDER).")
@click.option("--author", help="The author of the podcast and every episode (default: "
              "each file's artist).")
@click.option("--image", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
              help="Cover art, a square JPEG or PNG (copied into FOLDER if it is elsewhere).")
@click.option("-q", "--quiet", is_flag=True, help="No summary line.")
def feed_build(folder: Path, base_url: str, output: Path | None, title: str | None,
               author: str | None, image: Path | None, quiet: bool) -> None:
    """Write an RSS feed of the audio files in FOLDER, with chapters and transcripts.

    \b
    Examples:
      audioguide feed build output --base-url https://example.org/calm/
      audioguide feed build calm --base-url http://192.168.1.20:8000/ --image cover.jpg
    """
    from ..output.feed import FeedOptions, build_feed

    result = build_feed(folder, FeedOptions(base_url, output, title, author, image))
    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)
    if not quiet:
        chaptered = sum(1 for episode in result.episodes if episode.chapters)
        click.echo(f"{len(result.episodes)} episodes ({chaptered} with chapters) to:", err=True)
    click.echo(str(result.path))
