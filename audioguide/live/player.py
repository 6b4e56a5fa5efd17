"""Live playback: a Player feeds rendered blocks to a sound backend and knows what is heard.

The backend pulls audio on its own clock (the sound card's). Every frame it takes
is recorded against the session position it came from, so the position reported
is that of the audio leaving the speakers now (frames delivered minus those still
queued in the device), never a wall-clock guess that could drift.
"""

from __future__ import annotations

import bisect
import contextlib
import logging
import math
import os
import queue
import sys
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Protocol

import numpy as np

from ..dsp import BLOCK_FRAMES, Audio
from ..errors import PlaybackError
from ..timeline.compile import Item, Timeline
from ..units import db_to_gain

log = logging.getLogger(__name__)

#: pull(frames) → exactly `frames` frames, shape (frames, channels), float32.
Pull = Callable[[int], Audio]

#: stretch(max_frames, device_start) → the next stretch of audio (at most `max_frames`,
#: cut where the session is quiet), with its first frame at device frame `device_start`;
#: empty once the session has ended or stopped.
PullStretch = Callable[[int, int], Audio]


class Backend(Protocol):
    """A sound output that pulls audio from a callback on its own clock."""

    name: str

    def start(self, pull: Callable[..., Audio]) -> None:
        """Begin playing; `pull` (a Pull, or a PullStretch if the backend has `stretches`)
        is called from the backend's thread."""
        ...

    def played_frames(self) -> int:
        """Frames that have actually left the speakers (delivered minus still queued)."""
        ...

    def stop(self) -> None:
        """Stop pulling and silence the output."""
        ...

    def close(self) -> None:
        """Release the device."""
        ...


@dataclass(frozen=True)
class OutputDevice:
    """A playback device a backend can open."""

    index: int
    name: str


def _miniaudio() -> Any:
    try:
        import miniaudio
    except ImportError as exc:
        raise PlaybackError("the miniaudio library is missing; reinstall audioguide "
                            "(`pip install audioguide`), or render to a file instead") from exc
    return miniaudio


@contextlib.contextmanager
def _native_stderr_quiet() -> Iterator[None]:
    """Hold back what native sound libraries write to fd 2 while they probe devices.

    ALSA prints a dozen `ALSA lib ...` lines when there is no card; the user gets one
    clear line from us instead (and the held-back text in the log, with -v).
    """
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            held.seek(0)
            text = held.read().decode("utf-8", "replace").strip()
            if text:
                log.debug("sound libraries said: %s", text[-2000:])


NO_OUTPUT = ("start your sound server (PulseAudio or PipeWire) or connect an output, or "
             "make a file instead with `audioguide render` or `audioguide breathe --save`")


def output_devices() -> list[OutputDevice]:
    """The playback devices miniaudio can see (not its "null" device, which plays nothing)."""
    miniaudio = _miniaudio()
    try:
        with _native_stderr_quiet():
            found = miniaudio.Devices().get_playbacks()
    except miniaudio.MiniaudioError as exc:
        raise PlaybackError(f"no sound outputs found ({exc}); {NO_OUTPUT}") from exc
    return [OutputDevice(index, str(device["name"])) for index, device in enumerate(found)
            if not str(device["name"]).startswith("Discard all samples")]


