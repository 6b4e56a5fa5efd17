"""A small declarative schema over YAML nodes that keeps line and column marks.

Each `Kind` turns one YAML node into a Python value or records an `Issue` at the
node's position; the same declarations produce the published JSON Schema, so the
loader and the editor's autocompletion cannot drift apart.

Scalars are read from their source text, not from PyYAML's YAML 1.1 guesses, so
`1:30` stays a clock time, `off` stays a word and `010` stays ten.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import yaml

from ..errors import Issue
from ..units import (
    _UNIT_SECONDS,
    MAX_EXPONENT,
    MAX_SESSION_SECONDS,
    parse_duration,
    parse_level,
    parse_note,
)
from . import ecma

#: YAML plain scalars that mean "no value".
NULL_WORDS = frozenset({"", "~", "null", "Null", "NULL"})
TRUE_WORDS = ("true", "yes", "on")
FALSE_WORDS = ("false", "no", "off")
#: The most text filling placeholders may make of one value.
MAX_FILLED_CHARS = 100_000
_NAME = re.compile(ecma.NAME)
#: The longest variable name.
MAX_NAME = 60

#: The most nodes one document may expand to (aliases included), so that an
#: "alias bomb" is refused instead of eating memory.
MAX_NODES = 200_000


class Invalid:
    """Marks a value that failed to parse; its issue is already recorded."""

    _instance: Invalid | None = None

    def __new__(cls) -> Invalid:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "INVALID"


INVALID = Invalid()


def suggest(word: str, options: Iterable[str]) -> str:
    """Return ` (did you mean 'x'?)` for the closest option, or ``""``."""
    if len(word) > 60:
        return ""
    matches = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return f" (did you mean '{matches[0]}'?)" if matches else ""


def is_plain(node: yaml.ScalarNode) -> bool:
    """True for a scalar written without quotes or a block indicator."""
    # PyYAML's own parser marks plain scalars with None, libyaml's (CSafeLoader) with "".
    return node.style in (None, "")


def is_null(node: yaml.Node) -> bool:
    """True for a plain scalar that YAML reads as null (`~`, `null`, or nothing)."""
    return isinstance(node, yaml.ScalarNode) and is_plain(node) and node.value in NULL_WORDS


@dataclass
class Context:
    """What parsing needs to know and what it has found wrong so far."""

    file: str
    base_dir: Path | None
    variables: Mapping[str, str] = field(default_factory=dict)
    issues: list[Issue] = field(default_factory=list)
    used_variables: set[str] = field(default_factory=set)
    nodes_seen: int = 0
    substitute: bool = True

    def error(self, node: yaml.Node, path: str, message: str) -> Invalid:
        """Record a problem at `node` and return INVALID."""
        mark = node.start_mark
        where = f"{path}: " if path else ""
        self.issues.append(Issue(self.file, mark.line + 1, mark.column + 1, where + message))
        return INVALID

    def count(self, node: yaml.Node, path: str) -> bool:
        """Count a visited node; False (with one issue) once the document is too big."""
        self.nodes_seen += 1
        if self.nodes_seen == MAX_NODES + 1:
            self.error(node, path, f"the document expands to more than {MAX_NODES} values "
                       "(are anchors and aliases repeating it?); split or shorten it")
        return self.nodes_seen <= MAX_NODES

    def fill(self, node: yaml.Node, path: str, text: str) -> str | Invalid:
        """Fill `{name}` placeholders from the variables; `{{` and `}}` are literal braces."""
        if not self.substitute or "{" not in text and "}}" not in text:
            return text
        out: list[str] = []
        filled = 0
        i = 0
        while i < len(text):
            char = text[i]
            if char == "{" and text.startswith("{{", i):
                out.append("{")
                i += 2
            elif char == "}" and text.startswith("}}", i):
                out.append("}")
                i += 2
            elif char == "{":
                end = text.find("}", i + 1)
                if end < 0:
                    return self.error(node, path, "a '{' is never closed; write {{ for a "
                                      "literal brace")
                name = text[i + 1:end].strip()
                if not _NAME.fullmatch(name):
                    return self.error(node, path, f"'{{{clip(text[i + 1:end])}}}' is not a "
                                      "placeholder: use {name} with a name from vars:, or {{ "
                                      "for a literal brace")
                if name not in self.variables:
                    known = sorted(self.variables)
                    hint = suggest(name, known) or (
                        f" (known: {', '.join(known)})" if known else " (add it under vars:)")
                    return self.error(node, path, f"unknown variable '{clip(name)}'{hint}")
                self.used_variables.add(name)
                out.append(self.variables[name])
                filled += len(self.variables[name])
                if filled > MAX_FILLED_CHARS:
                    return self.error(node, path, "filling the placeholders makes this value "
                                      f"more than {MAX_FILLED_CHARS:,} characters long; use "
                                      "shorter values")
                i = end + 1
            else:
                out.append(char)
                i += 1
        return "".join(out)


class Kind:
    """One kind of value in a script."""

    description = ""

    def parse(self, node: yaml.Node, path: str, ctx: Context) -> Any:
        """Turn `node` into a value, or record an issue and return INVALID."""
        raise NotImplementedError

    def json_schema(self) -> dict[str, Any]:
        """The JSON Schema fragment that describes this kind."""
        raise NotImplementedError

    def examples(self) -> list[Any]:
        """Values of this kind the loader accepts, for the editor to show."""
        return _examples_in(self.json_schema())


class ScalarKind(Kind):
    """A kind written as one scalar; subclasses convert its (filled) text."""

    expected = "a value"
    #: Longer values are refused before conversion: no number, level or word is this long.
    max_chars: int | None = 100
    #: Whether a string with a {name} placeholder is accepted as it is (filled, it may be
    #: anything); Text's own pattern covers placeholders already.
    takes_placeholders = True

    def parse(self, node: yaml.Node, path: str, ctx: Context) -> Any:
        """Check the node is a scalar, fill placeholders, convert."""
        ctx.count(node, path)
        if not isinstance(node, yaml.ScalarNode):
            return ctx.error(node, path, f"expected {self.expected}, found {_node_word(node)}")
        text = ctx.fill(node, path, node.value)
        if isinstance(text, Invalid):
            return text
        if self.max_chars is not None and len(text) > self.max_chars:
            return ctx.error(node, path, f"expected {self.expected}, found {len(text)} "
                             "characters of text")
        try:
            return self.convert(text, node)
        except ValueError as exc:
            return ctx.error(node, path, str(exc))

    def convert(self, text: str, node: yaml.ScalarNode) -> Any:
        """Convert filled text to the value; raise ValueError with a user message."""
        raise NotImplementedError

    def forms(self) -> list[dict[str, Any]]:
        """The JSON Schemas of the ways this value may be written (a placeholder aside)."""
        raise NotImplementedError

    def json_schema(self) -> dict[str, Any]:
        """Any of the forms, or a string with a placeholder; with the description."""
        forms = [dict(form) for form in self.forms()]
        for form in forms:
            if form.get("type") == "string" and self.max_chars is not None:
                form["maxLength"] = self.max_chars
        if self.takes_placeholders:
            forms.append({"type": "string", "pattern": ecma.with_placeholder()})
        schema: dict[str, Any] = {"anyOf": forms} if len(forms) > 1 else forms[0]
        if self.description:
            schema = {"description": self.description, **schema}
        return schema


def text_pattern() -> str:
    """Text with something other than whitespace, whose braces are placeholders or doubled."""
    return f"^(?=[\\s\\S]*{ecma.not_ws()})" + ecma.template() + "$"


def _examples_in(schema: Mapping[str, Any]) -> list[Any]:
    """Examples a schema gives, or the first of its enums, looked for depth first."""
    if schema.get("examples"):
        return list(schema["examples"])
    if schema.get("enum"):
        return list(schema["enum"][:3])
    for key in ("anyOf", "oneOf", "allOf"):
        for branch in schema.get(key, ()):
            found = _examples_in(branch)
            if found:
                return found
    return []


def json_value(value: Any) -> Any:
    """A default as JSON shows it (exact fractions as numbers); None when it has no form."""
    if isinstance(value, Fraction):
        return int(value) if value.denominator == 1 else float(value)
    if isinstance(value, (str, bool, int, float)):
        return value
    return None


class Text(ScalarKind):
    """Free text; placeholders filled."""

    expected = "text"
    max_chars = None

    def __init__(self, description: str = "", *, allow_empty: bool = False,
                 max_length: int = 20_000) -> None:
        self.description = description
        self.allow_empty = allow_empty
        self.max_length = max_length

    takes_placeholders = False

    def forms(self) -> list[dict[str, Any]]:
        """Numbers and yes/no words are read as their text; strings need some text."""
        string = ({"type": "string", "pattern": "^" + ecma.template() + "$"}
                  if self.allow_empty else {"type": "string", "pattern": text_pattern()})
        # One type a branch: ajv's strict mode warns about type lists.
        return [string, {"type": "number"}, {"type": "boolean"}]

    def examples(self) -> list[Any]:
        """A line of a session."""
        return ["Let your shoulders drop."]

    def convert(self, text: str, node: yaml.ScalarNode) -> str:
        """Strip and check the text."""
        if is_null(node):   # `~` or `null` is nothing to say, not the word
            text = ""
        value = " ".join(text.split()) if is_plain(node) or node.style == ">" else text.strip()
        if not value and not self.allow_empty:
            raise ValueError("is empty; write some text")
        if len(value) > self.max_length:
            raise ValueError(f"text is {len(value)} characters long; the limit is "
                             f"{self.max_length}: split it into several lines")
        return value


class Duration(ScalarKind):
    """A length of time, as exact seconds."""

    expected = "a duration"

    def __init__(self, description: str = "", *, minimum: Fraction = Fraction(0),
                 positive: bool = False) -> None:
        self.description = description or "seconds, or a string like 4s, 500ms, 2m, 1m30s, 1:30"
        self.minimum = minimum
        self.positive = positive

    def forms(self) -> list[dict[str, Any]]:
        """Seconds as a number, or a string in one of the duration forms (over 0 if positive)."""
        number: dict[str, Any] = {"type": "number", "minimum": float(self.minimum),
                                  "maximum": MAX_SESSION_SECONDS}
        string: dict[str, Any] = {"type": "string", "pattern": ecma.whole(ecma.duration(
            _UNIT_SECONDS, MAX_SESSION_SECONDS, MAX_EXPONENT))}
        if self.positive:
            number["exclusiveMinimum"] = 0
            string["not"] = {"pattern": ecma.ZERO_DURATION}
        return [number, string]

    def examples(self) -> list[Any]:
        """A few of the forms."""
        return ["4s", "1m30s", 90, "500ms"]

    def convert(self, text: str, node: yaml.ScalarNode) -> Fraction:
        """Parse and bound the duration."""
        seconds = parse_duration(text)
        if self.positive and seconds <= 0:
            raise ValueError(f"must be longer than 0 (got '{text}')")
        if seconds < self.minimum:
            raise ValueError(f"must be at least {float(self.minimum):g}s (got '{text}')")
        if seconds > MAX_SESSION_SECONDS:
            raise ValueError(f"'{text}' is longer than the 12-hour limit")
        return seconds


class Level(ScalarKind):
    """A level in dB."""

    expected = "a level in dB"

    def __init__(self, description: str = "", *, minimum: float = -96.0,
                 maximum: float = 12.0) -> None:
        self.description = description or "dB, like -18dB or -18"
        self.minimum = minimum
        self.maximum = maximum

    def forms(self) -> list[dict[str, Any]]:
        """A number of dB within the bounds, or the same with `dB` after it."""
        number = ecma.one_of([ecma.decimal(self.minimum, self.maximum, ecma.ANY_POINT),
                              "[+-]?" + ecma.exponent_number()])
        return [{"type": "number", "minimum": self.minimum, "maximum": self.maximum},
                {"type": "string", "pattern": ecma.whole(
                    f"{number}{ecma.ws()}(?:{ecma.folded('db')})?")}]

    def examples(self) -> list[Any]:
        """Levels within the bounds, as strings and as a number."""
        inside = [v for v in (-18, -6, 0, 6, 20) if self.minimum <= v <= self.maximum]
        return [f"{inside[0]}dB", inside[-1]] if inside else [self.minimum]

    def convert(self, text: str, node: yaml.ScalarNode) -> float:
        """Parse and bound the level."""
        value = parse_level(text)
        if not self.minimum <= value <= self.maximum:
            raise ValueError(f"level {value:g}dB is outside {self.minimum:g}..{self.maximum:g} dB")
        return value


class Number(ScalarKind):
    """A finite number within bounds, optionally a whole number."""

    def __init__(self, description: str = "", *, minimum: float, maximum: float,
                 integer: bool = False) -> None:
        self.description = description
        self.minimum = minimum
        self.maximum = maximum
        self.integer = integer
        self.expected = "a whole number" if integer else "a number"

    def forms(self) -> list[dict[str, Any]]:
        """The number, or a string of it (as `int()` or `float()` reads it)."""
        form = ecma.NO_POINT if self.integer else ecma.ANY_POINT
        spelling = ecma.int_spelling() if self.integer else ecma.float_spelling()
        return [{"type": "integer" if self.integer else "number", "minimum": self.minimum,
                 "maximum": self.maximum},
                {"type": "string", "pattern": ecma.whole(ecma.one_of(
                    [ecma.decimal(self.minimum, self.maximum, form), spelling]))}]

    def examples(self) -> list[Any]:
        """The bounds."""
        low, high = (int(self.minimum), int(self.maximum)) if self.integer else (
            self.minimum, self.maximum)
        return [low, high] if low != high else [low]

    def convert(self, text: str, node: yaml.ScalarNode) -> float | int:
        """Parse and bound the number."""
        raw = text.strip()
        try:
            value: float | int = int(raw) if self.integer else float(raw)
        except ValueError:
            raise ValueError(f"'{text}' is not {self.expected}") from None
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"'{text}' is not a finite number")
        if not self.minimum <= value <= self.maximum:
            raise ValueError(f"{value:g} is outside {self.minimum:g}..{self.maximum:g}")
        return value


class Choice(ScalarKind):
    """One word from a fixed list."""

    def __init__(self, options: Iterable[str], description: str = "") -> None:
        self.options = tuple(options)
        self.description = description
        self.expected = "one of " + ", ".join(self.options)

    def forms(self) -> list[dict[str, Any]]:
        """One of the words (spaces around it are stripped)."""
        return [{"enum": list(self.options)},
                {"type": "string", "pattern": ecma.whole(ecma.words(self.options))}]

    def examples(self) -> list[Any]:
        """The first few words."""
        return list(self.options[:3])

    def convert(self, text: str, node: yaml.ScalarNode) -> str:
        """Check the word is one of the options."""
        word = text.strip()
        if word not in self.options:
            hint = suggest(word, self.options) or f" (choose one of: {', '.join(self.options)})"
            raise ValueError(f"unknown value '{word}'{hint}")
        return word


class Flag(ScalarKind):
    """A yes/no switch."""

    expected = "true or false"

    def __init__(self, description: str = "") -> None:
        self.description = description

    def forms(self) -> list[dict[str, Any]]:
        """true or false, or one of the words for them in any case."""
        return [{"type": "boolean"}, {"type": "string", "pattern": ecma.whole(
            ecma.words(TRUE_WORDS + FALSE_WORDS, fold=True))}]

    def examples(self) -> list[Any]:
        """Both."""
        return [True, False]

    def convert(self, text: str, node: yaml.ScalarNode) -> bool:
        """Read true/false (and yes/no, on/off)."""
        word = text.strip().lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
        raise ValueError(f"'{text}' is not true or false")


class Frequency(ScalarKind):
    """A pitch in Hz, or a note name (`A2`) when `notes` is set."""

    def __init__(self, description: str = "", *, notes: bool, minimum: float = 20.0,
                 maximum: float = 20_000.0) -> None:
        self.description = description
        self.notes = notes
        self.minimum = minimum
        self.maximum = maximum
        self.expected = "a note name like A2" if notes else "a frequency in Hz"

    def forms(self) -> list[dict[str, Any]]:
        """The notes within the bounds; or Hz as a number, or a string with an optional Hz."""
        if self.notes:
            return [{"type": "string", "pattern": ecma.whole(
                ecma.notes(parse_note, self.minimum, self.maximum))}]
        number = ecma.one_of([ecma.decimal(self.minimum, self.maximum, ecma.ANY_POINT),
                              ecma.float_spelling()])
        return [{"type": "number", "minimum": self.minimum, "maximum": self.maximum},
                {"type": "string", "pattern": ecma.whole(
                    f"{number}{ecma.ws()}(?:{ecma.folded('hz')})?")}]

    def examples(self) -> list[Any]:
        """Notes or frequencies within the bounds."""
        if self.notes:
            return [note for note in ("A2", "C#3", "E4", "A4")
                    if self.minimum <= parse_note(note) <= self.maximum][:2]
        return [value for value in (110, "136.1Hz") if self.minimum <= float(
            str(value).removesuffix("Hz")) <= self.maximum]

    def convert(self, text: str, node: yaml.ScalarNode) -> float:
        """Parse the note or the number of Hz."""
        if self.notes:
            hz = parse_note(text)
        else:
            raw = text.strip().lower().removesuffix("hz").strip()
            try:
                hz = float(raw)
            except ValueError:
                raise ValueError(f"'{text}' is not a frequency in Hz") from None
        if not (math.isfinite(hz) and self.minimum <= hz <= self.maximum):
            raise ValueError(f"{hz:g} Hz is outside {self.minimum:g}..{self.maximum:g} Hz")
        return hz


class FilePath(Kind):
    """A path to an existing file, relative to the script's folder."""

    def __init__(self, description: str = "") -> None:
        self.description = description

    def parse(self, node: yaml.Node, path: str, ctx: Context) -> Any:
        """Fill placeholders, resolve the path and check that it names a file."""
        ctx.count(node, path)
        if not isinstance(node, yaml.ScalarNode):
            return ctx.error(node, path, f"expected a file path, found {_node_word(node)}")
        filled = ctx.fill(node, path, node.value)
        if isinstance(filled, Invalid):
            return filled
        return resolve_file(filled.strip(), node, path, ctx)

    def examples(self) -> list[Any]:
        """A file beside the script."""
        return ["sounds/stream.ogg"]

    def json_schema(self) -> dict[str, Any]:
        """A path: some text (whether it names a file only the loader can tell)."""
        return {"type": "string", "pattern": text_pattern(), "description": self.description}


