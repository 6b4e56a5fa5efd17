"""The live compile and render: a session compiled and rendered while its lines are made.

The draft voice makes the lines; a stand-in for the speech maker releases them one at a
time (so the compile shows its frontier at every line), and a slow engine (a delay per
line) makes the renderer wait for real.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Hashable
from pathlib import Path

import numpy as np
import pytest

from audioguide.errors import ScriptError, VoiceError
from audioguide.jobs.options import RenderOptions
from audioguide.jobs.prepare import prepare
from audioguide.live.mix import BEHIND, Spans, hold_point, live_blocks
from audioguide.live.player import Player
from audioguide.live.timeline import Frontier, LiveTimeline, floor_timeline, start_live
from audioguide.render.mixer import _BedPlayer, render_blocks
from audioguide.render.sources import ClipLibrary
from audioguide.script import Session, VoiceSpec, builtin_sessions, load_session
from audioguide.script.model import Location
from audioguide.timeline.compile import compile_timeline
from audioguide.timeline.model import Clip, Timeline
from audioguide.timeline.narration import CompileOptions, speech_requests
from audioguide.voices import SpeechBank, SpeechCache, SpeechRequest, VoiceSettings
from audioguide.voices.base import Speech
from audioguide.voices.draft import DraftEngine

from conftest import WriteScript

DRAFT = CompileOptions(voice=VoiceSpec(engine="draft"))

#: Every kind of step the frontier has to respect: beds changed by sections and ducked
#: under the voice, at:, repeat, choose, a breathe with spoken cues, a tone under speech.
EVERYTHING = """
title: Everything live
voice: {engine: draft, rate: 170, gap: 0.4s}
bed: {sound: pink, level: -30dB, duck: 8dB, fade_in: 1s, fade_out: 1.5s}
output: {sample_rate: 22050}
steps:
  - section: One
  - bell: {kind: soft}
  - say: The first line of all.
  - say: {text: A second line close behind., after: 0.2s}
  - tone: {hz: 220, duration: 3s, under: true, level: -30dB}
  - repeat: {times: 2, steps: [{say: Again and again.}, {pause: 0.7s}]}
  - section: {title: Two, bed: {sound: brown, level: -32dB}}
  - breathe: {pattern: [2, 1, 2.5], cycles: 2, cue: both,
              words: {inhale: In, hold: Hold, exhale: Out}}
  - choose: {pick: "2", options: [[{say: Not this one.}], [{say: This one was chosen.}]]}
  - at: 40s
  - section: {title: Quiet, bed: none}
  - say: Nearly done.
  - section: {title: Three, bed: {sound: rain, fade_in: 0.5s, fade_out: 4s}}
  - say: Nearly the last.
  - say: The last line.
"""
#: The session's bed fades out over the last lines: what the end of the session will be
#: is known only with the last line.
ENDING = """
title: Ending live
voice: {engine: draft, rate: 170}
bed: {sound: brown, level: -28dB, duck: 6dB, fade_in: 1s, fade_out: 4s}
steps:
  - pause: 2s
  - say: A first line.
  - say: A second line.
  - say: Last.
