"""Every built-in session: valid, complete, of its stated length, rendered with the real voice."""

import re

import numpy as np
import pytest

from audioguide.pipeline import RenderOptions, prepare
from audioguide.script import Bell, Choose, Repeat, Section, Step, builtin_sessions, load_session
from audioguide.script.schema import KINDS

BUILTINS = [session.name for session in builtin_sessions()]
#: The library the issue asks for, by kind.
EXPECTED = {
    "breathing": {"box-breathing", "ujjayi-breathing", "prolonged-exhale", "4-7-8",
                  "resonance-breathing", "cyclic-sighing"},
    "sound": {"calming-voice", "humming"},
    "movement": {"changing-posture", "gentle-rocking", "dance"},
    "visualization": {"safe-place", "ideal-parent-figure", "inner-child"},
    "awareness": {"internal-radar", "safety-signals"},
    "writing": {"journaling-prompts"},
}
NUMBERS = {word: n for n, word in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen twenty".split())}


def flatten(steps: tuple[Step, ...]) -> list[Step]:
    out: list[Step] = []
    for step in steps:
        out.append(step)
        if isinstance(step, Repeat):
            out += flatten(step.steps)
        elif isinstance(step, Choose):
            for option in step.picked:
                out += flatten(option)
    return out


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
        peak, energy = 0.0, 0.0
        for block in prepared.blocks():
            peak = max(peak, float(np.max(np.abs(block))))
            energy += float(np.sum(block.astype(np.float64) ** 2))
    assert 0.1 < peak <= 0.9
    assert energy / timeline.length > 1e-5