class MiniaudioBackend:
    """Playback through miniaudio (PulseAudio/PipeWire or ALSA on Linux, native elsewhere)."""

    name = "miniaudio"

    def __init__(self, sample_rate: int, channels: int, device: str | None = None,
                 buffer_ms: int = 40) -> None:
        miniaudio = _miniaudio()
        self.sample_rate = sample_rate
        self.channels = channels
        device_id = None
        if device is not None:
            device_id = self._find(miniaudio, device)
        try:
            with _native_stderr_quiet():
                self.device = miniaudio.PlaybackDevice(
                    output_format=miniaudio.SampleFormat.FLOAT32, nchannels=channels,
                    sample_rate=sample_rate, buffersize_msec=buffer_ms, device_id=device_id,
                    app_name="audioguide")
        except miniaudio.MiniaudioError as exc:
            code = exc.args[1] if len(exc.args) > 1 else "?"
            raise PlaybackError(f"cannot open a sound output (miniaudio error {code}: no "
                                f"device answered, or it is busy); {NO_OUTPUT}") from exc
        backend = str(self.device.backend)
        if backend.lower() == "null":
            self.device.close()
            raise PlaybackError(f"no sound output found (only miniaudio's silent null device "
                                f"answered); {NO_OUTPUT}")
        self.output = backend
        # What the device holds before it plays: its periods of `buffer_ms` each.
        periods = max(2, int(self.device._devconfig.periods or 3))
        self.latency_frames = periods * buffer_ms * sample_rate // 1000
        self.delivered = 0
        self._lock = threading.Lock()

    @staticmethod
    def _find(miniaudio: Any, wanted: str) -> Any:
        with _native_stderr_quiet():
            playbacks = miniaudio.Devices().get_playbacks()
        for index, device in enumerate(playbacks):
            if wanted == str(index) or wanted.casefold() in str(device["name"]).casefold():
                return device["id"]
        names = ", ".join(f"{i}: {d['name']}" for i, d in enumerate(playbacks)) or "none"
        raise PlaybackError(f"no output device matches '{wanted}' (devices: {names})")

    def start(self, pull: Pull) -> None:
        """Start the device, which pulls from `pull` on its own thread."""
        def generator() -> Generator[Any, int, None]:
            frames = yield b""
            while True:
                block = pull(frames)
                with self._lock:
                    self.delivered += frames
                frames = yield block

        feed = generator()
        next(feed)
        self.device.start(feed)

    def played_frames(self) -> int:
        """Delivered frames minus the device's queue."""
        with self._lock:
            return max(0, self.delivered - self.latency_frames)

    def stop(self) -> None:
        """Stop the device."""
        self.device.stop()

    def close(self) -> None:
        """Close the device."""
        self.device.close()


def _import_simpleaudio() -> ModuleType:
    """simpleaudio, or a PlaybackError saying why it cannot be used here."""
    # Its own function: on 3.12+ type checkers treat what follows the version check as
    # unreachable, which must not hide the backend's attributes.
    if sys.version_info >= (3, 12):
        raise PlaybackError("simpleaudio crashes after playback on Python 3.12 and newer "
                            "(it is no longer maintained); use the default backend, "
                            "miniaudio")
    try:
        import simpleaudio
    except ImportError as exc:
        raise PlaybackError("simpleaudio is not installed: `pip install "
                            "audioguide[simpleaudio]` (it needs ALSA's headers to "
                            "build), or use the default backend, miniaudio") from exc
    return simpleaudio


#: simpleaudio accepts only these rates and one or two channels.
SIMPLEAUDIO_RATES = (8000, 11025, 16000, 22050, 24000, 32000, 44100, 48000, 88200, 96000,
                     192000)


