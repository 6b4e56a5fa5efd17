"""The built-in sessions, the lines to record and the speech cache, as `list`,
`record-list` and `cache` use them."""

from __future__ import annotations

import hashlib
import importlib.resources
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError
from ..progress import Progress
from ..script import Session, builtin_sessions, load_session
from ..script.model import Say
from ..timeline.narration import AutoVoice, Narrator, spoken_steps
from ..voices import SpeechCache
from ..voices.cache import CacheStats
from ..voices.catalogue import auto_candidates
from ..voices.recorded import RecordingFolder
from .options import RenderOptions
from .prepare import prepare
from .render import loudness_memo

# --- built-in sessions ------------------------------------------------------------

@dataclass(frozen=True)
class CatalogueEntry:
    """A built-in session as `audioguide list` shows it."""

    name: str
    title: str
    kind: str
    description: str
    seconds: float

    def to_json(self) -> dict[str, object]:
        """A JSON-ready dict."""
        return {"name": self.name, "title": self.title, "kind": self.kind,
                "description": self.description, "seconds": round(self.seconds, 3)}


#: The built-in sessions' lengths in the default voice, kept beside them so that `list`
#: need not make every line first (minutes with a neural voice and an empty cache).
#: `scripts/update_lengths.py` writes it; the library tests check it against a compile.
LENGTHS_FILE = "lengths.json"


def builtin_catalogue(progress: Progress | None = None) -> list[CatalogueEntry]:
    """Every built-in session with its length in the default voice: as measured when the
    library was made, where the session and the voice are those it was measured with,
    otherwise compiled now."""
    known = known_lengths()
    voice = default_voice_name()
    entries = []
    for builtin in builtin_sessions():
        session = load_session(builtin.path)
        stored = known.get(builtin.name, {})
        if (stored.get("voice") == voice and stored.get("sha256") == _digest(builtin.path)
                and session.voice.engine == "auto"):
            seconds = float(str(stored["seconds"]))
        else:
            with prepare(session, RenderOptions(), progress) as prepared:
                seconds = prepared.timeline.seconds
        entries.append(CatalogueEntry(builtin.name, session.title, session.kind,
                                      session.description, seconds))
    return entries


def default_voice_name() -> str:
    """The voice `engine: auto` picks for English here, as `engine:voice`."""
    engine, voice_id = AutoVoice(auto_candidates()).pick("en", None)
    return f"{engine}:{voice_id or 'default'}"


def known_lengths() -> dict[str, dict[str, object]]:
    """The stored lengths of the built-in sessions (empty if the file is missing or damaged)."""
    try:
        text = importlib.resources.files("audioguide.content").joinpath(LENGTHS_FILE).read_text(
            encoding="utf-8")
        data = json.loads(text)
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def measure_builtin_lengths(progress: Progress | None = None) -> dict[str, dict[str, object]]:
    """Each built-in's length in the default voice, compiled now, with what it depends on."""
    voice = default_voice_name()
    found: dict[str, dict[str, object]] = {}
    for builtin in builtin_sessions():
        with prepare(builtin.path, RenderOptions(), progress) as prepared:
            found[builtin.name] = {"seconds": round(prepared.timeline.seconds, 3),
                                   "voice": voice, "sha256": _digest(builtin.path)}
    return found


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- record-list ---------------------------------------------------------------------

@dataclass(frozen=True)
class LineToRecord:
    """One distinct line of a session and its recording, if there is one."""

    number: int
    name: str               # the file name to record it as, without extension
    text: str
    where: str              # file:line:col of its first use
    recording: Path | None  # the file that will be used
    explicit: bool          # named on the line with `audio:`


@dataclass(frozen=True)
class RecordList:
    """Every line to record for a session."""

    session: Session
    folder: Path | None
    lines: list[LineToRecord]

    @property
    def recorded(self) -> int:
        """How many lines have a recording."""
        return sum(1 for line in self.lines if line.recording is not None)

    def to_json(self) -> dict[str, object]:
        """A JSON-ready dict."""
        return {"session": self.session.title, "folder": str(self.folder or ""),
                "lines": [{"number": line.number, "name": line.name, "text": line.text,
                           "where": line.where,
                           "recording": str(line.recording) if line.recording else None}
                          for line in self.lines]}


def record_list(script: str | Path, variables: Mapping[str, str] | None = None,
                folder: Path | None = None) -> RecordList:
    """The lines of a script, numbered, with the file each will be read from."""
    session = load_session(script, variables or {})
    folder = folder or session.voice.folder
    if folder is not None and not folder.is_dir():
        raise InputError(f"the recordings folder {folder} does not exist; create it")
    narrator = Narrator(session)
    recordings = RecordingFolder(folder) if folder is not None else None
    first_use: dict[str, str] = {}
    explicit: dict[str, Path] = {}
    for step, kind in spoken_steps(session.steps):
        text = step.text if isinstance(step, Say) else step.words[kind]  # type: ignore[attr-defined]
        first_use.setdefault(text, str(step.where))
        if isinstance(step, Say) and step.audio is not None:
            explicit.setdefault(text, step.audio)
    lines = []
    for line in narrator.lines.values():
        found = explicit.get(line.text)
        if found is None and recordings is not None:
            found = recordings.find(line)
        lines.append(LineToRecord(line.number, line.name, line.text, first_use[line.text],
                                  found, line.text in explicit))
    return RecordList(session, folder, lines)


# --- cache ---------------------------------------------------------------------------

def cache_stats(cache_dir: Path | None = None) -> CacheStats:
    """Where the speech cache is, how many lines it holds and how big it is."""
    return SpeechCache(cache_dir).stats()


def clear_cache(cache_dir: Path | None = None) -> tuple[int, Path]:
    """Remove every cached line and remembered loudness; how many lines, and from where."""
    store = SpeechCache(cache_dir)
    removed = store.clear()
    loudness_memo(store).clear()
    return removed, store.root
