"""A script made ready to render or play: loaded, its speech made, compiled."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..dsp import Audio
from ..errors import UnknownVoiceError
from ..progress import Progress
from ..render.mixer import render_blocks
from ..render.sources import ClipLibrary
from ..script import Session, VoiceSpec, load_session
from ..script.limits import Limits, check_files, check_speech
from ..timeline.compile import compile_timeline
from ..timeline.model import Timeline
from ..timeline.narration import AutoVoice, CompileOptions, speech_plan
from ..voices import SpeechBank, SpeechCache
from ..voices.catalogue import auto_candidates
from ..voices.recorded import RecordingFolder
from .options import RenderOptions

if TYPE_CHECKING:
    from ..live.timeline import LiveTimeline

log = logging.getLogger(__name__)


@dataclass
class Prepared:
    """A compiled session with the library that can play it; close it when done."""

    session: Session
    timeline: Timeline
    library: ClipLibrary
    lines_made: int
    #: Prepared to play at once (`prepare(live=True)`): compiled as its lines are made;
    #: `timeline` is then only the start of it (see LiveTimeline.view).
    live: LiveTimeline | None = None

    def blocks(self, progress: Progress | None = None) -> Iterator[Audio]:
        """The rendered audio, block by block."""
        return render_blocks(self.timeline, self.library, progress=progress)

    def close(self) -> None:
        """Stop the speech engines."""
        self.library.speech.close()

    def __enter__(self) -> Prepared:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def prepare(script: str | Path | Session, options: RenderOptions | None = None,
            progress: Progress | None = None, *, live: bool = False) -> Prepared:
    """Load and validate the script (or take a Session), make its speech, compile it.

    With `live` (to play at once), lines not in the cache are not made first: the result's
    `live` compiles the session as they are made, first needed first (see `live_player`).
    """
    options = options or RenderOptions()
    session = script if isinstance(script, Session) else load_session(script, options.variables)
    compile_options = CompileOptions(
        sample_rate=options.sample_rate, channels=options.channels,
        voice=VoiceSpec(engine=options.engine, voice_id=options.voice_id,
                        rate_wpm=options.rate_wpm, style=options.style),
        auto=auto_voice(session, options.engine), recordings=RecordingFolder)
    rate = options.sample_rate or session.output.sample_rate
    channels = options.channels or session.output.channels
    bank = SpeechBank(SpeechCache(options.cache_dir))
    library = ClipLibrary(bank, rate, channels)
    try:
        plan = list(speech_plan(session, compile_options))
        requests = [request for request, _ in plan]
        limits = options.limits or Limits.from_environment()
        check_speech(plan, limits, str(session.source or session.name))
        check_files(session, requests, limits)
        if live:
            # The live stack loads only for a session played at once.
            from .live import prepare_growing

            growing = prepare_growing(session, library, compile_options, requests)
            if growing is not None:
                return growing
        try:
            made = library.prepare_speech(requests, progress)
        except UnknownVoiceError:
            # The compiler asks for each line again and reports the bad voice at its line.
            made = 0
        timeline = compile_timeline(session, library, compile_options)
    except BaseException:
        bank.close()
        raise
    return Prepared(session, timeline, library, made)


def auto_voice(session: Session, engine_option: str | None = None) -> AutoVoice:
    """What `engine: auto` picks on this machine; said once (with -v) when the session's
    voice is auto."""
    auto = AutoVoice(auto_candidates())
    if (engine_option or session.voice.engine) == "auto":
        engine, voice_id = auto.pick(session.language, session.voice.voice_id)
        log.info("voice: engine auto picks %s%s for language '%s'", engine,
                 f" ({voice_id})" if voice_id else "", session.language)
    return auto
