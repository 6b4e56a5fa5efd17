"""Live playback without a sound card: a capture backend with a simulated clock (tests only)."""

import io
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from audioguide.cli import cli
from audioguide.cli.tui import Display
from audioguide.errors import InputError, PlaybackError
from audioguide.jobs.options import RenderOptions
from audioguide.jobs.prepare import prepare
from audioguide.live.backends import SimpleaudioBackend
from audioguide.live.player import Player
from audioguide.live.state import describe
from audioguide.render.mixer import render_blocks
from audioguide.script.adhoc import breathing_session

from conftest import WriteScript

SHORT = """
title: Short live
voice: {engine: draft}
steps:
  - section: One
  - say: A first line.
  - breathe: {pattern: [1, 0.5, 1.5], cycles: 2, cue: tone}
  - section: Two
  - tone: {hz: 330, duration: 1s}
"""


class CaptureBackend:
    """A backend whose clock the test moves: it pulls `chunk` frames per tick."""

    name = "capture"

    def __init__(self, latency: int = 2048) -> None:
        self.latency = latency
        self.pull: Callable[[int], np.ndarray] | None = None
        self.captured: list[np.ndarray] = []
        self.delivered = 0
        self.stopped = False
        self.player: Player | None = None

    def start(self, pull: Callable[[int], np.ndarray]) -> None:
        self.pull = pull

    def tick(self, frames: int = 1024) -> np.ndarray:
        assert self.pull is not None and not self.stopped
        if self.player is not None:  # a real clock is far slower than the renderer
            while self.player._queue.empty() and self.player._producer.is_alive():
                time.sleep(0.001)
        block = self.pull(frames)
        assert block.shape[0] == frames
        self.captured.append(block.copy())
        self.delivered += frames
        return block

    def played_frames(self) -> int:
        return max(0, self.delivered - self.latency)

    def stop(self) -> None:
        self.stopped = True

    def close(self) -> None:
        pass


def started_player(path: object, **kwargs: object) -> tuple[Player, CaptureBackend, np.ndarray]:
    prepared = prepare(path, RenderOptions(engine="draft"))  # type: ignore[arg-type]
    expected = np.concatenate(list(render_blocks(prepared.timeline, prepared.library)))
    backend = CaptureBackend()
    player = Player(prepared.timeline, render_blocks(prepared.timeline, prepared.library),
                    backend, **kwargs)  # type: ignore[arg-type]
    backend.player = player
    player.start()
    deadline = time.monotonic() + 10
    while player._queue.qsize() < 2 and time.monotonic() < deadline:  # rendered ahead
        time.sleep(0.01)
    prepared.close()
    return player, backend, expected


def test_the_display_position_is_what_was_played(write_script: WriteScript) -> None:
    player, backend, expected = started_player(write_script(SHORT))
    assert player.position() == 0
    while not player.finished:
        backend.tick(1000)
        heard = backend.played_frames()
        assert player.position() == min(heard, len(expected))  # never ahead of the speakers
        assert len(backend.captured) < 1000
    played = np.concatenate(backend.captured)
    assert np.array_equal(played[: len(expected)], expected)  # the same audio as a render
    assert not played[len(expected):].any()
    player.close()


def test_pause_holds_sound_and_position_together(write_script: WriteScript) -> None:
    player, backend, _ = started_player(write_script(SHORT))
    for _ in range(40):
        backend.tick(1024)
    player.toggle_pause()
    for _ in range(20):      # 0.3 s of fade, then silence
        backend.tick(1024)
    held = player.position()
    quiet = [backend.tick(1024) for _ in range(30)]
    assert all(not block.any() for block in quiet)
    assert player.position() == held
    player.toggle_pause()
    for _ in range(10):
        backend.tick(1024)
    assert player.position() > held
    player.close()


def test_stop_fades_out_within_half_a_second(write_script: WriteScript) -> None:
    player, backend, _ = started_player(write_script(SHORT))
    for _ in range(30):
        backend.tick(1024)
    import threading

    stopper = threading.Thread(target=player.stop)
    started = time.monotonic()
    stopper.start()
    while stopper.is_alive() and not backend.stopped:
        backend.tick(512)
    stopper.join()
    assert time.monotonic() - started < 0.5
    tail = np.concatenate(backend.captured[-6:])
    assert np.abs(tail[-64:]).max() < 1e-3   # faded to nothing, not cut
    assert backend.stopped
    player.close()


