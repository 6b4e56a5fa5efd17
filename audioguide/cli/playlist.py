"""`playlist build`, `playlist show` and `feed build`: sessions and recordings gathered into
a list, one mix, or a podcast feed."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..jobs.playlists import build_playlist, playlist_seconds, playlist_tracks
from ..units import format_seconds
from .main import Reporter, cli


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
    with Reporter(sys.stderr.isatty() and not quiet) as reporter:
        result = build_playlist(file, output, mix, absolute=absolute, skip_missing=skip_missing,
                                make_folder=make_folder, progress=reporter)
    for warning in result.warnings:
        click.echo(f"warning: skipped: {warning}", err=True)
    if not quiet:
        click.echo(f"{len(result.tracks)} tracks, {format_seconds(result.seconds)[:-4]}",
                   err=True)
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
    chosen, tracks, _ = playlist_tracks(file)
    click.echo(f"{chosen.title}")
    width = len(str(len(tracks)))
    for number, track in enumerate(tracks, start=1):
        kind = " (session)" if track.from_session else ""
        click.echo(f"  {number:>{width}}. {format_seconds(track.seconds)[:-4]:>7}  "
                   f"{track.label}{kind}")
    total = playlist_seconds(chosen, tracks)
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
