import os
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from audioguide.errors import ScriptError, UnknownVoiceError, VoiceError
from audioguide.pipeline import RenderOptions, prepare
from audioguide.voices import (
    SpeechBank,
    SpeechCache,
    SpeechRequest,
    VoiceSettings,
    process_speech,
)
from audioguide.voices import pyttsx3_engine as pyttsx3_module
from audioguide.voices.draft import DraftEngine
from audioguide.voices.espeak import find_espeak
from audioguide.voices.pyttsx3_engine import Pyttsx3Engine

from conftest import WriteScript, render_array

DRAFT = VoiceSettings("draft", None, 130.0)


class CountingDraft(DraftEngine):
    def __init__(self) -> None:
        self.calls: list[str] = []

    def synthesize(self, text: str, settings: VoiceSettings):  # type: ignore[no-untyped-def]
        self.calls.append(text)
        return super().synthesize(text, settings)


def test_cache_keys_change_with_everything_that_shapes_the_sound() -> None:
    base = SpeechRequest("Breathe in.", VoiceSettings("pyttsx3", "en-us", 130.0, 40))
    variants = [
        SpeechRequest("Breathe in", base.settings),
        SpeechRequest(base.text, VoiceSettings("pyttsx3", "en-gb", 130.0, 40)),
        SpeechRequest(base.text, VoiceSettings("pyttsx3", "en-us", 131.0, 40)),
        SpeechRequest(base.text, VoiceSettings("pyttsx3", "en-us", 130.0, 41)),
        SpeechRequest(base.text, VoiceSettings("draft", "en-us", 130.0, 40)),
    ]
    key = SpeechCache.key("pyttsx3 2.99", base)
    assert key == SpeechCache.key("pyttsx3 2.99", base)
    assert key != SpeechCache.key("pyttsx3 3.0", base)
    assert len({SpeechCache.key("pyttsx3 2.99", v) for v in variants} | {key}) == 6


def test_bank_makes_each_distinct_line_once(tmp_path: Path) -> None:
    engine = CountingDraft()
    bank = SpeechBank(SpeechCache(tmp_path), engine_factory=lambda name: engine)
    lines = [SpeechRequest(text, DRAFT) for text in ("One.", "Two.", "One.", "Three.", "Two.")]
    assert bank.prepare(lines) == 3
    assert sorted(engine.calls) == ["One.", "Three.", "Two."]
    assert bank.prepare(lines) == 0
    fresh = SpeechBank(SpeechCache(tmp_path), engine_factory=lambda name: engine)
    assert fresh.prepare(lines) == 0  # the disk cache is shared
    assert len(engine.calls) == 3
    audio = bank.samples(lines[0], 48000)
    assert len(audio) == bank.frames(lines[0], 48000)
    assert not audio.flags.writeable


