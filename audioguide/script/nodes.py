"""YAML nodes as the loader reads them: the context that records issues at their marks.

Every parser takes a node, the key path to it (for messages) and the `Context`; a value
that fails is recorded as an `Issue` at the node's line and column and returned as
`INVALID`, so one load lists every problem. The helpers here are the words those
messages share: a node as a message shows it, a key path, a clipped quote, a suggestion.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ..errors import Issue
from . import ecma

#: YAML plain scalars that mean "no value".
NULL_WORDS = frozenset({"", "~", "null", "Null", "NULL"})
#: The most text filling placeholders may make of one value.
MAX_FILLED_CHARS = 100_000
#: A variable's name, as a `{name}` placeholder and a key under `vars:` write it.
VARIABLE_NAME = re.compile(ecma.NAME)

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

    def scalar_text(self, node: yaml.Node, path: str, not_scalar: str) -> str | Invalid:
        """A scalar's text with its placeholders filled; `not_scalar` is the problem said
        (and INVALID returned) when the node is a list or mapping."""
        if not isinstance(node, yaml.ScalarNode):
            return self.error(node, path, not_scalar)
        return self.fill(node, path, node.value)

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
                if not VARIABLE_NAME.fullmatch(name):
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


def node_word(node: yaml.Node) -> str:
    """What a message calls a node found where something else was expected."""
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
