"""Playing live, as `play` and `breathe` do: a session or a playlist on the sound card.

The one module of the jobs that loads the live stack (backends, the growing timeline), so
rendering a file never imports the sound code.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..dsp import BLOCK_FRAMES, Audio, rechunk
from ..errors import InputError, Issue, PlaybackError
from ..live.backends import Backend, OutputDevice, open_backend, output_devices
from ..live.mix import live_blocks
from ..live.player import Player
from ..live.timeline import UNKNOWN_END, start_live
from ..playlist.join import join_tracks
from ..playlist.load import is_playlist
from ..playlist.tracks import Track
from ..progress import Progress
from ..render.limiter import Limiter, limit_stream
from ..render.mixer import render_blocks
from ..render.sources import ClipLibrary
from ..script import Session
from ..script.model import Location
from ..timeline.model import Chapter, Item, Timeline
from ..timeline.narration import CompileOptions
from ..voices import SpeechRequest, default_cache_dir
from .options import RenderOptions
from .playlists import playlist_tracks
from .prepare import Prepared, prepare

#: How long closing a live session waits for its speech engines to stop.
CLOSE_WAIT_S = 0.05


class PreparedLive(Prepared):
    """A session prepared to play at once: compiled (and rendered) as its lines are made."""

    def blocks(self, progress: Progress | None = None) -> Iterator[Audio]:
        """The rendered audio, block by block, as it is compiled."""
        assert self.live is not None
        return live_blocks(self.live, self.library)

    def close(self) -> None:
        """Stop the speech engines and the making of lines ahead."""
        assert self.live is not None
        self.live.close()
        # A line being made ends on its own; nobody has to wait for it.
        closing = threading.Thread(target=self.library.speech.close, daemon=True)
        closing.start()
        closing.join(timeout=CLOSE_WAIT_S)


def prepare_growing(session: Session, library: ClipLibrary, options: CompileOptions,
                    requests: Sequence[SpeechRequest]) -> PreparedLive | None:
    """The session compiled as its missing lines are made, first needed first; None when
    none are missing (or the script is bad: the usual prepare then reports it)."""
    growing = start_live(session, library, options, requests)
    if growing is None:
        return None
    return PreparedLive(session, growing.view(), library, growing.ahead.total, growing)


def live_player(prepared: Prepared, backend: str = "miniaudio", device: str | None = None,
                speed: int = 1, output: Backend | None = None) -> Player:
    """A player for a compiled session: rendered just ahead of the sound card (`output`,
    or the backend named `backend` on `device`).

    Live sessions are not loudness-normalised (that needs a full pass before the first
    sound); levels are as the script sets them, with the -1 dBFS limiter. A session
    prepared live starts at once and is rendered only as far as its lines are made
    (holding at a pause if they fall behind); on a backend that cannot start that way
    (see `starts_at_once`) its lines are all made first.
    """
    live = prepared.live
    if live is not None and starts_at_once(backend, speed):
        output = output or open_backend(backend, live.sample_rate, live.channels, device)
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
    output = output or open_backend(backend, timeline.sample_rate, timeline.channels, device)
    return Player(timeline, render_blocks(timeline, prepared.library), output, speed)


def sound_outputs() -> list[OutputDevice]:
    """The sound outputs live playback can use (PlaybackError if there are none)."""
    found = output_devices()
    if not found:
        raise PlaybackError("no sound outputs found; is a sound server (PulseAudio, "
                            "PipeWire) or an ALSA device available?")
    return found


def starts_at_once(backend: str, speed: int = 1) -> bool:
    """Whether a live session can start before its lines are made: with a backend that
    pulls audio as it plays (miniaudio; simpleaudio's stretches are cut from a timeline
    known a minute ahead), at normal speed."""
    return backend == "miniaudio" and speed == 1


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
                  channels: int = 2, output: Backend | None = None) -> LivePlaylist:
    """Resolve a playlist (sessions rendered into the cache) and make a player for it, on
    `output` (or the backend named `backend` on `device`).

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
        joined = join_tracks(tracks[index:], sample_rate, channels, gap_s=playlist.gap_s,
                             crossfade_s=playlist.crossfade_s,
                             gains_db=[0.0] * (len(tracks) - index), chapters=[])
        return limit_stream(rechunk(joined, BLOCK_FRAMES), Limiter(sample_rate), channels)

    output = output or open_backend(backend, sample_rate, channels, device)
    player = Player(timeline, blocks_from(0), output)
    return LivePlaylist(player, playlist.title, tracks, starts, blocks_from)


@dataclass
class ReadyToPlay:
    """What `play` plays, made ready: a session (its warnings to show before the sound
    starts) or a playlist (with next and previous). Close it when done."""

    title: str
    warnings: tuple[Issue, ...] = ()
    prepared: Prepared | None = None
    playlist: LivePlaylist | None = None
    backend: str = "miniaudio"
    device: str | None = None
    speed: int = 1

    def player(self) -> Player:
        """The player on the sound card (a session's is opened now)."""
        if self.playlist is not None:
            return self.playlist.player
        assert self.prepared is not None
        return live_player(self.prepared, self.backend, self.device, self.speed)

    @property
    def navigate(self) -> Callable[[int], bool] | None:
        """A playlist's next (+1) and previous (-1) track; None for a session."""
        return self.playlist.navigate if self.playlist is not None else None

    def close(self) -> None:
        """Stop a session's speech engines."""
        if self.prepared is not None:
            self.prepared.close()

    def __enter__(self) -> ReadyToPlay:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def ready_to_play(script: str | Session, options: RenderOptions | None = None,
                  backend: str = "miniaudio", device: str | None = None, speed: int = 1,
                  progress: Progress | None = None) -> ReadyToPlay:
    """A playlist file, or a session (a file, a built-in name or a Session) prepared to start
    at once where the backend allows it: lines not yet cached are then made as it plays,
    first needed first (else made first, through `progress`)."""
    if isinstance(script, str) and Path(script).is_file() and is_playlist(Path(script)):
        live = live_playlist(Path(script), backend, device, progress)
        return ReadyToPlay(live.title, playlist=live)
    prepared = prepare(script, options, progress, live=starts_at_once(backend, speed))
    return ReadyToPlay(prepared.session.title, tuple(prepared.timeline.warnings), prepared,
                       backend=backend, device=device, speed=speed)