def test_cache_writes_leave_no_partial_entry(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    cache = SpeechCache(tmp_path)
    speech = DraftEngine().synthesize("Hello there.", DRAFT)
    key = "ab" + "0" * 62

    def broken_replace(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError):
        cache.store(key, speech)
    monkeypatch.undo()
    assert cache.frames(key) is None
    assert list(cache.path(key).parent.iterdir()) == []  # no temporary file left behind
    cache.store(key, speech)
    assert cache.frames(key) == (len(speech.samples), speech.sample_rate)


def test_a_damaged_cache_entry_is_made_again(tmp_path: Path) -> None:
    engine = CountingDraft()
    bank = SpeechBank(SpeechCache(tmp_path), engine_factory=lambda name: engine)
    line = SpeechRequest("Let your shoulders soften.", DRAFT)
    bank.prepare([line])
    entry = bank.cache.path(bank.key(line))
    entry.write_bytes(entry.read_bytes()[:1000])  # torn by something outside audioguide
    assert bank.prepare([line]) == 1
    assert engine.calls == [line.text, line.text]
    assert bank.cache.frames(bank.key(line)) is not None


def test_processing_trims_silence_and_evens_the_level() -> None:
    rate = 22050
    tone = 0.05 * np.sin(2 * np.pi * 200 * np.arange(rate) / rate).astype(np.float32)
    padded = np.concatenate([np.zeros(rate), tone, np.zeros(rate // 2)]).astype(np.float32)
    from audioguide.voices import Speech

    processed = process_speech(Speech(padded, rate))
    assert len(processed.samples) == pytest.approx(rate + 2 * 441, abs=2 * 110)
    rms = np.sqrt(np.mean(processed.samples[1000:-1000] ** 2))
    assert 20 * np.log10(rms) == pytest.approx(-20.0, abs=0.5)
    with pytest.raises(VoiceError):
        process_speech(Speech(np.zeros(rate, dtype=np.float32), rate))


def _fake_worker(tmp_path: Path, body: str) -> Path:
    script = tmp_path / "worker.py"
    script.write_text(textwrap.dedent("""
        import json, sys, time, wave
        def send(message):
            sys.stdout.write(json.dumps(message) + "\\n"); sys.stdout.flush()
        send({"ok": True, "ready": True, "driver": "fake"})
        for line in sys.stdin:
            request = json.loads(line)
    """) + textwrap.indent(textwrap.dedent(body), "    "), encoding="utf-8")
    return script


@pytest.mark.parametrize(("body", "message"), [
    ("time.sleep(60)\n",
     "pyttsx3 hung twice (no answer within 2 s); try again, or try "
     "--engine draft to check the rest of the script"),
    ("sys.exit(3)\n", "pyttsx3 failed: the worker stopped (exit code 3); reinstall audioguide "
     "with `pip install audioguide` (it brings pyttsx3 and, on Linux, eSpeak NG), or install "
     "your system's eSpeak NG; `--engine draft` renders without speech"),
    ("w = wave.open(request['path'], 'wb'); w.setnchannels(1); w.setsampwidth(2);"
     " w.setframerate(22050); w.writeframes(b'\\0\\0' * 22050); w.close(); send({'ok': True})\n",
     "pyttsx3 returned silence for 'Hello there.'; does the line have words the voice "
     "'default' can say?"),
    ("open(request['path'], 'wb').close(); send({'ok': True})\n",
     "pyttsx3 wrote no readable audio for 'Hello there.' (the file is empty); "
     "try again, or check `audioguide voices`"),
])
def test_a_misbehaving_engine_is_caught(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        body: str, message: str) -> None:
    monkeypatch.setattr(pyttsx3_module, "WORKER_SCRIPT", _fake_worker(tmp_path, body))
    engine = Pyttsx3Engine(workers=1, timeout_s=1.0)
    try:
        with pytest.raises(VoiceError) as caught:
            engine.synthesize("Hello there.", VoiceSettings("pyttsx3", None, 130.0))
        assert str(caught.value) == message
    finally:
        engine.close()
    for worker in engine._workers:
        assert worker.proc.poll() is not None


# --- the real pyttsx3 voice ------------------------------------------------------------

@pytest.mark.real
def test_espeak_comes_from_the_system_or_the_wheel(monkeypatch: pytest.MonkeyPatch) -> None:
    find_espeak.cache_clear()
    monkeypatch.setenv("AUDIOGUIDE_ESPEAK_LIB", "bundled")
    library = find_espeak()
    find_espeak.cache_clear()
    assert library is not None and library.origin == "espeakng-loader wheel"
    assert Path(library.path).is_file() and library.data_path
    monkeypatch.delenv("AUDIOGUIDE_ESPEAK_LIB")
    assert find_espeak() is not None


@pytest.mark.real
def test_pyttsx3_speaks_one_utterance_at_a_time() -> None:
    engine = Pyttsx3Engine()
    settings = VoiceSettings("pyttsx3", None, 150.0)
    try:
        short = engine.synthesize("Rest.", settings)
        long = engine.synthesize("Let your breath settle into its own slow and easy rhythm.",
                                 settings)
        slow = engine.synthesize("Let your breath settle into its own slow and easy rhythm.",
                                 VoiceSettings("pyttsx3", None, 90.0))
    finally:
        engine.close()
    assert 0.2 < short.seconds < 2.0
    assert 2.0 < long.seconds < 8.0
    assert slow.seconds > long.seconds * 1.3
    assert np.max(np.abs(long.samples)) > 0.1


@pytest.mark.real
def test_unknown_voice_is_a_script_error_at_its_line(write_script: WriteScript) -> None:
    path = write_script("""
        steps:
          - say: {text: Hello., voice: xx-nowhere}
    """)
    with pytest.raises(ScriptError) as caught:
        prepare(path, RenderOptions())
    assert [str(i) for i in caught.value.issues] == [
        f"{path}:2:5: steps[0].say: pyttsx3 has no voice 'xx-nowhere'; `audioguide voices` "
        "lists the voices you have"]
    engine = Pyttsx3Engine(workers=1)
    try:
        with pytest.raises(UnknownVoiceError):
            engine.synthesize("Hello.", VoiceSettings("pyttsx3", "xx-nowhere", 130.0))
        ids = {voice.voice_id for voice in engine.voices()}
    finally:
        engine.close()
    assert "gmw/en-us" in ids or any(i.endswith("en-us") for i in ids)


@pytest.mark.real
def test_a_hundred_lines_are_all_spoken(write_script: WriteScript) -> None:
    numbers = ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"]
    lines = [f"Line {numbers[i // 10]} {numbers[i % 10]}: notice {'something ' * (1 + i % 4)}here."
             for i in range(100)]
    steps = "\n".join(f"  - say: \"{line}\"" for line in lines)
    path = write_script(f"voice: {{rate: 200, gap: 0.4s}}\nsteps:\n{steps}\n")
    audio, timeline = render_array(path, RenderOptions(engine="pyttsx3"))
    clips = timeline.clips  # type: ignore[attr-defined]
    assert len(clips) == 100
    assert [clip.text for clip in clips] == lines
    for clip in clips:
        spoken = audio[clip.start: clip.end, 0]
        seconds = clip.length / 44100
        assert 1.0 < seconds < 6.0, clip.text
        # Speech all through the slot: every half second has voice in it.
        halves = [spoken[i: i + 22050] for i in range(0, len(spoken) - 22050, 22050)]
        assert all(np.sqrt(np.mean(h**2)) > 0.01 for h in halves), clip.text
        gap = audio[clip.end: clip.end + int(0.4 * 44100)]
        assert np.max(np.abs(gap)) == 0.0
    # Longer lines take longer: the number of "something"s shows in the lengths.
    by_words = {words: [c.length for c, line in zip(clips, lines, strict=True)
                        if line.count("something") == words] for words in (1, 4)}
    assert np.mean(by_words[4]) > np.mean(by_words[1]) * 1.4


@pytest.mark.real
def test_pyttsx3_chatter_never_reaches_our_stdout(write_script: WriteScript,
                                                  tmp_path: Path) -> None:
    import subprocess

    path = write_script("steps:\n  - say: Quiet output, please.\n")
    out = tmp_path / "quiet.wav"
    result = subprocess.run([sys.executable, "-m", "audioguide", "render", str(path), "-o",
                             str(out)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"{out}\n"
    assert "Audio saved" not in result.stderr
