import os
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from audioguide.errors import ScriptError, UnknownVoiceError, VoiceError
from audioguide.jobs.options import RenderOptions
from audioguide.jobs.prepare import prepare
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
        SpeechRequest(base.text, VoiceSettings("pyttsx3", "en-us", 130.0, 40, "calm")),
    ]
    key = SpeechCache.key("pyttsx3 2.99", base)
    assert key == SpeechCache.key("pyttsx3 2.99", base)
    assert key != SpeechCache.key("pyttsx3 3.0", base)
    assert key != SpeechCache.key("pyttsx3 2.99", base, "sha256-of-a-model")
    assert len({SpeechCache.key("pyttsx3 2.99", v) for v in variants} | {key}) == 7
    # Where a line was written is not part of it: the same line twice is made once.
    assert SpeechRequest("Hi.", DRAFT, where="a:1:1") == SpeechRequest("Hi.", DRAFT, "b:9:9")


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
def test_espeak_comes_from_the_system_or_the_wheel() -> None:
    library = find_espeak({"AUDIOGUIDE_ESPEAK_LIB": "bundled"})
    assert library is not None and library.origin == "espeakng-loader wheel"
    assert Path(library.path).is_file() and library.data_path
    assert find_espeak({}) is not None


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


class FailingDraft(DraftEngine):
    def synthesize(self, text: str, settings: VoiceSettings):  # type: ignore[no-untyped-def]
        if "fail" in text:
            raise VoiceError("the engine choked")
        return super().synthesize(text, settings)


def test_an_engine_failure_names_the_line_it_was_on(write_script: WriteScript,
                                                     tmp_path: Path) -> None:
    bank = SpeechBank(SpeechCache(tmp_path), engine_factory=lambda name: FailingDraft())
    lines = [SpeechRequest("Fine.", DRAFT, where="s.yaml:3:5"),
             SpeechRequest("This will fail.", DRAFT, where="s.yaml:4:5")]
    with pytest.raises(VoiceError) as caught:
        bank.prepare(lines)
    assert str(caught.value) == ("s.yaml:4:5: draft could not say 'This will fail.': "
                                 "the engine choked")


def test_calm_style_adds_warmth_and_a_soft_room(tmp_path: Path) -> None:
    bank = SpeechBank(SpeechCache(tmp_path), engine_factory=lambda name: DraftEngine())
    text = "Let your shoulders soften and your breath slow down."
    plain = SpeechRequest(text, VoiceSettings("draft", None, 130.0, 50.0, "plain"))
    calm = SpeechRequest(text, VoiceSettings("draft", None, 130.0, 50.0, "calm"))
    bank.prepare([plain, calm])
    a = np.asarray(bank.samples(plain, 44100), dtype=np.float64)
    b = np.asarray(bank.samples(calm, 44100), dtype=np.float64)
    # A short soft tail: the room rings on for about a third of a second.
    assert 0.3 < (len(b) - len(a)) / 44100 < 0.45
    tail = b[len(a):len(a) + 4410]
    assert 0.001 < np.sqrt(np.mean(tail**2)) < 0.05
    # Warmer: the lows gain about 2-3 dB on the middle of the voice. Subtle: the same
    # overall level, within 1 dB.
    def tilt_db(x: np.ndarray) -> float:
        power = np.abs(np.fft.rfft(x)) ** 2
        freqs = np.fft.rfftfreq(len(x), 1 / 44100)
        low = power[(freqs > 60) & (freqs < 180)].sum()
        mid = power[(freqs > 800) & (freqs < 3000)].sum()
        return float(10 * np.log10(low / mid))

    assert 1.5 < tilt_db(b) - tilt_db(a) < 4.5
    def rms_db(x: np.ndarray) -> float:
        return float(20 * np.log10(np.sqrt(np.mean(x[: len(a)] ** 2))))

    assert abs(rms_db(a) - rms_db(b)) < 1.0
    # Deterministic: made again, byte for byte the same.
    again = SpeechBank(SpeechCache(tmp_path / "again"), engine_factory=lambda n: DraftEngine())
    again.prepare([calm])
    assert again.cache.path(again.key(calm)).read_bytes() == (
        bank.cache.path(bank.key(calm)).read_bytes())


def _tilt_db(x: np.ndarray, rate: int) -> float:
    """Low band (60-180 Hz) against the middle of the voice (0.8-3 kHz), in dB."""
    power = np.abs(np.fft.rfft(x)) ** 2
    freqs = np.fft.rfftfreq(len(x), 1 / rate)
    low = power[(freqs > 60) & (freqs < 180)].sum()
    mid = power[(freqs > 800) & (freqs < 3000)].sum()
    return float(10 * np.log10(low / mid))