class FolderPath(Kind):
    """A path to an existing folder, relative to the script's folder."""

    def __init__(self, description: str = "") -> None:
        self.description = description

    def parse(self, node: yaml.Node, path: str, ctx: Context) -> Any:
        """Fill placeholders, resolve the path and check that it names a folder."""
        ctx.count(node, path)
        if not isinstance(node, yaml.ScalarNode):
            return ctx.error(node, path, f"expected a folder path, found {_node_word(node)}")
        filled = ctx.fill(node, path, node.value)
        if isinstance(filled, Invalid):
            return filled
        text = filled.strip()
        if not text:
            return ctx.error(node, path, "the folder path is empty")
        candidate = local_path(text, ctx.base_dir)
        found = kind_of(candidate)
        if found != "folder":
            what = "is a file; name the folder that holds it" if found == "file" else (
                "not found (paths are relative to the script's folder; create it, or run "
                "`audioguide record-list` to see what to record)")
            return ctx.error(node, path, f"folder {clip(str(candidate), 300)} {what}")
        return candidate

    def json_schema(self) -> dict[str, Any]:
        """A path: some text (whether it names a folder only the loader can tell)."""
        return {"type": "string", "pattern": text_pattern(), "description": self.description}

    def examples(self) -> list[Any]:
        """A folder beside the script."""
        return ["recordings"]


