"""From a script to a file, as the commands use it: load → speech → compile → render → export."""

from __future__ import annotations

import bisect
import logging
import os
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import date as date_type
from datetime import datetime, timezone
from pathlib import Path

from .. import __version__
from ..atomic import write_text
from ..cover import Cover, option_cover, pick_cover
from ..dsp import Audio, rechunk
from ..errors import InputError, Issue, UnknownVoiceError
from ..live.mix import live_blocks
from ..live.player import Player, open_backend
from ..live.timeline import UNKNOWN_END, LiveTimeline, start_live
from ..output.export import (
    BITS,
    COVER_FORMATS,
    ExportSettings,
    codec_for,
    export,
    format_for,
)
from ..output.tags import ChapterMark, Tags, chapters_sidecar, ms_at_or_after, track_numbers
from ..playlist.load import (
    Playlist,
    SessionLength,
    SessionRenderer,
    Track,
    load_playlist,
    m3u8_text,
    mix_blocks,
    resolve_tracks,
    track_gains,
)
from ..progress import Progress
from ..render.loudness import Loudness, measure_file_loudness, measure_loudness
from ..render.memo import LoudnessMemo, fingerprint
from ..render.mixer import Limiter, limit_stream, render_blocks
from ..render.sources import ClipLibrary
from ..script import Session, VoiceSpec, builtin_sessions, load_session
from ..script.model import Location
from ..timeline.compile import (
    AutoVoice,
    Chapter,
    CompileOptions,
    Item,
    Timeline,
    compile_timeline,
    speech_plan,
)
from ..timeline.limits import Limits, check_files, check_speech
from ..units import db_to_gain
from ..voices import SpeechBank, SpeechCache, default_cache_dir
from ..voices.catalogue import auto_candidates

#: The limiter's true-peak ceiling when normalising: under the -1 dBTP promise, with room
#: for lossy encoders, which add a little overshoot of their own.
LIMITER_CEILING_DBTP = -1.5
#: Extra loudness passes allowed to correct for what the limiter takes back.
NORMALISE_PASSES = 2

log = logging.getLogger(__name__)
#: How long closing a live session waits for its speech engines to stop.
CLOSE_WAIT_S = 0.05


@dataclass(frozen=True)
class RenderOptions:
    """What the command line may change about a script."""

    variables: Mapping[str, str] = field(default_factory=dict)
    engine: str | None = None
    voice_id: str | None = None
    rate_wpm: float | None = None
    style: str | None = None
    #: Bounds on the work one session may ask for (default: from the environment).
    limits: Limits | None = None
    sample_rate: int | None = None
    channels: int | None = None
    cache_dir: Path | None = None


@dataclass
class Prepared:
    """A compiled session with the library that can play it; close it when done."""

    session: Session
    timeline: Timeline
    library: ClipLibrary
    lines_made: int
    #: Prepared to play at once (`prepare(live=True)`): compiled as its lines are made;
    #: `timeline` is then only the start of it (see LiveTimeline.view).
    live: LiveTimeline | None = None

    def blocks(self, progress: Progress | None = None) -> Iterator[Audio]:
        """The rendered audio, block by block (as it is compiled, if live)."""
        if self.live is not None:
            return live_blocks(self.live, self.library)
        return render_blocks(self.timeline, self.library, progress=progress)

    def close(self) -> None:
        """Stop the speech engines (and the making of lines ahead)."""
        if self.live is None:
            self.library.speech.close()
            return
        self.live.close()
        # A line being made ends on its own; nobody has to wait for it.
        closing = threading.Thread(target=self.library.speech.close, daemon=True)
        closing.start()
        closing.join(timeout=CLOSE_WAIT_S)

    def __enter__(self) -> Prepared:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def prepare(script: str | Path | Session, options: RenderOptions | None = None,
            progress: Progress | None = None, *, live: bool = False) -> Prepared:
    """Load and validate the script (or take a Session), make its speech, compile it.

    With `live` (to play at once), lines not in the cache are not made first: the result's
    `live` compiles the session as they are made, first needed first (see `live_player`).
    """
    options = options or RenderOptions()
    session = script if isinstance(script, Session) else load_session(script, options.variables)
    compile_options = CompileOptions(
        sample_rate=options.sample_rate, channels=options.channels,
        voice=VoiceSpec(engine=options.engine, voice_id=options.voice_id,
                        rate_wpm=options.rate_wpm, style=options.style),
        auto=auto_voice(session, options.engine))
    rate = options.sample_rate or session.output.sample_rate
    channels = options.channels or session.output.channels
    bank = SpeechBank(SpeechCache(options.cache_dir))
    library = ClipLibrary(bank, rate, channels)
    try:
        plan = list(speech_plan(session, compile_options))
        requests = [request for request, _ in plan]
        limits = options.limits or Limits.from_environment()
        check_speech(plan, limits, str(session.source or session.name))
        check_files(session, requests, limits)
        growing = start_live(session, library, compile_options, requests) if live else None
        if growing is not None:
            return Prepared(session, growing.view(), library, growing.ahead.total, growing)
        try:
            made = library.prepare_speech(requests, progress)
        except UnknownVoiceError:
            # The compiler asks for each line again and reports the bad voice at its line.
            made = 0
        timeline = compile_timeline(session, library, compile_options)
    except BaseException:
        bank.close()
        raise
    return Prepared(session, timeline, library, made)


