"""audioguide: turn a YAML session script into timed, calming audio.

The Python API, for people who build on audioguide or compose in pydub:

    import audioguide
    session = audioguide.load_session("box-breathing")        # a built-in, or a file
    audioguide.render(session, "box.mp3")                     # loudness-normalised file
    for block in audioguide.blocks(session, engine="draft"):  # float32 (frames, channels)
        ...
    segment = audioguide.to_segment(session)                  # a pydub.AudioSegment

Errors are the typed tree in `audioguide.errors` (AudioguideError and below). The heavy
parts load on first use, so `import audioguide` stays quick.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

# The package `render` shares its name with the function below: load it first (its
# __init__ is empty), so that the function, defined after, is what `audioguide.render` stays.
from . import render as _render_package  # noqa: F401
from .errors import (
    AudioguideError,
    ExportError,
    InputError,
    MediaError,
    PlaybackError,
    ScriptError,
    VoiceError,
)
from .progress import Progress

if TYPE_CHECKING:
    import numpy as np
    import pydub

    from .jobs.playlists import PlaylistResult
    from .jobs.render import RenderResult
    from .script import Session
    from .timeline.model import Timeline

__version__ = "0.1.0"

__all__ = [
    "AudioguideError", "ExportError", "InputError", "MediaError", "PlaybackError",
    "ScriptError", "VoiceError", "__version__", "blocks", "build_playlist",
    "compile_timeline", "from_segment", "load_session", "play", "render", "to_segment",
]

#: "Loudness as the script says" (its `output.loudness`, -16 LUFS unless it says otherwise).
SCRIPT = "script"


def load_session(name_or_path: str | Path,
                 variables: Mapping[str, str] | None = None) -> Session:
    """Read and validate a script (a file, or a built-in session's name); `variables` fill
    its `{name}` placeholders as `--set` does. Raises ScriptError listing every problem."""
    from .script import load_session as load

    return load(name_or_path, dict(variables or {}))


def _options(engine: str | None, voice: str | None, sample_rate: int | None = None,
             channels: int | None = None) -> Any:
    from .jobs.options import RenderOptions

    return RenderOptions(engine=engine, voice_id=voice, sample_rate=sample_rate,
                         channels=channels)


def compile_timeline(session: Session | str | Path, *, engine: str | None = None,
                     voice: str | None = None, sample_rate: int | None = None,
                     channels: int | None = None,
                     progress: Progress | None = None) -> Timeline:
    """Make the session's speech and place every clip: the Timeline (integer samples)."""
    from .jobs.prepare import prepare

    with prepare(session, _options(engine, voice, sample_rate, channels), progress) as ready:
        return ready.timeline


def render(session: Session | str | Path, path: str | Path, *, engine: str | None = None,
           voice: str | None = None, format: str | None = None,
           loudness: float | None | str = SCRIPT,
           progress: Progress | None = None) -> RenderResult:
    """Render to a file (format from `format` or the extension), tagged, with chapters;
    `loudness` is a target in LUFS, None to keep the levels as written, or SCRIPT."""
    from .jobs.options import SCRIPT_DEFAULT, ExportOptions
    from .jobs.render import render_file

    export = ExportOptions(format=format,
                           loudness_lufs=SCRIPT_DEFAULT if loudness == SCRIPT else loudness)
    return render_file(session, Path(path), _options(engine, voice), export, progress)


def blocks(session: Session | str | Path, *, engine: str | None = None,
           voice: str | None = None, sample_rate: int | None = None,
           channels: int | None = None) -> Iterator[np.ndarray]:
    """The mix, block by block: float32 arrays of shape (frames, channels), levels as
    written (no loudness pass), peaks limited to -1 dBFS. Memory stays bounded."""
    from .jobs.prepare import prepare

    with prepare(session, _options(engine, voice, sample_rate, channels)) as ready:
        yield from ready.blocks()


def to_segment(session: Session | str | Path, *, engine: str | None = None,
               voice: str | None = None, sample_rate: int | None = None,
               channels: int | None = None) -> pydub.AudioSegment:
    """The whole session as a pydub AudioSegment (16-bit), placed by audioguide's exact
    sample timing rather than by repeated overlays. It holds the session in memory."""
    import pydub

    from .dsp import to_pcm16
    from .jobs.prepare import prepare

    with prepare(session, _options(engine, voice, sample_rate, channels)) as ready:
        timeline = ready.timeline
        pcm = bytearray()
        for block in ready.blocks():
            pcm += to_pcm16(block).tobytes()
    return pydub.AudioSegment(bytes(pcm), sample_width=2, frame_rate=timeline.sample_rate,
                              channels=timeline.channels)


def from_segment(segment: pydub.AudioSegment, folder: str | Path) -> Path:
    """Save a pydub AudioSegment as a WAV file in `folder` (named by its content), to use
    as a `sound:` clip in a script: `sound: {file: <the path>}`."""
    import hashlib

    from .atomic import atomic_path

    folder = Path(folder)
    data = segment.raw_data
    digest = hashlib.sha256(repr((segment.frame_rate, segment.channels,
                                  segment.sample_width)).encode() + data).hexdigest()[:16]
    path = folder / f"segment-{digest}.wav"
    if not path.is_file():
        with atomic_path(path) as temporary:
            segment.export(str(temporary), format="wav")
    return path


def build_playlist(path: str | Path, m3u8: str | Path | None = None,
                   mix: str | Path | None = None, *,
                   progress: Progress | None = None) -> PlaylistResult:
    """A playlist file → its M3U8 (and, with `mix`, one continuous loudness-matched file)."""
    from .jobs.playlists import build_playlist as build

    return build(Path(path), Path(m3u8) if m3u8 else None, Path(mix) if mix else None,
                 progress=progress)


def play(session: Session | str | Path, *, backend: str = "miniaudio",
         device: str | None = None, engine: str | None = None,
         voice: str | None = None) -> None:
    """Play a session live on the sound card and return when it has been heard to the end
    (KeyboardInterrupt stops it with a short fade)."""
    import time

    from .jobs.live import live_player, starts_at_once
    from .jobs.prepare import prepare

    live = starts_at_once(backend)
    with prepare(session, _options(engine, voice), live=live) as ready:
        player = live_player(ready, backend, device)
        try:
            player.start()
            while not player.finished:
                failure = player.error()
                if failure is not None:
                    raise failure
                time.sleep(0.05)
            player.stop(fade=False)
        except KeyboardInterrupt:
            player.stop()
            raise
        finally:
            player.close()
