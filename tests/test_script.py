from fractions import Fraction
from pathlib import Path

import pytest

from audioguide.errors import InputError, ScriptError
from audioguide.script import (
    At,
    Bell,
    Breathe,
    Hum,
    Pause,
    Repeat,
    Say,
    Section,
    Sound,
    Tone,
    builtin_sessions,
    find_script,
    load_session,
)

from conftest import WriteScript

DESIGN_EXAMPLE = """
audioguide: 1
title: Safe Place
description: A calm-voice visualization of a place where you feel safe.
author: Your name
language: en
voice:
  engine: pyttsx3
  id: en-us
  rate: 130
  pitch: 40
  gap: 1.2s
bed:
  sound: brown
  level: -30dB
  duck: 8dB
  fade_in: 5s
  fade_out: 8s
vars:
  place: a quiet beach at sunrise
output:
  format: mp3
  sample_rate: 44100
  channels: 2
  loudness: -16
steps:
  - section: Arriving
  - say: Find a comfortable position, and let your eyes rest.
  - pause: 3s
  - breathe:
      pattern: box
      cycles: 6
      cue: both
      words: {inhale: Breathe in, hold: Hold, exhale: Breathe out}
      ramp: {exhale: 8}
  - hum: {note: A2, duration: 30s, level: -20dB}
  - bell: {kind: bowl, count: 3, gap: 5s}
  - say:
      text: Imagine {place}. Notice the colours, the sounds, the air on your skin.
      after: 6s
  - sound: {file: recordings/grandmother.ogg, level: -3dB, fade_out: 2s}
  - repeat:
      times: 3
      steps:
        - say: Notice one thing you can see.
        - pause: 10s
  - at: 15m
  - say: When you are ready, slowly open your eyes.
"""


def errors_of(path: Path, **kwargs: object) -> list[str]:
    with pytest.raises(ScriptError) as caught:
        load_session(path, **kwargs)  # type: ignore[arg-type]
    return [str(issue) for issue in caught.value.issues]


def test_the_design_example_loads_into_the_model(write_script: WriteScript) -> None:
    path = write_script(DESIGN_EXAMPLE, "safe-place.yaml")
    (path.parent / "recordings").mkdir()
    (path.parent / "recordings" / "grandmother.ogg").write_bytes(b"not decoded by the loader")
    session = load_session(path)
    assert session.title == "Safe Place"
    assert session.name == "safe-place"
    assert session.voice.voice_id == "en-us" and session.voice.pitch == 40
    assert session.gap_s == Fraction(6, 5)
    assert session.bed is not None and session.bed.sound == "brown"
    assert session.bed.level_db == -30 and session.bed.duck_db == 8
    assert session.output.loudness_lufs == -16
    kinds = [type(step) for step in session.steps]
    assert kinds == [Section, Say, Pause, Breathe, Hum, Bell, Say, Sound, Repeat, At, Say]
    breathe = session.steps[3]
    assert isinstance(breathe, Breathe)
    assert [(p.kind, p.seconds) for p in breathe.pattern.phases] == [
        ("inhale", 4), ("hold", 4), ("exhale", 4), ("hold_out", 4)]
    assert breathe.ramp == {"exhale": 8} and breathe.cycles == 6
    say = session.steps[6]
    assert isinstance(say, Say)
    assert say.text.startswith("Imagine a quiet beach at sunrise. Notice")
    assert say.after_s == 6 and say.where.line == 37
    hum = session.steps[4]
    assert isinstance(hum, Hum) and hum.hz == pytest.approx(110.0)
    sound = session.steps[7]
    assert isinstance(sound, Sound) and sound.file == path.parent / "recordings/grandmother.ogg"
    at = session.steps[9]
    assert isinstance(at, At) and at.seconds == 900