def resolve_file(text: str, node: yaml.Node, path: str, ctx: Context) -> Path | Invalid:
    """Resolve `text` against the script's folder; record an issue if it is not a file."""
    if not text:
        return ctx.error(node, path, "the file path is empty")
    candidate = local_path(text, ctx.base_dir)
    found = kind_of(candidate)
    if found == "folder":
        return ctx.error(node, path, f"'{clip(text, 300)}' is a folder; name an audio file")
    if found != "file":
        return ctx.error(node, path, f"file not found: {clip(str(candidate), 300)} (paths are "
                         "relative to the folder of the file that names them)")
    return candidate


def local_path(text: str, base: Path | None) -> Path:
    """`text` as a path: `~` expanded where it can be, relative paths under `base`."""
    candidate = Path(text)
    try:
        candidate = candidate.expanduser()
    except RuntimeError:    # `~name` for a user this system does not have: keep it literal
        pass
    if not candidate.is_absolute() and base is not None:
        candidate = base / candidate
    return candidate


def kind_of(path: Path) -> str | None:
    """"file", "folder", or None when missing or not a name the system can look up."""
    try:
        if path.is_dir():
            return "folder"
        if path.is_file():
            return "file"
    except (OSError, ValueError):   # a name too long, a NUL in it
        pass
    return None


