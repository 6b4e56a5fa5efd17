"""The simpleaudio backend end to end, through the private PulseAudio server of the live tests
(ALSA's pulse plugin carries simpleaudio's ALSA stream to it), and its stretch planning.

simpleaudio builds only on Python < 3.12 and needs ALSA's headers (`.ci/run` installs
libasound2-dev; the test extra installs simpleaudio where it builds).
"""

from __future__ import annotations

import os
import pty
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from test_live import (
    NEEDS,
    Recorder,
    _default_ctrl_c,
    _own_terminal,
    pulse,
    pulse_missing,
    seconds_to_end,
)

from audioguide.live.state import quiet_cut

__all__ = ["pulse"]  # the fixture, shared with test_live

RATE = 44100


def _simpleaudio_missing() -> str | None:
    if sys.version_info >= (3, 12):
        return "simpleaudio crashes on Python 3.12 and newer; audioguide refuses it there"
    try:
        import simpleaudio  # noqa: F401
    except ImportError:
        return ("simpleaudio is not installed (the test extra installs it on Python < 3.12; "
                "it needs libasound2-dev, which .ci/run installs)")
    if pulse_missing:
        return NEEDS
    return None


WHY = _simpleaudio_missing()
needs_simpleaudio = pytest.mark.skipif(WHY is not None, reason=WHY or "")


def test_cuts_fall_in_the_quiet_between_sounds() -> None:
    loud = [(100, 200), (300, 1000), (1200, 5000)]
    assert quiet_cut(loud, 0, 250) == 250             # the limit is quiet: cut there
    assert quiet_cut(loud, 0, 500) == 250             # inside a sound: the gap before it
    assert quiet_cut(loud, 0, 3000) == 1100           # the last gap before the limit
    assert quiet_cut(loud, 1000, 3000) == 1100
    assert quiet_cut(loud, 1150, 3000) == 1175        # from inside a gap, its rest
    assert quiet_cut(loud, 1300, 3000) == 3000        # no gap left: cut at the limit
    assert quiet_cut([], 0, 7) == 7
    assert quiet_cut([(0, 10)], 0, 5) == 5            # a sound from the start, no gap


#: A minute of what the built-in sessions hold (a bed that ducks under speech, bells,
#: cued breaths with a tone, a hum), shorter than the shortest of them (4:24).
SESSION = """\
title: Heard through simpleaudio
bed: {sound: brown, level: -34dB, duck: 6dB}
steps:
  - bell: {kind: bowl, level: -14dB}
  - say: Welcome. Sit so that your back is supported and let your shoulders drop.
  - breathe: {pattern: box, cycles: 2, cue: both}
  - say: Now listen to this low tone for a moment.
  - hum: {note: A2, duration: 6s, level: -24dB, vowel: mm}
  - bell: {kind: bowl, level: -14dB}
"""


def _window_correlations(recorded: np.ndarray, expected: np.ndarray,
                         offset: int) -> list[tuple[int, float]]:
    """(lag, normalised correlation) of every whole 5 s window: each window is aligned within
    ±50 ms of where the one before it was found (a join between two streams may move the
    audio by a few milliseconds; the lags together show any drift)."""
    window, reach = 5 * RATE, RATE // 20
    found, lag = [], 0
    for start in range(0, len(expected) - window + 1, window):
        want = expected[start: start + window, 0].astype(np.float64)
        low = offset + start + lag - reach
        got = recorded[max(0, low): low + window + 2 * reach, 0].astype(np.float64)
        assert len(got) == window + 2 * reach, "the recording ends early"
        size = 1 << int(np.ceil(np.log2(len(got) + window)))
        corr = np.fft.irfft(np.fft.rfft(got, size) * np.conj(np.fft.rfft(want, size)), size)
        best = int(np.argmax(corr[: 2 * reach + 1]))
        lag += best - reach
        part = got[best: best + window]
        found.append((lag, float(np.dot(part, want) / np.sqrt(np.dot(part, part)
                                                               * np.dot(want, want)))))
    return found


