#!/usr/bin/env python3
"""Render benchmark: speed of WAV and MP3 export and peak memory, on generated sessions.

A report, not a test: it prints a table with PASS/FAIL against the targets and exits 0.

    .venv/bin/python scripts/bench_render.py                # 10- and 60-minute sessions
    .venv/bin/python scripts/bench_render.py --minutes 10 60 180
    .venv/bin/python scripts/bench_render.py --quick        # 10 minutes, one run

Each session has 1,000 cues an hour (say lines drawn from 40 sentences, breathe steps
with tone/voice cues, bells, hums, pauses), each placed with `at:` so the session lasts
exactly the asked minutes, over a ducked brown-noise bed (`--bed`). Speech comes from the
real default engine (pyttsx3) into a private cache that is filled first, so the timed
renders measure compiling, mixing and export; the cold speech time is reported on its own.
Every timed render runs in a fresh child process, which reports its own peak RSS
(VmHWM: the Python render process, not the ffmpeg it pipes to).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np

from audioguide.ffmpeg import find_ffmpeg
from audioguide.jobs.options import ExportOptions, RenderOptions
from audioguide.jobs.prepare import prepare
from audioguide.jobs.render import render_file
from audioguide.output.export import ExportSettings, encoder_options, export
from audioguide.output.tags import Tags

RATE = 44100
CUES_PER_HOUR = 1000
WAV_TARGET_X = 500.0
MP3_TARGET_RATIO = 1.2
RSS_TARGET_MB = 250.0
GAP = Fraction(1, 2)  # voice gap after each say line
MIN_SLACK = Fraction(1, 20)  # free time given to each cue on top of its own length

SENTENCES = [
    "Welcome, and settle in.", "Let your shoulders drop.", "Notice the breath as it is.",
    "Soften the muscles of your face.", "Feel the weight of your body.",
    "Let your hands rest easily.", "There is nowhere else to be.",
    "Breathe in slowly through the nose.", "Let the breath out gently.",
    "Notice the air, cool and calm.", "Let each thought drift past.",
    "Return to the breath, kindly.", "Relax the space between your eyes.",
    "Let the jaw hang loose.", "Feel your feet on the floor.",
    "Allow the belly to rise.", "Let the chest soften.", "Rest in this quiet moment.",
    "Listen to the sounds around you.", "Let them come and go.",
    "Feel the air on your skin.", "Nothing needs to change right now.",
    "Let your breathing find its pace.", "Notice the pause after each breath.",
    "Gently widen your attention.", "Sense the whole body at once.",
    "Let tension melt away.", "You are safe and steady here.",
    "Feel the ground holding you.", "Let the mind grow still.",
    "Follow the next breath all the way.", "Let the exhale be long.",
    "Notice any warmth in your hands.", "Smile softly, if you like.",
    "Let go of effort.", "Rest a little deeper now.", "Stay with this feeling.",
    "Bring a kind thought to mind.", "Let the body be heavy.", "Simply be here.",
]
BREATHE_PATTERN = "3-5"  # inhale 3 s, exhale 5 s: 7.5 breaths a minute
BREATHE_S = Fraction(8)
BELL_GAP = Fraction(5, 2)
HUM_S = Fraction(6)
PAUSE_S = Fraction(1)
#: kind → relative weight when drawing a session's cues.
WEIGHTS = {"say": 55, "pause": 20, "breathe": 8, "bell": 9, "hum": 5}
HEADER = """audioguide: 1
title: {title}
voice: {{rate: 130, gap: 0.5s}}
{bed}output: {{format: wav, sample_rate: {rate}, channels: 2}}
steps:
"""


def _q(text: str) -> str:
    return json.dumps(text)  # a JSON string is a valid YAML double-quoted scalar


def lexicon_yaml() -> str:
    """Every distinct line the sessions speak: the sentences and the breathing words."""
    lines = [HEADER.format(title="lexicon", rate=RATE, bed="")]
    lines += [f"  - say: {_q(text)}\n" for text in SENTENCES]
    lines.append(f"  - breathe: {{pattern: {BREATHE_PATTERN}, cycles: 1, cue: voice}}\n")
    return "".join(lines)


@dataclass
class Session:
    minutes: int
    yaml: str
    mix: dict[str, int]  # cues of each kind


def make_session(minutes: int, say_length: dict[str, Fraction], bed: str = "brown",
                 seed: int = 7) -> Session:
    """A session of `minutes` with 1,000 cues an hour, each started by an `at:`."""
    total = Fraction(minutes * 60)
    count = round(CUES_PER_HOUR * minutes / 60)
    rng = random.Random(seed * 1000 + minutes)
    kinds = rng.choices(list(WEIGHTS), weights=list(WEIGHTS.values()), k=count)
    texts = [rng.choice(SENTENCES) for _ in range(count)]
    own = {"pause": PAUSE_S, "breathe": BREATHE_S, "bell": BELL_GAP, "hum": HUM_S}

    def length(i: int) -> Fraction:
        return say_length[texts[i]] + GAP if kinds[i] == "say" else own[kinds[i]]

    # If the lines are slower than expected, trade say lines for pauses until it all fits.
    while sum(length(i) for i in range(count)) + MIN_SLACK * count > total:
        kinds[max((i for i in range(count) if kinds[i] != "pause"), key=length)] = "pause"
    extra = (total - sum(length(i) for i in range(count))) / count
    steps: list[str] = []
    start = Fraction(0)
    for i in range(count):
        kind = kinds[i]
        if kind == "bell" and total - start < 20:  # a bowl rings 14 s past its step
            kind = kinds[i] = "pause"
        at_ms = -(-start * 1000 // 1)  # ceil to the millisecond
        if i % 100 == 0:
            steps.append(f"  - section: {_q(f'Part {i // 100 + 1}')}\n")
        steps.append(f"  - at: {float(at_ms / 1000):.3f}\n")
        if kind == "say":
            steps.append(f"  - say: {_q(texts[i])}\n")
        elif kind == "pause":
            steps.append(f"  - pause: {float(PAUSE_S):g}s\n")
        elif kind == "breathe":
            cue = ("both", "voice", "tone")[i % 3]
            steps.append(f"  - breathe: {{pattern: {BREATHE_PATTERN}, cycles: 1, cue: {cue}}}\n")
        elif kind == "bell":
            bell = ("bowl", "chime", "soft")[i % 3]
            steps.append(f"  - bell: {{kind: {bell}, gap: {float(BELL_GAP):g}s, level: -14dB}}\n")
        else:
            steps.append(f"  - hum: {{note: A2, duration: {float(HUM_S):g}s, level: -24dB}}\n")
        start += length(i) + extra
    steps.append(f"  - at: {minutes * 60}\n")
    mix = {kind: kinds.count(kind) for kind in WEIGHTS}
    bed_line = "" if bed == "none" else f"bed: {{sound: {bed}, level: -32dB, duck: 6dB}}\n"
    header = HEADER.format(title=f"bench {minutes} min", rate=RATE, bed=bed_line)
    return Session(minutes, header + "".join(steps), mix)


# --- the child: one render in a fresh process -------------------------------------------

def child(script: str, fmt: str, out: str, cache: str) -> None:
    """Compile and render one script, then print times and peak memory as JSON.

    `fmt` "wav" or "mp3" times mixing and export alone (no loudness passes); "full"
    renders an MP3 the way `audioguide render` does, loudness normalisation included.
    """
    started = time.perf_counter()
    if fmt == "mix":
        from audioguide.jobs.playlists import build_playlist

        mixed = build_playlist(Path(script), mix=Path(out))
        print(json.dumps({"rss_kb": _vm_hwm_kb(), "length": int(mixed.mix_seconds * RATE)}))
        return
    if fmt == "full":
        result = render_file(script, Path(out), RenderOptions(cache_dir=Path(cache)),
                             ExportOptions())
        compiled = compile_peak = 0
        timeline = result.timeline
    else:
        prepared = prepare(script, RenderOptions(cache_dir=Path(cache)))
        compiled = time.perf_counter()
        compile_peak = _vm_hwm_kb()
        timeline = prepared.timeline
        settings = ExportSettings(fmt, timeline.sample_rate, timeline.channels,
                                  Tags(title="bench"))
        export(prepared.blocks(), Path(out), settings)
        prepared.close()
    rendered = time.perf_counter()
    if fmt == "full":
        compiled = started
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({
        "compile_s": compiled - started, "render_s": rendered - compiled,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "rss_kb": _vm_hwm_kb(), "compile_rss_kb": compile_peak,
        "length": timeline.length, "clips": len(timeline.clips)}))


def _vm_hwm_kb() -> int:
    """This process's peak RSS. Not ru_maxrss: after a vfork+exec that starts at the parent's."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError("no VmHWM in /proc/self/status")


