"""The published JSON Schema says what the loader says (audioguide schema, schema --install).

Instances are read the way editors read YAML (yaml-language-server: YAML 1.2's core schema,
so `1:30` and `off` are strings, `010` is ten), then validated with jsonschema's draft
2020-12 validator; check-jsonschema checks the schema against its metaschema and, with its
ECMA-262 regex engine, real scripts against the schema. A differential property varies one
field of a valid script at a time and asserts that the schema and the loader agree.
"""

from __future__ import annotations

import copy
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from audioguide.cli import cli
from audioguide.errors import ScriptError
from audioguide.script import builtin_sessions, ecma, load_session, parse_session
from audioguide.script.bed_fields import BED_SOUND, SECTION_BED
from audioguide.script.breath_fields import BREATHE_HUM, HUM_ON_EXHALES, PATTERN
from audioguide.script.editor import SCHEMA_FILE, install_schema, schema_text, with_modeline
from audioguide.script.fields import Custom, Field, ListOf, Obj
from audioguide.script.paths import FilePath, FolderPath
from audioguide.script.scalars import Choice, Duration, Flag, Frequency, Level, Number, Text
from audioguide.script.schema import (
    CHOOSE,
    CHOOSE_FIELDS,
    LOUDNESS,
    SECTION,
    SESSION,
    STEP_KINDS,
    json_schema,
)
from audioguide.script.word_maps import Pronunciations, Variables

DATA = Path(__file__).parent / "data"
SCHEMA = json_schema()
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA, format_checker=jsonschema.FormatChecker())


# --- YAML as editors read it (YAML 1.2 core schema) ----------------------------------------

_NULL = re.compile(r"(?:~|null|Null|NULL|)\Z")
_BOOL = {"true": True, "True": True, "TRUE": True, "false": False, "False": False,
         "FALSE": False}
_INT = re.compile(r"[-+]?[0-9]+\Z")
_FLOAT = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?\Z")


def yaml12(text: str) -> Any:
    """The JSON value an editor sees in YAML text (ValueError past 200,000 values)."""
    node = yaml.compose(text, Loader=yaml.SafeLoader)
    return None if node is None else _value(node, [0])


def _value(node: yaml.Node, seen: list[int]) -> Any:
    seen[0] += 1
    if seen[0] > 200_000:
        raise ValueError("the document expands too far")
    if isinstance(node, yaml.MappingNode):
        return {str(key.value): _value(value, seen) for key, value in node.value}
    if isinstance(node, yaml.SequenceNode):
        return [_value(item, seen) for item in node.value]
    text = node.value
    if node.style is not None:
        return text
    if _NULL.match(text):
        return None
    if text in _BOOL:
        return _BOOL[text]
    if _INT.match(text):
        # JavaScript reads every number as a double: a 5000-digit one is Infinity.
        return int(text) if len(text) < 300 else float(text)
    if re.match(r"0o[0-7]+\Z", text):
        return int(text[2:], 8)
    if re.match(r"0x[0-9a-fA-F]+\Z", text):
        return int(text[2:], 16)
    if _FLOAT.match(text):
        return float(text)
    if re.match(r"[-+]?\.(?:inf|Inf|INF)\Z", text):
        return float("-inf") if text.startswith("-") else float("inf")
    if re.match(r"\.(?:nan|NaN|NAN)\Z", text):
        return float("nan")
    return text


def loader_accepts(text: str, folder: Path) -> tuple[bool, str]:
    """Whether parse_session takes the script, and its first problem if not."""
    try:
        parse_session(text, path=folder / "probe.yaml")
    except ScriptError as error:
        return False, str(error.first)
    return True, ""


def schema_accepts(text: str) -> tuple[bool, str]:
    """Whether the schema takes the script as an editor reads it, and why not."""
    errors = list(VALIDATOR.iter_errors(yaml12(text)))
    best = jsonschema.exceptions.best_match(errors)
    return not errors, "" if best is None else f"{list(best.absolute_path)}: {best.message}"


# --- the schema itself ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def schema_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("schema") / "audioguide.schema.json"
    path.write_text(schema_text(), encoding="utf-8")
    return path


def check_jsonschema(*args: str) -> subprocess.CompletedProcess[str]:
    tool = Path(sys.executable).parent / "check-jsonschema"
    return subprocess.run([str(tool), *args], capture_output=True, text=True, timeout=120)