@dataclass(frozen=True)
class Field:
    """One key of a mapping: its kind, whether it must be given, its default."""

    kind: Kind
    required: bool = False
    default: Any = None
    #: Values to show in an editor; the kind's own examples when empty.
    examples: tuple[Any, ...] = ()

    def example_values(self) -> list[Any]:
        """This key's examples: its own, else its kind's."""
        return list(self.examples) or self.kind.examples()


class Obj(Kind):
    """A mapping with known keys; optionally also written as a single scalar (shorthand)."""

    def __init__(self, fields: Mapping[str, Field], description: str = "", *,
                 shorthand: str | None = None, one_of: Iterable[tuple[str, ...]] = (),
                 at_most_one: Iterable[tuple[str, ...]] = ()) -> None:
        self.fields = dict(fields)
        self.description = description
        self.shorthand = shorthand
        self.one_of = tuple(one_of)
        self.at_most_one = tuple(at_most_one)

    def parse(self, node: yaml.Node, path: str, ctx: Context) -> Any:
        """Parse each key; report unknown, duplicate and missing keys."""
        if not ctx.count(node, path):
            return INVALID
        if self.shorthand is not None and not isinstance(node, yaml.MappingNode):
            value = self.fields[self.shorthand].kind.parse(node, path, ctx)
            if isinstance(value, Invalid):
                return value
            return self._defaults() | {self.shorthand: value}
        if not isinstance(node, yaml.MappingNode):
            return ctx.error(node, path, f"expected a mapping with keys "
                             f"{', '.join(self.fields)}, found {_node_word(node)}")
        values: dict[str, Any] = {}
        present: set[str] = set()
        for key_node, value_node in node.value:
            key = clip(key_node.value) if isinstance(key_node, yaml.ScalarNode) else None
            if key is None:
                ctx.error(key_node, path, "a key must be a plain word")
                continue
            child = child_path(path, key)
            if key in present:
                ctx.error(key_node, child, f"'{key}' is given twice; keep one")
                continue
            present.add(key)
            spec = self.fields.get(key)
            if spec is None:
                hint = suggest(key, self.fields) or f" (valid keys: {', '.join(self.fields)})"
                ctx.error(key_node, child, f"unknown key '{key}'{hint}")
                continue
            if is_null(value_node) and not spec.required:
                values[key] = spec.default
                continue
            values[key] = spec.kind.parse(value_node, child, ctx)
        for key, spec in self.fields.items():
            if key not in present:
                if spec.required:
                    ctx.error(node, path, f"'{key}' is missing; add it")
                values[key] = spec.default
        for group in self.one_of:
            given = [key for key in group if key in present]
            if len(given) != 1:
                ctx.error(node, path, f"give exactly one of {' or '.join(group)}"
                          + (f" (found {', '.join(given)})" if given else ""))
        for group in self.at_most_one:
            given = [key for key in group if key in present]
            if len(given) > 1:
                ctx.error(node, path, f"give only one of {' or '.join(group)}")
        return values

    def _defaults(self) -> dict[str, Any]:
        return {key: spec.default for key, spec in self.fields.items()}

    def json_schema(self) -> dict[str, Any]:
        """An object schema with additionalProperties false (plus the shorthand form).

        Each key carries its description, examples and default; an optional key may also be
        empty (null). Groups of keys become `oneOf` (exactly one) and `not` (at most one).
        """
        schema: dict[str, Any] = {
            "type": "object",
            "properties": {key: _property(spec) for key, spec in self.fields.items()},
            "additionalProperties": False,
        }
        required = [key for key, spec in self.fields.items() if spec.required]
        if required:
            schema["required"] = required
        rules: list[dict[str, Any]] = [
            {"oneOf": [{"required": [key]} for key in group]} for group in self.one_of]
        rules += [{"not": {"anyOf": [{"required": [a, b]} for i, a in enumerate(group)
                                     for b in group[i + 1:]]}} for group in self.at_most_one]
        if len(rules) == 1:
            schema.update(rules[0])
        elif rules:
            schema["allOf"] = rules
        if self.description:
            schema = {"description": self.description, **schema}
        examples = self.examples()
        if self.shorthand is not None:
            short_kind = self.fields[self.shorthand].kind
            short = short_kind.json_schema()
            if not isinstance(short_kind, ScalarKind):
                # A mapping is always this object's keys, even where the shorthand's own
                # kind could be a mapping too (a breathing pattern of phases).
                short = {"allOf": [short, {"not": {"type": "object"}}]}
            return {"description": self.description, "examples": examples,
                    "anyOf": [short, schema]}
        return schema | {"examples": examples[-1:]}

    def examples(self) -> list[Any]:
        """The shorthand, and a mapping with the required keys (or the first two)."""
        keys = [key for key, spec in self.fields.items() if spec.required]
        keys += [group[0] for group in self.one_of if not set(group) & set(keys)]
        if not keys:
            exclusive = {key for group in self.at_most_one for key in group[1:]}
            keys = [key for key in self.fields if key not in exclusive][:2]
        mapping = {}
        for key in keys:
            found = self.fields[key].example_values()
            if found:
                mapping[key] = found[0]
        examples: list[Any] = [mapping]
        if self.shorthand is not None:
            examples[:0] = self.fields[self.shorthand].example_values()[:1]
        return examples