def run_child(script: Path, fmt: str, out: Path, cache: Path) -> dict[str, float]:
    command = [sys.executable, __file__, "--child", str(script), fmt, str(out), str(cache)]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def ffmpeg_alone(wav: Path, out: Path) -> float:
    """Seconds ffmpeg takes to encode `wav` to MP3 with the options export.py uses."""
    command = [find_ffmpeg().path, "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
               "-i", str(wav), *encoder_options(ExportSettings("mp3", RATE, 2)), str(out)]
    started = time.perf_counter()
    subprocess.run(command, check=True)
    return time.perf_counter() - started


# --- the parent: measure and report ----------------------------------------------------

@dataclass
class Result:
    minutes: int
    cues: int
    mix: dict[str, int]
    clips: int = 0
    exact: bool = False
    runs: dict[str, list[float]] = field(default_factory=dict)

    def add(self, name: str, value: float) -> None:
        self.runs.setdefault(name, []).append(value)

    def med(self, name: str) -> float:
        return statistics.median(self.runs[name])

    def peak(self, name: str) -> float:
        return max(self.runs[name])


def measure(session: Session, work: Path, cache: Path, repeat: int) -> Result:
    script = work / f"bench-{session.minutes}m.yaml"
    script.write_text(session.yaml)
    with prepare(script, RenderOptions(cache_dir=cache)) as warm:  # warm-up: fills the cache
        made = warm.lines_made
        exact = warm.timeline.length == session.minutes * 60 * RATE
    if made:
        print(f"  note: the warm-up made {made} lines the lexicon had not", flush=True)
    result = Result(session.minutes, sum(session.mix.values()), session.mix, exact=exact)
    wav, mp3, alone = work / "out.wav", work / "out.mp3", work / "alone.mp3"
    seconds = session.minutes * 60
    for run in range(repeat):
        print(f"  {session.minutes} min: run {run + 1}/{repeat}", flush=True)
        for fmt, path in (("wav", wav), ("mp3", mp3), ("full", mp3)):
            data = run_child(script, fmt, path, cache)
            result.clips = int(data["clips"])
            result.exact = result.exact and data["length"] == seconds * RATE
            for key in ("compile_s", "render_s", "cpu_s"):
                result.add(f"{fmt}_{key[:-2]}", data[key])
            for key in ("rss_kb", "compile_rss_kb"):
                result.add(f"{fmt}_{key[:-3]}", data[key] / 1024)  # MiB
        result.add("alone", ffmpeg_alone(wav, alone))
        result.add("wav_mb", wav.stat().st_size / 2**20)
        for path in (mp3, alone):
            path.unlink()
    wav.unlink()
    return result