"""


class Stepper:
    """Stands in for SpeechAhead: every line is in the cache, but a line counts as made
    only when the test lets the compile have it (one at a time)."""

    def __init__(self, requests: list[SpeechRequest]) -> None:
        self.pending = set(requests)
        self.total = len(requests)
        self.asked: queue.Queue[SpeechRequest] = queue.Queue()
        self.go = threading.Semaphore(0)

    def start(self) -> None:
        pass

    def ready(self, request: SpeechRequest) -> bool:
        return request not in self.pending

    def wait(self, request: SpeechRequest) -> None:
        if request in self.pending:
            self.asked.put(request)
            self.go.acquire()
            self.pending.discard(request)

    def close(self) -> None:
        pass


def cached_library(session: Session, options: CompileOptions = DRAFT) -> ClipLibrary:
    """A library at the session's rate with all its lines made (in the test's cache)."""
    rate = options.sample_rate or session.output.sample_rate
    library = ClipLibrary(SpeechBank(SpeechCache()), rate, session.output.channels)
    library.prepare_speech(speech_requests(session, options))
    return library


def stepped(session: Session, library: ClipLibrary,
            options: CompileOptions = DRAFT) -> tuple[LiveTimeline, list[Frontier]]:
    """Compile live, line by line: the frontier after each line shown, then the whole."""
    requests = list(dict.fromkeys(speech_requests(session, options)))
    stepper = Stepper(requests)
    floor = floor_timeline(session, library, options)
    live = LiveTimeline(session, library, options, stepper, floor, {})  # type: ignore[arg-type]
    live.start()
    frontiers = []
    deadline = time.monotonic() + 60
    while live.timeline is None and time.monotonic() < deadline:
        try:
            stepper.asked.get(timeout=0.02)
        except queue.Empty:
            continue
        frontiers.append(live.advance(0, 0))
        stepper.go.release()
    frontiers.append(live.advance(0, 0))
    assert frontiers[-1].timeline is not None
    return live, frontiers


def lines_of(timeline: Timeline) -> list[tuple[int, int]]:
    return [(clip.start, clip.end) for clip in timeline.clips if clip.kind in ("say", "cue")]


def check_frontiers(final: Timeline, frontiers: list[Frontier]) -> None:
    """The clips handed out are the finished timeline's, in its order, each batch before
    its frontier and after the one before; the compile never waits inside a line."""
    handed: list[Hashable] = []
    previous_end = 0
    lines = lines_of(final)
    for frontier in frontiers[:-1]:
        assert frontier.end >= previous_end
        assert all(previous_end <= clip.start < frontier.end for clip in frontier.clips)
        assert not any(start < frontier.placed_to < end for start, end in lines)
        assert frontier.end <= frontier.placed_to
        handed += frontier.clips
        previous_end = frontier.end
    handed += frontiers[-1].clips
    assert tuple(handed) == final.clips
    assert frontiers[-1].end == final.length


def check_beds(final: Timeline, frontiers: list[Frontier]) -> None:
    """Before each frontier, every bed known then dips and fades as the finished one."""
    finals = {(bed.start, bed.source): bed for bed in final.beds}
    rate = final.sample_rate
    window = 64
    for frontier in frontiers[:-1]:
        for bed in frontier.beds:
            if bed.start >= frontier.end:
                continue
            done = finals[(bed.start, bed.source)]
            first = max(bed.start, frontier.end - 12 * rate)
            for at in range(first, frontier.end - window, rate // 4):
                live_gain = _BedPlayer(bed, None).gain(at, window)  # type: ignore[arg-type]
                final_gain = _BedPlayer(done, None).gain(at, window)  # type: ignore[arg-type]
                assert np.array_equal(np.broadcast_to(live_gain, window),
                                      np.broadcast_to(final_gain, window)), (bed.start, at)


@pytest.mark.parametrize("name", [builtin.name for builtin in builtin_sessions()])
def test_every_builtin_compiles_live_to_the_full_timeline(name: str) -> None:
    (builtin,) = [b for b in builtin_sessions() if b.name == name]
    session = load_session(builtin.path)
    library = cached_library(session)
    live, frontiers = stepped(session, library)
    final = frontiers[-1].timeline
    assert final == compile_timeline(session, library, DRAFT)
    assert len(frontiers) > 1          # it did wait for lines
    check_frontiers(final, frontiers)
    check_beds(final, frontiers)


@pytest.mark.parametrize("script", [EVERYTHING, ENDING], ids=["everything", "ending"])
def test_live_render_is_the_full_render(write_script: WriteScript, script: str) -> None:
    session = load_session(write_script(script))
    library = cached_library(session)
    live, frontiers = stepped(session, library)
    final = frontiers[-1].timeline
    assert final is not None
    assert final == compile_timeline(session, library, DRAFT)
    check_frontiers(final, frontiers)
    check_beds(final, frontiers)
    # Render again, now while the lines are released one at a time as the renderer asks.
    session = load_session(write_script(script))
    requests = list(dict.fromkeys(speech_requests(session, DRAFT)))
    stepper = Stepper(requests)
    live = LiveTimeline(session, library, DRAFT, stepper,  # type: ignore[arg-type]
                        floor_timeline(session, library, DRAFT), {})
    live.start()
    def release_all() -> None:
        for _ in requests:
            stepper.go.release()

    releaser = threading.Thread(target=release_all, daemon=True)
    pieces: list[np.ndarray] = []
    for piece in live_blocks(live, library, block_frames=4096):
        if not pieces:
            releaser.start()
        pieces.append(piece)
    heard = np.concatenate(pieces)
    expected = np.concatenate(list(render_blocks(final, library, block_frames=4096)))
    assert np.array_equal(heard, expected)


def test_the_floor_is_never_later_nor_longer(write_script: WriteScript) -> None:
    session = load_session(write_script(EVERYTHING))
    library = cached_library(session)
    floor = floor_timeline(session, library, DRAFT)
    final = compile_timeline(session, library, DRAFT)
    assert floor.length <= final.length
    assert [item.kind for item in floor.items] == [item.kind for item in final.items]
    assert all(f.start <= t.start for f, t in zip(floor.items, final.items, strict=True))
    assert floor.warnings == final.warnings


class SlowDraft(DraftEngine):
    """The draft voice, taking `delay_s` over each line (and failing on `fails`)."""

    def __init__(self, delay_s: float, fails: str | None = None) -> None:
        self.delay_s = delay_s
        self.fails = fails
        self.made: list[str] = []

    def synthesize(self, text: str, settings: VoiceSettings) -> Speech:
        time.sleep(self.delay_s)
        if text == self.fails:
            raise VoiceError("the slow voice gave up")
        self.made.append(text)
        return super().synthesize(text, settings)


def slow_live(path: Path, cache: Path, delay_s: float,
              fails: str | None = None) -> tuple[LiveTimeline, ClipLibrary, SlowDraft]:
    session = load_session(path)
    engine = SlowDraft(delay_s, fails)
    bank = SpeechBank(SpeechCache(cache), engine_factory=lambda name: engine)
    library = ClipLibrary(bank, session.output.sample_rate, session.output.channels)
    live = start_live(session, library, DRAFT, list(speech_requests(session, DRAFT)))
    assert live is not None
    return live, library, engine


#: A bell and a pause before the first line.
SLOW = """
title: Slow voice
voice: {engine: draft, rate: 200, gap: 0.3s}
bed: {sound: pink, level: -30dB, fade_in: 0.2s, fade_out: 0.2s}
output: {sample_rate: 16000}
steps:
  - bell: {kind: soft}
  - pause: 1s
  - say: One small line.
  - say: Two small lines.
  - say: Three small lines.
  - pause: 0.5s
