"""Every built-in session: valid, complete, of its stated length, rendered with the real voice."""

import hashlib
import json
import re
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from audioguide.cli import cli
from audioguide.jobs.library import default_voice_name, known_lengths
from audioguide.jobs.options import RenderOptions
from audioguide.jobs.prepare import prepare
from audioguide.script import (
    Bell,
    Breathe,
    Section,
    Step,
    builtin_sessions,
    find_script,
    load_session,
)
from audioguide.script.model import walk_steps
from audioguide.script.schema import KINDS

BUILTINS = [session.name for session in builtin_sessions()]
#: The library the issue asks for, by kind.
EXPECTED = {
    "breathing": {"box-breathing", "ujjayi-breathing", "prolonged-exhale", "4-7-8",
                  "resonance-breathing", "cyclic-sighing", "find-your-pace"},
    "sound": {"calming-voice", "humming"},
    "movement": {"changing-posture", "gentle-rocking", "dance"},
    "visualization": {"safe-place", "ideal-parent-figure", "inner-child"},
    "awareness": {"internal-radar"},
    # The article's co-regulation practices, done with (or for) a person you trust.
    "together": {"safety-signals", "building-trust", "mirroring", "repair", "day-of-play",
                 "naming-emotions"},
    "writing": {"journaling-prompts"},
}
#: The article the library grew from: shared/ sits beside the repository (here and in CI).
ARTICLE = (Path(__file__).resolve().parents[2] / "shared" / "seed"
           / "attachment-coping-exercises.txt")
#: The longest run of words a session may share with the article.
MAX_SHARED_RUN = 9
NUMBERS = {word: n for n, word in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen twenty".split())}


def flatten(steps: tuple[Step, ...]) -> list[Step]:
    return [step for step, _ in walk_steps(steps)]


def stated_minutes(description: str) -> float:
    match = re.search(r"About (\w+)( and a half)? minutes?\.", description)
    assert match, f"the description should end with 'About N minutes.': {description!r}"
    return NUMBERS[match.group(1).lower()] + (0.5 if match.group(2) else 0.0)


def test_the_whole_library_is_there() -> None:
    by_kind: dict[str, set[str]] = {}
    for builtin in builtin_sessions():
        by_kind.setdefault(load_session(builtin.path).kind, set()).add(builtin.name)
    for kind, names in EXPECTED.items():
        assert names <= by_kind.get(kind, set()), (kind, names - by_kind.get(kind, set()))
    assert set(by_kind) <= set(KINDS) - {"other"}


@pytest.mark.real
@pytest.mark.slow
@pytest.mark.parametrize("name", BUILTINS)
def test_each_session_is_complete_and_renders(name: str) -> None:
    # 16 kHz mono keeps CI quick; timing is in exact times, so lengths are the same.
    with prepare(name, RenderOptions(sample_rate=16000, channels=1)) as prepared:
        session, timeline = prepared.session, prepared.timeline
        steps = flatten(session.steps)
        assert sum(isinstance(step, Section) for step in steps) >= 2
        assert any(isinstance(step, Bell) for step in session.steps[:3]), "an opening bell"
        assert isinstance(session.steps[-1], Bell), "a closing bell"
        minutes = timeline.seconds / 60
        assert 3 <= minutes <= 20
        assert abs(minutes - stated_minutes(session.description)) <= 1.5, minutes
        assert not timeline.warnings, [str(w) for w in timeline.warnings]
        # `audioguide list` shows the stored length: it must be this session's, in this voice.
        stored = known_lengths()[name]
        assert stored["voice"] == default_voice_name() == "piper:en_US-joe-medium"
        assert stored["sha256"] == hashlib.sha256(find_script(name).read_bytes()).hexdigest(), (
            "content/lengths.json is out of date: run scripts/update_lengths.py")
        assert abs(float(str(stored["seconds"])) - timeline.seconds) < 0.05, (
            "content/lengths.json is out of date: run scripts/update_lengths.py")
        peak, energy = 0.0, 0.0
        for block in prepared.blocks():
            peak = max(peak, float(np.max(np.abs(block))))
            energy += float(np.sum(block.astype(np.float64) ** 2))
    assert 0.1 < peak <= 0.9
    assert energy / timeline.length > 1e-5


def words_of(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower().replace("\u2019", "'").replace("\u2018", "'"))


def runs_of(words: list[str], length: int) -> set[tuple[str, ...]]:
    return {tuple(words[i:i + length]) for i in range(len(words) - length + 1)}


def test_runs_of_finds_a_copied_sentence() -> None:
    article = words_of("Pay attention to their body language, facial expressions, and tone of "
                       "voice.")
    copied = words_of("say: Now pay attention to their body language, facial expressions, and tone")
    own = words_of("say: Watch their body, their face, and listen to their voice.")
    length = MAX_SHARED_RUN + 1
    assert runs_of(copied, length) & runs_of(article, length)
    assert not runs_of(own, length) & runs_of(article, length)


@pytest.mark.skipif(not ARTICLE.is_file(), reason=f"the source article is not at {ARTICLE}")
@pytest.mark.parametrize("name", BUILTINS)
def test_narration_is_written_fresh(name: str) -> None:
    # The whole file counts (narration, cue words, title, description, comments): YAML keys
    # between two lines only break a run, never make one.
    length = MAX_SHARED_RUN + 1
    article = runs_of(words_of(ARTICLE.read_text(encoding="utf-8")), length)
    path = next(builtin.path for builtin in builtin_sessions() if builtin.name == name)
    shared = runs_of(words_of(path.read_text(encoding="utf-8")), length) & article
    assert not shared, [" ".join(run) for run in sorted(shared)]


def test_find_your_pace_slows_from_six_and_a_half_to_four_and_a_half_a_minute() -> None:
    # The pace of a breathe step does not depend on the voice, so the draft voice will do.
    result = CliRunner().invoke(cli, ["inspect", "find-your-pace", "--json", "--engine", "draft"])
    assert result.exit_code == 0, result.output
    steps = json.loads(result.output)["steps"]
    blocks = [i for i, step in enumerate(steps) if step["kind"] == "breathe"]
    paces = [float(re.findall(r"([\d.]+) a minute\)", steps[i]["detail"])[0]) for i in blocks]
    assert len(paces) >= 5, paces
    assert paces == sorted(paces, reverse=True) and len(set(paces)) == len(paces), paces
    assert paces[0] == pytest.approx(6.5, abs=0.1) and paces[-1] == pytest.approx(4.5, abs=0.1)
    for i in blocks:
        assert 90 <= steps[i]["length_s"] <= 120, steps[i]
        # the pace is announced just before its block, and a quiet moment follows it
        assert steps[i - 1]["kind"] == "say" and "a minute" in steps[i - 1]["detail"]
        after = steps[i + 1:i + 3]
        assert any(step["kind"] == "pause" and step["length_s"] >= 10 for step in after), after
    session = load_session(next(b.path for b in builtin_sessions() if b.name == "find-your-pace"))
    for step in flatten(session.steps):
        if isinstance(step, Breathe):
            lengths = step.pattern.lengths()
            assert set(lengths) == {"inhale", "exhale"} and lengths["inhale"] == lengths["exhale"]
            assert step.cue == "tone"
