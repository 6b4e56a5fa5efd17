"""Load a session script: find it, read YAML with marks, validate everything, build the model."""

from __future__ import annotations

import difflib
import importlib.resources
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from ..atomic import write_text
from ..breathing import DEFAULT_WORDS
from ..errors import InputError, Issue, ScriptError
from .limits import check_bounds
from .model import (
    At,
    Bed,
    Bell,
    Breathe,
    Choose,
    ExhaleHum,
    Hum,
    Location,
    Output,
    Pause,
    Repeat,
    Rhythm,
    Say,
    Section,
    Session,
    Sound,
    Step,
    Tone,
    VoiceSpec,
)
from .nodes import Context, Invalid, clip, suggest
from .paths import file_or_folder, local_path
from .schema import SESSION
from .word_maps import Variables

#: Scripts larger than this are refused before parsing.
MAX_SCRIPT_BYTES = 1_000_000
SCRIPT_SUFFIXES = (".yaml", ".yml")
#: libyaml's parser when PyYAML has it (about ten times faster), with the same marks.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
#: Documents libyaml rejects are parsed again for a clearer message up to this size
#: (PyYAML's parser slows down quadratically on some broken input).
_REPARSE_CHARS = 100_000
_TOO_DEEP = "the YAML is nested too deeply (lists or mappings inside each other)"


@dataclass(frozen=True)
class BuiltinSession:
    """A session script that ships with audioguide."""

    name: str
    path: Path


def builtin_sessions() -> list[BuiltinSession]:
    """The built-in sessions in `content/`, sorted by name."""
    root = importlib.resources.files("audioguide.content")
    found = []
    for entry in root.iterdir():
        if entry.name.endswith(SCRIPT_SUFFIXES) and entry.is_file():
            found.append(BuiltinSession(entry.name.rsplit(".", 1)[0], Path(str(entry))))
    return sorted(found, key=lambda session: session.name)


def find_script(name_or_path: str | Path) -> Path:
    """A script path as given, or the built-in session of that name."""
    candidate = local_path(str(name_or_path), None)
    found = file_or_folder(candidate)
    if found == "file":
        return candidate
    if found == "folder":
        raise InputError(f"{candidate} is a folder; give a script file or a built-in name")
    text = str(name_or_path)
    looks_like_path = "/" in text or text.endswith(SCRIPT_SUFFIXES)
    builtins = {session.name: session.path for session in builtin_sessions()}
    if not looks_like_path and text in builtins:
        return builtins[text]
    if looks_like_path:
        raise InputError(f"script not found: {clip(text, 300)}")
    hint = suggest(text, builtins)
    raise InputError(f"no script file or built-in session named '{clip(text, 300)}'{hint}; "
                     "`audioguide list` shows the built-in sessions")


def load_session(source: str | Path, overrides: Mapping[str, str] | None = None) -> Session:
    """Find, read and validate a script; raise ScriptError listing every problem."""
    path = find_script(source)
    data = _read(path)
    return parse_session(data, path=path, overrides=overrides)


def read_text(path: Path) -> str:
    """A YAML file's text: size-checked and decoded as UTF-8 (ScriptError otherwise)."""
    return _decode(_read(path), str(path))


def _read(path: Path) -> bytes:
    try:
        _check_size(path.stat().st_size, str(path))
        with path.open("rb") as file:
            data = file.read(MAX_SCRIPT_BYTES + 1)   # it may have grown since (or be a pipe)
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from exc
    _check_size(len(data), str(path))
    return data


def _check_size(size: int, file: str) -> None:
    if size > MAX_SCRIPT_BYTES:
        raise ScriptError([Issue(file, 1, 1, "the file is larger than the "
                                 f"{MAX_SCRIPT_BYTES:,}-byte limit for a script (is this the "
                                 "right file?)")])


def _decode(data: bytes, file: str) -> str:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise ScriptError([Issue(file, line, column, "this is not UTF-8 text; save the script "
                                 "as UTF-8")]) from None
    if "\x00" in text:
        raise ScriptError([Issue(file, 1, 1, "this is a binary file, not a YAML script")])
    return text


def compose(text: str, file: str) -> yaml.Node | None:
    """Parse YAML into a node tree with marks; YAML syntax errors become ScriptErrors.

    libyaml (when PyYAML has it) parses; a document it rejects is parsed again by PyYAML's
    own parser, whose messages name the offending character, so the message is the same on
    every machine.
    """
    try:
        return _compose_with(text, file, _LOADER)
    except ScriptError as fast_error:
        if "nesting depth" in fast_error.first.message:
            raise ScriptError([Issue(file, 1, 1, _TOO_DEEP)]) from None
        if _LOADER is yaml.SafeLoader or len(text) > _REPARSE_CHARS:
            raise
        try:
            _compose_with(text, file, yaml.SafeLoader)
        except ScriptError as error:
            raise error from None
        raise fast_error from None