def _property(spec: Field) -> dict[str, Any]:
    """One key's schema, with its description, default and examples on top for hovering."""
    schema = dict(spec.kind.json_schema())
    described: dict[str, Any] = {}
    description = (schema.pop("description", "") or spec.kind.description
                   or getattr(spec.kind, "expected", ""))
    if description:
        described["description"] = description
    default = json_value(spec.default)
    if default is not None:
        described["default"] = default
    examples = list(spec.examples) or _examples_in(schema) or spec.kind.examples()
    schema.pop("examples", None)
    if examples:
        described["examples"] = examples
    if spec.required:
        return described | schema
    return described | {"anyOf": [schema, {"type": "null"}]}


class ListOf(Kind):
    """A sequence of one kind of value."""

    def __init__(self, item: Kind, description: str = "", *, min_items: int = 0,
                 max_items: int = 10_000) -> None:
        self.item = item
        self.description = description
        self.min_items = min_items
        self.max_items = max_items

    def parse(self, node: yaml.Node, path: str, ctx: Context) -> Any:
        """Parse each item."""
        if not ctx.count(node, path):
            return INVALID
        if not isinstance(node, yaml.SequenceNode):
            return ctx.error(node, path, f"expected a list, found {_node_word(node)}")
        if not self.min_items <= len(node.value) <= self.max_items:
            return ctx.error(node, path, f"expects {self.min_items} to {self.max_items} items, "
                             f"found {len(node.value)}")
        return [self.item.parse(item, f"{path}[{i}]", ctx) for i, item in enumerate(node.value)]

    def json_schema(self) -> dict[str, Any]:
        """An array schema."""
        schema: dict[str, Any] = {"type": "array", "items": self.item.json_schema(),
                                  "minItems": self.min_items, "maxItems": self.max_items}
        if self.description:
            schema["description"] = self.description
        return schema

    def examples(self) -> list[Any]:
        """A list of one example item."""
        found = self.item.examples()
        return [[found[0]]] if found else []


