"""Bad input, property-tested: whatever the script, playlist or --set value, the loader
accepts it or raises ScriptError/InputError placed at file:line:col — never another
exception, never a hang, never unbounded memory.

The example budget is fixed and the search derandomized, so CI runs the same examples
every time; HYPOTHESIS_PROFILE=deep searches longer and at random.
"""

from __future__ import annotations

import os
import re
import time
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from audioguide.errors import InputError, ScriptError
from audioguide.playlist.load import load_playlist
from audioguide.script.load import builtin_sessions, load_variables, parse_session
from audioguide.script.model import VoiceSpec
from audioguide.timeline.compile import compile_timeline
from audioguide.timeline.narration import CompileOptions

pytestmark = pytest.mark.slow

settings.register_profile("ci", max_examples=60, derandomize=True, deadline=None,
                          database=None, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("deep", max_examples=3000, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

#: Any one load may take this long (with allocations traced, which slows Python about
#: threefold) and allocate this much, however bad the input.
TIME_LIMIT_S = 30.0
MEMORY_LIMIT_BYTES = 150 * 1024 * 1024

LOCATED = re.compile(r"^(?P<file>.+?):(?P<line>\d+):(?P<col>\d+): \S")
DRAFT = CompileOptions(voice=VoiceSpec(engine="draft"))


class OneSecondClips:
    """Every speech line, file and bell lasts one second (no voice, no files read)."""

    def frames(self, source: object) -> int:
        return 44_100


@contextmanager
def bounded(time_limit_s: float | None = TIME_LIMIT_S) -> Iterator[None]:
    """Fail if the block takes longer than `time_limit_s` or allocates over the memory limit."""
    tracemalloc.start()
    began = time.perf_counter()
    try:
        yield
    finally:
        elapsed = time.perf_counter() - began
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    if time_limit_s is not None:
        assert elapsed < time_limit_s, f"took {elapsed:.1f}s"
    assert peak < MEMORY_LIMIT_BYTES, f"allocated {peak / 2**20:.0f} MB"


def assert_located(error: ScriptError, file: str, text: str | bytes | None = None) -> None:
    """Every problem names the file, a line and column inside it, and a message."""
    lines = None
    if isinstance(text, str):
        lines = text.count("\n") + 2
    elif isinstance(text, bytes):
        lines = text.count(b"\n") + 2
    for issue in error.issues:
        shown = str(issue)
        assert "\n" not in issue.message, shown
        match = LOCATED.match(shown)
        assert match, shown
        assert match["file"] == file
        assert issue.line >= 1 and issue.column >= 1, shown
        if lines is not None:
            assert issue.line <= lines, shown
        assert len(shown) < len(file) + 600, f"message too long: {shown[:200]}"
    assert len(error.issues) <= ScriptError.MAX_SHOWN + 1


def load_or_refuse(text: str | bytes, overrides: dict[str, str] | None = None) -> None:
    """Parse (and, if accepted, compile) a script; only located script errors may escape."""
    with bounded():
        try:
            session = parse_session(text, name="fuzz", overrides=overrides)
        except ScriptError as error:
            assert_located(error, "<fuzz>", text)
            return
        except InputError as error:
            # Only --set names that the script does not have are refused this way.
            assert overrides and str(error).startswith("--set "), str(error)
            return
        try:
            compile_timeline(session, OneSecondClips(), DRAFT)
        except ScriptError as error:
            assert_located(error, "<fuzz>", text)


# -- strategies ---------------------------------------------------------------------------

NASTY_SCALARS = st.sampled_from([
    None, True, False, 0, -1, -0.0, 1e308, -1e308, float("nan"), float("inf"), float("-inf"),
    10**40, -(10**40), "", " ", "~", "null", "1e999999999", "-5s", "1:99", "99:99:99",
    "{", "}", "{name}", "{{", "{0.__class__}", "{__import__}", "A-1", "Z9", "1e5h",
    "4-7-8", "0-0", "9" * 300, "x" * 50_000, "\u202e\u0000", "\ud7ff\U0010ffff", "ms", "1m1m",
    "-18dB", "+99dB", "box", "ocean", "all", "1,2,99", "../../../etc/passwd", "/dev/zero",
    "/", ".", "\t", "\n\n", "0x10", "1_000", ".5", "5.", "1e-400",
])

KEYS = st.sampled_from([
    "steps", "say", "pause", "breathe", "hum", "bell", "tone", "rhythm", "sound", "section",
    "repeat", "choose", "at", "times", "pattern", "cycles", "duration", "cue", "text", "voice",
    "engine", "id", "rate", "pitch", "level", "bed", "vars", "output", "format", "sample_rate",
    "channels", "loudness", "title", "options", "pick", "note", "hz", "kind", "count", "gap",
    "file", "fade_in", "fade_out", "ramp", "words", "under", "beat", "wave", "style", "after",
    "audioguide", "unknown", "Steps", "stepz", "",
]) | st.text(max_size=12)

SCALARS = NASTY_SCALARS | st.integers() | st.floats() | st.text(max_size=40) | st.booleans()


def documents(max_leaves: int = 40) -> st.SearchStrategy[Any]:
    """Random YAML-able values, biased towards the script's own keys."""
    return st.recursive(
        SCALARS,
        lambda inner: st.lists(inner, max_size=5) | st.dictionaries(KEYS, inner, max_size=5),
        max_leaves=max_leaves)


BUILTIN_TEXTS = {session.name: session.path.read_text("utf-8")
                 for session in builtin_sessions()}
BUILTIN_DATA = {name: yaml.safe_load(text) for name, text in BUILTIN_TEXTS.items()}


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _paths(child, prefix + (key,))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _paths(child, prefix + (index,))


def _get(value: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        value = value[part]
    return value


MUTATIONS = ("delete", "replace", "wrap", "nest", "duplicate")


@st.composite
def mutated_builtin(draw: st.DrawFn) -> Any:
    """A built-in session with a few random mutations at random places."""
    name = draw(st.sampled_from(sorted(BUILTIN_DATA)))
    data = yaml.safe_load(BUILTIN_TEXTS[name])
    for _ in range(draw(st.integers(1, 4))):
        paths = [p for p in _paths(data) if p]
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent, last = _get(data, path[:-1]), path[-1]
        mutation = draw(st.sampled_from(MUTATIONS))
        if mutation == "delete":
            del parent[last]
        elif mutation == "replace":
            parent[last] = draw(SCALARS | documents(8))
        elif mutation == "wrap":
            parent[last] = [parent[last]]
        elif mutation == "nest":
            parent[last] = {draw(KEYS): parent[last]}
        elif isinstance(parent, list):
            parent.extend([parent[last]] * draw(st.integers(1, 50)))
        else:
            parent[draw(KEYS)] = parent[last]
    return data


@st.composite
def damaged_text(draw: st.DrawFn) -> str:
    """A built-in session's text with characters cut out, inserted or the end torn off."""
    text = BUILTIN_TEXTS[draw(st.sampled_from(sorted(BUILTIN_TEXTS)))]
    for _ in range(draw(st.integers(1, 3))):
        start = draw(st.integers(0, len(text)))
        end = draw(st.integers(start, min(len(text), start + 80)))
        action = draw(st.sampled_from(("cut", "insert", "tear")))
        if action == "cut":
            text = text[:start] + text[end:]
        elif action == "insert":
            text = text[:start] + draw(st.text(min_size=1, max_size=10) | st.sampled_from(
                [":", "- ", "  ", "\t", "&a ", "*a", "!!binary ", "{", "[", "'", '"', "#",
                 "? ", "|", ">", "\n", "---\n", "%YAML 1.1\n", "<<: "])) + text[start:]
        else:
            text = text[:start]
    return text


def dump(value: Any) -> str:
    return yaml.safe_dump(value, allow_unicode=True, sort_keys=False, width=10_000)


# -- scripts ------------------------------------------------------------------------------

@given(documents())
def test_random_documents(value: Any) -> None:
    load_or_refuse(dump(value))


@given(documents().map(lambda v: {"steps": v}))
def test_random_steps(value: Any) -> None:
    load_or_refuse(dump(value))


@given(mutated_builtin())
def test_mutated_builtin_sessions(value: Any) -> None:
    load_or_refuse(dump(value))


@given(damaged_text())
def test_damaged_builtin_text(text: str) -> None:
    load_or_refuse(text)


@given(st.binary(max_size=400))
def test_random_bytes(data: bytes) -> None:
    load_or_refuse(data)


@given(st.text(max_size=300))
def test_random_text(text: str) -> None:
    load_or_refuse(text)


def test_the_built_in_sessions_pass_the_same_checks() -> None:
    # The checks above are not vacuous: the unmutated sessions load and compile.
    for name, text in BUILTIN_TEXTS.items():
        session = parse_session(text, name=name)
        assert compile_timeline(session, OneSecondClips(), DRAFT).length > 0


# -- --set and --vars ---------------------------------------------------------------------

SET_SCRIPT = """\
vars: {place: a quiet beach, minutes: 5, pick: all}
steps:
  - say: You are at {place}.
  - pause: '{minutes}m'
  - choose:
      pick: '{pick}'
      options:
        - [say: One.]
        - [say: Two.]
"""


@given(st.dictionaries(st.sampled_from(["place", "minutes", "pick", "plase", "x", ""]),
                       NASTY_SCALARS.map(str) | st.text(max_size=60), max_size=3))
def test_set_values(overrides: dict[str, str]) -> None:
    load_or_refuse(SET_SCRIPT, overrides)


@given(documents(12))
def test_vars_files(value: Any) -> None:
    path = _scratch() / "vars.yaml"
    path.write_text(dump(value), encoding="utf-8")
    with bounded():
        try:
            variables = load_variables(path)
        except ScriptError as error:
            assert_located(error, str(path))
            return
    assert all(isinstance(v, str) for v in variables.values())


# -- playlists ----------------------------------------------------------------------------

PLAYLIST = {"playlist": "Evening", "description": "Before sleep.",
            "tracks": ["song.mp3", {"file": "song.mp3", "title": "A song"},
                       {"session": "humming", "set": {"rounds": 4}},
                       {"folder": ".", "shuffle": True, "seed": 3}],
            "crossfade": "4s", "loudness": -16}


@st.composite
def mutated_playlist(draw: st.DrawFn) -> Any:
    data = yaml.safe_load(dump(PLAYLIST))
    for _ in range(draw(st.integers(1, 3))):
        paths = [p for p in _paths(data) if p]
        path = draw(st.sampled_from(paths))
        parent, last = _get(data, path[:-1]), path[-1]
        if draw(st.booleans()):
            del parent[last]
        else:
            parent[last] = draw(SCALARS | documents(6))
    return data


def _scratch() -> Path:
    folder = Path(os.environ.get("AUDIOGUIDE_CACHE", "/tmp")) / "fuzz-scratch"
    folder.mkdir(exist_ok=True)
    (folder / "song.mp3").write_bytes(b"")
    return folder


@given(mutated_playlist() | documents(20))
def test_playlists(value: Any) -> None:
    path = _scratch() / "list.yaml"
    path.write_text(dump(value), encoding="utf-8")
    with bounded():
        try:
            load_playlist(path)
        except ScriptError as error:
            assert_located(error, str(path))
        except InputError as error:
            pytest.fail(f"unplaced error: {error}")


# -- the named hazards, each once ---------------------------------------------------------

def _alias_bomb(levels: int = 9) -> str:
    lines = ["a0: &a0 [say: lol]"]
    for level in range(1, levels):
        refs = ", ".join([f"*a{level - 1}"] * 9)
        lines.append(f"a{level}: &a{level} [{refs}]")
    lines.append(f"steps: *a{levels - 1}")
    return "\n".join(lines) + "\n"


HAZARDS: dict[str, Callable[[], str | bytes]] = {
    "alias bomb": _alias_bomb,
    "alias bomb in steps": lambda: _alias_bomb().replace("a0: &a0 [say: lol]",
                                                         "x: &a0 [{repeat: {times: 1000, steps: "
                                                         "[pause: 1ms]}}]"),
    "10 MB string": lambda: "steps:\n  - say: '" + "a" * 10_000_000 + "'\n",
    "deep nesting": lambda: "steps: " + "[" * 100_000 + "]" * 100_000 + "\n",
    "deep mappings": lambda: "steps: " + "{a: " * 900 + "1" + "}" * 900 + "\n",
    "invalid UTF-8": lambda: b"title: caf\xe9\nsteps: [pause: 1]\n",
    "binary": lambda: bytes(range(256)) * 64,
    "empty": lambda: "",
    "only a comment": lambda: "# nothing here\n",
    "nested repeats": lambda: "steps:\n" + "".join(
        "  " * (2 * i + 1) + "- repeat:\n" + "  " * (2 * i + 3) + "times: 1000\n"
        + "  " * (2 * i + 3) + "steps:\n" for i in range(4)) + "  " * 9 + "- section: x\n",
    "13 hours": lambda: "steps:\n  - breathe: {pattern: box, cycles: 3000}\n",
    "huge exponent": lambda: "steps:\n  - pause: 1e999999999\n",
    "placeholder bomb": lambda: ("vars: {a: '" + "x" * 10_000 + "'}\nsteps:\n  - say: '"
                                 + "{a}" * 5_000 + "'\n"),
    "many problems": lambda: "".join(f"key{i}: {i}\n" for i in range(20_000)),
}


@pytest.mark.parametrize("hazard", HAZARDS)
def test_named_hazards_are_refused_quickly_with_a_placed_error(hazard: str) -> None:
    text = HAZARDS[hazard]()
    with bounded():
        with pytest.raises(ScriptError) as caught:
            parse_session(text, name="fuzz")
    assert_located(caught.value, "<fuzz>")


def test_the_largest_script_loads_within_the_bounds() -> None:
    text = "steps:\n" + "  - pause: 1ms\n" * 66_000
    # Timed untraced (tracing this many allocations is slow, and slower still on a busy
    # machine), then again with allocations traced for the memory bound.
    began = time.perf_counter()
    compile_timeline(parse_session(text, name="fuzz"), OneSecondClips(), DRAFT)
    elapsed = time.perf_counter() - began
    assert elapsed < TIME_LIMIT_S / 3, f"took {elapsed:.1f}s"
    with bounded(time_limit_s=None):
        session = parse_session(text, name="fuzz")
        timeline = compile_timeline(session, OneSecondClips(), DRAFT)
    assert len(timeline.items) == 66_000


def test_a_directory_is_refused_with_one_line(tmp_path: Path) -> None:
    from audioguide.script.load import load_session
    folder = tmp_path / "session.yaml"
    folder.mkdir()
    with pytest.raises(InputError) as caught:
        load_session(folder)
    assert str(caught.value) == f"{folder} is a folder; give a script file or a built-in name"


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(tmp_path: Path) -> None:
    from audioguide.script.load import MAX_SCRIPT_BYTES, load_session
    big = tmp_path / "big.yaml"
    with big.open("wb") as file:
        file.truncate(MAX_SCRIPT_BYTES + 1)   # sparse: no time or disk spent writing it
    with bounded():
        with pytest.raises(ScriptError) as caught:
            load_session(big)
    assert [str(i) for i in caught.value.issues] == [
        f"{big}:1:1: the file is larger than the 1,000,000-byte limit for a script (is this "
        "the right file?)"]


def test_exact_durations_stay_exact() -> None:
    # Bounding exponents must not cost precision on the numbers people write.
    session = parse_session("steps:\n  - pause: 1e-3\n  - pause: 2.5e1\n", name="fuzz")
    assert [getattr(step, "seconds", None) for step in session.steps] == [
        Fraction(1, 1000), Fraction(25)]
