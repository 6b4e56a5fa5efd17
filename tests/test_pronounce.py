"""`pronounce:`: words the voice says wrong, respelt (or as [[phonemes]]) on their way to it."""

from __future__ import annotations

import json

import jsonschema
import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from audioguide.cli import cli
from audioguide.errors import ScriptError
from audioguide.jobs.options import RenderOptions
from audioguide.jobs.prepare import prepare
from audioguide.script import load_session
from audioguide.timeline.narration import CompileOptions, Respeller, speech_plan
from audioguide.voices.draft import DraftEngine

from conftest import WriteScript

SCRIPT = """
voice: {engine: draft}
vars: {person: Siobhan}
pronounce:
  Siobhan: Shi-vawn
  Worcester: Wuster
  New York: Noo York
steps:
  - say: "{person} drove from Worcester to New York; siobhan's car, not Siobhans."
  - breathe: {pattern: box, cycles: 1, words: {inhale: In for Siobhan}}
"""


def test_listed_words_are_replaced_whole_and_in_any_case() -> None:
    say = Respeller({"Siobhan": "Shi-vawn", "New York": "Noo York", "New": "Knew"})
    assert say("SIOBHAN in New York, new and Newport; Siobhan's.") == (
        "Shi-vawn in Noo York, Knew and Newport; Shi-vawn's.")
    assert Respeller({})("unchanged") == "unchanged"
    assert Respeller({"a.b": "x"})("a.b and acb") == "x and acb"   # not a pattern


def test_the_respelling_reaches_the_engine_for_lines_cues_and_filled_vars(
        write_script: WriteScript, monkeypatch: pytest.MonkeyPatch) -> None:
    heard: list[str] = []
    original = DraftEngine.synthesize

    def listening(self: DraftEngine, text: str, settings: object) -> object:
        heard.append(text)
        return original(self, text, settings)  # type: ignore[arg-type]

    monkeypatch.setattr(DraftEngine, "synthesize", listening)
    script = write_script(SCRIPT)
    with prepare(script, RenderOptions(cache_dir=script.parent / "cache")) as prepared:
        shown = [item.detail for item in prepared.timeline.items if item.kind == "say"]
    assert "Shi-vawn drove from Wuster to Noo York; Shi-vawn's car, not Siobhans." in heard
    assert "In for Shi-vawn" in heard
    assert not any("Siobhan " in text or "Worcester" in text for text in heard)
    # What is shown (and written as subtitles) is the line as the script has it.
    assert any("Siobhan drove from Worcester" in detail for detail in shown)


def test_recordings_are_found_by_the_script_words(write_script: WriteScript) -> None:
    session = load_session(write_script(SCRIPT))
    texts = {request.text for request, _ in speech_plan(session, CompileOptions())}
    assert texts == {"Shi-vawn drove from Wuster to Noo York; Shi-vawn's car, not Siobhans.",
                     "In for Shi-vawn", "Hold", "Breathe out"}


@pytest.mark.parametrize(("entry", "message"), [
    ("{Siobhan: }", "s.yaml:1:22: pronounce.Siobhan: say how to say it: a respelling like "
                    "'Sheh-vawn', or [[phonemes]]"),
    ("{'[x]': y}", "s.yaml:1:13: pronounce: the word '[x]' holds a line break, a control "
                   "character or a bracket; write plain text"),
    ("{Ann: a, ann: b}", "s.yaml:1:21: pronounce.ann: 'ann' is given twice; keep one"),
    ("[Ann]", "s.yaml:1:12: pronounce: expected a mapping of words to how to say them, "
              "found a list"),
])
def test_bad_entries_are_placed(write_script: WriteScript, entry: str, message: str) -> None:
    script = write_script(f"pronounce: {entry}\nsteps:\n  - say: Hello.\n")
    with pytest.raises(ScriptError) as caught:
        load_session(script)
    assert str(caught.value).splitlines()[0].endswith(message), str(caught.value)


@pytest.mark.parametrize(("entry", "valid"), [
    ({"Siobhan": "Shi-vawn"}, True),
    ({"Zoë Ó Súilleabháin": "Zoey O Sullivan"}, True),
    ({"Zeng": "[[tsˈɛŋ]]"}, True),
    ({"Ann": 5}, True),
    ({" ": "x"}, False),
    ({"Ann": " "}, False),
    ({"a[b": "x"}, False),
    ({"Ann": "line\nbreak"}, False),
    ({"x" * 61: "y"}, False),
    ({"Ann": "y" * 201}, False),
    ({"Ann": "🙂 smiling"}, True),
])
def test_schema_and_loader_agree_on_pronounce(write_script: WriteScript,
                                              entry: dict[str, object], valid: bool) -> None:
    document = {"pronounce": entry, "steps": [{"say": "Hello."}]}
    result = CliRunner().invoke(cli, ["schema"])
    schema = json.loads(result.stdout)
    by_schema = jsonschema.Draft202012Validator(schema).is_valid(document)
    script = write_script(yaml.safe_dump(document, allow_unicode=True))
    try:
        load_session(script)
        by_loader = True
    except ScriptError:
        by_loader = False
    assert by_schema == by_loader == valid


@pytest.mark.real
@pytest.mark.neural
def test_piper_says_phonemes_given_in_double_brackets(write_script: WriteScript) -> None:
    def speech(pronounce: str) -> np.ndarray:
        script = write_script(f"voice: {{engine: piper}}\n{pronounce}steps:\n"
                              "  - say: Hello, Zeng.\n", name=f"p{len(pronounce)}.yaml")
        with prepare(script) as prepared:
            return np.concatenate(list(prepared.blocks()))

    plain = speech("")
    respelt = speech("pronounce: {Zeng: '[[tsˈɛŋ]]'}\n")
    assert len(plain) != len(respelt) or not np.allclose(plain, respelt, atol=1e-3)