class SimpleaudioBackend:
    """Playback through simpleaudio (optional; Python < 3.12 only), a long stretch at a time.

    simpleaudio opens a new ALSA stream for every buffer it plays and gives no callback,
    so audio goes out as stretches of up to `max_stretch_s` (as 16-bit samples: 53 MB for
    five minutes of stereo), each one `play_buffer`, cut by the player where the session
    is quiet. The next stretch starts once the current one has played out and its stream
    has drained, so nothing overlaps and nothing is lost: the quiet moment at the join
    grows by the sound server's latency. The position counts from when each stretch really
    started, and holds while a stream drains. Pause, a jump and a volume change stop the
    stream (after a short fade written into the buffer it is playing) and start again
    from the position.
    """

    name = "simpleaudio"
    #: The Player feeds this backend whole stretches (PullStretch), not callback blocks.
    stretches = True
    #: ALSA buffers about this much ahead of what is heard (simpleaudio asks for 100 ms).
    AHEAD_S = 0.12
    FADE_S = 0.1
    #: The longest wait for a stream to drain before the next one starts.
    DRAIN_S = 5.0

    def __init__(self, sample_rate: int, channels: int, max_stretch_s: float = 300.0) -> None:
        simpleaudio = _import_simpleaudio()
        if sample_rate not in SIMPLEAUDIO_RATES or channels not in (1, 2):
            raise PlaybackError(f"simpleaudio cannot play {sample_rate} Hz with {channels} "
                                f"channels (it plays 1 or 2 channels at the usual rates); use "
                                f"the default backend, miniaudio")
        self.simpleaudio = simpleaudio
        self.sample_rate = sample_rate
        self.channels = channels
        self.max_frames = int(max_stretch_s * sample_rate)
        #: Gain applied as each stretch starts (the Player's volume).
        self.volume = 1.0
        self._done = 0                        # device frames played before the current one
        #: When the stretch now playing started, and its length (None between stretches).
        self._live: tuple[float, int] | None = None
        self._playing: Any = None             # its PlayObject
        self._pcm: np.ndarray | None = None   # its samples, which simpleaudio reads in place
        self._rest: np.ndarray | None = None  # what is left of the stretch, 16-bit
        self._volume_of_rest = 1.0            # the volume `_rest` was made at
        self._request: str | None = None      # pause, resume, restart, redo or stop
        self._paused = False
        self._wake = threading.Condition()
        self._clock = threading.Lock()        # _done and _live change together
        self._streams: list[Any] = []         # play objects that may still be draining
        self.thread: threading.Thread | None = None

    # -- the playing thread ---------------------------------------------------------------
    def start(self, pull: PullStretch) -> None:
        """Play stretch after stretch from a thread."""
        self.thread = threading.Thread(target=self._run, args=(pull,), daemon=True,
                                       name="audioguide-simpleaudio")
        self.thread.start()

    def _run(self, pull: PullStretch) -> None:
        while True:
            with self._wake:
                while self._paused and self._request is None:
                    self._wake.wait()
                request, self._request = self._request, None
            if request == "stop":
                return
            if request in ("pause", "resume"):
                self._paused = request == "pause"
            if self._paused:
                continue
            if self._rest is None:
                audio = pull(self.max_frames, self._done)
                if not len(audio):
                    return
                self._rest, self._volume_of_rest = self._to_pcm(audio), self.volume
                del audio
            elif self._volume_of_rest != self.volume:   # a volume change, played on from here
                scaled = self._rest * (self.volume / max(self._volume_of_rest, 1e-6))
                self._rest = np.clip(scaled, -32768, 32767).astype("<i2")
                self._volume_of_rest = self.volume
            self._play(self._rest)
            assert self._live is not None
            ends = self._live[0] + len(self._rest) / self.sample_rate
            with self._wake:
                while self._request is None and time.monotonic() < ends:
                    self._wake.wait(timeout=max(0.0, ends - time.monotonic()))
                request = self._request
            if request is None:         # played out: the next starts once this one drained
                drained = time.monotonic() + self.DRAIN_S
                with self._wake:
                    while (self._request is None and self._playing.is_playing()
                           and time.monotonic() < drained):
                        self._wake.wait(timeout=0.005)
                with self._clock:
                    self._done, self._live = self._done + len(self._rest), None
                self._rest = None
                continue
            self._interrupt(request)

    def _to_pcm(self, audio: Audio) -> np.ndarray:
        scaled = np.clip(audio * np.float32(self.volume), -1, 1) * 32767
        return np.ascontiguousarray(scaled.astype("<i2"))

    def _play(self, pcm: np.ndarray) -> None:
        self._pcm = pcm
        self._playing = self.simpleaudio.play_buffer(pcm, self.channels, 2, self.sample_rate)
        with self._clock:
            self._live = (time.monotonic(), len(pcm))
        self._streams = [s for s in self._streams if s.is_playing()] + [self._playing]

    def _interrupt(self, request: str) -> None:
        """Fade out just ahead of what ALSA has taken, stop, and keep what was not heard."""
        assert self._rest is not None and self._pcm is not None and self._live is not None
        at = min(len(self._rest), int((time.monotonic() - self._live[0] + self.AHEAD_S)
                                      * self.sample_rate))
        fade = min(len(self._rest) - at, int(self.FADE_S * self.sample_rate))
        rest = self._rest[at:].copy()   # before the fade is written into what is playing
        if fade > 0:
            ramp = np.linspace(1.0, 0.0, fade)[:, None]
            self._pcm[at: at + fade] = (self._pcm[at: at + fade] * ramp).astype("<i2")
            self._pcm[at + fade:] = 0
            time.sleep(self.FADE_S + self.AHEAD_S if request != "stop" else self.FADE_S)
        self._playing.stop()
        with self._clock:
            self._done, self._live = self._done + at, None
        self._rest = None
        if request == "stop":
            with self._wake:
                self._request = "stop"
            return
        if request in ("pause", "redo") and len(rest):
            lead = min(len(rest), int(0.02 * self.sample_rate))
            ramp = np.linspace(0.0, 1.0, lead)[:, None]
            rest[:lead] = (rest[:lead] * ramp).astype("<i2")
            self._rest = rest
        if request == "pause":
            self._paused = True

    def _ask(self, request: str) -> None:
        with self._wake:
            if self._request != "stop":
                self._request = request
            self._wake.notify_all()

    # -- control from the player ----------------------------------------------------------
    def pause(self) -> None:
        """Stop the stream and hold what is left of the stretch."""
        self._ask("pause")

    def resume(self) -> None:
        """Play on from where pause() stopped."""
        self._ask("resume")

    def restart(self, keep: bool) -> None:
        """Stop the current stretch: play on from its position (keep) or pull anew (a jump)."""
        self._ask("redo" if keep else "restart")

    def played_frames(self) -> int:
        """Frames of finished stretches plus the time the current one has been playing."""
        with self._clock:
            done, live = self._done, self._live
        if live is None:
            return done
        started, frames = live
        return done + max(0, min(frames, int((time.monotonic() - started) * self.sample_rate)))

    def busy(self) -> bool:
        """True while a stream still has audio to play out (ALSA drains after the writes)."""
        return any(stream.is_playing() for stream in self._streams)

    def stop(self) -> None:
        """Fade out and stop."""
        self._ask("stop")
        if self.thread is not None:
            self.thread.join(timeout=self.FADE_S + 0.2)
        self.simpleaudio.stop_all()

    def close(self) -> None:
        """Wait for the playing thread to end."""
        self._ask("stop")
        if self.thread is not None:
            self.thread.join(timeout=1.0)


