"""Sound backends: the outputs a Player feeds (miniaudio's callback, simpleaudio's stretches).

A backend pulls audio on its own clock (the sound card's) and says how many frames
have actually left the speakers, which is what the Player's position is made from.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Protocol

import numpy as np

from ..dsp import Audio, to_pcm16
from ..errors import PlaybackError

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
        try:
            with _native_stderr_quiet():
                playbacks = miniaudio.Devices().get_playbacks()
        except miniaudio.MiniaudioError as exc:
            raise PlaybackError(f"no sound outputs found to pick '{wanted}' from ({exc}); "
                                f"{NO_OUTPUT}") from exc
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
        return to_pcm16(audio * np.float32(self.volume))

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
