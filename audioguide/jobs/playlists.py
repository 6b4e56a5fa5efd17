"""Playlists as `playlist build` and `playlist show` use them: tracks resolved (sessions
rendered or only compiled), the M3U8, one continuous mix, and the totals."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from .. import __version__
from ..atomic import write_text
from ..cover import pick_cover
from ..dsp import BLOCK_FRAMES, Audio, rechunk
from ..errors import InputError, Issue
from ..output.export import COVER_FORMATS, ExportSettings, export, format_for
from ..output.tags import ChapterMark, Tags
from ..playlist.join import join_tracks
from ..playlist.load import Playlist, load_playlist
from ..playlist.m3u8 import m3u8_text
from ..playlist.tracks import SessionLength, SessionRenderer, Track, resolve_tracks, track_gains
from ..progress import Progress
from ..render.limiter import Limiter, limit_stream
from ..render.loudness import measure_file_loudness
from ..units import db_to_gain
from ..voices import default_cache_dir
from .options import LIMITER_CEILING_DBTP, ExportOptions, RenderOptions
from .prepare import prepare
from .render import render_date, render_file


@dataclass(frozen=True)
class PlaylistResult:
    """What `playlist build` made."""

    playlist: Playlist
    tracks: list[Track]
    warnings: list[Issue]
    m3u8: Path | None
    mix: Path | None
    mix_seconds: float = 0.0
    chapters: tuple[ChapterMark, ...] = ()

    @property
    def seconds(self) -> float:
        """How long it all is: the mix as written, else the tracks' lengths added up."""
        return self.mix_seconds or sum(track.seconds for track in self.tracks)


def playlist_seconds(playlist: Playlist, tracks: Sequence[Track]) -> float:
    """How long the tracks play one after another, with the playlist's gaps or crossfades."""
    joins = max(0, len(tracks) - 1)
    return sum(track.seconds for track in tracks) + joins * float(
        playlist.gap_s - playlist.crossfade_s)


def _session_renderer(options: RenderOptions, target_lufs: float | None,
                      progress: Progress | None) -> SessionRenderer:
    def render(script: Path, variables: dict[str, str], target: Path) -> Path:
        run = replace(options, variables={**options.variables, **variables})
        export_options = ExportOptions(loudness_lufs=target_lufs, make_folder=True)
        return render_file(script, target, run, export_options, progress).path
    return render


def _session_length(options: RenderOptions) -> SessionLength:
    def length(script: Path, variables: dict[str, str]) -> tuple[float, str]:
        run = replace(options, variables={**options.variables, **variables})
        with prepare(script, run) as prepared:
            return prepared.timeline.seconds, prepared.session.title
    return length


def playlist_tracks(path: Path, options: RenderOptions | None = None, *,
                    sessions_into: Path | None = None, skip_missing: bool = False,
                    progress: Progress | None = None) -> tuple[Playlist, list[Track], list[Issue]]:
    """Load a playlist and resolve its tracks; sessions are rendered into `sessions_into`
    (or, without it, only compiled for their length)."""
    options = options or RenderOptions()
    playlist = load_playlist(path)
    render = (_session_renderer(options, playlist.loudness_lufs, progress)
              if sessions_into is not None else None)
    tracks, warnings = resolve_tracks(
        playlist, render=render, length=_session_length(options),
        session_folder=sessions_into or path.parent, skip_missing=skip_missing)
    return playlist, tracks, warnings


def build_playlist(path: Path, m3u8: Path | None = None, mix: Path | None = None, *,
                   absolute: bool = False, skip_missing: bool = False,
                   options: RenderOptions | None = None, make_folder: bool = False,
                   progress: Progress | None = None) -> PlaylistResult:
    """Write the playlist's M3U8 (and, with `mix`, one continuous file of all its tracks)."""
    m3u8 = m3u8 or path.with_suffix(".m3u8")
    playlist, tracks, warnings = playlist_tracks(
        path, options, sessions_into=m3u8.parent / f"{m3u8.stem}-sessions",
        skip_missing=skip_missing, progress=progress)
    if not tracks:
        raise InputError(f"{path}: no playable tracks")
    write_text(m3u8, m3u8_text(playlist, tracks, m3u8, absolute), make_folder)
    if mix is None:
        return PlaylistResult(playlist, tracks, warnings, m3u8, None)
    chapters: list[ChapterMark] = []
    seconds = write_mix(playlist, tracks, mix, chapters, make_folder, progress)
    return PlaylistResult(playlist, tracks, warnings, m3u8, mix, seconds, tuple(chapters))


def write_mix(playlist: Playlist, tracks: list[Track], output: Path,
              chapters: list[ChapterMark], make_folder: bool = False,
              progress: Progress | None = None, sample_rate: int = 44100,
              channels: int = 2) -> float:
    """One file: every track loudness-matched, joined by the gap or crossfade, a chapter each."""
    fmt = format_for(output, None)
    gains = track_gains(tracks, playlist.loudness_lufs,
                        lambda file: measure_file_loudness(file).integrated_lufs)
    total = int(sum(track.seconds for track in tracks) * sample_rate)
    frames_done = [0]

    def counted(blocks: Iterator[Audio]) -> Iterator[Audio]:
        for block in blocks:
            frames_done[0] += len(block)
            if progress:
                progress("mix", min(frames_done[0], total), total)
            yield block

    joined = join_tracks(tracks, sample_rate, channels, gap_s=playlist.gap_s,
                         crossfade_s=playlist.crossfade_s, gains_db=gains, chapters=chapters)
    limiter = (Limiter(sample_rate, db_to_gain(LIMITER_CEILING_DBTP), true_peak=True)
               if playlist.loudness_lufs is not None else Limiter(sample_rate))
    blocks = counted(limit_stream(rechunk(joined, BLOCK_FRAMES), limiter, channels))
    tags = Tags(title=playlist.title, artist=playlist.author or "audioguide",
                album=playlist.title, genre="Meditation", comment=playlist.description,
                date=render_date(), source=playlist.path.name,
                encoder=f"audioguide {__version__}")
    cover = (pick_cover(None, playlist.cover, playlist.title, "playlist", default_cache_dir())
             if fmt in COVER_FORMATS else None)
    export(blocks, output, ExportSettings(fmt, sample_rate, channels, tags, chapters,
                                          cover=cover),
           make_folder, "choose another folder with --mix")
    return frames_done[0] / sample_rate
