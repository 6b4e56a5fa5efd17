"""Live playback through real sound servers: a private PulseAudio with a null sink (paced like a
sound card, its monitor recorded with parecord), and ALSA's `file` plugin. Terminal behaviour
through a pseudo-terminal.

`.ci/run` installs pulseaudio, pulseaudio-utils and libasound2-plugins; where they are
missing these tests are skipped and say so.
"""

from __future__ import annotations

import os
import pty
import shutil
import signal
import subprocess
import sys
import termios
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from audioguide.cli.tui import run_live
from audioguide.jobs.options import RenderOptions
from audioguide.jobs.prepare import prepare
from audioguide.live.player import Player
from audioguide.render.mixer import render_blocks

from conftest import WriteScript

NEEDS = "PulseAudio is not installed (.ci/run installs pulseaudio and pulseaudio-utils)"
pulse_missing = shutil.which("pulseaudio") is None or shutil.which("parecord") is None

SHORT = """
title: Heard live
voice: {engine: draft}
steps:
  - section: Start
  - tone: {hz: 440, duration: 1s, fade_in: 0.05s, fade_out: 0.05s}
  - pause: 0.5s
  - say: A few words.
  - section: Middle
  - tone: {hz: 660, duration: 1s, fade_in: 0.05s, fade_out: 0.05s}
  - bell: {kind: soft, gap: 1s}
"""


