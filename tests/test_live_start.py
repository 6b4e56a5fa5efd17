"""A cold live start through a real sound server: `audioguide play` with an empty speech
cache and a slow voice starts sounding as soon as with a full cache, holds at pauses when
the voice falls behind, and plays the whole session as it renders.

A private PulseAudio server with a float32 null sink (so samples pass through exactly),
its monitor recorded with parecord, as in test_live.py. The slow voice is the draft
voice with a delay before each line, put in place by a small launcher script.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from test_live import NEEDS, private_pulse, pulse_missing

from audioguide.jobs.options import RenderOptions
from audioguide.jobs.prepare import prepare
from audioguide.live.mix import BEHIND

from conftest import WriteScript

RATE = 44100

#: A bell and a pause, then short lines close together: more than the slow voice can
#: make as fast as they play.
SESSION = """
title: Cold start
voice: {engine: draft, rate: 190, gap: 0.3s}
bed: {sound: pink, level: -30dB, duck: 6dB, fade_in: 0.3s, fade_out: 0.5s}
steps:
  - bell: {kind: soft, gap: 2s}
  - pause: 1s
  - say: The first line.
  - say: Then a second one.
  - say: A third, close behind.
  - say: And the last.
  - pause: 1s
"""
DELAY_S = 1.6

LAUNCHER = """
import sys, time
from audioguide.voices.draft import DraftEngine

made = DraftEngine.synthesize

def slowly(self, text, settings):
    time.sleep({delay})
    return made(self, text, settings)

DraftEngine.synthesize = slowly
from audioguide.cli import cli

cli(sys.argv[1:], prog_name="audioguide")
"""


@pytest.fixture(scope="module")
def pulse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A private PulseAudio server with a float32 null sink called `capture`."""
    yield from private_pulse(tmp_path_factory.mktemp("pulse"),
                             f"sink_name=capture format=float32le rate={RATE} channels=2")


class Recording:
    """parecord on the sink's monitor; frames are counted from when `mark` was called."""

    def __init__(self, env: dict[str, str], path: Path) -> None:
        self.path = path
        self.process = subprocess.Popen(
            ["parecord", "--device=capture.monitor", "--format=float32le", f"--rate={RATE}",
             "--channels=2", "--raw", "--latency-msec=10", str(path)], env=env)
        deadline = time.monotonic() + 5
        while (not path.exists() or path.stat().st_size < RATE * 8 // 5) \
                and time.monotonic() < deadline:
            time.sleep(0.01)
        self.marked = 0

    def mark(self) -> None:
        self.marked = self.path.stat().st_size // 8

    def frames(self) -> np.ndarray:
        data = np.frombuffer(self.path.read_bytes(), dtype="<f4")
        return data[: len(data) // 2 * 2].reshape(-1, 2)[self.marked:]

    def first_sound(self, timeout_s: float) -> float | None:
        """Seconds from the mark to the first sample that is not silent, as it comes in."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            loud = np.flatnonzero(np.any(self.frames() != 0, axis=1))
            if loud.size:
                return loud[0] / RATE
            time.sleep(0.02)
        return None

    def stop(self) -> np.ndarray:
        self.process.send_signal(signal.SIGINT)
        self.process.wait(timeout=5)
        return self.frames()


def launch(launcher: Path, script: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, str(launcher), "play", str(script)], env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


@pytest.mark.skipif(pulse_missing, reason=NEEDS)
def test_a_cold_start_sounds_at_once_and_plays_the_whole_session(
        pulse: dict[str, str], write_script: WriteScript, tmp_path: Path) -> None:
    script = write_script(SESSION)
    launcher = tmp_path / "slow_voice.py"
    launcher.write_text(LAUNCHER.replace("{delay}", str(DELAY_S)), encoding="utf-8")
    env = {**pulse, "AUDIOGUIDE_CACHE": str(tmp_path / "cache")}
    with prepare(script, RenderOptions(engine="draft")) as prepared:
        expected = np.concatenate(list(prepared.blocks()))
        timeline = prepared.timeline

    cold = Recording(pulse, tmp_path / "cold.raw")
    cold.mark()
    process = launch(launcher, script, env)
    cold_first = cold.first_sound(30)
    out, err = process.communicate(timeout=90)
    time.sleep(0.3)
    heard = cold.stop()
    assert process.returncode == 0, err
    assert out.rstrip().endswith("Done.")
    assert cold_first is not None

    warm = Recording(pulse, tmp_path / "warm.raw")   # every line is cached now
    warm.mark()
    process = launch(launcher, script, env)
    warm_first = warm.first_sound(30)
    process.send_signal(signal.SIGINT)
    process.communicate(timeout=30)
    warm.stop()
    assert warm_first is not None
    # Making the four lines first would take 4 × 1.6 s; a live start does not wait.
    assert cold_first <= warm_first + 1.0, (cold_first, warm_first)

    # The voice fell behind: the session held (in silence) and said so, once.
    assert err.count(f"warning: {BEHIND}") == 1, err
    silent = ~np.any(heard != 0, axis=1)
    sounding = np.flatnonzero(~silent)
    heard = heard[sounding[0]: sounding[-1] + 1]
    silent = silent[sounding[0]: sounding[-1] + 1]
    # Without the silences of holding, what was played is exactly the render (the bed
    # never stops, so the session itself has no silent frame), but for a few frames the
    # sound server drops as the stream starts (at the start of a fade-in).
    assert not (~np.any(expected != 0, axis=1)).any()
    played = heard[~silent]
    assert len(expected) - RATE // 50 <= len(played) <= len(expected)
    assert np.array_equal(played, expected[len(expected) - len(played):])
    # Each hold is at a pause: where it falls in the session, no line is being said.
    starts = np.flatnonzero(np.diff(silent.astype(np.int8)) == 1) + 1
    assert len(starts) >= 1
    played_before = np.cumsum(~silent) + len(expected) - len(played)
    lines = [(c.start, c.end) for c in timeline.clips if c.kind == "say"]
    for start in starts:
        at = int(played_before[start - 1])
        assert not any(a < at < b for a, b in lines), (at / RATE, lines)