def test_calm_shaping_follows_the_kind_of_voice() -> None:
    from audioguide.voices import Speech

    murmur = DraftEngine().synthesize("Let the breath go all the way out.", DRAFT)
    rate = murmur.sample_rate
    plain = process_speech(murmur, "plain").samples

    def tail_rms(x: np.ndarray) -> float:
        return float(np.sqrt(np.mean(x[len(plain):len(plain) + rate // 10] ** 2)))

    # A formant voice (eSpeak, draft) gets the warmth and the soft room.
    for engine in ("pyttsx3", "draft"):
        formant = process_speech(murmur, "calm", engine=engine).samples
        assert 0.3 < (len(formant) - len(plain)) / rate < 0.45
        assert tail_rms(formant) > 0.001
        assert 1.5 < _tilt_db(formant, rate) - _tilt_db(plain, rate) < 4.5
    # A neural voice (Piper) gets no EQ and only a faint, shorter tail.
    neural = process_speech(murmur, "calm", engine="piper").samples
    assert 0.24 < (len(neural) - len(plain)) / rate < 0.28
    assert 0 < tail_rms(neural) < tail_rms(formant) / 4
    assert abs(_tilt_db(neural, rate) - _tilt_db(plain, rate)) < 0.5
    assert np.corrcoef(neural[:len(plain)], plain)[0, 1] > 0.99
    # Recordings are never reshaped, whatever engine is named.
    recorded = process_speech(Speech(murmur.samples, rate), "calm", recorded=True)
    assert len(recorded.samples) <= len(murmur.samples)


def test_calm_lines_are_made_again_when_their_shaping_changes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from audioguide.voices import style

    engine = CountingDraft()
    bank = SpeechBank(SpeechCache(tmp_path), engine_factory=lambda name: engine)
    calm = SpeechRequest("Soften your jaw.", VoiceSettings("draft", None, 117.0, 40.0, "calm"))
    plain = SpeechRequest("Soften your jaw.", DRAFT)
    assert bank.prepare([calm, plain]) == 2
    before = bank.cache.path(bank.key(calm)).read_bytes()
    plain_key = bank.key(plain)
    # A retuned calm for this engine: a new key, so the old entry is not reused...
    monkeypatch.setitem(style.CALM_PROFILES, "draft", style.CalmProfile("retuned"))
    assert bank.prepare([calm, plain]) == 1
    assert engine.calls == ["Soften your jaw."] * 3
    assert bank.cache.path(bank.key(calm)).read_bytes() != before
    # ...while plain lines keep theirs.
    assert bank.key(plain) == plain_key


def test_calm_style_slows_and_lowers_the_voice(write_script: WriteScript) -> None:
    from audioguide.script.model import VoiceSpec
    from audioguide.timeline.narration import CALM_PITCH, CALM_RATE, voice_settings

    calm = voice_settings(VoiceSpec(engine="pyttsx3", rate_wpm=120.0, style="calm"))
    assert (calm.rate_wpm, calm.pitch, calm.style) == (120.0 * CALM_RATE, CALM_PITCH, "calm")
    own_pitch = voice_settings(VoiceSpec(engine="pyttsx3", pitch=60, style="calm"))
    assert own_pitch.pitch == 60
    piper = voice_settings(VoiceSpec(engine="piper", rate_wpm=120.0, style="calm"))
    assert piper.pitch is None  # Piper has no pitch setting
    plain = voice_settings(VoiceSpec(engine="pyttsx3", rate_wpm=120.0))
    assert (plain.rate_wpm, plain.pitch, plain.style) == (120.0, None, "plain")


def test_cache_info_and_clear(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from audioguide.cli import cli

    cache_dir = tmp_path / "cache"
    bank = SpeechBank(SpeechCache(cache_dir), engine_factory=lambda name: DraftEngine())
    lines = [SpeechRequest(t, DRAFT) for t in ("One.", "Two words.", "And three now.")]
    bank.prepare(lines)
    torn = bank.cache.path(bank.key(lines[2]))
    torn.write_bytes(torn.read_bytes()[:200])
    keep = cache_dir / "speech" / "notes.txt"  # not ours: clear must leave it
    keep.write_text("mine")
    runner = CliRunner()
    info = runner.invoke(cli, ["cache", "info", "--cache", str(cache_dir)])
    assert info.exit_code == 0, info.stderr
    lines_out = info.stdout.splitlines()
    assert lines_out[0] == f"folder   {cache_dir / 'speech'}"
    assert lines_out[1].startswith("entries  3 lines (0:0")
    assert lines_out[3] == "damaged  1 (made again when next needed)"
    cleared = runner.invoke(cli, ["cache", "clear", "--cache", str(cache_dir)])
    assert cleared.stdout == f"removed 3 lines from {cache_dir / 'speech'}\n"
    assert keep.read_text() == "mine"
    assert SpeechCache(cache_dir).stats().entries == 0


def test_a_line_cleared_during_a_render_is_made_again(tmp_path: Path) -> None:
    engine = CountingDraft()
    bank = SpeechBank(SpeechCache(tmp_path), engine_factory=lambda name: engine)
    line = SpeechRequest("Still here.", DRAFT)
    bank.prepare([line])
    length = bank.frames(line, 44100)
    bank.cache.clear()  # as `audioguide cache clear` from another terminal
    assert len(bank.samples(line, 44100)) == length
    assert engine.calls == [line.text, line.text]


@pytest.mark.real
def test_pyttsx3_parallel_synthesis_matches_serial_byte_for_byte(tmp_path: Path) -> None:
    lines = [SpeechRequest(f"Line {word}: breathe in slowly, and let it go.",
                           VoiceSettings("pyttsx3", None, 130.0))
             for word in ("one", "two", "three", "four", "five", "six", "seven", "eight")]
    results = []
    for workers in (1, 2):
        cache = SpeechCache(tmp_path / f"workers-{workers}")
        bank = SpeechBank(cache, engine_factory=lambda name, w=workers: Pyttsx3Engine(workers=w))
        try:
            assert bank.prepare(lines) == len(lines)
            results.append([cache.path(bank.key(line)).read_bytes() for line in lines])
        finally:
            bank.close()
    assert results[0] == results[1]
    # And the same line said twice in one worker comes out the same.
    engine = Pyttsx3Engine(workers=1)
    try:
        first = engine.synthesize(lines[0].text, lines[0].settings)
        engine.synthesize("Something else in between.", lines[0].settings)
        second = engine.synthesize(lines[0].text, lines[0].settings)
    finally:
        engine.close()
    assert np.array_equal(first.samples, second.samples)