def test_check_jsonschema_accepts_the_schema_as_draft_2020_12(schema_file: Path) -> None:
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    result = check_jsonschema("--check-metaschema", str(schema_file))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok -- validation done" in result.stdout


def test_check_jsonschema_validates_real_scripts_with_ecma_regexes(
        schema_file: Path, tmp_path: Path) -> None:
    good = [str(session.path) for session in builtin_sessions()]
    result = check_jsonschema("--schemafile", str(schema_file), *good)
    assert result.returncode == 0, result.stdout + result.stderr
    bad = tmp_path / "loud.yaml"
    bad.write_text("steps:\n  - hum: {note: C♯3, duration: 1:30, level: 20dB}\n", "utf-8")
    result = check_jsonschema("--schemafile", str(schema_file), str(bad))
    assert result.returncode == 1
    assert "$.steps[0].hum.level" in result.stdout


def _patterns(schema: Any) -> Iterator[str]:
    if isinstance(schema, dict):
        for key, value in schema.items():
            if key in ("examples", "default"):
                continue
            if key == "pattern" and isinstance(value, str):
                yield value
            elif key == "properties":
                for prop in value.values():
                    yield from _patterns(prop)
            else:
                yield from _patterns(value)
    elif isinstance(schema, list):
        for item in schema:
            yield from _patterns(item)


def test_patterns_are_plain_ecma_262() -> None:
    patterns = set(_patterns(SCHEMA))
    assert len(patterns) > 20
    for pattern in patterns:
        assert "(?i" not in pattern and "(?" + "P" not in pattern, pattern
        # `\d`, `\s`, `\w` and `.` mean different things in ECMA-262 and Python: unused.
        assert not re.search(r"(?<!\\)\\[dw]|(?<![\\\[])\\s(?!\\S\])|(?<![\\\[])\.(?![^\[]*\])",
                             pattern.replace("\\\\", "")), pattern
        assert pattern.startswith("^") and pattern.endswith("$"), pattern
        re.compile(pattern)


