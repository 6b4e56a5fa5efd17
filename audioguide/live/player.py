"""Live playback: a Player feeds rendered blocks to a sound backend and knows what is heard.

The backend pulls audio on its own clock (the sound card's). Every frame it takes
is recorded against the session position it came from, so the position reported
is that of the audio leaving the speakers now (frames delivered minus those still
queued in the device), never a wall-clock guess that could drift.
"""

from __future__ import annotations

import bisect
import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..dsp import BLOCK_FRAMES, Audio
from ..timeline.model import Timeline
from ..units import db_to_gain
from .backends import Backend
from .state import loud_spans, quiet_cut

log = logging.getLogger(__name__)


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

    #: A pause (and its resume) or a volume change fades over this long.
    FADE_S = 0.3
    #: Stopping (q, Esc, Ctrl-C) fades over this long, so that the whole stop, the
    #: device and the process ending with it, fits in the half second it promises.
    STOP_FADE_S = 0.1

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
        self._faded_at = 0  # the device frame where the stop's fade ends
        self._lock = threading.Lock()
        self._producer = threading.Thread(target=self._produce, args=(blocks, 0, 0), daemon=True)
        self._error: BaseException | None = None
        self.underruns = 0
        #: A backend that plays whole stretches (simpleaudio) rather than pulling blocks.
        self._stretched = bool(getattr(backend, "stretches", False))
        self._loud = loud_spans(timeline)

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
        fade_s = self.STOP_FADE_S if self._stopping else self.FADE_S
        step = len(out) / (fade_s * self.rate)  # a full fade takes fade_s
        end = target if abs(target - self._gain) <= step else (
            self._gain + step if target > self._gain else self._gain - step)
        ramp = np.linspace(self._gain, end, len(out), endpoint=False, dtype=np.float32)
        out *= ramp[:, None]
        self._gain = end
        if self._stopping and end == 0.0 and not self._faded_out.is_set():
            self._faded_at = self._device_frames + len(out)
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
        """Fade out, let the device play the fade it holds (all within `timeout_s`), and
        stop the device."""
        self._stopping = True
        if fade and not self._paused and not self._stretched:  # (stretches fade themselves)
            deadline = time.monotonic() + timeout_s
            if self._faded_out.wait(timeout=timeout_s):
                while (self.backend.played_frames() < self._faded_at
                       and time.monotonic() < deadline):
                    time.sleep(0.005)
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