def auto_voice(session: Session, engine_option: str | None = None) -> AutoVoice:
    """What `engine: auto` picks on this machine; said once (with -v) when the session's
    voice is auto."""
    auto = AutoVoice(auto_candidates())
    if (engine_option or session.voice.engine) == "auto":
        engine, voice_id = auto.pick(session.language, session.voice.voice_id)
        log.info("voice: engine auto picks %s%s for language '%s'", engine,
                 f" ({voice_id})" if voice_id else "", session.language)
    return auto


def default_output(session: Session, fmt: str | None) -> Path:
    """`output/<script name>.<format>` in the current folder."""
    return Path("output") / f"{session.name}.{fmt or session.output.format}"


#: A stand-in for "the script decides" where None means "off".
SCRIPT_DEFAULT = "script"


@dataclass(frozen=True)
class ExportOptions:
    """What the command line may choose about the file."""

    format: str | None = None
    codec: str | None = None
    quality: float | None = None
    bitrate_kbps: int | None = None
    loudness_lufs: float | None | str = SCRIPT_DEFAULT   # a number, None for off
    chapters_file: Path | None = None
    make_folder: bool = False
    track: str = ""
    date: str | None = None
    bits: int | None = None              # flac and wav; None: the script's (16)
    #: Cover art: an image file, NO_COVER ("none"), or None for the script's or the
    #: generated one.
    cover: Path | str | None = None


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


def normalising_gain(prepared: Prepared, target_lufs: float,
                     progress: Progress | None = None) -> tuple[Loudness, float]:
    """The loudness as written and the gain that brings the finished mix to `target_lufs`.

    Where the gain would push true peaks over the ceiling, the limiter takes a little
    loudness back; the mix is then measured again with the limiter in place and the
    gain corrected, until it lands within 0.1 LU (at most two extra passes). An
    unchanged session's result is remembered (see `memo`), so it is measured once.
    """
    cache = prepared.library.speech.cache
    memo = LoudnessMemo(cache.root.parent / "loudness", cache.unwritable)
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


def live_player(prepared: Prepared, backend: str = "miniaudio", device: str | None = None,
                speed: int = 1) -> Player:
    """A player for a compiled session: rendered just ahead of the sound card.

    Live sessions are not loudness-normalised (that needs a full pass before the first
    sound); levels are as the script sets them, with the -1 dBFS limiter. A session
    prepared live starts at once and is rendered only as far as its lines are made
    (holding at a pause if they fall behind); on a backend that cannot start that way
    (see `starts_at_once`) its lines are all made first.
    """
    live = prepared.live
    if live is not None and starts_at_once(backend, speed):
        output = open_backend(backend, live.sample_rate, live.channels, device)
        player: Player | None = None

        def show(view: Timeline) -> None:
            if player is not None:
                player.timeline = view

        blocks = live_blocks(live, prepared.library,
                             underruns=lambda: player.underruns if player else 0,
                             stopped=lambda: player is not None and player.stopping,
                             show=show)
        player = Player(live.view(), blocks, output, speed)
        return player
    timeline = live.advance(UNKNOWN_END).timeline if live is not None else None
    timeline = timeline or prepared.timeline
    output = open_backend(backend, timeline.sample_rate, timeline.channels, device)
    return Player(timeline, render_blocks(timeline, prepared.library), output, speed)


def starts_at_once(backend: str, speed: int = 1) -> bool:
    """Whether a live session can start before its lines are made: with a backend that
    pulls audio as it plays (miniaudio; simpleaudio's stretches are cut from a timeline
    known a minute ahead), at normal speed."""
    return backend == "miniaudio" and speed == 1


@dataclass(frozen=True)
class CatalogueEntry:
    """A built-in session as `audioguide list` shows it."""

    name: str
    title: str
    kind: str
    description: str
    seconds: float

    def to_json(self) -> dict[str, object]:
        """A JSON-ready dict."""
        return {"name": self.name, "title": self.title, "kind": self.kind,
                "description": self.description, "seconds": round(self.seconds, 3)}


#: The built-in sessions' lengths in the default voice, kept beside them so that `list`
#: need not make every line first (minutes with a neural voice and an empty cache).
#: `scripts/update_lengths.py` writes it; the library tests check it against a compile.
LENGTHS_FILE = "lengths.json"


