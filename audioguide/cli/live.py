"""`play`, `breathe` and `devices`: sessions and playlists live on the sound card.

The live stack (backends, the terminal display) loads only when something plays.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ..jobs.options import ExportOptions, RenderOptions
from ..jobs.render import render_file
from ..output.subtitles import check_subtitles, subtitles_path, write_subtitles
from ..script import Session
from ..script.schema import CUES
from ..voices import ENGINES
from .main import Reporter, cli, print_warnings, render_options, script_options

if TYPE_CHECKING:
    from ..live.player import Player


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
    from ..jobs.live import ready_to_play
    from .tui import run_live

    with Reporter(sys.stderr.isatty()) as reporter:
        ready = ready_to_play(script, options, backend, device, speed, reporter)
    with ready:
        print_warnings(ready.warnings)
        player = ready.player()
        code = run_live(player, ready.title, navigate=ready.navigate)
        _leave_if_stuck(player, code)
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
@script_options
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
    _play(script, render_options(**script_options), backend, device, speed)


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
    if save is None:
        _play(session, RenderOptions(), backend, device, speed)
        return
    result = render_file(session, save, RenderOptions(), ExportOptions(make_folder=True))
    click.echo(str(result.path))
    if subtitles is not None:
        for path in write_subtitles(result.timeline, subtitles_path(subtitles, result.path),
                                    make_folder=True):
            click.echo(str(path))


@cli.command()
def devices() -> None:
    """List the sound outputs `play` and `breathe` can use (--device NAME or number).

    \b
    Example:
      audioguide devices
    """
    from ..jobs.live import sound_outputs

    for device in sound_outputs():
        click.echo(f"{device.index:>3}  {device.name}")