def _onset(recorded: np.ndarray, expected: np.ndarray) -> int:
    """Where the expected audio starts in the recording (cross-correlating the first 20 s)."""
    head = expected[: 20 * RATE, 0].astype(np.float64)
    span = recorded[: 30 * RATE + len(head), 0].astype(np.float64)
    size = 1 << int(np.ceil(np.log2(len(span) + len(head))))
    corr = np.fft.irfft(np.fft.rfft(span, size) * np.conj(np.fft.rfft(head, size)), size)
    return int(np.argmax(corr[: len(span)]))


def _read_wav(path: Path) -> np.ndarray:
    import wave

    with wave.open(str(path)) as wav:
        data = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
        return (data.astype(np.float32) / 32768).reshape(-1, wav.getnchannels())


@needs_simpleaudio
@pytest.mark.slow
@pytest.mark.timeout(600)
def test_simpleaudio_plays_breathe_and_a_session_as_saved_in_real_time(
        pulse: dict[str, str], tmp_path: Path) -> None:
    """Both commands at once, each into its own null sink: the recording of each matches
    its --save / render in every 5 s window and takes its real length."""
    subprocess.run(["pactl", "load-module", "module-null-sink", "sink_name=second"], env=pulse,
                   check=True, capture_output=True)
    session = tmp_path / "session.yaml"
    session.write_text(SESSION, encoding="utf-8")
    runs = {
        "breathe": (["breathe", "box", "--cycles", "2"], ["breathe", "box", "--cycles", "2",
                                                          "--save"], "capture"),
        "play": (["play", str(session)], ["render", str(session), "-o"], "second"),
    }
    started: dict[str, float] = {}
    processes: dict[str, subprocess.Popen[str]] = {}
    recorders: dict[str, Recorder] = {}
    expected: dict[str, np.ndarray] = {}
    for name, (_, save, sink) in runs.items():
        saved = tmp_path / f"{name}.wav"
        subprocess.run([sys.executable, "-m", "audioguide", *save, str(saved), "--engine",
                        "draft"], check=True, capture_output=True, env=pulse)
        expected[name] = _read_wav(saved)
        recorders[name] = Recorder(pulse, tmp_path / f"{name}.raw", device=f"{sink}.monitor")
    for name, (live, _, sink) in runs.items():
        started[name] = time.monotonic()
        processes[name] = subprocess.Popen(
            [sys.executable, "-m", "audioguide", *live, "--engine", "draft", "--backend",
             "simpleaudio"], env={**pulse, "PULSE_SINK": sink}, stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        _check_each(processes, started, recorders, expected)
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.kill()
                process.wait()


def _check_each(processes: dict[str, subprocess.Popen[str]], started: dict[str, float],
                recorders: dict[str, Recorder], expected: dict[str, np.ndarray]) -> None:
    for name, process in processes.items():
        _, errors = process.communicate(timeout=400)
        elapsed = time.monotonic() - started[name]
        time.sleep(0.5)
        recorded = recorders[name].stop()
        want = expected[name]
        seconds = len(want) / RATE
        assert process.returncode == 0, errors
        # Real time: no faster than the session, and no slower than 2 % more, beyond the
        # start (about 1 s) and the sound server's drain at the end (2 s on this rig).
        assert seconds <= elapsed <= seconds * 1.02 + 4.0, (name, elapsed, seconds)
        offset = _onset(recorded, want)
        windows = _window_correlations(recorded, want, offset)
        assert min(corr for _, corr in windows) >= 0.99, (name, windows)
        # The audio did not stretch or shrink: the last window is where the first was.
        drift = windows[-1][0] - windows[0][0]
        assert abs(drift) <= 0.02 * len(want), (name, drift)


@needs_simpleaudio
def test_ctrl_c_ends_simpleaudio_within_half_a_second(pulse: dict[str, str],
                                                      tmp_path: Path) -> None:
    recorder = Recorder(pulse, tmp_path / "stopped.raw")
    process = subprocess.Popen([sys.executable, "-m", "audioguide", "breathe", "box",
                                "--cycles", "4", "--engine", "draft", "--backend",
                                "simpleaudio"], env=pulse, stdin=subprocess.DEVNULL,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               preexec_fn=_default_ctrl_c)
    time.sleep(4.0)
    sent = time.monotonic()
    process.send_signal(signal.SIGINT)
    ended = seconds_to_end(process, sent)
    recorded = recorder.stop()
    assert process.returncode == 130
    assert ended < 0.5, ended
    assert np.abs(recorded).max() > 0.01              # it was playing


def _screen_until(master: int, marker: bytes, seconds: float) -> bytes:
    seen = b""
    deadline = time.monotonic() + seconds
    while marker not in seen and time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.1)
        if ready:
            try:
                seen += os.read(master, 65536)
            except OSError:
                break
    return seen


