"""Under pressure: parallel renders sharing a cache, SIGKILL mid-render, resource bounds."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from audioguide.cli import cli
from audioguide.errors import ScriptError
from audioguide.jobs.options import RenderOptions
from audioguide.jobs.prepare import prepare
from audioguide.script.limits import Limits
from audioguide.voices import SpeechCache

from conftest import WriteScript

LINES = ["Settle in and let the chair hold you.", "Notice the weight of your hands.",
         "Let the breath find its own pace.", "Soften the space between your eyes.",
         "Feel the floor under your feet.", "Let each sound come and go.",
         "Rest your attention on the breath.", "When you are ready, open your eyes."]

SESSION = """
title: Pressure
date: "2026"
bed: {sound: brown, level: -28dB}
voice: {rate: 150, gap: 0.6s}
steps:
  - section: Arriving
""" + "".join(f"  - say: {line}\n" for line in LINES[:4]) + """
  - breathe: {pattern: box, cycles: 2, cue: both}
  - section: Resting
""" + "".join(f"  - say: {line}\n" for line in LINES[4:]) + """
  - pause: 20s
  - bell: bowl
"""


def render_command(script: Path, output: Path, cache: Path) -> list[str]:
    return [sys.executable, "-m", "audioguide", "render", str(script), "-o", str(output),
            "--cache", str(cache), "--quiet"]


def check_cache(cache: Path) -> int:
    """Every entry complete and readable; return how many."""
    store = SpeechCache(cache)
    stats = store.stats()
    assert stats.damaged == 0
    for entry in store.entries():
        speech = store.load(entry.stem)
        assert speech is not None and len(speech.samples) > 1000
    return stats.entries


@pytest.mark.real
@pytest.mark.slow
def test_four_parallel_renders_match_a_serial_one(write_script: WriteScript,
                                                  tmp_path: Path) -> None:
    script = write_script(SESSION)
    serial = subprocess.run(render_command(script, tmp_path / "serial.wav", tmp_path / "c1"),
                            capture_output=True, text=True)
    assert serial.returncode == 0, serial.stderr
    shared = tmp_path / "shared-cache"
    processes = [subprocess.Popen(render_command(script, tmp_path / f"p{i}.wav", shared),
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for i in range(4)]
    for process in processes:
        _, err = process.communicate(timeout=240)
        assert process.returncode == 0, err
    reference = (tmp_path / "serial.wav").read_bytes()
    for i in range(4):
        assert (tmp_path / f"p{i}.wav").read_bytes() == reference, f"render {i} differs"
    # Each distinct line once (8 lines and the box cues Breathe in / Hold / Breathe out).
    assert check_cache(shared) == check_cache(tmp_path / "c1") == len(LINES) + 3
    leftovers = [p for p in shared.rglob("*") if p.name.endswith(".part")]
    assert leftovers == []


@pytest.mark.real
@pytest.mark.slow
def test_sigkill_at_random_moments_loses_nothing(write_script: WriteScript,
                                                 tmp_path: Path) -> None:
    script = write_script(SESSION)
    reference = tmp_path / "reference.mp3"
    done = subprocess.run(render_command(script, reference, tmp_path / "ref-cache"),
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    target = tmp_path / "session.mp3"
    previous = b"yesterday's good render"
    target.write_bytes(previous)
    cache = tmp_path / "cache"  # starts empty, so early kills land while speech is made
    outcomes = []
    for seed in range(6):
        delay = random.Random(seed).uniform(0.1, 3.0)
        process = subprocess.Popen(render_command(script, target, cache),
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                   start_new_session=True)
        time.sleep(delay)
        finished = process.poll() is not None
        if not finished:
            os.killpg(process.pid, signal.SIGKILL)  # the render, its workers and ffmpeg
        process.wait()
        outcomes.append("finished" if finished else f"killed after {delay:.2f}s")
        content = target.read_bytes()
        # Under the output name: the old file, or (if it got there first) the whole new one.
        assert content in (previous, reference.read_bytes()), outcomes
        target.write_bytes(previous)
        check_cache(cache)  # no torn entry, whatever the moment
    assert any(o.startswith("killed") for o in outcomes), outcomes
    final = subprocess.run(render_command(script, target, cache), capture_output=True, text=True)
    assert final.returncode == 0, final.stderr
    assert target.read_bytes() == reference.read_bytes()
    # The next run cleared what the killed ones left behind.
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_file()) == [
        "reference.mp3", "s.yaml", "session.mp3"]


def test_too_many_distinct_lines_are_refused_before_any_speech(write_script: WriteScript,
                                                               tmp_path: Path) -> None:
    steps = "".join(f"  - say: Line number {i}.\n" for i in range(12))
    path = write_script("voice: {engine: draft}\nsteps:\n" + steps)
    cache = tmp_path / "cache"
    with pytest.raises(ScriptError) as caught:
        prepare(path, RenderOptions(cache_dir=cache, limits=Limits(max_lines=10)))
    assert str(caught.value.issues[0]) == (
        f"{path}:13:5: this is distinct spoken line 11; a session may have at most 10: split "
        "it into several sessions, or set AUDIOGUIDE_MAX_LINES higher")
    assert SpeechCache(cache).stats().entries == 0  # refused before any work


def test_too_much_speech_is_refused_where_it_passes_the_limit(write_script: WriteScript,
                                                              monkeypatch: pytest.MonkeyPatch,
                                                              tmp_path: Path) -> None:
    # 30 words at 60 words a minute: half a minute each time round; 3 minutes allowed.
    line = " ".join(["word"] * 30)
    path = write_script(f"voice: {{engine: draft, rate: 60}}\nsteps:\n"
                        f"  - repeat: {{times: 10, steps: [{{say: {line}}}]}}\n")
    monkeypatch.setenv("AUDIOGUIDE_MAX_SPEECH_MINUTES", "3")
    result = CliRunner().invoke(cli, ["render", str(path), "-o", str(tmp_path / "x.wav"),
                                      "--cache", str(tmp_path / "cache")])
    assert result.exit_code == 2
    assert result.stderr == (
        f"{path}:3:34: speech passes 3 minutes here (estimated from the words and rate); a "
        "session may have at most that: split it into several sessions, or set "
        "AUDIOGUIDE_MAX_SPEECH_MINUTES higher\n")
    monkeypatch.setenv("AUDIOGUIDE_MAX_SPEECH_MINUTES", "lots")
    result = CliRunner().invoke(cli, ["validate", str(path)])
    assert result.exit_code == 2
    assert "AUDIOGUIDE_MAX_SPEECH_MINUTES='lots' is not a number" in result.stderr


def test_too_many_files_are_refused_before_any_is_read(write_script: WriteScript,
                                                       tmp_path: Path) -> None:
    for i in range(4):
        (tmp_path / f"s{i}.wav").write_bytes(b"not decoded: refused first")
    steps = "".join(f"  - sound: s{i}.wav\n" for i in range(4))
    path = write_script("steps:\n" + steps)
    with pytest.raises(ScriptError) as caught:
        prepare(path, RenderOptions(engine="draft", limits=Limits(max_files=3)))
    assert str(caught.value.issues[0]) == (
        f"{path}:5:5: steps[3].sound: this is audio file 4; a session may use at most 3: join "
        "some of them, or set AUDIOGUIDE_MAX_FILES higher")
