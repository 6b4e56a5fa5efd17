#!/usr/bin/env python3
"""Live start benchmark: how soon `audioguide play` sounds, with the speech cache empty and full.

A report, not a test: it prints a table with PASS/FAIL against the target and exits 0.

    .venv/bin/python scripts/bench_live_start.py                  # safe-place: default, piper
    .venv/bin/python scripts/bench_live_start.py --repeat 5
    .venv/bin/python scripts/bench_live_start.py --command "breathe box --engine piper"

Each run starts a private PulseAudio server with a null sink (paced like a sound card, as
tests/test_live.py does), records the sink's monitor with parecord, launches `python -m
audioguide COMMAND` in a fresh process and measures from the launch to the first sample
louder than -60 dBFS that reaches the recording (counted in recorded samples, so the
recorder's own buffering, ~10 ms, is in both figures alike). Then the session is stopped
with Ctrl-C. "Cold" starts with an empty speech cache (a new `AUDIOGUIDE_CACHE` folder
each run), so no line is made before playing starts; "warm" uses a cache that already
holds every line (filled once with `audioguide validate`). Target: cold ≤ warm + 1 s.
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

RATE = 44100
FRAME_BYTES = 8             # float32 stereo
LOUD = 10 ** (-60 / 20)     # -60 dBFS
TARGET_S = 1.0
DEFAULT_COMMANDS = ["play safe-place", "play safe-place --engine piper"]
PLAYBACK_OPTIONS = ("--speed", "--backend", "--device")


@contextmanager
def pulse_server() -> Iterator[dict[str, str]]:
    """A private PulseAudio server with a null sink called `capture` (its environment)."""
    if shutil.which("pulseaudio") is None or shutil.which("parecord") is None:
        raise SystemExit("needs pulseaudio and parecord (apt-get install pulseaudio "
                         "pulseaudio-utils)")
    with tempfile.TemporaryDirectory(prefix="bench-pulse-") as home:
        socket = Path(home) / "native"
        env = {**os.environ, "HOME": home, "XDG_RUNTIME_DIR": home,
               "PULSE_SERVER": f"unix:{socket}"}
        server = subprocess.Popen(
            ["pulseaudio", "-n", "--daemonize=no", "--exit-idle-time=-1", "--use-pid-file=no",
             "-F", "/dev/null", "--load=module-null-sink sink_name=capture",
             f"--load=module-native-protocol-unix socket={socket} auth-anonymous=1"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 15
            while subprocess.run(["pactl", "info"], env=env,
                                 capture_output=True).returncode != 0:
                if time.monotonic() > deadline:
                    raise SystemExit("the private PulseAudio server did not start")
                time.sleep(0.1)
            yield env
        finally:
            server.terminate()
            server.wait(timeout=10)


def first_sound_s(command: list[str], env: dict[str, str], folder: Path,
                  timeout_s: float = 60.0) -> tuple[float, str]:
    """Seconds from launching `command` to its first loud sample on the sink monitor, and
    what it said on stderr."""
    raw = folder / "heard.raw"
    recorder = subprocess.Popen(
        ["parecord", "--device=capture.monitor", "--format=float32le", f"--rate={RATE}",
         "--channels=2", "--raw", "--latency-msec=10", str(raw)], env=env)
    try:
        deadline = time.monotonic() + 5
        while (not raw.exists() or raw.stat().st_size < RATE * FRAME_BYTES // 5) \
                and time.monotonic() < deadline:
            time.sleep(0.01)
        launched_at = raw.stat().st_size // FRAME_BYTES
        process = subprocess.Popen([sys.executable, "-m", "audioguide", *command], env=env,
                                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.PIPE, text=True)
        heard: int | None = None
        read_from = launched_at
        deadline = time.monotonic() + timeout_s
        while heard is None and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.02)
            size = raw.stat().st_size // FRAME_BYTES
            if size <= read_from:
                continue
            with raw.open("rb") as handle:
                handle.seek(read_from * FRAME_BYTES)
                data = np.frombuffer(handle.read((size - read_from) * FRAME_BYTES), "<f4")
            loud = np.flatnonzero(np.abs(data) > LOUD)
            if loud.size:
                heard = read_from + int(loud[0]) // 2
            read_from = size
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
        try:
            _, said = process.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            _, said = process.communicate()
        if heard is None:
            raise SystemExit(f"audioguide {shlex.join(command)} made no sound within "
                             f"{timeout_s:.0f} s (exit {process.returncode}):\n{said}")
        return (heard - launched_at) / RATE, said
    finally:
        recorder.send_signal(signal.SIGINT)
        recorder.wait(timeout=5)
        raw.unlink(missing_ok=True)


def fill_cache(command: list[str], cache: Path, folder: Path) -> None:
    """Make every line of the command's session into `cache`: `validate` prepares a
    script's lines, `breathe --save` those of a breathing session."""
    env = {**os.environ, "AUDIOGUIDE_CACHE": str(cache)}
    if command[0] == "play":
        script_options = list(command[1:])
        for option in PLAYBACK_OPTIONS:   # validate takes the script's options only
            while option in script_options:
                at = script_options.index(option)
                del script_options[at: at + 2]
        filling = ["validate", *script_options]
    elif command[0] == "breathe":
        filling = [*command, "--save", str(folder / "filled.wav")]
    else:
        raise SystemExit(f"cannot time '{command[0]}': give a play or breathe command")
    subprocess.run([sys.executable, "-m", "audioguide", *filling], env=env, check=True,
                   capture_output=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--command", action="append", dest="commands",
                        help="audioguide arguments to time (repeatable; default: "
                        + " and ".join(f"'{c}'" for c in DEFAULT_COMMANDS) + ")")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each (the median)")
    args = parser.parse_args()
    commands = [shlex.split(text) for text in (args.commands or DEFAULT_COMMANDS)]
    print(f"# Live start, {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} cores, Python {platform.python_version()}; median of "
          f"{args.repeat}\n")
    rows: list[tuple[str, float, float, list[str]]] = []
    with pulse_server() as pulse, tempfile.TemporaryDirectory(prefix="bench-live-") as work:
        folder = Path(work)
        for command in commands:
            warm_cache = folder / f"warm-{len(rows)}"
            fill_cache(command, warm_cache, folder)
            figures: dict[str, list[float]] = {"cold": [], "warm": []}
            notes: set[str] = set()
            for run in range(args.repeat):
                for kind in ("cold", "warm"):
                    cache = folder / f"cold-{len(rows)}-{run}" if kind == "cold" else warm_cache
                    env = {**pulse, "AUDIOGUIDE_CACHE": str(cache)}
                    seconds, said = first_sound_s(["-v", *command], env, folder)
                    figures[kind].append(seconds)
                    notes.update(line for line in said.splitlines()
                                 if "auto picks" in line or "holding at a pause" in line)
                    print(f"  {shlex.join(command)}: {kind} run {run + 1}: {seconds:.2f} s",
                          flush=True)
            cold, warm = (statistics.median(figures[k]) for k in ("cold", "warm"))
            rows.append((shlex.join(command), cold, warm, sorted(notes)))
    print("\n| command | cold (empty cache) | warm (every line cached) | cold − warm | "
          f"target ≤ {TARGET_S:g} s |")
    print("|---|---:|---:|---:|---|")
    for text, cold, warm, _found in rows:
        verdict = "PASS" if cold - warm <= TARGET_S else "FAIL"
        print(f"| `audioguide {text}` | {cold:.2f} s | {warm:.2f} s | {cold - warm:+.2f} s "
              f"| {verdict} |")
    for text, _cold, _warm, found in rows:
        for note in found:
            print(f"\n{text}: {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