def table(results: list[Result]) -> list[str]:
    rows: list[tuple[str, list[str]]] = []

    def row(label: str, fmt: str, values: list[float]) -> None:
        rows.append((label, [fmt.format(v) for v in values]))

    sec = [r.minutes * 60.0 for r in results]
    rows.append(("session length", [f"{r.minutes} min" + ("" if r.exact else " (!)")
                                    for r in results]))
    rows.append(("cues (steps) / clips", [f"{r.cues} / {r.clips}" for r in results]))
    row("compile, warm cache (s)", "{:.2f}", [r.med("wav_compile") for r in results])
    row("WAV render (s)", "{:.2f}", [r.med("wav_render") for r in results])
    row("WAV speed (x real time)", "{:.0f}x", [s / r.med("wav_render")
                                               for s, r in zip(sec, results, strict=True)])
    row("  incl. compile", "{:.0f}x", [s / (r.med("wav_render") + r.med("wav_compile"))
                                       for s, r in zip(sec, results, strict=True)])
    row("WAV file (MB)", "{:.0f}", [r.med("wav_mb") for r in results])
    row("MP3 render (s)", "{:.2f}", [r.med("mp3_render") for r in results])
    row("ffmpeg alone WAV->MP3 (s)", "{:.2f}", [r.med("alone") for r in results])
    row("MP3 render / ffmpeg alone", "{:.2f}x", [r.med("mp3_render") / r.med("alone")
                                                 for r in results])
    row("  incl. compile", "{:.2f}x", [(r.med("mp3_render") + r.med("mp3_compile"))
                                       / r.med("alone") for r in results])
    row("MP3 speed (x real time)", "{:.0f}x", [s / r.med("mp3_render")
                                               for s, r in zip(sec, results, strict=True)])
    rows.append(("child CPU, WAV / MP3 (s)", [f"{r.med('wav_cpu'):.1f} / "
                                               f"{r.med('mp3_cpu'):.1f}" for r in results]))
    row("peak RSS after compile (MB)", "{:.0f}", [r.peak("wav_compile_rss") for r in results])
    row("peak RSS, WAV render (MB)", "{:.0f}", [r.peak("wav_rss") for r in results])
    row("peak RSS, MP3 render (MB)", "{:.0f}", [r.peak("mp3_rss") for r in results])
    row("MP3 as `render` makes it, with", "{:.2f}", [r.med("full_render") for r in results])
    row("  loudness passes (s)", "{:.0f}x", [s / r.med("full_render")
                                             for s, r in zip(sec, results, strict=True)])
    row("  peak RSS (MB)", "{:.0f}", [r.peak("full_rss") for r in results])
    width = max(len(label) for label, _ in rows)
    cols = [max(len(values[i]) for _, values in rows) for i in range(len(results))]
    out = []
    for n, (label, values) in enumerate(rows):
        cells = "  ".join(f"{v:>{c}}" for v, c in zip(values, cols, strict=True))
        out.append(f"  {label:<{width}}  {cells}")
        if n == 0:
            out.append("  " + "-" * (width + sum(c + 2 for c in cols)))
    return out