class Variables(Kind):
    """`vars:` — names to text; read before anything else, never filled itself."""

    description = "values for {name} placeholders; --set name=value overrides them"

    def parse(self, node: yaml.Node, path: str, ctx: Context) -> Any:
        """Read names and their (scalar) values as text."""
        ctx.count(node, path)
        if is_null(node):
            return {}
        if not isinstance(node, yaml.MappingNode):
            return ctx.error(node, path, f"expected a mapping of names to values, "
                             f"found {_node_word(node)}")
        values: dict[str, str] = {}
        for key_node, value_node in node.value:
            child = child_path(path, clip(str(key_node.value)))
            name = key_node.value if isinstance(key_node, yaml.ScalarNode) else ""
            if not _NAME.fullmatch(str(name)) or len(name) > MAX_NAME:
                ctx.error(key_node, path, f"'{clip(str(name))}' is not a variable name: use "
                          f"up to {MAX_NAME} letters, digits and _, not starting with a digit")
                continue
            if name in values:
                ctx.error(key_node, child, f"'{name}' is given twice; keep one")
                continue
            if not isinstance(value_node, yaml.ScalarNode):
                ctx.error(value_node, child, "a variable's value must be text or a "
                          "number, not a list or mapping")
                continue
            values[name] = "" if is_null(value_node) else value_node.value
        return values

    def json_schema(self) -> dict[str, Any]:
        """Names to strings or numbers."""
        return {"type": "object", "description": self.description,
                "propertyNames": {"pattern": f"^[A-Za-z_][A-Za-z0-9_]{{0,{MAX_NAME - 1}}}$"},
                "additionalProperties": {"anyOf": [{"type": name} for name in (
                    "string", "number", "boolean", "null")]}}

    def examples(self) -> list[Any]:
        """A name and its text."""
        return [{"place": "a quiet beach at sunrise"}]