def _properties(schema: Any, path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(schema, dict):
        for key, value in schema.get("properties", {}).items():
            yield f"{path}.{key}", value
        for key, value in schema.items():
            if key != "properties":
                yield from _properties(value, f"{path}/{key}")
        for key, value in schema.get("properties", {}).items():
            yield from _properties(value, f"{path}.{key}")
    elif isinstance(schema, list):
        for index, item in enumerate(schema):
            yield from _properties(item, f"{path}[{index}]")


def test_every_key_has_a_description_and_valid_examples() -> None:
    seen = 0
    for path, prop in _properties(SCHEMA):
        seen += 1
        assert prop.get("description"), path
        assert prop.get("examples"), path
        alone = jsonschema.Draft202012Validator({**prop, "$defs": SCHEMA["$defs"]})
        for example in prop["examples"]:
            assert alone.is_valid(example), (path, example)
    assert seen > 150
    assert set(SCHEMA["properties"]) == set(SESSION.fields)
    assert set(SCHEMA["$defs"]) == set(STEP_KINDS)


def test_a_newly_declared_key_appears_with_its_help() -> None:
    declared = Obj({"pronounce": Field(Obj({"word": Field(Text("as written"), required=True),
                                            "say": Field(Text("as spoken"))}, "a spelling"))},
                   "with a new key")
    prop = declared.json_schema()["properties"]["pronounce"]
    assert prop["description"] == "a spelling"
    inner = prop["anyOf"][0]
    assert inner["required"] == ["word"]
    assert set(inner["properties"]) == {"word", "say"}
    assert prop["examples"] == [{"word": "Let your shoulders drop."}]


# --- every script the loader accepts, the schema accepts -----------------------------------

GOOD_FILES = [session.path for session in builtin_sessions()] + sorted(DATA.glob("*.yaml"))


@pytest.mark.parametrize("path", GOOD_FILES, ids=lambda path: path.name)
def test_every_built_in_and_test_script_is_valid(path: Path) -> None:
    load_session(path)
    text = path.read_text("utf-8")
    errors = list(VALIDATOR.iter_errors(yaml12(text)))
    assert errors == [], (path.name, [error.message[:200] for error in errors[:3]])


#: Bad-corpus files whose problem is one field's value or shape, which the schema sees too.
SCHEMA_SEES = {"big-pick", "choose-without-options", "control-characters", "huge-exponent",
               "huge-values", "long-key", "long-number", "many-unknown-keys", "nan-duration",
               "placeholder-code", "python-tag", "top-level-list"}


def test_the_schema_refuses_the_bad_corpus_where_one_field_shows_the_problem() -> None:
    refused = set()
    for path in sorted((DATA / "bad").glob("*.yaml")):
        if path.name.startswith("playlist-"):
            continue
        try:
            instance = yaml12(path.read_text("utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError, ValueError, RecursionError):
            continue  # not YAML an editor could read either
        if not VALIDATOR.is_valid(instance):
            refused.add(path.stem)
    assert SCHEMA_SEES <= refused, SCHEMA_SEES - refused


# --- the cases the issue names, and more, as probes ----------------------------------------

PROBES = [
    # (script, valid) — the list first
    ("steps:\n  - breathe: {pattern: boxx}\n", False),
    ("bed: browm\nsteps:\n  - pause: 1\n", False),
    ("steps:\n  - breathe: {pattern: box, cycles: 3, duration: 1m}\n", False),
    ('steps:\n  - pause: "1:75"\n', False),
    ("steps:\n  - pause: 3 min\n", False),
    ("steps:\n  - hum: {duration: 0}\n", False),
    ("steps:\n  - hum: {note: A2, duration: 5, level: 20dB}\n", False),
    ("steps:\n  - hum: {note: A2, hz: 110, duration: 5}\n", False),
    ("steps:\n  - hum: {note: A-1, duration: 5}\n", False),
    ("steps:\n  - hum: {hz: 110Hz, duration: 5}\n", True),
    ('voice: {rate: "120"}\nsteps:\n  - pause: 1\n', True),
    ('steps:\n  - hum: {note: "C♯3", duration: 5}\n', True),
    # more of the same family
    ("steps:\n  - pause: 1:30\n", True),
    ("steps:\n  - pause: 12:00:00\n", True),
    ("steps:\n  - pause: 12:00:01\n", False),
    ("steps:\n  - pause: 720:00\n", True),
    ("steps:\n  - pause: 720:01\n", False),
    ("steps:\n  - pause: 13h\n", False),
    ("steps:\n  - pause: 1m1m\n", False),
    ("steps:\n  - pause: 2M 30S\n", True),
    ("steps:\n  - pause: 1e-3\n", True),
    ("steps:\n  - hum: {note: A2, duration: 0s}\n", False),
    ("steps:\n  - hum: {note: a2, duration: 1}\n", True),
    ("steps:\n  - hum: {note: H2, duration: 1}\n", False),
    ("steps:\n  - hum: {hz: 19.99, duration: 1}\n", False),
    ("steps:\n  - hum: {hz: '2000 hz', duration: 1}\n", True),
    ("steps:\n  - tone: {note: A9, duration: 1}\n", True),
    ("steps:\n  - tone: {duration: 1}\n", False),
    ("steps:\n  - breathe: {pattern: Box}\n", True),
    ("steps:\n  - breathe: {pattern: 4-0-4}\n", True),
    ("steps:\n  - breathe: {pattern: 4-4-0-4}\n", False),
    ("steps:\n  - breathe: {pattern: [4, 0]}\n", False),
    ("steps:\n  - breathe: {pattern: [4s, 2, 6s]}\n", True),
    ("steps:\n  - breathe: {pattern: {inhale: 4}}\n", False),
    ("steps:\n  - breathe: {pattern: {inhale: 4, exhale: 6, hold: ~}}\n", True),
    ("steps:\n  - breathe: {pattern: box, hum: A-1}\n", False),
    ("steps:\n  - breathe: {pattern: box, hum: 'yes'}\n", True),
    ("steps:\n  - breathe: {pattern: box, hum: {note: A2, hz: 110}}\n", False),
    ("steps:\n  - bell: {count: 0}\n", False),
    ("steps:\n  - bell: CHIME\n", False),
    ("steps:\n  - bell: ' chime '\n", True),
    ("steps:\n  - tone: {note: A4, duration: 1, under: Yes}\n", True),
    ("steps:\n  - tone: {note: A4, duration: 1, under: maybe}\n", False),
    ("steps:\n  - section: {title: Rest, bed: OFF}\n", True),
    ("steps:\n  - section: {title: Rest, bed: {level: -20dB}}\n", False),
    ("steps:\n  - say: '   '\n", False),
    ("steps:\n  - say: 'a {name'\n", False),
    ("steps:\n  - say: 'braces {{ and }} are fine'\n", True),
    ("steps:\n  - say: yes\n", True),
    ("output: {loudness: Off}\nsteps:\n  - pause: 1\n", True),
    ("output: {loudness: -4}\nsteps:\n  - pause: 1\n", False),
    ("output: {sample_rate: '44100'}\nsteps:\n  - pause: 1\n", True),
    ("output: {channels: 2.5}\nsteps:\n  - pause: 1\n", False),
    ("vars: {p: 3s}\nsteps:\n  - pause: '{p}'\n", True),
    ("vars: {1p: 3s}\nsteps:\n  - pause: 1\n", False),
    ("title:\nsteps:\n  - pause: 1\n", True),
    ("steps:\n  - choose: {pick: '1, 1', options: [[pause: 1]]}\n", True),
    ("steps:\n  - choose: {pick: 'one', options: [[pause: 1]]}\n", False),
    ("steps:\n  - pause: 1\n    say: two keys\n", False),
    ("steps: []\n", False),
]


@pytest.mark.parametrize("text, valid", PROBES, ids=[text.split("\n")[-2].strip()[:60]
                                                      for text, _ in PROBES])
def test_probe_schema_and_loader_agree(text: str, valid: bool, tmp_path: Path) -> None:
    assert loader_accepts(text, tmp_path)[0] is valid, loader_accepts(text, tmp_path)
    assert schema_accepts(text)[0] is valid, schema_accepts(text)


#: Where the schema knowingly accepts what the loader refuses (docs/script-format.md lists
#: them): sizes behind an exponent or summed over parts, and numbers an editor reads as
#: numbers but audioguide reads as text.
KNOWN_LENIENT = [
    'steps:\n  - pause: "1e5h"\n',
    "steps:\n  - pause: 11h 90m\n",
    "steps:\n  - pause: -0\n",
    "steps:\n  - pause: +5\n",
    "steps:\n  - pause: 0x10\n",
    "steps:\n  - breathe: {pattern: box, cycles: 5.0}\n",
    "steps:\n  - hum: {note: A2, duration: 5, level: '1e3dB'}\n",
]


@pytest.mark.parametrize("text", KNOWN_LENIENT, ids=[t.split(": ", 1)[1][:40]
                                                     for t in KNOWN_LENIENT])
def test_known_lenient_cases_are_what_the_docs_say(text: str, tmp_path: Path) -> None:
    assert not loader_accepts(text, tmp_path)[0]
    assert schema_accepts(text)[0]


# --- the differential property: one field varied, schema-valid <=> loader-valid -----------

Segment = tuple[Any, str]     # (an Obj and one of its keys) or ("step", a step kind)

#: Kinds that read a mapping by way of an Obj (so their keys are varied one by one too).
INNER = {id(BREATHE_HUM): HUM_ON_EXHALES, id(SECTION.fields["bed"].kind): SECTION_BED,
         id(CHOOSE): CHOOSE_FIELDS}


def slots() -> list[tuple[tuple[Segment, ...], Field]]:
    """Every place a value goes, found by walking the declarations."""
    found: list[tuple[tuple[Segment, ...], Field]] = []

    def walk(obj: Obj, prefix: tuple[Segment, ...]) -> None:
        if obj.shorthand is not None:
            found.append((prefix, Field(obj.fields[obj.shorthand].kind, required=True)))
        for key, spec in obj.fields.items():
            path = (*prefix, (obj, key))
            found.append((path, spec))
            inner = spec.kind if isinstance(spec.kind, Obj) else INNER.get(id(spec.kind))
            if inner is not None and key != "steps":
                walk(inner, path)

    walk(SESSION, ())
    for name, kind in STEP_KINDS.items():
        prefix: tuple[Segment, ...] = ((SESSION, "steps"), ("step", name))
        inner = kind if isinstance(kind, Obj) else INNER.get(id(kind))
        if inner is not None:
            walk(inner, prefix)
        else:
            found.append((prefix, Field(kind, required=True)))
    return found


SLOTS = slots()
SENTINEL = "__VALUE__"


def _mapping_example(obj: Obj, key: str) -> dict[str, Any]:
    """A valid mapping of `obj` to set `key` in: the other keys of its groups left out."""
    example = next(e for e in reversed(obj.examples()) if isinstance(e, dict))
    example = copy.deepcopy(example)
    for group in obj.one_of + obj.at_most_one:
        if key in group:
            for other in group:
                if other != key:
                    example.pop(other, None)
    return example


def document(path: tuple[Segment, ...]) -> Any:
    """A valid script (as data) with SENTINEL where the slot's value goes."""
    if not path:
        return SENTINEL
    head, rest = path[0], path[1:]
    if head[0] == "step":
        return [{head[1]: document(rest)}]
    obj, key = head
    base = {"steps": [{"pause": 1}]} if obj is SESSION else _mapping_example(obj, key)
    base[key] = document(rest)
    return base


def script_text(path: tuple[Segment, ...], token: str) -> str:
    data = document(path)
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, default_flow_style=False,
                          width=1000)
    assert text.count(SENTINEL) == 1, text
    return text.replace(SENTINEL, token)


def _quoted(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


NOTHING = ["~", "[1]", "{a: 1}"]
DURATIONS = ["0", "4", "4s", "1.5s", ".5", "5.", "500ms", "2m", "1.5m", "1h", "1m30s", "1m 30s",
             "1h5m", "2m500ms", "1:30", "1:30.5", "1:02:03", "90:00", "12h", "43200", "720:00",
             "12:00:00", "2M", "4S", "1e1s", '"2.5e1"', '" 4s "', "11h59m", "0s", "0:00", "0.0",
             "-3s", '"-0"', "3 min", "1:75", "1:60:00", "13h", "12:00:01", "43201", "720:01",
             "1m1m", "4 s s", "abc", "s", "1e21s", "", '""', "true", "1:2:3:4", "4sec",
             "1,5s", "00:00:00.000", "0012h", "43200000ms", "43200001ms", "720.5m", "1h1",
             "4s 1", "ms", '"1e-3 s"']
LEVEL_WORDS = ["-18dB", "-18", "+3 dB", "-6db", "12dB", "12.0001dB", "13", "-96", "-96.5dB",
               "20dB", "0", "-0dB", "dB", "-18 decibels", "--3", "1e1dB", '"-18"', '" -18 DB "',
               '"- 18"', "18dBdB", ".5dB", "5.dB", "40", "40.5", "-1"]
FLAGS = ["true", "false", "yes", "no", "on", "off", "Yes", "NO", "True", "OFF", "maybe", "1",
         "0", '"true"', '" yes "', "y"]
NOTE_WORDS = ["A2", "a2", "C#3", "C♯3", "Bb2", "B♭2", "e4", "A-1", "A10", "H2", "A", "A#",
              "C-0", "D#0", "E0", "Cb7", "C7", "B6", "A9", "Ab-0", '" A2 "', "A 2", "A##2"]
HZ_WORDS = ["110", "110Hz", "110 hz", '"110HZ"', "19", "20", "2000", "2001", "20000", "20001",
            "abcHz", "Hz", "-110", "110hzhz", "136.1", "1e2", ".5e3Hz", "20.0"]
TEXTS = ["Hello", '"  "', '""', "5", "true", '"{{literal}}"', '"{x"', '"{1x}"', '"}"',
         '"a}}b"', "'a { b'", '"tab\\tand space"']
PATTERN_WORDS = ["box", "Box", "BOX", '" box "', "boxx", "4-7-8", "4,4,4,4", "4 - 6", "0-4",
                 "4-0", "4-0-4", "4-4-0-4", "4-4-4-0", "4.5-6", "4.-6", "4-7-8-9-1", "4",
                 "[4, 6]", "[4, 0]", "[0, 6]", "[4]", "[4, 4, 4, 4, 4]", "[4s, 2s, 6s]",
                 "[-1, 4]", "{inhale: 4, exhale: 6}", "{inhale: 4}", "{inhale: 4, exhale: 0}",
                 "{inhale: 4, exhale: 6, hold: 2}", "{inhale: 4, exhale: 6, hold: ~}",
                 "{inhale: 4, exhale: ~}", "{inhale: 4, exhale: 6, breath: 2}", "ujjayi",
                 "cyclic-sigh", "7-11", "0.1-0.1", "00-4"]
BED_WORDS = ["brown", "Brown", "browm", '" rain "', "none", "white", "", "pink noise"]
HUM_WORDS = FLAGS + ["A2", "A-1", "H2", "{note: A2}", "{hz: 110}", "{note: A2, hz: 110}", "{}",
                     "{level: 20dB}", "{vowel: oo}", "{vowel: ee}"]
LOUDNESS_WORDS = ["-16", "-40", "-5", "-4.9", "-41", "off", "OFF", "false", "no", "true",
                  '"-16"', "0", "none"]
SECTION_BED_WORDS = ["none", "off", "None", "rain", "browm", "{sound: rain}", "{level: -20dB}",
                     "{sound: rain, level: 20dB}", "{sound: rain, duck: -1}"]
PICKS = ["all", "ALL", '" all "', "1", "01", "1,1", "' 1 , 1 '", "0", "x", "1,", "',1'", "''",
         "123456", "'0 1'", "1;1", "-1"]
VARIABLES = ["{a: 1}", "{1a: x}", "[1]", "{a: [1]}", "{a: ~}", "{_a: yes}"]
PRONUNCIATIONS = ["{Siobhan: Shi-vawn}", "{New York: Noo York}", "{Zeng: '[[tsˈɛŋ]]'}",
                  "{a: 1}", "{'[a]': b}", "{'a{b': c}", "{a: ~}", "{a: [b]}", "{' ': x}",
                  "{a: ' '}", "[a]", "{Zoë: Zo-ee}", "{a: 'line\\nbreak'}"]


def _numbers(low: float, high: float, integer: bool) -> st.SearchStrategy[str]:
    span = max(high - low, 1.0)
    if integer:
        values: st.SearchStrategy[Any] = st.integers(int(low - span), int(high + span))
    else:
        values = st.decimals(Decimal(str(low - span)), Decimal(str(high + span)), places=2,
                             allow_nan=False, allow_infinity=False)
    # `-0` is 0 to an editor but negative to a duration: see the schema section's list.
    shown = values.map(lambda v: "0" if v == 0 else str(v))
    return st.one_of(shown, shown.map(_quoted), shown.map(lambda t: _quoted(f" {t} ")))


def _with_units(bound: int) -> st.SearchStrategy[str]:
    units = st.sampled_from([("h", 3600), ("m", 60), ("s", 1), ("ms", Fraction(1, 1000))])
    return units.flatmap(lambda unit: st.integers(0, int(bound / unit[1]) + 3).map(
        lambda n: f"{n}{unit[0]}"))


def pool_for(spec: Field, path: tuple[Segment, ...]
             ) -> tuple[list[str], st.SearchStrategy[str] | None] | None:
    """Good and bad YAML values for one slot: listed words, and generated ones; None where
    only the file system can tell (paths), or the kind is not a value (steps)."""
    kind = spec.kind
    last = path[-1] if path else None
    if last == (CHOOSE_FIELDS, "pick"):
        return PICKS + NOTHING, None
    if isinstance(kind, Obj) and kind.shorthand is not None:
        short = kind.fields[kind.shorthand]
        return pool_for(Field(short.kind, required=spec.required), path)
    words: list[str] | None = None
    extra: st.SearchStrategy[str] | None = None
    if kind is PATTERN:
        words = PATTERN_WORDS
    elif kind is BED_SOUND:
        words = BED_WORDS
    elif kind is BREATHE_HUM:
        words = HUM_WORDS
    elif kind is LOUDNESS:
        words = LOUDNESS_WORDS
        extra = _numbers(-40, -5, False)
    elif kind is SECTION.fields["bed"].kind:
        words = SECTION_BED_WORDS
    elif isinstance(kind, Duration):
        words = DURATIONS
        extra = st.one_of(_numbers(0, 43200, False), _with_units(43200))
    elif isinstance(kind, Level):
        words = LEVEL_WORDS
        extra = _numbers(kind.minimum, kind.maximum, False).map(lambda t: t.strip('"') + "dB")
    elif isinstance(kind, Number):
        words = ["abc", '"5.0"', '" 7 "', "5.5", '"1 2"', '"+1"']
        extra = _numbers(kind.minimum, kind.maximum, kind.integer)
    elif isinstance(kind, Choice):
        words = [*kind.options, *(o.upper() for o in kind.options),
                 _quoted(f" {kind.options[0]} "), kind.options[0] + "x", "", "5"]
    elif isinstance(kind, Flag):
        words = FLAGS
    elif isinstance(kind, Frequency):
        words = NOTE_WORDS if kind.notes else HZ_WORDS
        if not kind.notes:
            extra = _numbers(kind.minimum, kind.maximum, False)
    elif isinstance(kind, Text):
        words = TEXTS
    elif isinstance(kind, Variables):
        words = VARIABLES
    elif isinstance(kind, Pronunciations):
        words = PRONUNCIATIONS
    elif isinstance(kind, (FilePath, FolderPath, Custom, Obj, ListOf)):
        return None   # files (existence), steps and other custom kinds
    assert words is not None, f"no values for {kind}"
    return words + NOTHING, extra


def values_for(spec: Field, path: tuple[Segment, ...]) -> st.SearchStrategy[str] | None:
    """The slot's values as one strategy."""
    pool = pool_for(spec, path)
    if pool is None:
        return None
    words, extra = pool
    return st.sampled_from(words) if extra is None else st.one_of(st.sampled_from(words), extra)


VARIED = [(path, spec, values) for path, spec in SLOTS
          if (values := values_for(spec, path)) is not None]


def _whole_session(message: str) -> bool:
    return "the session lasts at least" in message or "expands to more than" in message


def check_agreement(path: tuple[Segment, ...], token: str, folder: Path) -> None:
    text = script_text(path, token)
    loader, why = loader_accepts(text, folder)
    if not loader and _whole_session(why):
        return    # the whole session's length: beyond what one field can say
    schema, reason = schema_accepts(text)
    assert schema == loader, f"{token!r}: loader {loader} ({why}); schema {schema} ({reason})" \
        f"\n{text}"


@pytest.fixture(scope="module")
def probe_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where probe scripts live, with the files their examples name."""
    folder = tmp_path_factory.mktemp("probes")
    (folder / "sounds").mkdir()
    (folder / "sounds" / "stream.ogg").write_bytes(b"")
    (folder / "recordings").mkdir()
    return folder


def test_every_slot_starts_from_a_valid_script(probe_folder: Path) -> None:
    assert len(VARIED) > 100
    for path, spec, _values in VARIED:
        example = spec.example_values()[0] if spec.example_values() else None
        token = "~" if not spec.required else json.dumps(example)
        text = script_text(path, token)
        assert loader_accepts(text, probe_folder) == (True, ""), text
        assert schema_accepts(text)[0], (text, schema_accepts(text))


@settings(max_examples=200, derandomize=True, deadline=None)
@given(data=st.data())
def test_schema_valid_iff_loader_valid_for_one_field(data: st.DataObject,
                                                     probe_folder: Path) -> None:
    path, _spec, values = data.draw(st.sampled_from(VARIED))
    token = data.draw(values)
    check_agreement(path, token, probe_folder)


@pytest.mark.slow
def test_schema_and_loader_agree_on_every_listed_value_in_every_slot(probe_folder: Path
                                                                    ) -> None:
    for path, spec, _values in VARIED:
        for token in pool_for(spec, path)[0]:  # type: ignore[index]
            check_agreement(path, token, probe_folder)


# --- decimal bounds, checked against exact arithmetic -------------------------------------

FORMS = {ecma.ANY_POINT: r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)",
         ecma.INNER_POINT: r"[+-]?[0-9]+(?:\.[0-9]+)?", ecma.NO_POINT: r"[+-]?[0-9]+"}


@settings(max_examples=300, derandomize=True, deadline=None)
@given(low=st.decimals(-200, 200, places=2), width=st.decimals(0, 300, places=2),
       form=st.sampled_from(sorted(FORMS)),
       text=st.from_regex(r"\A[+-]?0{0,2}[0-9]{0,4}(\.[0-9]{0,3})?\Z"))
def test_decimal_bounds_match_exact_comparison(low: Decimal, width: Decimal, form: str,
                                               text: str) -> None:
    high = low + width
    pattern = re.compile("^" + ecma.decimal(low, high, form) + "$")
    well_formed = re.fullmatch(FORMS[form], text) is not None
    expected = well_formed and low <= Fraction(text.lstrip("+")) <= high
    assert bool(pattern.match(text)) is expected, (low, high, form, text)


# --- publishing: schema --install --------------------------------------------------------

def test_install_writes_the_schema_beside_the_script_and_a_first_line(tmp_path: Path) -> None:
    script = tmp_path / "mine.yaml"
    script.write_text("# my evening session\ntitle: Evening\nsteps:\n  - pause: 1\n", "utf-8")
    result = CliRunner().invoke(cli, ["schema", "--install", str(script)])
    assert result.exit_code == 0, result.output
    schema_path = tmp_path / SCHEMA_FILE
    assert result.stdout == f"{script}: uses {schema_path}\n"
    assert json.loads(schema_path.read_text("utf-8")) == SCHEMA
    lines = script.read_text("utf-8").splitlines()
    assert lines[0] == f"# yaml-language-server: $schema=./{SCHEMA_FILE}"
    assert lines[1:] == ["# my evening session", "title: Evening", "steps:", "  - pause: 1"]
    load_session(script)
    before = script.read_bytes(), schema_path.stat().st_mtime_ns
    assert CliRunner().invoke(cli, ["schema", "--install", str(script)]).exit_code == 0
    assert (script.read_bytes(), schema_path.stat().st_mtime_ns) == before
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".part")] == []


def test_install_replaces_an_old_modeline_and_keeps_bom_and_line_ends(tmp_path: Path) -> None:
    script = tmp_path / "crlf.yaml"
    body = ("# yaml-language-server: $schema=https://old.invalid/s.json\r\n"
            "steps:\r\n  - pause: 1\r\n")
    script.write_bytes(b"\xef\xbb\xbf" + body.encode("utf-8"))
    script.chmod(0o640)
    install_schema(script)
    data = script.read_bytes()
    assert data == (b"\xef\xbb\xbf# yaml-language-server: $schema=./.audioguide.schema.json\r\n"
                    b"steps:\r\n  - pause: 1\r\n")
    assert script.stat().st_mode & 0o777 == 0o640


def test_modeline_only_looks_at_the_comments_on_top() -> None:
    text = "steps:\n  - say: |\n      # yaml-language-server: $schema=x\n"
    assert with_modeline(text, "./s.json") == "# yaml-language-server: $schema=./s.json\n" + text
    assert with_modeline("", "./s.json") == "# yaml-language-server: $schema=./s.json\n"


def test_install_refuses_what_it_should_not_write(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["schema", "--install", str(tmp_path / "missing.yaml")])
    assert result.exit_code == 2
    assert result.stderr == f"error: script not found: {tmp_path / 'missing.yaml'}\n"
    builtin = builtin_sessions()[0].path
    result = runner.invoke(cli, ["schema", "--install", str(builtin)])
    assert result.exit_code == 2
    assert "is a built-in session; copy it to edit with `audioguide new NAME --from" in (
        result.stderr)
    assert not (builtin.parent / SCHEMA_FILE).exists()


def test_install_says_plainly_when_the_folder_cannot_be_written(tmp_path: Path) -> None:
    folder = tmp_path / "locked"
    folder.mkdir()
    script = folder / "s.yaml"
    script.write_text("steps:\n  - pause: 1\n", "utf-8")
    folder.chmod(0o555)
    try:
        if _writable(folder):
            pytest.skip("running as a user who can write anywhere")
        result = CliRunner().invoke(cli, ["schema", "--install", str(script)])
    finally:
        folder.chmod(0o755)
    assert result.exit_code == 1
    assert result.stderr == (f"error: cannot write {folder / SCHEMA_FILE}: no permission to write "
                             f"in {folder}; copy the script to a folder you can write to\n")
    assert script.read_text("utf-8") == "steps:\n  - pause: 1\n"


def test_install_fails_in_one_line_when_the_schema_cannot_be_written(tmp_path: Path) -> None:
    script = tmp_path / "s.yaml"
    script.write_text("steps:\n  - pause: 1\n", "utf-8")
    (tmp_path / SCHEMA_FILE).mkdir()    # a folder where the schema goes
    result = CliRunner().invoke(cli, ["schema", "--install", str(script)])
    assert result.exit_code == 1
    assert result.stderr == f"error: cannot write {tmp_path / SCHEMA_FILE}: Is a directory\n"
    assert script.read_text("utf-8") == "steps:\n  - pause: 1\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == [SCHEMA_FILE, "s.yaml"]


def _writable(folder: Path) -> bool:
    try:
        (folder / "probe").write_text("x")
    except OSError:
        return False
    (folder / "probe").unlink()
    return True


def test_schema_prints_the_same_json() -> None:
    result = CliRunner().invoke(cli, ["schema"])
    assert result.exit_code == 0
    assert json.loads(result.stdout) == SCHEMA