def verdicts(results: list[Result]) -> list[str]:
    def mark(ok: bool) -> str:
        return "PASS" if ok else "FAIL"

    hour = next((r for r in results if r.minutes == 60), max(results, key=lambda r: r.minutes))
    note = "" if hour.minutes == 60 else f" (measured on {hour.minutes} min, not 60)"
    speed = hour.minutes * 60 / hour.med("wav_render")
    ratio = hour.med("mp3_render") / hour.med("alone")
    rss = {r.minutes: max(r.peak("wav_rss"), r.peak("mp3_rss")) for r in results}
    worst = max(rss.values())
    spread = ", ".join(f"{m} min {v:.0f} MB" for m, v in rss.items())
    return [
        f"  [{mark(speed >= WAV_TARGET_X)}] WAV render >= {WAV_TARGET_X:.0f}x real time: "
        f"{speed:.0f}x{note}",
        f"  [{mark(ratio <= MP3_TARGET_RATIO)}] MP3 render <= {MP3_TARGET_RATIO}x ffmpeg alone: "
        f"{ratio:.2f}x{note}",
        f"  [{mark(worst < RSS_TARGET_MB)}] peak RSS < {RSS_TARGET_MB:.0f} MB at every length: "
        f"{spread}",
    ]


def make_speech(lexicon: Path, cache: Path, attempts: int = 5
                ) -> tuple[float, int, dict[str, Fraction], list[str]]:
    """Fill the cold cache; retry, since pyttsx3 now and then returns an empty file."""
    failures: list[str] = []
    started = time.perf_counter()
    for _ in range(attempts):
        try:
            with prepare(lexicon, RenderOptions(cache_dir=cache)) as cold:
                # the cache started empty, so every distinct line was made
                made = len({c.text for c in cold.timeline.clips if c.text is not None})
                seconds = time.perf_counter() - started
                lengths = {c.text: Fraction(c.length, RATE) for c in cold.timeline.clips
                           if c.kind == "say" and c.text is not None}
                return seconds, made, lengths, failures
        except Exception as exc:  # noqa: BLE001 - reported, then retried
            failures.append(f"{type(exc).__name__}: {exc}")
    raise RuntimeError(f"speech failed {attempts} times: {failures[-1]}")