"""
#: Lines sooner, and shorter than the slow voice takes to make them.
HOLDING = """
title: Held
voice: {engine: draft, rate: 200, gap: 0.3s}
bed: {sound: pink, level: -30dB, fade_in: 0.2s, fade_out: 0.2s}
steps:
  - pause: 2.5s
  - say: One small line.
  - say: Two small lines.
  - say: Three small lines.
  - pause: 0.5s
"""


class Clock:
    """A sound card the test drives: `frames` a pull, at about real time."""

    name = "clock"

    def __init__(self) -> None:
        self.pull: object = None
        self.delivered = 0

    def start(self, pull: object) -> None:
        self.pull = pull

    def played_frames(self) -> int:
        return self.delivered

    def stop(self) -> None:
        pass

    def close(self) -> None:
        pass


def play_through(player: Player, clock: Clock, rate: int, frames: int = 512,
                 limit_s: float = 60.0) -> tuple[np.ndarray, list[int]]:
    """Play to the end at real time: what was heard, and the position after each pull."""
    player.start()
    heard, positions = [], []
    deadline = time.monotonic() + limit_s
    while not player.finished and time.monotonic() < deadline:
        heard.append(clock.pull(frames).copy())  # type: ignore[operator]
        clock.delivered += frames
        positions.append(player.position())
        time.sleep(frames / rate)
        if player.error() is not None:
            raise player.error()  # type: ignore[misc]
    player.stop(fade=False)
    player.close()
    return np.concatenate(heard), positions


def test_a_slow_voice_holds_at_a_pause_and_says_so_once(write_script: WriteScript,
                                                        tmp_path: Path,
                                                        caplog: pytest.LogCaptureFixture
                                                        ) -> None:
    path = write_script(HOLDING)
    live, library, engine = slow_live(path, tmp_path / "cache", delay_s=1.5)
    clock = Clock()
    player: Player | None = None
    blocks = live_blocks(live, library, underruns=lambda: player.underruns if player else 0,
                         stopped=lambda: player is not None and player.stopping)
    player = Player(live.view(), blocks, clock)
    rate = live.sample_rate
    with caplog.at_level(logging.WARNING):
        heard, positions = play_through(player, clock, rate)
    final = live.timeline
    assert final is not None
    assert engine.made == ["One small line.", "Two small lines.", "Three small lines."]
    assert player.underruns > 0                           # it did wait for the voice
    assert [r.getMessage() for r in caplog.records].count(BEHIND) == 1
    # The waits are silences inserted into the session: without them it is the render.
    quiet = ~np.any(heard != 0, axis=1)
    expected = np.concatenate(list(render_blocks(final, library)))
    assert not (~np.any(expected != 0, axis=1)).any()     # (the bed never stops)
    assert np.array_equal(heard[~quiet][: len(expected)], expected)
    # Each wait is at a pause between lines, and the position stood still through it.
    pulls = np.flatnonzero(quiet.reshape(-1, 512).all(axis=1))
    sounding = np.flatnonzero(~quiet)
    lines = lines_of(final)
    waits = [index for index in pulls if sounding[0] < index * 512 < sounding[-1]]
    assert waits
    for index in waits:
        at = positions[index]
        assert not any(start < at < end for start, end in lines), at
        assert positions[index - 1] == at            # held, not moving on


def test_a_slow_voice_starts_sounding_before_its_first_line(write_script: WriteScript,
                                                            tmp_path: Path) -> None:
    live, library, engine = slow_live(write_script(SLOW), tmp_path / "cache", delay_s=1.5)
    started = time.monotonic()
    blocks = live_blocks(live, library)
    first = next(blocks)
    waited = time.monotonic() - started
    assert len(first) > 0 and np.any(first != 0)
    assert engine.made == []                  # no line made yet ...
    assert waited < 1.5                       # ... so it did not wait for one
    live.close()


def test_a_line_that_cannot_be_made_stops_the_session_at_it(write_script: WriteScript,
                                                            tmp_path: Path) -> None:
    live, library, _ = slow_live(write_script(SLOW), tmp_path / "cache", delay_s=0.05,
                                 fails="Two small lines.")
    heard = []
    with pytest.raises(VoiceError, match="could not say 'Two small lines.'"):
        for piece in live_blocks(live, library):
            heard.append(piece)
    # What was played ends before the failed line, at the pause after the first.
    assert sum(len(piece) for piece in heard) <= 16000 * 3


def test_prepare_live_refuses_a_bad_script_before_playing(write_script: WriteScript,
                                                         tmp_path: Path) -> None:
    path = write_script("""
        voice: {engine: draft}
        steps:
          - say: Some words.
          - pause: 2s
          - at: 1s
    """)
    with pytest.raises(ScriptError) as refused:
        prepare(path, RenderOptions(engine="draft", cache_dir=tmp_path), live=True)
    with pytest.raises(ScriptError) as usual:
        prepare(path, RenderOptions(engine="draft", cache_dir=tmp_path))
    assert str(refused.value) == str(usual.value)     # with the real times in it
    assert "is earlier than where the session already is" in str(usual.value)


def test_a_line_too_long_for_its_place_stops_the_session_there(write_script: WriteScript,
                                                               tmp_path: Path) -> None:
    # Only the line's real length shows the error, so it comes while playing, at the line.
    path = write_script("""
        voice: {engine: draft, gap: 0.2s}
        steps:
          - pause: 3s
          - say: Some words that take a good while longer than a second to say.
          - at: 4s
          - say: Never heard.
    """)
    with prepare(path, RenderOptions(engine="draft", cache_dir=tmp_path), live=True) as cold:
        heard = 0
        with pytest.raises(ScriptError, match="'at: 0:04.000' is earlier"):
            for piece in cold.blocks():
                heard += len(piece)
    assert heard <= 3 * 44100


def test_prepare_live_with_everything_cached_is_the_usual_prepare(
        write_script: WriteScript) -> None:
    path = write_script(SLOW)
    with prepare(path, RenderOptions(engine="draft")) as warm:
        timeline = warm.timeline
    with prepare(path, RenderOptions(engine="draft"), live=True) as again:
        assert again.live is None
        assert again.timeline == timeline


def test_prepared_live_blocks_are_the_render(write_script: WriteScript,
                                             tmp_path: Path) -> None:
    path = write_script(SLOW)
    with prepare(path, RenderOptions(engine="draft", cache_dir=tmp_path), live=True) as cold:
        assert cold.live is not None and cold.lines_made == 3
        assert cold.timeline.length >= cold.live.floor.length    # an estimate meanwhile
        heard = np.concatenate(list(cold.blocks()))
        final = cold.live.timeline
    with prepare(path, RenderOptions(engine="draft", cache_dir=tmp_path)) as warm:
        assert warm.timeline == final
        assert np.array_equal(heard, np.concatenate(list(warm.blocks())))


def test_hold_points_are_between_lines() -> None:
    def placed(start: int, length: int, kind: str = "say") -> Clip:
        return Clip(start, length, None, 0.0, kind, Location("s.yaml", 1, 1, "steps[0]"))

    lines, sounds = Spans(), Spans()
    lines.add([placed(100, 50), placed(300, 100)])
    sounds.add([placed(0, 120, "bell"), placed(100, 50), placed(200, 20, "bell"),
                placed(300, 100)])
    assert hold_point(lines, sounds, 0, 120) == 100      # before the line at 100
    assert hold_point(lines, sounds, 0, 250) == 250      # a pause: as far as there is
    assert hold_point(lines, sounds, 0, 210) == 200      # before the bell at 200
    assert hold_point(lines, sounds, 0, 350) == 300      # not into the line at 300
    assert hold_point(lines, sounds, 310, 350) == 310    # inside a line: nothing more
    assert hold_point(lines, sounds, 0, 400) == 400