def private_pulse(home: Path, sink: str = "sink_name=capture") -> Iterator[dict[str, str]]:
    """Run a private PulseAudio server in `home` with one null sink (`sink`: its module
    arguments) and yield the environment that reaches it; skip if PulseAudio is missing."""
    if pulse_missing:
        pytest.skip(NEEDS)
    socket = home / "native"
    env = {**os.environ, "HOME": str(home), "XDG_RUNTIME_DIR": str(home),
           "PULSE_SERVER": f"unix:{socket}"}
    server = subprocess.Popen(
        ["pulseaudio", "-n", "--daemonize=no", "--exit-idle-time=-1", "--use-pid-file=no",
         "-F", "/dev/null", f"--load=module-null-sink {sink}",
         f"--load=module-native-protocol-unix socket={socket} auth-anonymous=1"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if subprocess.run(["pactl", "info"], env=env, capture_output=True).returncode == 0:
            break
        time.sleep(0.1)
    else:
        server.kill()
        pytest.fail("the private PulseAudio server did not start")
    yield env
    server.terminate()
    server.wait(timeout=10)


@pytest.fixture(scope="module")
def pulse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A private PulseAudio server with a null sink called `capture`."""
    yield from private_pulse(tmp_path_factory.mktemp("pulse"))


class Recorder:
    """parecord on the null sink's monitor, as float32 stereo at 44.1 kHz."""

    def __init__(self, env: dict[str, str], path: Path, device: str = "capture.monitor") -> None:
        self.path = path
        self.process = subprocess.Popen(
            ["parecord", f"--device={device}", "--format=float32le", "--rate=44100",
             "--channels=2", "--raw", str(path)], env=env)
        deadline = time.monotonic() + 5
        while (not path.exists() or path.stat().st_size == 0) and time.monotonic() < deadline:
            time.sleep(0.02)

    def stop(self) -> np.ndarray:
        self.process.send_signal(signal.SIGINT)
        self.process.wait(timeout=5)
        data = np.frombuffer(self.path.read_bytes(), dtype="<f4")
        return data[: len(data) // 2 * 2].reshape(-1, 2)


def align(recorded: np.ndarray, expected: np.ndarray) -> int:
    """Offset of `expected` inside `recorded`, by cross-correlating the left channels."""
    a, b = recorded[:, 0].astype(np.float64), expected[:, 0].astype(np.float64)
    size = 1 << int(np.ceil(np.log2(len(a) + len(b))))
    corr = np.fft.irfft(np.fft.rfft(a, size) * np.conj(np.fft.rfft(b, size)), size)
    return int(np.argmax(corr[: len(a)]))


@pytest.mark.skipif(pulse_missing, reason=NEEDS)
@pytest.mark.slow
def test_play_is_heard_as_rendered_in_real_time(pulse: dict[str, str], write_script: WriteScript,
                                                tmp_path: Path) -> None:
    script = write_script(SHORT)
    with prepare(script, RenderOptions(engine="draft")) as prepared:
        expected = np.concatenate(list(render_blocks(prepared.timeline, prepared.library)))
        timeline = prepared.timeline
    recorder = Recorder(pulse, tmp_path / "heard.raw")
    started = time.monotonic()
    process = subprocess.Popen([sys.executable, "-m", "audioguide", "play", str(script),
                                "--engine", "draft"], env=pulse, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
    lines: list[tuple[float, str]] = []
    assert process.stdout is not None
    for line in process.stdout:
        lines.append((time.monotonic(), line.rstrip("\n")))
    process.wait(timeout=60)
    elapsed = time.monotonic() - started
    time.sleep(0.3)
    recorded = recorder.stop()
    assert process.returncode == 0, process.stderr.read() if process.stderr else ""
    assert elapsed >= timeline.seconds - 0.2          # paced by the (null) sound card
    offset = align(recorded, expected)
    heard = recorded[offset: offset + len(expected)]
    assert len(heard) == len(expected)
    difference = np.sqrt(np.mean((heard - expected) ** 2)) / np.sqrt(np.mean(expected ** 2))
    assert difference < 0.01                          # what was played is what renders
    # One line per step, each printed no earlier than its time after the first.
    steps = [item for item in timeline.items if item.length > 0]
    shown = [(at, text) for at, text in lines if "[" in text]
    assert [text.split("] ", 1)[1].split(":")[0] for _, text in shown] == [
        item.kind for item in steps]
    first_time, first_item = shown[0][0], steps[0]
    for (at, _), item in zip(shown, steps, strict=True):
        scheduled = (item.start - first_item.start) / timeline.sample_rate
        assert at - first_time >= scheduled - 0.05, (item.kind, at - first_time, scheduled)
    assert lines[-1][1] == "Done."


@pytest.mark.skipif(pulse_missing, reason=NEEDS)
@pytest.mark.slow
def test_ctrl_c_ends_within_half_a_second_with_a_fade(pulse: dict[str, str],
                                                      tmp_path: Path) -> None:
    recorder = Recorder(pulse, tmp_path / "stopped.raw")
    process = subprocess.Popen([sys.executable, "-m", "audioguide", "breathe", "box",
                                "--cycles", "4", "--bed", "pink", "--engine", "draft"],
                               env=pulse, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, preexec_fn=_default_ctrl_c)
    time.sleep(4.0)
    sent = time.monotonic()
    process.send_signal(signal.SIGINT)
    ended = seconds_to_end(process, sent)
    time.sleep(0.3)
    recorded = recorder.stop()
    assert process.returncode == 130
    assert ended < 0.5, ended
    loud = np.flatnonzero(np.abs(recorded[:, 0]) > 1e-4)
    last = loud[-1]
    before = np.sqrt(np.mean(recorded[last - 22050: last - 13230, 0] ** 2))  # 0.5-0.3 s before
    tail = np.sqrt(np.mean(recorded[last - 2205: last, 0] ** 2))             # the last 50 ms
    assert tail < before / 3                         # faded away, not cut off


def _terminal_modes(fd: int) -> list[object]:
    return termios.tcgetattr(fd)


def seconds_to_end(process: subprocess.Popen[Any], since: float, limit_s: float = 5.0) -> float:
    """How long after `since` the process ended, to within 2 ms (`wait(timeout=)` looks
    only every 50 ms), waiting at most `limit_s`."""
    while process.poll() is None and time.monotonic() - since < limit_s:
        time.sleep(0.002)
    return time.monotonic() - since


def _default_ctrl_c() -> None:
    """In the child: SIGINT as a program normally starts with it. A suite started in the
    background (`.ci/run &`) ignores SIGINT, children inherit that, and Python then never
    turns Ctrl-C into KeyboardInterrupt."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _own_terminal() -> None:
    """In the child: a new session whose controlling terminal is the pty (so ^C is SIGINT)."""
    import fcntl

    _default_ctrl_c()
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


@pytest.mark.skipif(pulse_missing, reason=NEEDS)
@pytest.mark.slow
@pytest.mark.parametrize(("keys", "code"), [(b" ", None), (b"q", 0), (b"\x03", 130)])
def test_keys_in_a_terminal_and_the_modes_come_back(pulse: dict[str, str], keys: bytes,
                                                    code: int | None) -> None:
    master, slave = pty.openpty()
    before = _terminal_modes(slave)
    process = subprocess.Popen([sys.executable, "-m", "audioguide", "breathe", "4-4",
                                "--cycles", "2", "--engine", "draft", "--bed", "none"],
                               env=pulse, stdin=slave, stdout=slave, stderr=slave,
                               preexec_fn=_own_terminal)
    screen = b""
    deadline = time.monotonic() + 15
    while b"Breathe in" not in screen and time.monotonic() < deadline:
        import select

        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            screen += os.read(master, 65536)
    assert b"Breathe in" in screen, screen[-300:]
    assert _terminal_modes(slave) != before          # cbreak while playing
    os.write(master, keys)
    if keys == b" ":
        time.sleep(0.8)
        os.write(master, b" q")
        code = 0
    deadline = time.monotonic() + 10
    try:
        while process.poll() is None and time.monotonic() < deadline:
            import select  # keep reading: a full terminal buffer would block its writes

            ready, _, _ = select.select([master], [], [], 0.1)
            if ready:
                screen += os.read(master, 65536)
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()
    while True:  # drain what it printed last
        import select

        ready, _, _ = select.select([master], [], [], 0.2)
        if not ready:
            break
        try:
            screen += os.read(master, 65536)
        except OSError:
            break
    assert process.returncode == code
    assert _terminal_modes(slave) == before
    assert screen.count(b"\x1b[?25l") == screen.count(b"\x1b[?25h") == 1  # cursor shown again
    if keys == b" ":
        assert b"paused (space to go on)" in screen
    os.close(master)
    os.close(slave)


def test_the_terminal_comes_back_after_an_exception(write_script: WriteScript) -> None:
    class Broken(Exception):
        pass

    class Quiet:
        name = "quiet"

        def __init__(self) -> None:
            self.frames = 0

        def start(self, pull: object) -> None:
            self.pull = pull

        def played_frames(self) -> int:
            self.frames += 4096
            self.pull(4096)  # type: ignore[operator]
            return self.frames

        def stop(self) -> None:
            pass

        def close(self) -> None:
            pass

    def failing(blocks: Iterator[np.ndarray]) -> Iterator[np.ndarray]:
        yield next(blocks)
        raise Broken("the renderer failed")

    master, slave = pty.openpty()
    before = _terminal_modes(slave)
    with prepare(write_script(SHORT), RenderOptions(engine="draft")) as prepared:
        player = Player(prepared.timeline,
                        failing(render_blocks(prepared.timeline, prepared.library)), Quiet())
        keys = os.fdopen(slave, "r", closefd=False)
        screen = open(os.devnull, "w")  # noqa: SIM115
        with pytest.raises(Broken):
            run_live(player, "broken", screen, keys)
        screen.close()
    assert _terminal_modes(slave) == before
    os.close(master)
    os.close(slave)


def test_alsa_file_plugin_captures_what_is_played(write_script: WriteScript,
                                                  tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    raw = tmp_path / "alsa.raw"
    (home / ".asoundrc").write_text(
        'pcm.!default {\n  type file\n  slave.pcm "null"\n'
        f'  file "{raw}"\n  format "raw"\n}}\n', encoding="utf-8")
    (home / "client.conf").write_text("autospawn = no\n", encoding="utf-8")
    script = write_script(SHORT)
    env = {**os.environ, "HOME": str(home), "PULSE_SERVER": f"unix:{home}/none",
           "PULSE_CLIENTCONFIG": str(home / "client.conf")}
    result = subprocess.run([sys.executable, "-m", "audioguide", "play", str(script),
                             "--engine", "draft"], env=env, capture_output=True, text=True,
                            stdin=subprocess.DEVNULL, timeout=60)
    assert result.returncode == 0, result.stderr
    with prepare(script, RenderOptions(engine="draft")) as prepared:
        expected = np.concatenate(list(render_blocks(prepared.timeline, prepared.library)))
    captured = np.frombuffer(raw.read_bytes(), dtype="<f4").reshape(-1, 2)
    # ALSA's null device takes audio as fast as it comes, so waits for rendering show as
    # silence; without the silent frames, what was played is exactly the render.
    sound = captured[np.any(captured != 0, axis=1)]
    rendered = expected[np.any(expected != 0, axis=1)]
    assert np.array_equal(sound[: len(rendered)], rendered)


def test_no_sound_output_is_one_clear_line(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / ".asoundrc").write_text("pcm.!default { type hw card 99 }\n"
                                    "ctl.!default { type hw card 99 }\n", encoding="utf-8")
    (home / "client.conf").write_text("autospawn = no\n", encoding="utf-8")
    env = {**os.environ, "HOME": str(home), "PULSE_SERVER": f"unix:{home}/none",
           "PULSE_CLIENTCONFIG": str(home / "client.conf")}
    result = subprocess.run([sys.executable, "-m", "audioguide", "breathe", "box", "--cycles",
                             "1", "--engine", "draft"], env=env, capture_output=True,
                            text=True, stdin=subprocess.DEVNULL, timeout=60)
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: cannot open a sound output (miniaudio error ")
    assert lines[0].endswith("make a file instead with `audioguide render` or `audioguide "
                             "breathe --save`")


@pytest.mark.skipif(pulse_missing, reason=NEEDS)
def test_a_playlist_plays_live_and_n_skips_ahead(pulse: dict[str, str], tmp_path: Path) -> None:
    import select

    from audioguide.ffmpeg import find_ffmpeg

    for name, hz in (("first.wav", 330), ("second.wav", 440)):
        subprocess.run([find_ffmpeg().path, "-v", "error", "-f", "lavfi", "-i",
                        f"sine=f={hz}:d=20", "-ac", "2", str(tmp_path / name)], check=True)
    playlist = tmp_path / "two.yaml"
    playlist.write_text("playlist: Two songs\ntracks:\n  - {file: first.wav, title: One}\n"
                        "  - {file: second.wav, title: Two}\n", encoding="utf-8")
    master, slave = pty.openpty()
    process = subprocess.Popen([sys.executable, "-m", "audioguide", "play", str(playlist)],
                               env=pulse, stdin=slave, stdout=slave, stderr=slave,
                               preexec_fn=_own_terminal)

    def read_until(marker: bytes, seconds: float) -> bytes:
        seen = b""
        deadline = time.monotonic() + seconds
        while marker not in seen and time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.1)
            if ready:
                seen += os.read(master, 65536)
        return seen

    assert b"Two songs \xe2\x80\x94 One" in read_until(b"\xe2\x80\x94 One", 15)
    sent = time.monotonic()
    os.write(master, b"n")
    assert b"\xe2\x80\x94 Two" in read_until(b"\xe2\x80\x94 Two", 5)
    assert time.monotonic() - sent < 2.0     # long before the first song would have ended
    os.write(master, b"q")
    process.wait(timeout=10)
    assert process.returncode == 0
    os.close(master)
    os.close(slave)
