"""`voices` (and `voices add`, `voices remove`), `record-list` and `cache`: the voices that
speak a session, the user's own recordings, and the lines already spoken."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import click

from ..jobs.library import cache_stats, clear_cache, record_list
from ..jobs.voices import EngineVoices, voice_catalogue, write_samples
from ..script.schema import STYLES
from ..units import format_seconds
from ..voices import ENGINES, VoiceInfo
from .main import Reporter, cli, parse_sets


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
    if sample is not None and not sample.strip():
        raise click.BadParameter("the text is empty; write a short sentence",
                                 param_hint="--sample")
    listed = _list_voices(voice_catalogue(engine, language))
    if sample is not None:
        written = write_samples(listed, sample, out_dir, style=style, each=_said)
        click.echo(f"{len(written)} samples in {out_dir}", err=True)


def _list_voices(catalogue: Sequence[EngineVoices]) -> list[VoiceInfo]:
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
    return listed


def _said(voice: VoiceInfo, path: Path | None, problem: str | None) -> None:
    if path is not None:
        click.echo(f"wrote {path}", err=True)
    else:
        click.echo(f"warning: {voice.engine} {voice.voice_id}: {problem}", err=True)


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
    from ..voices.catalogue import fetch_catalogue
    from ..voices.install import install_voice
    from ..voices.piper_engine import INSTALL_HINT, piper_available

    catalogue = fetch_catalogue()
    chosen = [catalogue.find(name) for name in names]
    for voice in chosen:
        with Reporter(sys.stderr.isatty() and not quiet) as reporter:
            result = install_voice(voice, catalogue.base_url, force=force, progress=reporter)
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
    from ..voices.install import remove_voice

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
    listing = record_list(script, parse_sets(sets), folder)
    if as_json:
        click.echo(json.dumps(listing.to_json(), indent=2, ensure_ascii=False))
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
    stats = cache_stats(cache_dir)
    click.echo(f"folder   {stats.root}")
    click.echo(f"entries  {stats.entries} lines ({format_seconds(stats.seconds)} of speech)")
    click.echo(f"size     {stats.bytes / 1e6:.1f} MB")
    if stats.damaged:
        click.echo(f"damaged  {stats.damaged} (made again when next needed)")


@cache.command("clear")
@_cache_option
def cache_clear(cache_dir: Path | None) -> None:
    """Remove every cached line and remembered loudness (made again when next needed)."""
    removed, folder = clear_cache(cache_dir)
    click.echo(f"removed {removed} lines from {folder}")
