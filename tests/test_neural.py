"""The Piper voice, really run (the `neural` extra is installed by ./scripts/test)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from audioguide.cli import cli
from audioguide.errors import ScriptError, VoiceError
from audioguide.jobs.options import RenderOptions
from audioguide.jobs.prepare import prepare
from audioguide.voices import SpeechBank, SpeechCache, SpeechRequest, VoiceSettings
from audioguide.voices import piper_engine as piper_module
from audioguide.voices.piper_engine import PiperEngine, installed_voices

from conftest import WriteScript, render_array

pytestmark = [pytest.mark.real, pytest.mark.neural]

LINE = "Let your shoulders soften, and let the breath go all the way out."


def voiced_rms_db(samples: np.ndarray, rate: int) -> float:
    """RMS level of the 20 ms frames that are within 20 dB of the loudest."""
    window = int(rate * 0.02)
    frames = samples[: len(samples) // window * window].reshape(-1, window)
    rms = np.sqrt(np.mean(frames.astype(np.float64) ** 2, axis=1))
    voiced = rms[rms > rms.max() * 0.1]
    return float(20 * np.log10(np.sqrt(np.mean(voiced**2))))


@pytest.fixture(scope="module")
def piper() -> PiperEngine:
    engine = PiperEngine(workers=2)
    yield engine
    engine.close()


def test_the_bundled_voice_is_installed() -> None:
    voices = installed_voices()
    assert [v.short for v in voices][:1] == ["joe"]
    assert voices[0].language == "en_US" and voices[0].sample_rate == 22050


def test_piper_speaks_a_line_with_speech_energy(piper: PiperEngine) -> None:
    speech = piper.synthesize(LINE, VoiceSettings("piper", None, 130.0))
    assert speech.sample_rate == 22050
    assert 2.5 < speech.seconds < 8.0
    samples = speech.samples.astype(np.float64)
    spectrum = np.abs(np.fft.rfft(samples)) ** 2
    freqs = np.fft.rfftfreq(len(samples), 1 / speech.sample_rate)
    speech_band = spectrum[(freqs > 100) & (freqs < 4000)].sum() / spectrum.sum()
    assert speech_band > 0.8
    # Most 100 ms stretches carry voice: it is speech, not a click and silence.
    step = speech.sample_rate // 10
    loud = [np.sqrt(np.mean(samples[i:i + step] ** 2)) > 0.01
            for i in range(0, len(samples) - step, step)]
    assert np.mean(loud) > 0.6


def test_the_rate_sets_the_length(piper: PiperEngine) -> None:
    slow = piper.synthesize(LINE, VoiceSettings("piper", None, 100.0))
    fast = piper.synthesize(LINE, VoiceSettings("piper", None, 200.0))
    assert 1.6 < slow.seconds / fast.seconds < 2.4


def test_sentences_are_joined_by_a_pause_that_follows_the_rate(piper: PiperEngine) -> None:
    one = piper.synthesize("Breathe in slowly.", VoiceSettings("piper", None, 130.0))
    two = piper.synthesize("Breathe in slowly. Breathe in slowly.",
                           VoiceSettings("piper", None, 130.0))
    pause = two.seconds - 2 * one.seconds
    assert abs(pause - piper_module.SENTENCE_PAUSE_S) < 0.1


def test_piper_calm_is_slower_with_a_faint_tail_and_no_eq(piper: PiperEngine,
                                                          tmp_path: Path) -> None:
    from audioguide.script.model import VoiceSpec
    from audioguide.timeline.narration import CALM_RATE, voice_settings
    from audioguide.voices import process_speech

    calm = voice_settings(VoiceSpec(engine="piper", rate_wpm=125.0, style="calm"))
    assert calm.rate_wpm == pytest.approx(125.0 * CALM_RATE)
    bank = SpeechBank(SpeechCache(tmp_path), engine_factory=lambda name: piper)
    request = SpeechRequest(LINE, calm)
    bank.prepare([request])
    made = bank.cache.load(bank.key(request))
    assert made is not None
    rate = made.sample_rate
    # The same line at the calm pace, trimmed and levelled but not shaped.
    unshaped = process_speech(piper.synthesize(LINE, calm), "plain", engine="piper").samples
    shaped = made.samples.astype(np.float64)
    # A faint tail of about a quarter of a second (not the formant voices' 0.36 s)...
    assert 0.24 < (len(shaped) - len(unshaped)) / rate < 0.28
    tail = shaped[len(unshaped):len(unshaped) + rate // 10]
    voice_db = voiced_rms_db(unshaped, rate)
    assert -60 < 20 * np.log10(np.sqrt(np.mean(tail**2))) - voice_db < -25
    # ...under the same voice: no EQ, the spectrum's balance unchanged.
    def tilt_db(x: np.ndarray) -> float:
        power = np.abs(np.fft.rfft(x)) ** 2
        freqs = np.fft.rfftfreq(len(x), 1 / rate)
        return float(10 * np.log10(power[(freqs > 60) & (freqs < 180)].sum()
                                   / power[(freqs > 800) & (freqs < 3000)].sum()))

    assert abs(tilt_db(shaped[:len(unshaped)]) - tilt_db(unshaped)) < 0.5
    assert np.corrcoef(shaped[:len(unshaped)], unshaped)[0, 1] > 0.99


def test_parallel_synthesis_matches_serial_byte_for_byte(tmp_path: Path) -> None:
    lines = [SpeechRequest(f"Line {word}: notice the breath as it leaves you.",
                           VoiceSettings("piper", None, 130.0))
             for word in ("one", "two", "three", "four", "five", "six")]
    caches = []
    for workers in (1, 2):
        cache = SpeechCache(tmp_path / f"workers-{workers}")
        bank = SpeechBank(cache, engine_factory=lambda name, w=workers: PiperEngine(workers=w))
        try:
            assert bank.prepare(lines) == len(lines)
            caches.append({line.text: cache.path(bank.key(line)).read_bytes()
                           for line in lines})
        finally:
            bank.close()
    assert caches[0] == caches[1]


def test_a_script_can_name_a_piper_model_file(write_script: WriteScript,
                                               tmp_path: Path) -> None:
    joe = installed_voices()[0].model
    model = tmp_path / "voices" / "my-voice.onnx"
    model.parent.mkdir()
    os.symlink(joe, model)
    shutil.copy(str(joe) + ".json", str(model) + ".json")
    path = write_script("""
        voice: {engine: piper, model: voices/my-voice.onnx}
        steps:
          - say: Hello from a voice file.
    """)
    audio, timeline = render_array(path, RenderOptions())
    clip = timeline.clips[0]  # type: ignore[attr-defined]
    assert clip.source.settings.voice_id == str(model.resolve())
    assert voiced_rms_db(audio[clip.start:clip.end, 0], 44100) > -30


def test_a_missing_model_is_refused_at_its_line(write_script: WriteScript) -> None:
    path = write_script("""
        voice: {engine: piper, model: nowhere.onnx}
        steps:
          - say: Hello.
    """)
    with pytest.raises(ScriptError) as caught:
        prepare(path, RenderOptions())
    assert str(caught.value.issues[0]).startswith(f"{path}:1:31: voice.model: file not found")


def test_an_unknown_piper_voice_is_refused_at_its_line(write_script: WriteScript) -> None:
    path = write_script("""
        voice: {engine: piper}
        steps:
          - say: {text: Hello., voice: nobody}
    """)
    with pytest.raises(ScriptError) as caught:
        prepare(path, RenderOptions())
    assert str(caught.value.issues[0]) == (
        f"{path}:3:5: steps[0].say: piper has no voice 'nobody' (it has: joe); `audioguide "
        "voices --engine piper` lists them, or name a file with voice.model")


def test_a_broken_model_names_the_line_and_piper_s_message(write_script: WriteScript,
                                                            tmp_path: Path) -> None:
    joe = installed_voices()[0].model
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"this is not an onnx model")
    shutil.copy(str(joe) + ".json", str(broken) + ".json")
    path = write_script("""
        voice: {engine: piper, model: broken.onnx}
        steps:
          - say: Hello.
    """)
    result = CliRunner().invoke(cli, ["render", str(path), "-o", str(tmp_path / "x.wav")])
    assert result.exit_code == 1
    message = result.stderr.strip()
    assert message.startswith(f"error: {path}:3:5: piper could not say 'Hello.': piper failed: ")
    assert "onnx" in message.lower() or "protobuf" in message.lower()
    assert not (tmp_path / "x.wav").exists()


def test_without_the_extra_the_error_says_how_to_install_it(
        monkeypatch: pytest.MonkeyPatch, write_script: WriteScript, tmp_path: Path) -> None:
    monkeypatch.setattr(piper_module, "piper_available", lambda: False)
    with pytest.raises(VoiceError) as caught:
        PiperEngine()
    assert "pip install 'audioguide[neural]'" in str(caught.value)
    path = write_script("voice: {engine: piper}\nsteps:\n  - say: Hello.\n")
    result = CliRunner().invoke(cli, ["render", str(path), "-o", str(tmp_path / "x.wav")])
    assert result.exit_code == 1
    assert result.stderr == ("error: the piper engine is not installed; install the neural "
                             "voice with `pip install 'audioguide[neural]'` (from a checkout: "
                             "`.venv/bin/pip install -e '.[neural]'`), or use engine: pyttsx3\n")


def test_voices_lists_piper_and_saves_samples(tmp_path: Path) -> None:
    runner = CliRunner()
    listed = runner.invoke(cli, ["voices", "--engine", "piper"])
    assert listed.exit_code == 0
    assert listed.stdout.split() == ["piper", "joe", "en_US-joe-medium", "en-us"]
    out = tmp_path / "samples"
    sampled = runner.invoke(cli, ["voices", "--engine", "piper", "--sample", "Hello there.",
                                  "--out", str(out)])
    assert sampled.exit_code == 0, sampled.stderr
    import mutagen

    sample = out / "piper-joe.wav"
    info = mutagen.File(str(sample))
    assert 0.4 < info.info.length < 3.0
    assert json.loads(json.dumps(str(sample)))  # a plain path, printed on stderr
    assert f"wrote {sample}" in sampled.stderr