def long_bed(hours: float, work: Path, cache: Path) -> str:
    """Render a mostly-bed session (ocean, a bell and a line, then `at:` the end) to MP3."""
    script = work / f"bed-{hours:g}h.yaml"
    script.write_text(
        "title: Long bed\nbed: {sound: ocean, level: -28dB}\nsteps:\n"
        "  - bell: bowl\n  - say: Rest now.\n"
        f"  - at: {hours * 3600:.3f}s\n", encoding="utf-8")
    result = run_child(script, "full", work / "bed.mp3", cache)
    seconds = result["length"] / RATE
    mb = result["rss_kb"] / 1024
    mark = "PASS" if mb < RSS_TARGET_MB else "FAIL"
    return (f"  [{mark}] {hours:g} h bed: ocean to MP3 (loudness normalised): "
            f"{result['render_s']:.1f}s "
            f"({seconds / result['render_s']:.0f}x real time), peak RSS {mb:.0f} MB "
            f"(target < {RSS_TARGET_MB:.0f} MB)")


def play_latency(work: Path, cache: Path, runs: int = 5) -> str:
    """Seconds from typing `audioguide breathe box` to its first sound reaching the device.

    The device is ALSA's `file` plugin (an .asoundrc in a private HOME), which writes what
    is played to a file the moment the backend hands it over; the file is watched for the
    first audible sample. (Through a PulseAudio null sink and its monitor even `paplay`
    takes over a second to be heard, so that rig measures the server, not audioguide.)
    The speech is cached first, as the target asks.
    """
    home = work / "alsa-home"
    home.mkdir()
    raw = work / "alsa.raw"
    (home / ".asoundrc").write_text(
        f'pcm.!default {{\n  type file\n  slave.pcm "null"\n  file "{raw}"\n'
        '  format "raw"\n}\n', encoding="utf-8")
    (home / "client.conf").write_text("autospawn = no\n", encoding="utf-8")
    env = {**os.environ, "HOME": str(home), "AUDIOGUIDE_CACHE": str(cache),
           "PULSE_SERVER": f"unix:{home}/none", "PULSE_CLIENTCONFIG": str(home / "client.conf")}
    command = [sys.executable, "-m", "audioguide", "breathe", "box", "--cycles", "1"]
    subprocess.run(command + ["--save", str(work / "warm.wav")], env=env, check=True,
                   capture_output=True)  # fills the speech cache
    latencies = []
    for _ in range(runs):
        raw.unlink(missing_ok=True)
        started = time.perf_counter()
        player = subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        heard, seen = None, 0
        while heard is None and time.perf_counter() - started < 10:
            if raw.exists():
                with raw.open("rb") as handle:
                    handle.seek(seen - seen % 4)
                    data = handle.read(4 << 20)
                fresh = np.frombuffer(data[: len(data) - len(data) % 4], "<f4")
                if fresh.size and np.abs(fresh).max() > 1e-3:
                    heard = time.perf_counter() - started
                seen += len(data) - len(data) % 4 - seen % 4
            time.sleep(0.002)
        player.send_signal(signal.SIGINT)
        player.wait(timeout=10)
        if heard is not None:
            latencies.append(heard)
    if not latencies:
        return "  [FAIL] play latency: no sound reached the device"
    best, median = min(latencies), statistics.median(latencies)
    mark = "PASS" if median < 1.0 else "FAIL"
    return (f"  [{mark}] command to first sound at the device, `audioguide breathe box` with "
            f"cached speech: median {median:.2f}s, best {best:.2f}s of {len(latencies)} "
            "(target < 1 s)")