def test_every_problem_is_listed_with_file_line_and_column(write_script: WriteScript) -> None:
    path = write_script("""
        titel: Oops
        voice: {rate: fast}
        bed: {sound: brwn, levle: -30dB}
        steps:
          - pause: 3x
          - breathe: {pattern: boxx, cycles: 0, cue: bth}
          - hum: {note: H2, duration: 30s}
          - say: Imagine {plac}.
          - sya: hello
          - repeat:
              times: 2
              steps:
                - pause: -10s
        vars: {place: a beach}
    """)
    f = str(path)
    assert errors_of(path) == [
        f"{f}:1:1: titel: unknown key 'titel' (did you mean 'title'?)",
        f"{f}:2:15: voice.rate: 'fast' is not a number",
        f"{f}:3:14: bed.sound: unknown bed sound 'brwn' (did you mean 'brown'?)",
        f"{f}:3:20: bed.levle: unknown key 'levle' (did you mean 'level'?)",
        f"{f}:5:12: steps[0].pause: '3x' is not a duration; write it like 4, 4s, 1.5s, 500ms, "
        "2m, 1m30s or 1:30",
        f"{f}:6:24: steps[1].breathe.pattern: unknown pattern 'boxx' (did you mean 'box'?)",
        f"{f}:6:38: steps[1].breathe.cycles: 0 is outside 1..20000",
        f"{f}:6:46: steps[1].breathe.cue: unknown value 'bth' (did you mean 'both'?)",
        f"{f}:7:17: steps[2].hum.note: 'H2' is not a note; write a letter, an optional # or b, "
        "and an octave, like A2 or C#3",
        f"{f}:8:10: steps[3].say: unknown variable 'plac' (did you mean 'place'?)",
        f"{f}:9:5: steps[4]: unknown step 'sya' (did you mean 'say'?)",
        f"{f}:13:18: steps[5].repeat.steps[0].pause: duration '-10s' is negative; use a length "
        "of 0 or more",
    ]


def test_yaml_syntax_errors_are_placed(write_script: WriteScript) -> None:
    path = write_script("steps:\n  - say: [unclosed\n")
    assert errors_of(path) == [
        f"{path}:3:1: YAML syntax: expected ',' or ']', but got '<stream end>' "
        "(while parsing a flow sequence)"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "1:1: the script is empty; it needs at least steps:"),
        ("# only a comment\n", "1:1: the script is empty; it needs at least steps:"),
        ("- say: hi\n",
         "1:1: a script is a mapping of keys (title:, steps:, ...) at the top level"),
        ("title: x\n", "1:1: 'steps' is missing; add it"),
        ("steps: []\n", "1:8: steps: the list of steps is empty; add at least one step"),
        ("steps:\n  - say: hi\n    pause: 2\n",
         "2:5: steps[0]: a step is one of say, pause, breathe, hum, bell, tone, rhythm, sound, "
         "section, repeat, choose, at with its value (found keys say, pause); indent a step's "
         "settings under its name"),
        ("steps:\n  - say: hi\ntitle: a\ntitle: b\n",
         "4:1: title: 'title' is given twice; keep one"),
    ],
)
def test_shape_errors(write_script: WriteScript, content: str, message: str) -> None:
    path = write_script(content)
    assert errors_of(path) == [f"{path}:{message}"]


def test_binary_and_non_utf8_files_are_refused(tmp_path: Path) -> None:
    latin = tmp_path / "latin.yaml"
    latin.write_bytes("steps:\n  - say: caf\u00e9\n".encode("latin-1"))
    assert errors_of(latin) == [f"{latin}:2:13: this is not UTF-8 text; save the script as UTF-8"]
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"steps:\x00\x01\x02")
    assert errors_of(binary) == [f"{binary}:1:1: this is a binary file, not a YAML script"]


def test_placeholders_are_filled_and_never_evaluated(write_script: WriteScript) -> None:
    path = write_script("""
        vars: {place: the hills, minutes: 2}
        steps:
          - say: "Picture {place}; {{braces}} stay."
          - pause: "{minutes}m"
          - say: "{place.__class__}"
          - say: "{0}"
    """)
    assert errors_of(path) == [
        f"{path}:5:10: steps[2].say: '{{place.__class__}}' is not a placeholder: use {{name}} "
        "with a name from vars:, or {{ for a literal brace",
        f"{path}:6:10: steps[3].say: '{{0}}' is not a placeholder: use {{name}} with a name "
        "from vars:, or {{ for a literal brace",
    ]
    good = write_script("""
        vars: {place: the hills, minutes: 2}
        steps:
          - say: "Picture {place}; {{braces}} stay."
          - pause: "{minutes}m"
    """, "good.yaml")
    session = load_session(good)
    say, pause = session.steps
    assert isinstance(say, Say) and say.text == "Picture the hills; {braces} stay."
    assert isinstance(pause, Pause) and pause.seconds == 120
    overridden = load_session(good, {"place": "a garden", "minutes": "1.5"})
    assert overridden.steps[0].text == "Picture a garden; {braces} stay."  # type: ignore[attr-defined]
    assert overridden.steps[1].seconds == 90  # type: ignore[attr-defined]