def builtin_catalogue(progress: Progress | None = None) -> list[CatalogueEntry]:
    """Every built-in session with its length in the default voice: as measured when the
    library was made, where the session and the voice are those it was measured with,
    otherwise compiled now."""
    known = known_lengths()
    voice = default_voice_name()
    entries = []
    for builtin in builtin_sessions():
        session = load_session(builtin.path)
        stored = known.get(builtin.name, {})
        if (stored.get("voice") == voice and stored.get("sha256") == _digest(builtin.path)
                and session.voice.engine == "auto"):
            seconds = float(str(stored["seconds"]))
        else:
            with prepare(session, RenderOptions(), progress) as prepared:
                seconds = prepared.timeline.seconds
        entries.append(CatalogueEntry(builtin.name, session.title, session.kind,
                                      session.description, seconds))
    return entries


def default_voice_name() -> str:
    """The voice `engine: auto` picks for English here, as `engine:voice`."""
    engine, voice_id = AutoVoice(auto_candidates()).pick("en", None)
    return f"{engine}:{voice_id or 'default'}"


def known_lengths() -> dict[str, dict[str, object]]:
    """The stored lengths of the built-in sessions (empty if the file is missing or damaged)."""
    import importlib.resources
    import json

    try:
        text = importlib.resources.files("audioguide.content").joinpath(LENGTHS_FILE).read_text(
            encoding="utf-8")
        data = json.loads(text)
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def measure_builtin_lengths(progress: Progress | None = None) -> dict[str, dict[str, object]]:
    """Each built-in's length in the default voice, compiled now, with what it depends on."""
    voice = default_voice_name()
    found: dict[str, dict[str, object]] = {}
    for builtin in builtin_sessions():
        with prepare(builtin.path, RenderOptions(), progress) as prepared:
            found[builtin.name] = {"seconds": round(prepared.timeline.seconds, 3),
                                   "voice": voice, "sha256": _digest(builtin.path)}
    return found


def _digest(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


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

    joined = mix_blocks(tracks, sample_rate, channels, gap_s=playlist.gap_s,
                        crossfade_s=playlist.crossfade_s, gains_db=gains, chapters=chapters)
    limiter = (Limiter(sample_rate, db_to_gain(LIMITER_CEILING_DBTP), true_peak=True)
               if playlist.loudness_lufs is not None else Limiter(sample_rate))
    blocks = counted(limit_stream(rechunk(joined, 32768), limiter, channels))
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


@dataclass
class LivePlaylist:
    """A playlist ready to play live: the player, and how to move between tracks."""

    player: Player
    title: str
    tracks: list[Track]
    starts: list[int]   # each track's first frame in the joined stream (from their lengths)
    _blocks_from: Callable[[int], Iterator[Audio]]
    _target: int | None = None

    def current(self) -> int:
        """The index of the track being heard (or, just after a jump, about to be)."""
        if self._target is not None and not self.player.hearing_latest():
            return self._target
        self._target = None
        heard = self.player.position()
        return max(0, bisect.bisect_right(self.starts, heard) - 1)

    def navigate(self, step: int) -> bool:
        """Next (+1) or previous (-1) track; previous restarts a track more than 3 s in.
        Returns False past the last track."""
        index = self.current()
        if step < 0 and self.player.position() - self.starts[index] > 3 * self.player.rate:
            target = index
        else:
            target = index + step
        if target >= len(self.tracks):
            return False
        target = max(0, target)
        self.player.jump(self.starts[target], self._blocks_from(target))
        self._target = target
        return True


def live_playlist(path: Path, backend: str = "miniaudio", device: str | None = None,
                  progress: Progress | None = None, sample_rate: int = 44100,
                  channels: int = 2) -> LivePlaylist:
    """Resolve a playlist (sessions rendered into the cache) and make a player for it.

    Played live, tracks are not loudness-matched (that needs a pass over every file
    first); a limiter still keeps peaks under -1 dBFS.
    """
    sessions = default_cache_dir() / "playlist-sessions"
    playlist, tracks, _ = playlist_tracks(path, sessions_into=sessions, progress=progress)
    if not tracks:
        raise InputError(f"{path}: no playable tracks")
    join = int(float(playlist.gap_s - playlist.crossfade_s) * sample_rate)
    starts, at = [], 0
    for track in tracks:
        starts.append(at)
        at += int(track.seconds * sample_rate) + join
    length = at - join
    chapters = tuple(Chapter(track.title, start, end) for track, start, end in
                     zip(tracks, starts, starts[1:] + [length], strict=True))
    location = Location(str(path), 1, 1, "tracks")
    items = tuple(Item("track", chapter.start, chapter.end - chapter.start, location,
                       track.label) for track, chapter in zip(tracks, chapters, strict=True))
    timeline = Timeline(playlist.title, sample_rate, channels, length, (), (), chapters, items,
                        ())

    def blocks_from(index: int) -> Iterator[Audio]:
        joined = mix_blocks(tracks[index:], sample_rate, channels, gap_s=playlist.gap_s,
                            crossfade_s=playlist.crossfade_s,
                            gains_db=[0.0] * (len(tracks) - index), chapters=[])
        return limit_stream(rechunk(joined, 32768), Limiter(sample_rate), channels)

    output = open_backend(backend, sample_rate, channels, device)
    player = Player(timeline, blocks_from(0), output)
    return LivePlaylist(player, playlist.title, tracks, starts, blocks_from)