def mix_bench(hours: float, work: Path) -> str:
    """A playlist of ordinary MP3s (5-minute tracks, made by ffmpeg) mixed into one MP3
    with crossfades and loudness matching, in a child process whose peak RSS is read."""
    folder = work / "mix"
    folder.mkdir()
    tracks = max(1, round(hours * 60 / 5))
    for index in range(tracks):
        hz = 110 * 2 ** ((index % 12) / 12)
        source = (f"sine=f={hz:.2f}:d=300,volume=0.3[a];sine=f={hz * 1.5:.2f}:d=300,"
                  f"volume=0.2[b];anoisesrc=d=300:c=pink:a=0.03[c];[a][b][c]amix=inputs=3")
        subprocess.run([find_ffmpeg().path, "-v", "error", "-y", "-filter_complex", source,
                        "-ac", "2", "-ar", "44100", "-c:a", "libmp3lame", "-q:a", "4",
                        str(folder / f"track-{index:03d}.mp3")], check=True)
    playlist = work / "mix.yaml"
    playlist.write_text("playlist: Two hours\ntracks:\n  - folder: mix\ncrossfade: 4s\n",
                        encoding="utf-8")
    command = [sys.executable, __file__, "--child", str(playlist), "mix",
               str(work / "mix-out.mp3"), str(work / "unused-cache")]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    elapsed = time.perf_counter() - started
    result = json.loads(done.stdout.strip().splitlines()[-1])
    mb = result["rss_kb"] / 1024
    mark = "PASS" if mb < 300 else "FAIL"
    seconds = result["length"] / RATE
    return (f"  [{mark}] {hours:g} h mix of {tracks} MP3s (crossfades, loudness-matched, "
            f"chapters) to MP3: {elapsed:.1f}s ({seconds / elapsed:.0f}x real time), peak RSS "
            f"{mb:.0f} MB (target < 300 MB)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=int, nargs="+", default=[10, 60],
                        help="session lengths to measure (default: 10 60)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per length (median shown)")
    parser.add_argument("--quick", action="store_true", help="10 minutes, one run")
    parser.add_argument("--bed", default="brown", help="bed under the session, or none "
                        "(white, pink, brown, ocean, rain; default brown)")
    parser.add_argument("--tmpdir", type=Path, help="where to make the work folder")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    parser.add_argument("--long-bed", type=float, nargs="*", default=[], metavar="HOURS",
                        help="also render an ocean bed of these many hours to MP3 "
                             "(e.g. --long-bed 0.25 8)")
    parser.add_argument("--play-latency", action="store_true",
                        help="also time command-to-first-sound for `breathe` (ALSA file plugin)")
    parser.add_argument("--mix-hours", type=float, metavar="HOURS",
                        help="also mix a playlist of this many hours of MP3s (e.g. 2)")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    minutes, repeat = ([10], 1) if args.quick else (sorted(set(args.minutes)), args.repeat)
    work = Path(tempfile.mkdtemp(prefix="audioguide-bench-", dir=args.tmpdir))
    cache = work / "speech-cache"
    try:
        lexicon = work / "lexicon.yaml"
        lexicon.write_text(lexicon_yaml())
        print(f"work folder {work}; making speech with a cold cache...", flush=True)
        cold_s, lines, say_length, failures = make_speech(lexicon, cache)
        results = []
        for length in minutes:
            session = make_session(length, say_length, args.bed)
            results.append(measure(session, work, cache, repeat))
        ffmpeg = find_ffmpeg()
        print("\naudioguide render benchmark")
        cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text()
                    .splitlines() if line.startswith("model name")), platform.machine())
        print(f"  machine: {os.cpu_count()} CPUs ({cpu}),"
              f" Python {platform.python_version()} on {platform.system()} {platform.release()}")
        print(f"  ffmpeg: {ffmpeg.path} ({ffmpeg.origin})")
        print(f"  sessions: {RATE} Hz stereo, {CUES_PER_HOUR} cues an hour, bed: {args.bed}; "
              f"median of {repeat} run(s), each in a fresh process")
        print(f"  cold speech: {lines} distinct lines made in {cold_s:.2f}s "
              f"({lines / cold_s:.1f} lines/s, pyttsx3)")
        for error in failures:
            print(f"    (a cold attempt failed and was retried: {error})")
        mixes = "; ".join(f"{r.minutes} min: " + ", ".join(f"{k} {v}" for k, v in r.mix.items())
                          for r in results)
        print(f"  cue mix: {mixes}\n")
        print("\n".join(table(results)))
        if not all(r.exact for r in results):
            print("  (!) the rendered length was not exactly the asked minutes")
        print("\nTargets\n" + "\n".join(verdicts(results)))
        for hours in args.long_bed:
            print(long_bed(hours, work, cache), flush=True)
        if args.play_latency:
            print(play_latency(work, cache), flush=True)
        if args.mix_hours:
            print(mix_bench(args.mix_hours, work), flush=True)
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