def test_set_names_a_variable_the_script_does_not_have(write_script: WriteScript) -> None:
    path = write_script("vars: {place: x}\nsteps:\n  - say: '{place}'\n")
    with pytest.raises(InputError) as caught:
        load_session(path, {"plac": "y"})
    assert str(caught.value) == (f"--set plac: {path} has no variable 'plac' "
                                 "(did you mean 'place'?)")


def test_yaml_1_1_surprises_are_read_as_written(write_script: WriteScript) -> None:
    # PyYAML would read 1:30 as the sexagesimal 90 and off as False; we read the text.
    path = write_script("""
        output: {loudness: off}
        steps:
          - pause: 1:30
          - at: 15:00
          - say: yes
          - say: 010
    """)
    session = load_session(path)
    assert session.output.loudness_lufs is None
    pause, at, yes, number = session.steps
    assert isinstance(pause, Pause) and pause.seconds == 90
    assert isinstance(at, At) and at.seconds == 900
    assert isinstance(yes, Say) and yes.text == "yes"
    assert isinstance(number, Say) and number.text == "010"


def test_shorthands_and_pattern_forms(write_script: WriteScript) -> None:
    (Path(write_script("steps: [{pause: 1}]", "x.yaml")).parent / "chime.wav").write_bytes(b"x")
    path = write_script("""
        steps:
          - breathe: 4-7-8
          - breathe: {pattern: "4,4,6,2", duration: 1m}
          - breathe: {pattern: [4, 6]}
          - breathe: {pattern: {inhale: 2, top_up: 1, exhale: 6}}
          - breathe: cyclic-sigh
          - bell: chime
          - bell: {file: chime.wav}
          - section: Middle
          - sound: chime.wav
          - tone: {hz: 200, duration: 10s, beat: 6}
    """)
    steps = load_session(path).steps
    lengths = [{p.kind: p.seconds for p in step.pattern.phases}  # type: ignore[attr-defined]
               for step in steps[:5]]
    assert lengths == [
        {"inhale": 4, "hold": 7, "exhale": 8},
        {"inhale": 4, "hold": 4, "exhale": 6, "hold_out": 2},
        {"inhale": 4, "exhale": 6},
        {"inhale": 2, "top_up": 1, "exhale": 6},
        {"inhale": 2, "top_up": 1, "exhale": 6},
    ]
    assert steps[1].duration_s == 60  # type: ignore[attr-defined]
    assert isinstance(steps[5], Bell) and steps[5].kind == "chime" and steps[5].count == 1
    assert isinstance(steps[6], Bell) and steps[6].file is not None
    assert isinstance(steps[7], Section) and steps[7].title == "Middle"
    assert isinstance(steps[8], Sound) and steps[8].file.name == "chime.wav"
    assert isinstance(steps[9], Tone) and steps[9].beat_hz == 6


def test_exclusive_and_required_choices(write_script: WriteScript) -> None:
    path = write_script("""
        steps:
          - hum: {note: A2, hz: 110, duration: 5s}
          - tone: {duration: 5s}
          - breathe: {pattern: box, cycles: 2, duration: 1m}
          - breathe: {pattern: [4, 0]}
          - breathe: {pattern: [1, 2, 3, 4, 5]}
    """)
    f = str(path)
    assert errors_of(path) == [
        f"{f}:2:10: steps[0].hum: give exactly one of note or hz (found note, hz)",
        f"{f}:3:11: steps[1].tone: give exactly one of note or hz",
        f"{f}:4:14: steps[2].breathe: give only one of cycles or duration",
        f"{f}:5:24: steps[3].breathe.pattern: a breath needs an inhale and an exhale longer than 0",
        f"{f}:6:24: steps[4].breathe.pattern: a pattern has 2 to 4 phase lengths, not 5: "
        "[inhale, exhale], [inhale, hold, exhale] or [inhale, hold, exhale, hold]",
    ]