def open_backend(name: str, sample_rate: int, channels: int,
                 device: str | None = None) -> Backend:
    """A backend by name: miniaudio (default) or simpleaudio."""
    if name == "miniaudio":
        return MiniaudioBackend(sample_rate, channels, device)
    if name == "simpleaudio":
        if device is not None:
            raise PlaybackError("simpleaudio plays on the default device only; drop --device "
                                "or use miniaudio")
        return SimpleaudioBackend(sample_rate, channels)
    raise PlaybackError(f"unknown playback backend '{name}' (miniaudio, simpleaudio)")


@dataclass(frozen=True)
class _Segment:
    device_start: int       # first device frame of this stretch
    frames: int
    session_start: int      # session frame heard at device_start
    moving: bool            # False while paused or waiting (the session does not advance)
    generation: int = 0     # which jump() the audio came after


class Player:
    """Plays a timeline's rendered blocks through a backend, with pause, volume and a fade out.

    A producer thread renders just ahead of the device into a short queue; the
    backend's thread takes audio from it. With `speed` N > 1, only every Nth block is
    played (a preview), and positions jump ahead with it.
    """

    FADE_S = 0.3

    def __init__(self, timeline: Timeline, blocks: Iterator[Audio], backend: Backend,
                 speed: int = 1, ahead_s: float = 3.0) -> None:
        self.timeline = timeline
        self.backend = backend
        self.speed = max(1, int(speed))
        self.rate = timeline.sample_rate
        self.channels = timeline.channels
        self._queue: queue.Queue[tuple[int, int | None, Audio]] = queue.Queue(
            maxsize=max(2, int(ahead_s * self.rate / BLOCK_FRAMES) + 1))
        self._current: tuple[int, Audio] | None = None
        #: Bumped by jump(): audio queued before it is dropped.
        self._generation = 0
        self._reset = False
        self._offset = 0
        self._ended = False
        self._segments: deque[_Segment] = deque()
        self._device_frames = 0
        self._gain = 1.0
        self._volume = 1.0
        self._paused = False
        self._stopping = False
        self._faded_out = threading.Event()
        self._lock = threading.Lock()
        self._producer = threading.Thread(target=self._produce, args=(blocks, 0, 0), daemon=True)
        self._error: BaseException | None = None
        self.underruns = 0
        #: A backend that plays whole stretches (simpleaudio) rather than pulling blocks.
        self._stretched = bool(getattr(backend, "stretches", False))
        self._loud = _loud_spans(timeline)

    # -- the producer ---------------------------------------------------------------------
    _END = np.zeros((0, 1), dtype=np.float32)

    def _produce(self, blocks: Iterator[Audio], position: int, generation: int) -> None:
        try:
            for index, block in enumerate(blocks):
                if self._stopping or generation != self._generation:
                    return
                if index % self.speed == 0:
                    self._queue.put((generation, position, block))
                position += len(block)
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread by error()
            self._error = exc
        finally:
            self._queue.put((generation, None, self._END))

    def jump(self, session_start: int, blocks: Iterator[Audio]) -> None:
        """Go on from another place: `blocks` is the audio from `session_start` on."""
        with self._lock:
            self._generation += 1
            generation = self._generation
        self._reset = True
        self._drain()
        self._producer = threading.Thread(target=self._produce,
                                          args=(blocks, session_start, generation), daemon=True)
        self._producer.start()
        if self._stretched:
            self.backend.restart(keep=False)  # type: ignore[attr-defined]

    def _drain(self) -> None:
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                return

    def error(self) -> BaseException | None:
        """An exception the renderer raised while playing, if any."""
        return self._error

    # -- the device's side ----------------------------------------------------------------
    def _pull(self, frames: int) -> Audio:
        out = np.zeros((frames, self.channels), dtype=np.float32)
        filled = 0
        if self._reset:
            self._reset, self._current, self._ended = False, None, False
        session_at = self._position_of_next()
        moving = not self._paused and not self._ended
        if moving:
            while filled < frames:
                if self._current is None:
                    try:
                        generation, start_at, queued = self._queue.get_nowait()
                    except queue.Empty:
                        self.underruns += filled == 0
                        break
                    if generation != self._generation:
                        continue  # audio from before a jump
                    if start_at is None:
                        self._ended = True
                        break
                    self._current, self._offset = (start_at, queued), 0
                start, block = self._current
                if filled == 0:
                    session_at = start + self._offset
                take = min(frames - filled, len(block) - self._offset)
                out[filled: filled + take] = block[self._offset: self._offset + take]
                filled += take
                self._offset += take
                if self._offset >= len(block):
                    self._current = None
        self._apply_gain(out)
        with self._lock:
            generation = self._generation
            if filled:
                self._segments.append(_Segment(self._device_frames, filled, session_at, True,
                                               generation))
            if frames > filled:
                end = session_at + filled
                self._segments.append(_Segment(self._device_frames + filled, frames - filled,
                                               end, False, generation))
            self._device_frames += frames
            while len(self._segments) > 512:
                self._segments.popleft()
        return out

    def _pull_stretch(self, max_frames: int, device_start: int) -> Audio:
        """The next stretch for a stretch backend: waits for the renderer, and ends where
        the session is quiet (so that the join between two streams is not heard)."""
        parts: list[Audio] = []
        filled, end_at = 0, None
        generation = self._generation
        if self._reset:
            self._reset, self._current, self._ended = False, None, False
        while filled < max_frames and not self._stopping and not self._ended:
            if generation != self._generation:   # a jump while gathering: start again
                parts, filled, end_at, generation = [], 0, None, self._generation
                self._reset, self._current = False, None
            if self._current is None:
                try:
                    queued_generation, start_at, queued = self._queue.get(timeout=0.05)
                except queue.Empty:
                    continue
                if queued_generation != self._generation:
                    continue
                if start_at is None:
                    self._ended = True
                    break
                self._current, self._offset = (start_at, queued), 0
            start, block = self._current
            session_at = start + self._offset
            if end_at is None and self.speed == 1:
                end_at = quiet_cut(self._loud, session_at, session_at + max_frames)
            take = min(max_frames - filled, len(block) - self._offset)
            if end_at is not None:
                take = min(take, end_at - session_at)
            parts.append(block[self._offset: self._offset + take])
            self._record(_Segment(device_start + filled, take, session_at, True, generation))
            filled += take
            self._offset += take
            if self._offset >= len(block):
                self._current = None
            if end_at is not None and session_at + take >= end_at:
                break
        if not parts:
            return np.zeros((0, self.channels), dtype=np.float32)
        return np.concatenate(parts)

    def _record(self, segment: _Segment) -> None:
        """Add a stretch to the device → session map, dropping what was cut short."""
        with self._lock:
            while self._segments and self._segments[-1].device_start >= segment.device_start:
                self._segments.pop()
            if self._segments:
                last = self._segments[-1]
                if last.device_start + last.frames > segment.device_start:
                    self._segments[-1] = _Segment(last.device_start,
                                                  segment.device_start - last.device_start,
                                                  last.session_start, last.moving,
                                                  last.generation)
            self._segments.append(segment)
            while len(self._segments) > 512:
                self._segments.popleft()

    def _position_of_next(self) -> int:
        if self._current is not None:
            return self._current[0] + self._offset
        with self._lock:
            if self._segments:
                last = self._segments[-1]
                return last.session_start + (last.frames if last.moving else 0)
        return 0

    def _apply_gain(self, out: Audio) -> None:
        target = 0.0 if (self._paused or self._stopping) else self._volume
        if self._gain == target and target == 1.0:
            return
        step = len(out) / (self.FADE_S * self.rate)  # a full fade takes FADE_S
        end = target if abs(target - self._gain) <= step else (
            self._gain + step if target > self._gain else self._gain - step)
        ramp = np.linspace(self._gain, end, len(out), endpoint=False, dtype=np.float32)
        out *= ramp[:, None]
        self._gain = end
        if self._stopping and end == 0.0:
            self._faded_out.set()

    # -- control --------------------------------------------------------------------------
    def start(self, ready_timeout_s: float = 10.0) -> None:
        """Start rendering ahead, and start the device once the first audio is ready.

        Starting the device earlier would fill its buffer (over a second with some
        PulseAudio setups) with silence before the first sound.
        """
        self._producer.start()
        deadline = time.monotonic() + ready_timeout_s
        while (self._queue.empty() and self._producer.is_alive()
               and time.monotonic() < deadline):
            time.sleep(0.002)
        self.backend.start(self._pull_stretch if self._stretched else self._pull)

    def hearing_latest(self) -> bool:
        """True once the speakers play audio from after the latest jump()."""
        played = self.backend.played_frames()
        with self._lock:
            segments = [s for s in self._segments if s.device_start <= played]
            latest = self._generation
        return bool(segments) and segments[-1].generation == latest and segments[-1].moving

    def position(self) -> int:
        """The session frame being heard now."""
        played = self.backend.played_frames()
        with self._lock:
            segments = list(self._segments)
        if not segments:
            return 0
        starts = [segment.device_start for segment in segments]
        index = max(0, bisect.bisect_right(starts, played) - 1)
        segment = segments[index]
        within = min(max(0, played - segment.device_start), segment.frames)
        if not segment.moving:
            within = 0
        return min(segment.session_start + within, self.timeline.length)

    @property
    def finished(self) -> bool:
        """True once the whole session has been played out."""
        if self._stretched and self.backend.busy():  # type: ignore[attr-defined]
            return False
        return self._ended and self.position() >= self._last_session_frame()

    def _last_session_frame(self) -> int:
        with self._lock:
            moving = [s for s in self._segments if s.moving]
        if not moving:
            return 0
        return moving[-1].session_start + moving[-1].frames

    @property
    def paused(self) -> bool:
        """Whether playback is paused."""
        return self._paused

    @property
    def stopping(self) -> bool:
        """True once stop() or close() was called (a renderer waiting for speech gives up)."""
        return self._stopping

    def toggle_pause(self) -> bool:
        """Pause or resume (with a short fade); returns the new paused state."""
        self._paused = not self._paused
        if self._stretched:
            backend: Any = self.backend
            backend.pause() if self._paused else backend.resume()
        return self._paused

    def change_volume(self, db: float) -> float:
        """Turn the volume up or down by `db`; returns the volume in dB (at most +6)."""
        level = 20 * np.log10(max(self._volume, 1e-6)) + db
        level = float(min(6.0, max(-40.0, level)))
        self._volume = db_to_gain(level)
        if self._stretched:  # the stretch playing now is played again from here, louder
            backend: Any = self.backend
            backend.volume = self._volume
            backend.restart(keep=True)
        return level

    def stop(self, fade: bool = True, timeout_s: float = 0.45) -> None:
        """Fade out (within `timeout_s`) and stop the device."""
        self._stopping = True
        if fade and not self._paused and not self._stretched:  # (stretches fade themselves)
            self._faded_out.wait(timeout=timeout_s)
        self._bounded(self.backend.stop)

    def close(self) -> None:
        """Stop the producer and release the device."""
        self._stopping = True
        self._drain()  # unblock a producer waiting on a full queue
        self._producer.join(timeout=2)
        self._bounded(self.backend.close)

    #: True once the sound system failed to stop or close in time (the caller should end
    #: the process without waiting for it).
    stuck = False

    def _bounded(self, call: Callable[[], None], timeout_s: float = 1.5) -> None:
        """Run `call` on its own thread and wait at most `timeout_s`: a sound server that
        stops answering must not keep Ctrl-C or q from ending the session."""
        if self.stuck:
            return
        failure: list[BaseException] = []

        def run() -> None:
            try:
                call()
            except BaseException as exc:  # noqa: BLE001 - re-raised below
                failure.append(exc)

        worker = threading.Thread(target=run, daemon=True, name="audioguide-device")
        worker.start()
        worker.join(timeout_s)
        if worker.is_alive():
            self.stuck = True
            log.warning("the sound device did not %s within %.1f s", call.__name__, timeout_s)
        elif failure:
            raise failure[0]