def _compose_with(text: str, file: str, loader: type) -> yaml.Node | None:
    try:
        return yaml.compose(text, Loader=loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = exc.problem or "invalid YAML"
        context = f" ({exc.context})" if exc.context else ""
        raise ScriptError([Issue(file, line, column, f"YAML syntax: {problem}{context}")]) from None
    except yaml.YAMLError as exc:
        raise ScriptError([Issue(file, 1, 1, f"YAML syntax: {exc}")]) from None
    except RecursionError:
        raise ScriptError([Issue(file, 1, 1, _TOO_DEEP)]) from None


def parse_session(data: bytes | str, *, path: Path | None = None,
                  overrides: Mapping[str, str] | None = None, name: str | None = None) -> Session:
    """Validate script text; `path` places errors and resolves relative files."""
    file = str(path) if path is not None else f"<{name or 'script'}>"
    _check_size(len(data), file)
    text = data if isinstance(data, str) else _decode(data, file)
    root = compose(text, file)
    if root is None:
        raise ScriptError([Issue(file, 1, 1, "the script is empty; it needs at least steps:")])
    ctx = Context(file=file, base_dir=path.parent if path is not None else None)
    if not isinstance(root, yaml.MappingNode):
        ctx.error(root, "", "a script is a mapping of keys (title:, steps:, ...) at the top level")
        raise ScriptError(ctx.issues)
    variables = _read_variables(root, ctx)
    overrides = dict(overrides or {})
    ctx.variables = {**variables, **overrides}
    values = SESSION.parse(root, "", ctx)
    if not ctx.issues:
        _check_overrides(overrides, variables, ctx, file)
    if ctx.issues:
        # vars: is read first (to fill placeholders) and again with the rest: report once.
        unique = dict.fromkeys(ctx.issues)
        raise ScriptError(sorted(unique, key=lambda i: (i.line, i.column)))
    session = _build_session(values, path, ctx, name)
    check_bounds(session)
    return session


def _read_variables(root: yaml.MappingNode, ctx: Context) -> dict[str, str]:
    for key_node, value_node in root.value:
        if isinstance(key_node, yaml.ScalarNode) and key_node.value == "vars":
            values = Variables().parse(value_node, "vars", ctx)
            return {} if isinstance(values, Invalid) else dict(values)
    return {}


def _check_overrides(overrides: Mapping[str, str], declared: Mapping[str, str], ctx: Context,
                     file: str) -> None:
    for name in overrides:
        if name not in declared and name not in ctx.used_variables:
            known = sorted(set(declared) | ctx.used_variables)
            matches = difflib.get_close_matches(name, known, n=1)
            hint = (f" (did you mean '{matches[0]}'?)" if matches
                    else f" (it has: {', '.join(known)})" if known else " (it has none)")
            raise InputError(f"--set {name}: {file} has no variable '{name}'{hint}")


def _build_session(values: dict[str, Any], path: Path | None, ctx: Context,
                   name: str | None = None) -> Session:
    name = name or (path.stem if path is not None else "session")
    voice_values = values["voice"] or _defaults_of("voice")
    voice = VoiceSpec(engine=voice_values["engine"], voice_id=voice_values["id"],
                      rate_wpm=voice_values["rate"], pitch=voice_values["pitch"],
                      level_db=voice_values["level"], model=voice_values["model"],
                      folder=voice_values["folder"], fallback=voice_values["fallback"],
                      style=voice_values["style"], speaker=voice_values["speaker"])
    output_values = values["output"] or _defaults_of("output")
    output = Output(format=output_values["format"] or "mp3",
                    sample_rate=int(output_values["sample_rate"]),
                    channels=int(output_values["channels"]),
                    loudness_lufs=output_values["loudness"], codec=output_values["codec"],
                    quality=output_values["quality"], bitrate_kbps=output_values["bitrate"],
                    bits=int(output_values["bits"]))
    bed = _build_bed(values["bed"]) if values["bed"] is not None else None
    return Session(
        name=name,
        source=path,
        title=values["title"] or name.replace("-", " ").replace("_", " ").capitalize(),
        description=values["description"] or "",
        author=values["author"] or "",
        kind=values["kind"],
        language=values["language"],
        album=values["album"] or "",
        genre=values["genre"] or "",
        date=values["date"] or "",
        voice=voice,
        gap_s=voice_values["gap"],
        bed=bed,
        output=output,
        steps=_build_steps(values["steps"], ctx.file, values["bed"]),
        variables=MappingProxyType(dict(ctx.variables)),
        cover=values["cover"],
        pronounce=MappingProxyType(dict(values["pronounce"] or {})),
    )


def _build_bed(values: dict[str, Any]) -> Bed:
    sound = values["sound"]
    return Bed(sound="file" if isinstance(sound, Path) else sound,
               file=sound if isinstance(sound, Path) else None,
               level_db=values["level"], duck_db=values["duck"],
               fade_in_s=values["fade_in"], fade_out_s=values["fade_out"])


def _defaults_of(key: str) -> dict[str, Any]:
    kind = SESSION.fields[key].kind
    return {name: spec.default for name, spec in kind.fields.items()}  # type: ignore[attr-defined]


def _build_steps(raw: list[tuple[str, Any, int, int, str]], file: str,
                 session_bed: dict[str, Any] | None) -> tuple[Step, ...]:
    steps: list[Step] = []
    for kind, value, line, column, key_path in raw:
        where = Location(file, line, column, key_path)
        steps.append(_build_step(kind, value, where, file, session_bed))
    return tuple(steps)


def _build_step(kind: str, v: Any, where: Location, file: str,
                session_bed: dict[str, Any] | None) -> Step:
    if kind == "say":
        return Say(where=where, text=v["text"], after_s=v["after"], audio=v["audio"],
                   voice=VoiceSpec(engine=v["engine"], voice_id=v["voice"], rate_wpm=v["rate"],
                                   pitch=v["pitch"], level_db=v["level"]))
    if kind == "pause":
        return Pause(where=where, seconds=v)
    if kind == "at":
        return At(where=where, seconds=v)
    if kind == "breathe":
        words = dict(DEFAULT_WORDS)
        words.update(v["pattern"].words)
        words.update({key: text for key, text in (v["words"] or {}).items() if text is not None})
        ramp = {key: Fraction(s) for key, s in (v["ramp"] or {}).items() if s is not None}
        hum = v["hum"]
        return Breathe(where=where, pattern=v["pattern"], cycles=v["cycles"],
                       duration_s=v["duration"], cue=v["cue"],
                       words=MappingProxyType(words), ramp=MappingProxyType(ramp),
                       level_db=v["level"],
                       hum=ExhaleHum(hum["hz"] or hum["note"], hum["level"], hum["vowel"])
                       if hum else None)
    if kind == "hum":
        return Hum(where=where, hz=v["hz"] or v["note"], seconds=v["duration"],
                   level_db=v["level"], fade_in_s=v["fade_in"], fade_out_s=v["fade_out"],
                   vowel=v["vowel"], under=v["under"])
    if kind == "bell":
        return Bell(where=where, kind=v["kind"], count=v["count"], gap_s=v["gap"],
                    level_db=v["level"], file=v["file"])
    if kind == "tone":
        return Tone(where=where, hz=v["hz"] or v["note"], seconds=v["duration"],
                    level_db=v["level"], wave=v["wave"], fade_in_s=v["fade_in"],
                    fade_out_s=v["fade_out"], beat_hz=float(v["beat"]), under=v["under"])
    if kind == "sound":
        return Sound(where=where, file=v["file"], level_db=v["level"], fade_in_s=v["fade_in"],
                     fade_out_s=v["fade_out"], after_s=v["after"])
    if kind == "section":
        bed = v["bed"]
        if isinstance(bed, dict):
            base = session_bed or _defaults_of("bed")
            bed = {key: value if value is not None else base[key] for key, value in bed.items()}
        return Section(where=where, title=v["title"], changes_bed=bed is not None,
                       bed=_build_bed(bed) if isinstance(bed, dict) else None)
    if kind == "repeat":
        return Repeat(where=where, times=v["times"],
                      steps=_build_steps(v["steps"], file, session_bed))
    if kind == "rhythm":
        return Rhythm(where=where, bpm=float(v["bpm"]), seconds=v["duration"], style=v["style"],
                      level_db=v["level"], fade_in_s=v["fade_in"], fade_out_s=v["fade_out"],
                      under=v["under"])
    if kind == "choose":
        options = [_build_steps(option, file, session_bed) for option in v["options"]]
        return Choose(where=where, picked=tuple(options[i] for i in v["chosen"]),
                      pick=v["pick"])
    raise AssertionError(f"unhandled step kind {kind}")


def load_variables(path: Path) -> dict[str, str]:
    """A `--vars` file: a YAML mapping of names to text or numbers."""
    data = _read(path)
    file = str(path)
    root = compose(_decode(data, file), file)
    if root is None:
        return {}
    ctx = Context(file=file, base_dir=path.parent, substitute=False)
    values = Variables().parse(root, "", ctx)
    if ctx.issues:
        raise ScriptError(ctx.issues)
    return dict(values)


def new_session(name: str, source: str | Path, force: bool = False,
                folder: Path | None = None) -> Path:
    """Copy a session (a built-in or a file) to `NAME.yaml` to edit; never over a file."""
    text = find_script(source).read_text(encoding="utf-8")
    target = (folder or Path.cwd()) / (name if name.endswith(SCRIPT_SUFFIXES) else f"{name}.yaml")
    if target.exists() and not force:
        raise InputError(f"{target} already exists; choose another name or add --force")
    return write_text(target, text)