def test_an_alias_bomb_is_refused_quickly(write_script: WriteScript) -> None:
    # Each level repeats the one before four times: 4**12 steps if it were expanded.
    lines = ["x0: &x0 {pause: 1}"]
    for level in range(1, 13):
        previous = ", ".join([f"*x{level - 1}"] * 4)
        lines.append(f"x{level}: &x{level} {{repeat: {{times: 1, steps: [{previous}]}}}}")
    lines.append("steps: [*x12]")
    path = write_script("\n".join(lines) + "\n")
    bombs = [problem for problem in errors_of(path) if "expands" in problem]
    assert len(bombs) == 1
    assert bombs[0].startswith(f"{path}:1:5: steps[0].repeat.steps[0].repeat.")
    assert bombs[0].endswith(": the document expands to more than 200000 values (are anchors "
                             "and aliases repeating it?); split or shorten it")


def test_relative_files_resolve_against_the_script(tmp_path: Path) -> None:
    folder = tmp_path / "scripts"
    (folder / "sounds").mkdir(parents=True)
    (folder / "sounds" / "rain.ogg").write_bytes(b"x")
    (folder / "s.yaml").write_text("steps:\n  - sound: sounds/rain.ogg\n", encoding="utf-8")
    session = load_session(folder / "s.yaml")
    assert session.steps[0].file == folder / "sounds" / "rain.ogg"  # type: ignore[attr-defined]


def test_builtin_sessions_are_found_by_name() -> None:
    names = [session.name for session in builtin_sessions()]
    assert "box-breathing" in names
    assert find_script("box-breathing").name == "box-breathing.yaml"
    with pytest.raises(InputError) as caught:
        find_script("box-breathin")
    assert str(caught.value) == ("no script file or built-in session named 'box-breathin' "
                                 "(did you mean 'box-breathing'?); `audioguide list` shows the "
                                 "built-in sessions")
    with pytest.raises(InputError) as missing:
        find_script("nowhere/session.yaml")
    assert str(missing.value) == "script not found: nowhere/session.yaml"


def test_every_builtin_session_loads() -> None:
    for builtin in builtin_sessions():
        session = load_session(builtin.path)
        assert session.steps, builtin.name
        assert session.title and session.description, builtin.name


def test_a_breath_needs_an_inhale_and_an_exhale_in_every_form(write_script: WriteScript) -> None:
    path = write_script("""
        steps:
          - breathe: 0-0
          - breathe: "0-4"
          - breathe: {pattern: {inhale: 4}}
    """)
    f = str(path)
    assert errors_of(path) == [
        f"{f}:2:14: steps[0].breathe: a breath needs an inhale and an exhale longer than 0",
        f"{f}:3:14: steps[1].breathe: a breath needs an inhale and an exhale longer than 0",
        f"{f}:4:24: steps[2].breathe.pattern: a breath needs an inhale and an exhale longer "
        "than 0",
    ]


def test_a_problem_in_vars_is_reported_once(write_script: WriteScript) -> None:
    path = write_script("vars: {9lives: x, mood: ~}\nsteps:\n  - say: 'calm {mood}.'\n")
    assert errors_of(path) == [
        f"{path}:1:8: vars: '9lives' is not a variable name: use up to 60 letters, digits "
        "and _, not starting with a digit"]


def test_choose_picks_options_by_number(write_script: WriteScript) -> None:
    path = write_script("""
        vars: {which: all}
        steps:
          - choose:
              pick: "{which}"
              options:
                - [{say: One.}]
                - [{say: Two.}, {pause: 1}]
                - [{say: Three.}]
    """)
    every = load_session(path).steps[0]
    assert [len(option) for option in every.picked] == [1, 2, 1]  # type: ignore[attr-defined]
    some = load_session(path, {"which": "3, 1"}).steps[0]
    assert [option[0].text for option in some.picked] == ["Three.", "One."]  # type: ignore[attr-defined]
    with pytest.raises(ScriptError) as caught:
        load_session(path, {"which": "4"})
    assert [str(i) for i in caught.value.issues] == [
        f"{path}:4:13: steps[0].choose.pick: '4' is not 'all' or option numbers between 1 and "
        "3 separated by commas, like 1,3"]


def test_rhythm_steps(write_script: WriteScript) -> None:
    path = write_script("""
        steps:
          - rhythm: {bpm: 72, duration: 30s, style: heartbeat}
          - rhythm: {duration: 1m}
          - rhythm: {bpm: 300, duration: 1m, style: waltz}
    """)
    f = str(path)
    assert errors_of(path) == [
        f"{f}:4:19: steps[2].rhythm.bpm: 300 is outside 20..200",
        f"{f}:4:45: steps[2].rhythm.style: unknown value 'waltz' (choose one of: drum, "
        "heartbeat, shaker, tick, sway)",
    ]