def _loud_spans(timeline: Timeline) -> list[tuple[int, int]]:
    """Where something other than a bed sounds: the clips' extents, merged and sorted."""
    spans: list[tuple[int, int]] = []
    for start, end in sorted((clip.start, clip.start + clip.length) for clip in timeline.clips):
        if spans and start <= spans[-1][1]:
            spans[-1] = (spans[-1][0], max(spans[-1][1], end))
        else:
            spans.append((start, end))
    return spans


def quiet_cut(loud: list[tuple[int, int]], start: int, limit: int) -> int:
    """The latest good place to cut in (start, limit]: `limit` itself if nothing sounds
    there, else the middle of the last quiet gap before it (only beds play in a gap), else
    `limit` (a long sound with no gap must be cut somewhere)."""
    index = bisect.bisect_right(loud, (limit, limit)) - 1
    if index < 0 or loud[index][1] <= limit:
        return limit
    while index >= 0:
        gap_end = loud[index][0]
        gap_start = loud[index - 1][1] if index > 0 else 0
        if gap_end > start + 1 and gap_end > gap_start:
            return max(start + 1, (max(gap_start, start) + gap_end) // 2)
        if gap_end <= start:
            break
        index -= 1
    return limit


@dataclass(frozen=True)
class PlayState:
    """What is playing at a position, for a display."""

    position: int
    length: int
    sample_rate: int
    section: str
    item: Item | None
    phase: str | None = None
    phase_left_s: float = 0.0
    #: How full the breath is: 0 at the bottom of the exhale, 1 at the top of the inhale.
    breath: float = 0.0

    @property
    def elapsed_s(self) -> float:
        """Seconds into the session."""
        return self.position / self.sample_rate

    @property
    def total_s(self) -> float:
        """Seconds in the session."""
        return self.length / self.sample_rate


def describe(timeline: Timeline, position: int) -> PlayState:
    """The section, step and (for breathing) phase at a session position."""
    section = ""
    for chapter in timeline.chapters:
        if chapter.start <= position:
            section = chapter.title
    item = None
    for candidate in timeline.items:
        if candidate.length > 0 and candidate.start <= position < candidate.start + \
                candidate.length:
            item = candidate
    if item is None or not item.phases:
        return PlayState(position, timeline.length, timeline.sample_rate, section, item)
    at = item.start
    fill = 0.0
    for index, (kind, frames) in enumerate(item.phases):
        following = item.phases[index + 1][0] if index + 1 < len(item.phases) else ""
        target = {"inhale": 0.85 if following == "top_up" else 1.0, "top_up": 1.0,
                  "exhale": 0.0, "hold_out": 0.0}.get(kind, fill)
        if position < at + frames:
            done = (position - at) / frames
            eased = 0.5 - 0.5 * math.cos(math.pi * done)
            left = (at + frames - position) / timeline.sample_rate
            return PlayState(position, timeline.length, timeline.sample_rate, section, item,
                             kind, left, fill + (target - fill) * eased)
        fill = target
        at += frames
    return PlayState(position, timeline.length, timeline.sample_rate, section, item)
