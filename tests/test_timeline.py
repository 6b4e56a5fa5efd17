import json
import os
from fractions import Fraction
from pathlib import Path

import pytest

from audioguide.errors import ScriptError
from audioguide.jobs.options import RenderOptions
from audioguide.jobs.prepare import prepare
from audioguide.render.sources import ClipLibrary
from audioguide.script import VoiceSpec, load_session
from audioguide.timeline.compile import compile_timeline
from audioguide.timeline.model import Timeline
from audioguide.timeline.narration import CompileOptions, speech_requests
from audioguide.units import seconds_to_samples
from audioguide.voices import SpeechBank, SpeechCache

from conftest import DATA, WriteScript

GOLDEN = sorted(path.name for path in DATA.glob("*.yaml"))
DRAFT = CompileOptions(voice=VoiceSpec(engine="draft"))


def compile_draft(path: Path, options: CompileOptions = DRAFT) -> Timeline:
    session = load_session(path)
    rate = options.sample_rate or session.output.sample_rate
    library = ClipLibrary(SpeechBank(SpeechCache()), rate, session.output.channels)
    library.prepare_speech(speech_requests(session, options))
    return compile_timeline(session, library, options)


@pytest.mark.parametrize("name", GOLDEN)
def test_golden_timelines(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Compare with tests/data/<name>.timeline.json (AUDIOGUIDE_UPDATE_GOLDEN=1 rewrites it)."""
    monkeypatch.chdir(DATA)
    with prepare(name, RenderOptions(engine="draft")) as prepared:
        actual = prepared.timeline.to_json()
    golden = DATA / name.replace(".yaml", ".timeline.json")
    if os.environ.get("AUDIOGUIDE_UPDATE_GOLDEN"):
        golden.write_text(json.dumps(actual, indent=1, ensure_ascii=False) + "\n", "utf-8")
    assert actual == json.loads(golden.read_text("utf-8"))


def test_breath_cues_start_exactly_on_phase_boundaries(write_script: WriteScript) -> None:
    path = write_script("""
        voice: {engine: draft}
        steps:
          - pause: 0.3333s
          - breathe: {pattern: [4.1, 1.7, 6.05, 0.9], cycles: 7, cue: both}
    """)
    for rate in (44100, 48000, 22050, 11025):
        timeline = compile_draft(path, CompileOptions(sample_rate=rate,
                                                      voice=VoiceSpec(engine="draft")))
        phases = [Fraction("4.1"), Fraction("1.7"), Fraction("6.05"), Fraction("0.9")]
        expected = []
        now = Fraction("0.3333")
        for _ in range(7):
            for seconds in phases:
                expected.append(seconds_to_samples(now, rate))
                now += seconds
        # A spoken cue and a tick sit on each boundary; one pacing tone spans the step.
        for kind in ("cue", "tick"):
            assert [c.start for c in timeline.clips if c.kind == kind] == expected, kind
        (pacer,) = [c for c in timeline.clips if c.kind == "pacer"]
        assert (pacer.start, pacer.end) == (expected[0], seconds_to_samples(now, rate))
        assert [frames for _, frames in pacer.source.phases] == [  # type: ignore[attr-defined]
            b - a for a, b in zip(expected, expected[1:] + [pacer.end], strict=True)]
        assert timeline.length == seconds_to_samples(now, rate)


def test_an_hour_of_odd_lengths_does_not_drift(write_script: WriteScript) -> None:
    # 3600 pauses of 1.00001 s: 44100.441 samples each. Summing rounded lengths would put
    # the tone at 158,760,000; the exact time is 158,761,587.6 samples.
    path = write_script("""
        steps:
          - repeat: {times: 60, steps: [{repeat: {times: 60, steps: [{pause: 1.00001s}]}}]}
          - tone: {hz: 440, duration: 1s}
    """)
    timeline = compile_draft(path)
    (tone,) = timeline.clips
    assert tone.start == 158_761_588
    assert tone.start == seconds_to_samples(Fraction("1.00001") * 3600, 44100)


def test_duration_rounds_up_to_whole_breaths(write_script: WriteScript) -> None:
    path = write_script("""
        steps:
          - breathe: {pattern: box, duration: 60s, cue: tone}
          - breathe: {pattern: [4, 6], duration: 40s, cue: tone, ramp: {exhale: 8}}
    """)
    timeline = compile_draft(path)
    box, ramped = timeline.items
    assert box.length == 64 * 44100            # 4 breaths of 16 s, not 3.75
    assert box.detail == "box × 4 (16s a breath, 3.75 a minute)"
    # n breaths from 10 s to 12 s last n × 11 s: 4 breaths (44 s) is the first to reach 40 s.
    assert ramped.length == 44 * 44100
    assert ramped.detail == "prolonged-exhale × 4 (10s a breath → 12s, 6 → 5 a minute)"


def test_ramp_moves_each_breath_linearly(write_script: WriteScript) -> None:
    path = write_script("""
        steps:
          - breathe: {pattern: [4, 4], cycles: 5, cue: tone, ramp: {exhale: 8}}
    """)
    timeline = compile_draft(path)
    starts = [clip.start for clip in timeline.clips if clip.kind == "tick"]
    lengths = [(b - a) / 44100 for a, b in zip(starts, starts[1:] + [timeline.length],
                                                strict=True)]
    assert lengths == [4, 4, 4, 5, 4, 6, 4, 7, 4, 8]


def test_a_spoken_cue_longer_than_its_phase_is_an_error(write_script: WriteScript) -> None:
    path = write_script("""
        voice: {engine: draft, rate: 100}
        steps:
          - breathe:
              pattern: cyclic-sigh
              cycles: 2
              cue: voice
              words: {top_up: "And a little more air, all the way up to the top"}
    """)
    with pytest.raises(ScriptError) as caught:
        compile_draft(path)
    (issue,) = caught.value.issues
    assert str(issue) == (
        f"{path}:3:5: steps[0].breathe: the spoken cue 'And a little more air, all the way up "
        "to the top' takes 4.82s but the top-up lasts 1.00s; shorten the words, slow the "
        "pattern or use cue: tone")


def test_at_earlier_than_now_names_both_times(write_script: WriteScript) -> None:
    path = write_script("""
        steps:
          - pause: 90s
          - at: 1m
          - pause: 1s
          - at: 1:31
    """)
    with pytest.raises(ScriptError) as caught:
        compile_draft(path)
    assert [str(issue) for issue in caught.value.issues] == [
        f"{path}:3:5: steps[1].at: 'at: 1:00.000' is earlier than where the session already is "
        "(1:30.000); move it later or shorten the steps before it",
    ]
    ok = write_script("steps:\n  - pause: 90s\n  - at: 2m\n  - tone: {hz: 300, duration: 1}\n",
                      "ok.yaml")
    assert compile_draft(ok).clips[0].start == 120 * 44100


def test_sessions_over_twelve_hours_are_refused_by_the_loader(write_script: WriteScript) -> None:
    path = write_script("steps:\n  - repeat: {times: 13, steps: [{pause: 1h}]}\n")
    with pytest.raises(ScriptError) as caught:
        compile_draft(path)
    assert [str(i) for i in caught.value.issues] == [
        f"{path}:2:34: steps[0].repeat.steps[0].pause: the session lasts at least 13:00:00.000 "
        "by here; the limit is 12 hours: shorten it or split it into several sessions"]


def test_speech_that_carries_a_session_past_twelve_hours_is_refused(
        write_script: WriteScript) -> None:
    # The loader counts speech as taking no time; the compiler knows its real length.
    path = write_script("steps:\n  - pause: '11:59:59'\n  - say: A line that takes a while.\n")
    with pytest.raises(ScriptError) as caught:
        compile_draft(path)
    [issue] = caught.value.issues
    assert str(issue).startswith(f"{path}:2:5: steps: the session lasts 12:00:0")
    assert str(issue).endswith("; the limit is 12 hours")


def test_warnings_for_long_holds_and_fast_paces(write_script: WriteScript) -> None:
    path = write_script("""
        steps:
          - breathe: {pattern: [4, 12, 4], cycles: 1, cue: tone}
          - breathe: {pattern: [2, 2], cycles: 3, cue: tone}
    """)
    timeline = compile_draft(path)
    assert [str(w) for w in timeline.warnings] == [
        f"{path}:2:5: warning: steps[0].breathe: a 12s hold is long; holds over 10s can leave "
        "people light-headed",
        f"{path}:3:5: warning: steps[1].breathe: 15.0 breaths a minute is faster than the 10 or "
        "fewer usually used to calm down",
    ]


def test_say_lasts_its_speech_plus_its_gap(write_script: WriteScript) -> None:
    path = write_script("""
        voice: {engine: draft, gap: 2s}
        steps:
          - say: One line.
          - say: {text: Another line., after: 0.5s}
          - tone: {hz: 300, duration: 1s}
    """)
    timeline = compile_draft(path)
    first, second, tone = timeline.clips
    assert second.start == first.end + 2 * 44100
    assert tone.start == second.end + 22050
    assert [item.kind for item in timeline.items] == ["say", "say", "tone"]
    assert timeline.items[0].length == first.length + 2 * 44100


def test_chapters_run_from_section_to_section(write_script: WriteScript) -> None:
    path = write_script("""
        steps:
          - section: One
          - pause: 10s
          - section: Two
          - pause: 5s
          - bell: bowl
    """)
    timeline = compile_draft(path)
    assert [(c.title, c.start, c.end) for c in timeline.chapters] == [
        ("One", 0, 10 * 44100), ("Two", 10 * 44100, timeline.length)]
    # The bell step lasts its 5 s gap; the bowl struck at 15 s rings on for 14 s.
    assert timeline.items[-1].length == 5 * 44100
    assert timeline.length == (15 + 14) * 44100


def test_the_bed_ducks_under_every_spoken_line(write_script: WriteScript) -> None:
    path = write_script("""
        voice: {engine: draft}
        bed: brown
        steps:
          - say: First.
          - pause: 10s
          - say: Second.
    """)
    timeline = compile_draft(path)
    (bed,) = timeline.beds
    first, second = timeline.clips
    assert bed.duck == ((first.start, first.end), (second.start, second.end))
    assert (bed.start, bed.end) == (0, timeline.length)
    assert bed.level_db == -30 and bed.duck_db == 8


def test_an_at_inside_a_repeat_is_reported_once(write_script: WriteScript) -> None:
    path = write_script("""
        steps:
          - repeat:
              times: 5
              steps:
                - pause: 10s
                - at: 15s
    """)
    with pytest.raises(ScriptError) as caught:
        compile_draft(path)
    assert len(caught.value.issues) == 1
    assert "'at: 0:15.000' is earlier than where the session already is (0:25.000)" in str(
        caught.value)


def test_long_durations_are_not_capped(write_script: WriteScript) -> None:
    path = write_script("steps:\n  - breathe: {pattern: [2, 2], duration: 6h, cue: none}\n")
    timeline = compile_draft(path)
    assert timeline.length == 6 * 3600 * 44100  # 5400 breaths of 4 s
    assert timeline.items[0].detail == "2-2 × 5400 (4s a breath, 15 a minute)"