#: Characters a `pronounce:` word or its respelling may not hold: line breaks and other
#: controls, and (in the word) brackets and braces, which have a meaning in lines.
_SAY_AS_CONTROLS = "".join(chr(code) for code in (*range(32), 127, 0x85, 0x2028, 0x2029))
_SAY_AS_WORD_MARKS = "{}[]"
MAX_SAY_AS_WORD = 60
MAX_SAY_AS = 200


def _say_as_problem(text: str, limit: int, banned: str) -> str | None:
    if not text.strip():
        return "is empty"
    if len(text) > limit:
        return f"is longer than {limit} characters"
    if any(char in banned for char in text):
        return ("holds a line break, a control character"
                + (" or a bracket" if "[" in banned else "") + "; write plain text")
    return None


class Pronunciations(Kind):
    """`pronounce:` — words (or short phrases) to how the voice should say them."""

    description = ("how to say words the voice gets wrong: a word (or phrase) and a "
                   "respelling, or [[phonemes]] for Piper (IPA) and eSpeak (its own "
                   "letters); applied to every line, and to the values of vars")

    def parse(self, node: yaml.Node, path: str, ctx: Context) -> Any:
        """Read words and their respellings as text."""
        ctx.count(node, path)
        if is_null(node):
            return {}
        if not isinstance(node, yaml.MappingNode):
            return ctx.error(node, path, f"expected a mapping of words to how to say them, "
                             f"found {_node_word(node)}")
        values: dict[str, str] = {}
        seen: set[str] = set()
        for key_node, value_node in node.value:
            word = str(key_node.value) if isinstance(key_node, yaml.ScalarNode) else ""
            child = child_path(path, clip(word))
            problem = (_say_as_problem(word, MAX_SAY_AS_WORD,
                                       _SAY_AS_CONTROLS + _SAY_AS_WORD_MARKS)
                       if isinstance(key_node, yaml.ScalarNode) else "is not a word")
            if problem:
                ctx.error(key_node, path, f"the word '{clip(word)}' {problem}")
                continue
            if word.casefold() in seen:
                ctx.error(key_node, child, f"'{clip(word)}' is given twice; keep one")
                continue
            if not isinstance(value_node, yaml.ScalarNode) or is_null(value_node):
                ctx.error(value_node, child, "say how to say it: a respelling like "
                          "'Sheh-vawn', or [[phonemes]]")
                continue
            problem = _say_as_problem(str(value_node.value), MAX_SAY_AS, _SAY_AS_CONTROLS)
            if problem:
                ctx.error(value_node, child, f"how to say '{clip(word)}' {problem}")
                continue
            seen.add(word.casefold())
            values[word] = str(value_node.value)
        return values

    def json_schema(self) -> dict[str, Any]:
        """Words to respellings."""
        from . import ecma

        def text(limit: int, banned: str) -> str:
            allowed = ecma.char_class(banned, negate=True)
            return f"^(?={allowed}*{ecma.not_ws()}){allowed}{{1,{limit}}}$"

        return {"type": "object", "description": self.description,
                "propertyNames": {"pattern": text(MAX_SAY_AS_WORD,
                                                  _SAY_AS_CONTROLS + _SAY_AS_WORD_MARKS)},
                "additionalProperties": {"anyOf": [
                    {"type": "string", "pattern": text(MAX_SAY_AS, _SAY_AS_CONTROLS)},
                    {"type": "number"}, {"type": "boolean"}]}}

    def examples(self) -> list[Any]:
        """A name respelt, and a word as phonemes."""
        return [{"Siobhan": "Shi-vawn", "Niamh": "Neeve"}, {"Worcester": "Wuster"}]


