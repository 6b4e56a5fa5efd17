#!/usr/bin/env python3
"""Voice benchmark: cold and warm renders of a built-in session with each engine.

A report, not a test: it prints a table with PASS/FAIL against the targets and exits 0.

    .venv/bin/python scripts/bench_voices.py                    # safe-place, pyttsx3 + piper
    .venv/bin/python scripts/bench_voices.py --session inner-child --repeat 3
    .venv/bin/python scripts/bench_voices.py --workers 1 2      # serial against parallel

"Cold" starts from an empty speech cache, so every line is synthesized; "warm" renders
the same session again with the cache full. Each render is `audioguide render SESSION
--engine E -o FILE` in a fresh process (the command a user runs), timed from start to
exit, with the session's loudness normalisation on. The output is WAV unless --format
says otherwise (the MP3 encoder alone takes longer than a warm WAV render; its time is
in bench_render.py).
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

COLD_TARGET_S = {"piper": 60.0}
WARM_TARGET_S = 3.0


def render(session: str, engine: str, cache: Path, output: Path,
           workers: int | None) -> tuple[float, str]:
    env = dict(os.environ)
    env["AUDIOGUIDE_CACHE"] = str(cache)
    if workers:
        env["AUDIOGUIDE_WORKERS"] = str(workers)
    command = [sys.executable, "-m", "audioguide", "render", session, "--engine", engine,
               "-o", str(output)]
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{result.stderr}")
    return elapsed, result.stderr.strip().splitlines()[-1] if result.stderr.strip() else ""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--session", default="safe-place")
    parser.add_argument("--engines", nargs="+", default=["pyttsx3", "piper"])
    parser.add_argument("--repeat", type=int, default=1, help="cold/warm pairs per engine")
    parser.add_argument("--workers", type=int, nargs="+", default=[0],
                        help="speech worker processes (0: the engine's default)")
    parser.add_argument("--format", default="wav", choices=["wav", "mp3", "ogg", "flac"])
    args = parser.parse_args()

    print(f"# {args.session}: cold and warm renders to {args.format.upper()}, "
          f"{platform.python_implementation()} {platform.python_version()}, "
          f"{os.cpu_count()} CPUs, {platform.machine()}")
    print(f"{'engine':<8} {'workers':>7} {'cold s':>8} {'warm s':>8}  lines  result")
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-voices-") as folder:
        root = Path(folder)
        for engine in args.engines:
            for workers in args.workers:
                colds, warms = [], []
                note = ""
                for attempt in range(args.repeat):
                    cache = root / f"cache-{engine}-{workers}-{attempt}"
                    output = root / f"{args.session}-{engine}.{args.format}"
                    cold, note = render(args.session, engine, cache, output, workers or None)
                    warm, _ = render(args.session, engine, cache, output, workers or None)
                    colds.append(cold)
                    warms.append(warm)
                    shutil.rmtree(cache, ignore_errors=True)
                cold = statistics.median(colds)
                warm = statistics.median(warms)
                lines = note.split("(")[1].split(" new")[0] if "new lines" in note else "?"
                ok = warm < WARM_TARGET_S and cold < COLD_TARGET_S.get(engine, float("inf"))
                rows.append((engine, workers, cold, warm, ok))
                print(f"{engine:<8} {workers or 'auto':>7} {cold:>8.1f} {warm:>8.2f}  "
                      f"{lines:>5}  {'PASS' if ok else 'FAIL'}")
    print(f"targets: warm < {WARM_TARGET_S:g} s for every engine; cold piper < "
          f"{COLD_TARGET_S['piper']:g} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
