#!/usr/bin/env python3
"""Benchmark: audioguide against what a user would do instead, on the same timelines.

A report, not a test: it prints a table, writes docs/benchmarks.md, and exits 0.

    .venv/bin/python scripts/bench.py                    # 10 and 60 minutes x 100 and 1,000 cues
    .venv/bin/python scripts/bench.py --minutes 10 --cues 100 --no-write   # a quick look

Every timeline is a set of cues — spoken clips (WAV files made once by the real pyttsx3
voice) started at exact times — over a looping brown-noise bed file. The same clip
files, bed file and start times go to:

- audioguide: a script of `at:` + `sound:` steps with the bed, rendered by
  `audioguide render --loudness off` (no loudness passes: the others have none);
- pydub: the obvious script — a silent canvas, the bed overlaid, then
  `canvas = canvas.overlay(clip, position=ms)` for every cue, then `export`;
- ffmpeg: one filter graph — each clip file read once, `asplit` into its uses, `adelay`
  to its start (in samples), `amix` of everything with the looped bed, written by ffmpeg.

Each run is a fresh process timed from the outside (wall clock, start-up included); peak
RSS is that of the largest process in the run (a Python process, or the ffmpeg it
starts). The MP3 rows time `audioguide render -o x.mp3 --loudness off` against ffmpeg
encoding audioguide's own WAV of the same session with the same encoder settings (the
floor: no tool can export faster than its encoder). Runs are repeated (`--repeat`) and
the median is shown.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import wave
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
RATE = 44100
CHANNELS = 2
BED_SECONDS = 120          # the bed file loops; two minutes, as bed loops usually are
BED_DBFS = -30.0
SLACK_S = 0.04             # room left after each clip before the next cue
MP3_TARGET = 1.2

SENTENCES = [
    "Welcome, and settle in.", "Let your shoulders drop.", "Notice the breath as it is.",
    "Soften the muscles of your face.", "Feel the weight of your body.",
    "Let your hands rest easily.", "There is nowhere else to be.",
    "Breathe in slowly through the nose.", "Let the breath out gently.",
    "Let each thought drift past.", "Return to the breath, kindly.",
    "Feel your feet on the floor.", "Rest in this quiet moment.",
    "Listen to the sounds around you.", "Nothing needs to change right now.",
    "You are safe and steady here.", "Follow the next breath all the way.",
    "Let the exhale be long.", "Bring a kind thought to mind.", "Simply be here.",
]
WORDS = ["in", "out", "hold", "rest", "calm", "soft", "slow", "ease", "still", "now",
         "breathe", "let go", "release", "and", "again", "good", "stay", "feel", "drop", "sigh"]


# --- the clips, the bed and the timelines (made once, not timed) ------------------------

def make_clips(folder: Path, cache: Path) -> dict[str, float]:
    """Speak every sentence and word with the real pyttsx3 voice; write each as a WAV."""
    from audioguide.jobs.options import RenderOptions
    from audioguide.jobs.prepare import prepare

    folder.mkdir(parents=True, exist_ok=True)
    script = folder / "lexicon.yaml"
    lines = ["audioguide: 1", "title: lexicon",
             f"output: {{sample_rate: {RATE}, channels: {CHANNELS}}}", "steps:"]
    lines += [f"  - say: {json.dumps(text)}" for text in SENTENCES]
    lines += [f"  - say: {{text: {json.dumps(word)}, rate: 200}}" for word in WORDS]
    script.write_text("\n".join(lines) + "\n", encoding="utf-8")
    lengths: dict[str, float] = {}
    with prepare(script, RenderOptions(cache_dir=cache)) as prepared:
        for index, clip in enumerate(c for c in prepared.timeline.clips if c.kind == "say"):
            audio = prepared.library.open(clip.source).read(clip.length)
            name = f"clip{index:02d}.wav"
            write_wav(folder / name, audio)
            lengths[name] = clip.length / RATE
    return lengths


def write_wav(path: Path, audio: np.ndarray) -> None:
    pcm = np.clip(np.round(audio * 32767), -32768, 32767).astype("<i2")
    with wave.open(str(path), "wb") as file:
        file.setnchannels(CHANNELS)
        file.setsampwidth(2)
        file.setframerate(RATE)
        file.writeframes(pcm.tobytes())


def make_bed(path: Path) -> None:
    """Two minutes of brown noise at -30 dBFS RMS, its ends faded into each other."""
    rng = np.random.default_rng(5)
    frames = BED_SECONDS * RATE
    white = rng.standard_normal((frames, CHANNELS))
    brown = np.cumsum(white, axis=0)
    brown -= np.linspace(brown[0], brown[-1], frames)          # ends meet: no jump
    brown -= brown.mean(axis=0)
    brown *= 10 ** (BED_DBFS / 20) / np.sqrt(np.mean(brown ** 2))
    write_wav(path, brown.astype(np.float32))


@dataclass
class Timeline:
    minutes: int
    cues: list[tuple[int, str]]        # (start in ms, clip file name)

    @property
    def name(self) -> str:
        return f"{self.minutes}m-{len(self.cues)}cues"


def make_timeline(minutes: int, count: int, lengths: dict[str, float], seed: int = 11
                  ) -> Timeline:
    """`count` cues spread evenly over `minutes`, each a clip that ends before the next."""
    rng = random.Random(seed * 100_000 + minutes * 1000 + count)
    spacing = minutes * 60 / count
    fitting = sorted(name for name, seconds in lengths.items() if seconds + SLACK_S <= spacing)
    if not fitting:
        raise SystemExit(f"no clip is shorter than {spacing - SLACK_S:.2f} s")
    cues = []
    for index in range(count):
        start_ms = int(index * spacing * 100) * 10     # whole 10 ms: whole samples
        cues.append((start_ms, rng.choice(fitting)))
    return Timeline(minutes, cues)


def audioguide_script(timeline: Timeline, clips: Path) -> str:
    lines = ["audioguide: 1", f"title: bench {timeline.name}",
             f"output: {{format: wav, sample_rate: {RATE}, channels: {CHANNELS}}}",
             f"bed: {{sound: {clips / 'bed.wav'}, level: 0dB, duck: 0dB, fade_in: 0, "
             "fade_out: 0}", "steps:"]
    for start_ms, name in timeline.cues:
        lines.append(f"  - at: {start_ms / 1000:.3f}")
        lines.append(f"  - sound: {clips / name}")
    lines.append(f"  - at: {timeline.minutes * 60}")
    return "\n".join(lines) + "\n"


def ffmpeg_graph(timeline: Timeline) -> tuple[list[str], str]:
    """Input files (bed first) and the filter graph mixing them at the cue times."""
    names = sorted({name for _, name in timeline.cues})
    uses: dict[str, list[int]] = {name: [] for name in names}
    for start_ms, name in timeline.cues:
        uses[name].append(start_ms * RATE // 1000)
    parts = []
    labels = ["[0:a]"]
    for index, name in enumerate(names, start=1):
        starts = uses[name]
        split = "".join(f"[s{index}_{k}]" for k in range(len(starts)))
        parts.append(f"[{index}:a]asplit={len(starts)}{split}" if len(starts) > 1
                     else f"[{index}:a]anull[s{index}_0]")
        for k, start in enumerate(starts):
            parts.append(f"[s{index}_{k}]adelay=delays={start}S:all=1[d{index}_{k}]")
            labels.append(f"[d{index}_{k}]")
    seconds = timeline.minutes * 60
    parts.append(f"{''.join(labels)}amix=inputs={len(labels)}:duration=first:normalize=0,"
                 f"atrim=end_sample={seconds * RATE}[out]")
    return ["bed.wav"] + names, ";\n".join(parts)


# --- the runs (each a fresh process, timed from outside) --------------------------------

PYDUB_CHILD = r'''
import json, sys
from pydub import AudioSegment
plan = json.load(open(sys.argv[1]))
bed = AudioSegment.from_wav(plan["bed"])
canvas = AudioSegment.silent(duration=plan["seconds"] * 1000, frame_rate=plan["rate"])
canvas = canvas.set_channels(2).set_sample_width(2)
looped = bed * (plan["seconds"] * 1000 // len(bed) + 1)
canvas = canvas.overlay(looped[: plan["seconds"] * 1000])
clips = {}
for start_ms, name in plan["cues"]:
    if name not in clips:
        clips[name] = AudioSegment.from_wav(plan["folder"] + "/" + name)
    canvas = canvas.overlay(clips[name], position=start_ms)
canvas.export(sys.argv[2], format="wav")
'''


def measured(command: list[str], cwd: Path, timeout: float) -> tuple[float, float] | None:
    """(wall seconds, peak RSS MB of the largest process) of a command; None on timeout."""
    probe = ("import json, resource, subprocess, sys, time\n"
             "t = time.perf_counter()\n"
             "code = subprocess.run(sys.argv[2:], timeout=float(sys.argv[1])).returncode\n"
             "wall = time.perf_counter() - t\n"
             "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
             "print(json.dumps([code, wall, peak]))\n")
    try:
        done = subprocess.run([sys.executable, "-c", probe, str(timeout), *command], cwd=cwd,
                              capture_output=True, text=True, timeout=timeout + 30)
    except subprocess.TimeoutExpired:
        return None
    if done.returncode != 0:
        if "TimeoutExpired" in done.stderr:
            return None
        raise RuntimeError(f"{command[0]} failed: {done.stderr.strip()[-800:]}")
    code, wall, peak_kb = json.loads(done.stdout.strip().splitlines()[-1])
    if code != 0:
        raise RuntimeError(f"{' '.join(command[:3])} … exited {code}: {done.stderr[-800:]}")
    return wall, peak_kb / 1024


@dataclass
class Row:
    timeline: Timeline
    runs: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    timed_out: set[str] = field(default_factory=set)
    frames: dict[str, int] = field(default_factory=dict)
    agreement: dict[str, float] = field(default_factory=dict)   # dB of difference, RMS

    def add(self, tool: str, result: tuple[float, float] | None) -> None:
        if result is None:
            self.timed_out.add(tool)
        else:
            self.runs.setdefault(tool, []).append(result)

    def wall(self, tool: str) -> float | None:
        if tool in self.timed_out or tool not in self.runs:
            return None
        return statistics.median(w for w, _ in self.runs[tool])

    def rss(self, tool: str) -> float | None:
        if tool not in self.runs:
            return None
        return max(r for _, r in self.runs[tool])


def difference_db(ours: Path, theirs: Path) -> float:
    """RMS of the difference of two WAVs over their first 100 s (the bed file's first pass,
    before audioguide's crossfaded loop and a plain loop part ways), in dB full scale."""
    def first(path: Path) -> np.ndarray:
        with wave.open(str(path), "rb") as file:
            data = file.readframes(100 * RATE)
        return np.frombuffer(data, dtype="<i2").astype(np.float64) / 32768
    a, b = first(ours), first(theirs)
    size = min(len(a), len(b))
    rms = float(np.sqrt(np.mean((a[:size] - b[:size]) ** 2)))
    return 20 * np.log10(max(rms, 1e-10))


def wav_frames(path: Path) -> int:
    with wave.open(str(path), "rb") as file:
        return file.getnframes()


def run_timeline(timeline: Timeline, work: Path, clips: Path, repeat: int, timeout: float,
                 tools: list[str]) -> Row:
    row = Row(timeline)
    folder = work / timeline.name
    folder.mkdir(exist_ok=True)
    script = folder / "session.yaml"
    script.write_text(audioguide_script(timeline, clips), encoding="utf-8")
    plan = folder / "plan.json"
    plan.write_text(json.dumps({"seconds": timeline.minutes * 60, "rate": RATE,
                                "bed": str(clips / "bed.wav"), "folder": str(clips),
                                "cues": timeline.cues}))
    inputs, graph = ffmpeg_graph(timeline)
    (folder / "graph.txt").write_text(graph)
    ffmpeg = _ffmpeg()
    audioguide = str(Path(sys.executable).with_name("audioguide"))
    commands = {
        "audioguide": [audioguide, "render", str(script), "-o", str(folder / "ag.wav"),
                       "--loudness", "off", "-q"],
        "pydub": [sys.executable, "-c", PYDUB_CHILD, str(plan), str(folder / "pydub.wav")],
        "ffmpeg": [ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
                   "-stream_loop", "-1", "-i", str(clips / "bed.wav"),
                   *[arg for name in inputs[1:] for arg in ("-i", str(clips / name))],
                   *_graph_option(ffmpeg, folder / "graph.txt"), "-map", "[out]",
                   "-c:a", "pcm_s16le", str(folder / "ffmpeg.wav")],
    }
    slow: set[str] = set()    # a tool that takes minutes is run once
    for attempt in range(repeat):
        for tool in tools:
            if tool in row.timed_out or tool in slow:
                continue
            result = measured(commands[tool], folder, timeout)
            row.add(tool, result)
            out = folder / {"audioguide": "ag.wav", "pydub": "pydub.wav",
                            "ffmpeg": "ffmpeg.wav"}[tool]
            if result is not None and attempt == 0:
                row.frames[tool] = wav_frames(out)
                if tool != "audioguide" and (folder / "ag.wav").exists():
                    row.agreement[tool] = difference_db(folder / "ag.wav", out)
            if result is not None and result[0] > 120:
                slow.add(tool)
            print(f"  {timeline.name:>16} {tool:>10}: "
                  + (f"{result[0]:7.2f} s, {result[1]:6.0f} MB" if result else "timed out"),
                  flush=True)
    # MP3: audioguide's whole render against ffmpeg encoding audioguide's WAV alone.
    from audioguide.output.export import ExportSettings, encoder_options
    encode = [ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-i",
              str(folder / "ag.wav"), *encoder_options(ExportSettings("mp3", RATE, CHANNELS)),
              str(folder / "floor.mp3")]
    mp3 = [audioguide, "render", str(script), "-o", str(folder / "ag.mp3"), "--loudness",
           "off", "-q"]
    for _ in range(repeat):
        row.add("mp3 floor", measured(encode, folder, timeout))
        row.add("mp3 audioguide", measured(mp3, folder, timeout))
    print(f"  {timeline.name:>16}        mp3: {row.wall('mp3 audioguide'):.2f} s vs floor "
          f"{row.wall('mp3 floor'):.2f} s", flush=True)
    for name in ("ag.wav", "pydub.wav", "ffmpeg.wav"):
        (folder / name).unlink(missing_ok=True)
    return row


def _graph_option(ffmpeg: str, graph: Path) -> list[str]:
    """ffmpeg 7 reads an option's value from a file with `-/option`; older ones had
    -filter_complex_script."""
    version = subprocess.run([ffmpeg, "-version"], capture_output=True, text=True).stdout
    major = version.split("version", 1)[1].strip().lstrip("n").split(".", 1)[0]
    if major.isdigit() and int(major) >= 7:
        return ["-/filter_complex", str(graph)]
    return ["-filter_complex_script", str(graph)]


def _ffmpeg() -> str:
    from audioguide.ffmpeg import find_ffmpeg
    return find_ffmpeg().path


# --- the report ------------------------------------------------------------------------

def _fmt_wall(row: Row, tool: str, seconds: int, timeout: float) -> str:
    wall = row.wall(tool)
    if tool not in row.runs and tool not in row.timed_out:
        return "–"
    if wall is None:
        return f"> {timeout:.0f} s (stopped)"
    return f"{wall:.2f} s ({seconds / wall:,.0f}x)"


def table(rows: list[Row], timeout: float) -> list[str]:
    out = ["| timeline | audioguide | pydub overlay loop | ffmpeg adelay + amix | "
           "peak RSS (ag / pydub / ffmpeg) | audioguide ahead by |",
           "|---|---:|---:|---:|---:|---:|"]
    for row in rows:
        seconds = row.timeline.minutes * 60
        walls = {tool: row.wall(tool) for tool in ("audioguide", "pydub", "ffmpeg")}
        rss = " / ".join(f"{row.rss(t):.0f}" if row.rss(t) is not None else "–"
                         for t in ("audioguide", "pydub", "ffmpeg")) + " MB"
        ours = walls["audioguide"]
        others = [w if w is not None else timeout for t, w in walls.items()
                  if t != "audioguide" and (t in row.runs or t in row.timed_out)]
        lead = (f"{min(others) / ours:.1f}x" if ours and others else "–")
        out.append(f"| {row.timeline.minutes} min, {len(row.timeline.cues):,} cues | "
                   f"{_fmt_wall(row, 'audioguide', seconds, timeout)} | "
                   f"{_fmt_wall(row, 'pydub', seconds, timeout)} | "
                   f"{_fmt_wall(row, 'ffmpeg', seconds, timeout)} | {rss} | {lead} |")
    return out


def mp3_table(rows: list[Row]) -> list[str]:
    out = ["| timeline | audioguide render to MP3 | ffmpeg encoding the WAV alone | ratio |",
           "|---|---:|---:|---:|"]
    for row in rows:
        ours, floor = row.wall("mp3 audioguide"), row.wall("mp3 floor")
        ratio = f"{ours / floor:.2f}x" if ours and floor else "–"
        out.append(f"| {row.timeline.minutes} min, {len(row.timeline.cues):,} cues | "
                   f"{ours:.2f} s | {floor:.2f} s | {ratio} |")
    return out


def verdicts(rows: list[Row], timeout: float) -> list[str]:
    lines = []
    for row in rows:
        ours = row.wall("audioguide")
        others = [t for t in ("pydub", "ffmpeg") if t in row.runs or t in row.timed_out]
        beaten = [t for t in others
                  if ours is not None and (row.wall(t) is None and t in row.timed_out
                                           or (row.wall(t) or 0) > ours)]
        ratio = (row.wall("mp3 audioguide") or 0) / (row.wall("mp3 floor") or 1)
        expected = row.timeline.minutes * 60 * RATE
        lengths = "all exact" if all(f == expected for f in row.frames.values()) else (
            "lengths " + ", ".join(f"{t} {f}" for t, f in row.frames.items()))
        lines.append(f"- {row.timeline.minutes} min, {len(row.timeline.cues):,} cues: "
                     f"{'PASS' if beaten == others else 'FAIL'} ahead of "
                     f"{', '.join(beaten) or 'neither'}; MP3 {ratio:.2f}x the floor "
                     f"{'PASS' if ratio <= MP3_TARGET else 'FAIL'}; output {lengths} "
                     f"({expected:,} frames)"
                     + "".join(f"; {t} differs from audioguide by {d:.0f} dB before the bed "
                               "first loops" for t, d in row.agreement.items()))
    return lines


def machine() -> str:
    from audioguide.ffmpeg import find_ffmpeg
    cpu = next((line.split(":", 1)[1].strip() for line in
                Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")),
               platform.processor() or "unknown CPU")
    import pydub
    found = find_ffmpeg()
    version = subprocess.run([found.path, "-version"], capture_output=True, text=True
                             ).stdout.split("\n", 1)[0]
    return (f"{cpu}, {os.cpu_count()} cores; Python {platform.python_version()}; "
            f"pydub {getattr(pydub, '__version__', '0.25')}; {version.split(' Copyright')[0]} "
            f"({found.origin})")


def write_report(path: Path, rows: list[Row], timeout: float, repeat: int, made_s: float,
                 command: str) -> None:
    today = datetime.date.today().isoformat()
    text = [
        "# Benchmarks",
        "",
        f"Measured {today} by `{command}` on {machine()}. "
        f"Median of {repeat} run{'s' if repeat > 1 else ''}; each run is a fresh process "
        "timed from outside, start-up included. Regenerate with the same command; the "
        "script's docstring says exactly what each side does.",
        "",
        "Each timeline is a set of spoken clips (WAV files made once by the real pyttsx3 "
        "voice, 0.3–2.6 s long) started at exact times over a looping two-minute brown-noise "
        "bed file. All three tools get the same files and the same start times and write "
        "a 16-bit stereo 44.1 kHz WAV:",
        "",
        "- **audioguide**: a script of `at:` + `sound:` steps over the bed, "
        "`audioguide render --loudness off`;",
        "- **pydub**: a silent canvas, the bed overlaid, then "
        "`canvas = canvas.overlay(clip, position=ms)` for each cue, then `export`;",
        "- **ffmpeg**: one filter graph: each clip read once, `asplit` into its uses, "
        "`adelay` to its start sample, `amix` (normalize=0) with the looped bed.",
        "",
        "## Mixing to WAV",
        "",
        *table(rows, timeout),
        "",
        "Speed is shown as a multiple of real time. Peak RSS is that of the largest process "
        "in the run. audioguide's memory does not grow with the length of the session; "
        "pydub holds the whole canvas and copies it at every overlay. A run that took over "
        "two minutes was not repeated (its single time is shown); a run stopped at the "
        f"{timeout:.0f} s limit is shown as such.",
        "",
        "## MP3 export against the encoder alone",
        "",
        *mp3_table(rows),
        "",
        "The floor is ffmpeg encoding audioguide's finished WAV of the same session with "
        "the same encoder settings; audioguide mixes and encodes at the same time (and "
        "writes tags and chapters), so the ratio is its whole overhead on top of encoding.",
        "",
        "## Verdicts",
        "",
        "Each line checks the targets. The outputs are the same mix: over the bed file's "
        "first pass, the other tools' WAVs differ from audioguide's by the RMS level shown "
        "(audioguide fades each clip's first and last 3 ms; the others do not); later, "
        "audioguide's crossfaded bed loop and the plain loops part ways.",
        "",
        *verdicts(rows, timeout),
        "",
        f"Making the clips with pyttsx3 (not timed above) took {made_s:.1f} s.",
        "",
    ]
    path.write_text("\n".join(text), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=int, nargs="+", default=[10, 60])
    parser.add_argument("--cues", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--repeat", type=int, default=3, help="runs of each (median shown)")
    parser.add_argument("--timeout", type=float, default=1200,
                        help="seconds before a run is stopped and shown as slower than that")
    parser.add_argument("--tools", nargs="+", default=["audioguide", "pydub", "ffmpeg"])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks.md")
    parser.add_argument("--no-write", action="store_true", help="print only")
    parser.add_argument("--tmpdir", type=Path, help="where to make the work folder")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="audioguide-bench-", dir=args.tmpdir))
    os.environ["AUDIOGUIDE_CACHE"] = str(work / "cache")     # the user's cache stays out
    try:
        clips = work / "clips"
        started = time.perf_counter()
        lengths = make_clips(clips, work / "cache")
        made_s = time.perf_counter() - started
        make_bed(clips / "bed.wav")
        print(f"{len(lengths)} clips ({min(lengths.values()):.2f}–{max(lengths.values()):.2f} s)"
              f" made in {made_s:.1f} s; work folder {work}", flush=True)
        rows = []
        for minutes in args.minutes:
            for count in args.cues:
                timeline = make_timeline(minutes, count, lengths)
                rows.append(run_timeline(timeline, work, clips, args.repeat, args.timeout,
                                         args.tools))
        print()
        print("\n".join(table(rows, args.timeout)))
        print()
        print("\n".join(mp3_table(rows)))
        print()
        print("\n".join(verdicts(rows, args.timeout)))
        if not args.no_write:
            command = "scripts/bench.py " + " ".join(sys.argv[1:])
            write_report(args.out, rows, args.timeout, args.repeat, made_s, command.strip())
            print(f"\nwrote {args.out}")
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