class Custom(Kind):
    """A kind defined by a parse function and a schema (for the few irregular values)."""

    def __init__(self, parse: Callable[[yaml.Node, str, Context], Any],
                 schema: Callable[[], dict[str, Any]], *, description: str = "",
                 examples: Iterable[Any] = ()) -> None:
        self._parse = parse
        self._schema = schema
        # Given here (not read from the schema) where building the schema needs them: steps
        # hold steps, whose schemas show their examples.
        self.description = description
        self._examples = list(examples)

    def parse(self, node: yaml.Node, path: str, ctx: Context) -> Any:
        """Delegate to the parse function."""
        if not ctx.count(node, path):
            return INVALID
        return self._parse(node, path, ctx)

    def json_schema(self) -> dict[str, Any]:
        """Delegate to the schema function."""
        return self._schema()

    def examples(self) -> list[Any]:
        """The examples given, else those the schema shows."""
        return list(self._examples) or super().examples()


def _node_word(node: yaml.Node) -> str:
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    if is_null(node):
        return "nothing"
    return f"'{clip(node.value)}'"


def child_path(path: str, key: str) -> str:
    """`path.key`, or `path['key']` when the key is not a plain word, for a message."""
    if not _PLAIN_KEY.fullmatch(key):
        return f"{path}['{key}']"
    return f"{path}.{key}" if path else key


_PLAIN_KEY = re.compile(r"[\w-]+")


def clip(text: str, limit: int = 40) -> str:
    """`text`, shortened with an ellipsis to show in a message."""
    return text if len(text) <= limit else text[: limit - 1] + "…"