def test_a_sound_device_that_hangs_cannot_hold_up_stopping(write_script: WriteScript) -> None:
    player, backend, _ = started_player(write_script(SHORT))
    for _ in range(10):
        backend.tick(1024)
    released = threading.Event()

    def hang() -> None:            # a sound server that stops answering
        released.wait(30)

    backend.stop = hang  # type: ignore[method-assign]
    backend.close = hang  # type: ignore[method-assign]
    started = time.monotonic()
    player.stop(fade=False)
    player.close()
    took = time.monotonic() - started
    released.set()
    assert player.stuck
    assert took < 4.0, took      # 1.5 s for each of stop and close, then it gives up


def test_a_device_error_while_stopping_still_reaches_the_caller(
        write_script: WriteScript) -> None:
    player, backend, _ = started_player(write_script(SHORT))

    def broken() -> None:
        raise OSError("device gone")

    backend.stop = broken  # type: ignore[method-assign]
    with pytest.raises(OSError, match="device gone"):
        player.stop(fade=False)
    assert not player.stuck
    player.close()


def test_preview_speed_skips_ahead_in_step(write_script: WriteScript) -> None:
    player, backend, expected = started_player(write_script(SHORT), speed=3)
    positions = []
    while not player.finished and len(backend.captured) < 500:
        backend.tick(4096)
        positions.append(player.position())
    assert positions == sorted(positions)
    assert positions[-1] == len(expected) or player.finished
    played = sum(len(b) for b in backend.captured)
    assert played < len(expected) / 2     # about a third of the session was played
    player.close()