@needs_simpleaudio
def test_simpleaudio_pauses_and_resumes_from_where_it_was(pulse: dict[str, str],
                                                          tmp_path: Path) -> None:
    """Space stops the stream and holds the position; space again plays on from there."""
    recorder = Recorder(pulse, tmp_path / "paused.raw")
    master, slave = pty.openpty()
    process = subprocess.Popen([sys.executable, "-m", "audioguide", "breathe", "4-4",
                                "--cycles", "2", "--engine", "draft", "--bed", "none",
                                "--backend", "simpleaudio"], env=pulse, stdin=slave,
                               stdout=slave, stderr=slave, preexec_fn=_own_terminal)
    assert b"Breathe in" in _screen_until(master, b"Breathe in", 15)
    time.sleep(1.0)
    os.write(master, b" ")
    assert b"paused (space to go on)" in _screen_until(master, b"paused", 5)
    time.sleep(3.0)
    os.write(master, b" ")
    screen = _screen_until(master, b"Done.", 40)
    process.wait(timeout=10)
    recorded = recorder.stop()
    os.close(master)
    os.close(slave)
    assert process.returncode == 0
    assert b"Done." in screen
    # The 3 s pause is a stretch of silence in the middle of what was heard.
    level = np.sqrt(np.convolve(recorded[:, 0] ** 2, np.ones(4410) / 4410, mode="valid"))
    heard = np.flatnonzero(level > 1e-3)
    quiet = np.diff(heard)
    assert quiet.max() >= 2.5 * RATE, quiet.max() / RATE


@needs_simpleaudio
def test_simpleaudio_playlist_n_moves_to_the_next_track(pulse: dict[str, str],
                                                        tmp_path: Path) -> None:
    from audioguide.ffmpeg import find_ffmpeg

    for name, hz in (("first.wav", 330), ("second.wav", 440)):
        subprocess.run([find_ffmpeg().path, "-v", "error", "-f", "lavfi", "-i",
                        f"sine=f={hz}:d=30", "-ac", "2", str(tmp_path / name)], check=True)
    playlist = tmp_path / "two.yaml"
    playlist.write_text("playlist: Two songs\ntracks:\n  - {file: first.wav, title: One}\n"
                        "  - {file: second.wav, title: Two}\n", encoding="utf-8")
    recorder = Recorder(pulse, tmp_path / "playlist.raw")
    master, slave = pty.openpty()
    process = subprocess.Popen([sys.executable, "-m", "audioguide", "play", str(playlist),
                                "--backend", "simpleaudio"], env=pulse, stdin=slave,
                               stdout=slave, stderr=slave, preexec_fn=_own_terminal)
    assert b"\xe2\x80\x94 One" in _screen_until(master, b"\xe2\x80\x94 One", 15)
    time.sleep(2.0)
    sent = time.monotonic()
    os.write(master, b"n")
    assert b"\xe2\x80\x94 Two" in _screen_until(master, b"\xe2\x80\x94 Two", 5)
    assert time.monotonic() - sent < 2.0
    time.sleep(3.0)
    os.write(master, b"q")
    process.wait(timeout=10)
    recorded = recorder.stop()
    os.close(master)
    os.close(slave)
    assert process.returncode == 0
    # What was heard last is the second track's 440 Hz, not the first's 330 Hz.
    last = recorded[np.flatnonzero(np.abs(recorded[:, 0]) > 0.01)[-1] - RATE:][:RATE, 0]
    spectrum = np.abs(np.fft.rfft(last * np.hanning(len(last))))
    assert abs(np.argmax(spectrum) * RATE / len(last) - 440) < 5
