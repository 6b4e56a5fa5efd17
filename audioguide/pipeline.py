"""From a script to a file, as the commands use it: load → speech → compile → render → export."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .clips import ClipLibrary
from .dsp import Audio
from .errors import UnknownVoiceError
from .export import ExportSettings, export, format_for
from .render import render_blocks
from .script import Session, VoiceSpec, load_session
from .timeline import CompileOptions, Timeline, compile_timeline, speech_requests
from .voices import SpeechBank, SpeechCache

#: progress(stage, done, total); stages are "speech" (lines made) and "render" (frames).
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class RenderOptions:
    """What the command line may change about a script."""

    variables: Mapping[str, str] = field(default_factory=dict)
    engine: str | None = None
    voice_id: str | None = None
    rate_wpm: float | None = None
    sample_rate: int | None = None
    channels: int | None = None
    cache_dir: Path | None = None


@dataclass
class Prepared:
    """A compiled session with the library that can play it; close it when done."""

    session: Session
    timeline: Timeline
    library: ClipLibrary
    lines_made: int

    def blocks(self, progress: Progress | None = None) -> Iterator[Audio]:
        """The rendered audio, block by block."""
        report = (lambda done, total: progress("render", done, total)) if progress else None
        return render_blocks(self.timeline, self.library, progress=report)

    def close(self) -> None:
        """Stop the speech engines."""
        self.library.speech.close()

    def __enter__(self) -> Prepared:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def prepare(script: str | Path, options: RenderOptions | None = None,
            progress: Progress | None = None) -> Prepared:
    """Load and validate the script, make its speech (cached), and compile the timeline."""
    options = options or RenderOptions()
    session = load_session(script, options.variables)
    compile_options = CompileOptions(
        sample_rate=options.sample_rate, channels=options.channels,
        voice=VoiceSpec(engine=options.engine, voice_id=options.voice_id,
                        rate_wpm=options.rate_wpm))
    rate = options.sample_rate or session.output.sample_rate
    channels = options.channels or session.output.channels
    bank = SpeechBank(SpeechCache(options.cache_dir))
    library = ClipLibrary(bank, rate, channels)
    try:
        report = (lambda done, total: progress("speech", done, total)) if progress else None
        try:
            made = library.prepare_speech(speech_requests(session, compile_options), report)
        except UnknownVoiceError:
            # The compiler asks for each line again and reports the bad voice at its line.
            made = 0
        timeline = compile_timeline(session, library, compile_options)
    except BaseException:
        bank.close()
        raise
    return Prepared(session, timeline, library, made)


def default_output(session: Session, fmt: str | None) -> Path:
    """`output/<script name>.<format>` in the current folder."""
    return Path("output") / f"{session.name}.{fmt or session.output.format}"


def session_tags(session: Session) -> dict[str, str]:
    """Text tags for the file."""
    return {"title": session.title, "artist": session.author or "audioguide",
            "album": "audioguide sessions", "genre": "Meditation",
            "comment": session.description}


@dataclass(frozen=True)
class RenderResult:
    """What a render wrote."""

    path: Path
    format: str
    timeline: Timeline
    lines_made: int


def render_file(script: str | Path, output: Path | None = None, fmt: str | None = None,
                options: RenderOptions | None = None,
                progress: Progress | None = None) -> RenderResult:
    """Render a script to a file; nothing is created if the script is bad."""
    with prepare(script, options, progress) as prepared:
        session = prepared.session
        path = output if output is not None else default_output(session, fmt)
        chosen = format_for(path, fmt if output is not None or fmt else session.output.format)
        settings = ExportSettings(chosen, prepared.timeline.sample_rate,
                                  prepared.timeline.channels, session_tags(session))
        export(prepared.blocks(progress), path, settings)
        return RenderResult(path, chosen, prepared.timeline, prepared.lines_made)