def test_describe_follows_the_breath(write_script: WriteScript) -> None:
    with prepare(write_script(SHORT), RenderOptions(engine="draft")) as prepared:
        timeline = prepared.timeline
    breathe = next(item for item in timeline.items if item.kind == "breathe")
    rate = timeline.sample_rate
    start = breathe.start
    inhale = describe(timeline, start + rate // 2)          # half way up
    assert inhale.phase == "inhale" and inhale.breath == pytest.approx(0.5, abs=0.01)
    assert inhale.phase_left_s == pytest.approx(0.5, abs=0.01)
    hold = describe(timeline, start + int(1.2 * rate))
    assert hold.phase == "hold" and hold.breath == pytest.approx(1.0)
    exhale = describe(timeline, start + int(2.25 * rate))   # half way down
    assert exhale.phase == "exhale" and exhale.breath == pytest.approx(0.5, abs=0.01)
    assert exhale.section == "One" and exhale.item is breathe
    end = describe(timeline, timeline.length - 10)
    assert end.section == "Two" and end.phase is None and end.item.kind == "tone"


def test_plain_display_prints_a_line_per_step(write_script: WriteScript) -> None:
    with prepare(write_script(SHORT), RenderOptions(engine="draft")) as prepared:
        timeline = prepared.timeline
    out = io.StringIO()
    display = Display("Short live", out)
    for position in range(0, timeline.length, 2048):
        display.show(describe(timeline, position))
    lines = out.getvalue().splitlines()
    assert [line.split(" ", 2)[2].split(":")[0] for line in lines] == ["say", "breathe", "tone"]
    assert lines[0].startswith("0:00 [One] say: A first line.")


def test_live_display_draws_the_breath_bar(write_script: WriteScript) -> None:
    class Terminal(io.StringIO):
        encoding = "utf-8"

        def isatty(self) -> bool:
            return True

    with prepare(write_script(SHORT), RenderOptions(engine="draft")) as prepared:
        timeline = prepared.timeline
    breathe = next(item for item in timeline.items if item.kind == "breathe")
    out = Terminal()
    display = Display("Short live", out)
    display.show(describe(timeline, breathe.start + timeline.sample_rate // 2), volume_db=-3)
    display.close()
    text = out.getvalue()
    assert "Short live — One" in text and "volume -3 dB" in text
    assert "Breathe in" in text and "█" * 15 + "░" * 15 in text
    assert text.startswith("\x1b[?25l") and text.endswith("\x1b[?25h")


@pytest.mark.parametrize(("pattern", "lengths"), [
    ("box", {"inhale": 4, "hold": 4, "exhale": 4, "hold_out": 4}),
    ("4-7-8", {"inhale": 4, "hold": 7, "exhale": 8}),
    ("4,4,6,2", {"inhale": 4, "hold": 4, "exhale": 6, "hold_out": 2}),
    ("5-5", {"inhale": 5, "exhale": 5}),
    ("3.5, 1, 6", {"inhale": 3.5, "hold": 1, "exhale": 6}),
    ("cyclic-sigh", {"inhale": 2, "top_up": 1, "exhale": 6}),
])
def test_breathe_accepts_every_pattern_form(pattern: str, lengths: dict[str, float]) -> None:
    session = breathing_session(pattern, cycles=2, engine="draft")
    breathe = session.steps[2]
    assert {p.kind: float(p.seconds) for p in breathe.pattern.phases} == lengths  # type: ignore[attr-defined]


@pytest.mark.parametrize("pattern", ["boxx", "4", "4-7-8-9-1", "4-x", "0-4"])
def test_breathe_refuses_bad_patterns_with_the_forms(pattern: str) -> None:
    result = CliRunner().invoke(cli, ["breathe", pattern, "--save", "/tmp/never.wav"])
    assert result.exit_code == 2
    if pattern == "0-4":
        assert result.stderr == ("error: pattern '0-4' needs an inhale and an exhale longer "
                                 "than 0\n")
    else:
        assert result.stderr.endswith("write a name (box, 4-7-8, resonance, coherent, "
                                      "prolonged-exhale, 7-11, cyclic-sigh, ujjayi) or 2 to 4 "
                                      "phase lengths in seconds like 4-7-8 or 4,4,6,2\n")


def test_breathe_save_renders_the_same_session(tmp_path: object) -> None:
    out = tmp_path / "box.wav"  # type: ignore[operator]
    result = CliRunner().invoke(cli, ["breathe", "box", "--cycles", "1", "--bed", "none",
                                      "--engine", "draft", "--save", str(out)])
    assert result.exit_code == 0, result.output
    assert result.stdout == f"{out}\n"
    import wave

    with wave.open(str(out), "rb") as wav:
        # Bell (4 s), one 16 s breath, the last bell's 2 s step and its ring (14 s).
        assert wav.getnframes() == (4 + 16 + 14) * 44100


def test_breathe_option_errors() -> None:
    runner = CliRunner()
    both = runner.invoke(cli, ["breathe", "box", "--minutes", "2", "--cycles", "3",
                               "--save", "/tmp/x.wav"])
    assert both.exit_code == 2 and both.stderr == "error: give --minutes or --cycles, not both\n"
    bed = runner.invoke(cli, ["breathe", "box", "--bed", "oceann", "--save", "/tmp/x.wav"])
    assert bed.exit_code == 2
    assert bed.stderr == ("error: unknown bed 'oceann' (did you mean 'ocean'?) (choose one of: "
                          "white, pink, brown, ocean, rain, none)\n")
    with pytest.raises(InputError):
        breathing_session("box", cue="loud")


def test_simpleaudio_is_refused_where_it_crashes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "version_info", (3, 12, 0, "final", 0))
    with pytest.raises(PlaybackError) as caught:
        SimpleaudioBackend(44100, 2)
    assert str(caught.value) == ("simpleaudio crashes after playback on Python 3.12 and newer "
                                 "(it is no longer maintained); use the default backend, "
                                 "miniaudio")


@pytest.mark.parametrize("device", [[], ["--device", "X"]])
def test_no_sound_server_is_one_line_with_what_to_do(tmp_path: Path, device: list[str]) -> None:
    import os
    import subprocess

    env = {**os.environ, "PULSE_SERVER": "unix:/nonexistent",
           "XDG_RUNTIME_DIR": str(tmp_path), "AUDIODEV": "null"}
    result = subprocess.run([sys.executable, "-m", "audioguide", "play", "box-breathing",
                             "--engine", "draft", *device], capture_output=True, text=True,
                            env=env, timeout=120, cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "start your sound server" in lines[0]
