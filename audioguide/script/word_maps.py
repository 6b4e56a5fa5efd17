"""Mappings of words to text: `vars:` (names to values) and `pronounce:` (words to respellings).

Both are read by one walk, `WordMap.parse`: each key checked and given once, each value a
scalar; the two differ only in what makes a key or a value acceptable.
"""

from __future__ import annotations

from typing import Any

import yaml

from . import ecma
from .fields import FieldType
from .nodes import VARIABLE_NAME, Context, child_path, clip, is_null, node_word

#: The longest variable name.
MAX_NAME = 60

#: Characters a `pronounce:` word or its respelling may not hold: line breaks and other
#: controls, and (in the word) brackets and braces, which have a meaning in lines.
_SAY_AS_CONTROLS = "".join(chr(code) for code in (*range(32), 127, 0x85, 0x2028, 0x2029))
_SAY_AS_WORD_MARKS = "{}[]"
MAX_SAY_AS_WORD = 60
MAX_SAY_AS = 200


class WordMap(FieldType):
    """A mapping of words to text; subclasses say which keys and values they take."""

    #: What the mapping holds, for "expected a mapping of ..., found ...".
    holds = "words to text"

    def parse(self, node: yaml.Node, path: str, ctx: Context) -> Any:
        """Read each key and its (scalar) value as text; nothing (null) is an empty mapping."""
        ctx.count(node, path)
        if is_null(node):
            return {}
        if not isinstance(node, yaml.MappingNode):
            return ctx.error(node, path, f"expected a mapping of {self.holds}, "
                             f"found {node_word(node)}")
        values: dict[str, str] = {}
        seen: set[str] = set()
        for key_node, value_node in node.value:
            word = str(key_node.value) if isinstance(key_node, yaml.ScalarNode) else ""
            problem = self.key_problem(word, key_node)
            if problem:
                ctx.error(key_node, path, problem)
                continue
            child = child_path(path, clip(word))
            if self.same(word) in seen:
                ctx.error(key_node, child, f"'{self.shown(word)}' is given twice; keep one")
                continue
            try:
                values[word] = self.value(word, value_node)
            except ValueError as exc:
                ctx.error(value_node, child, str(exc))
                continue
            seen.add(self.same(word))
        return values

    def key_problem(self, word: str, node: yaml.Node) -> str | None:
        """The message for a key that is not acceptable (`word` is empty if `node` is no scalar)."""
        raise NotImplementedError

    def value(self, word: str, node: yaml.Node) -> str:
        """The text `word` maps to; raise ValueError with a user message."""
        raise NotImplementedError

    def same(self, word: str) -> str:
        """What two keys share when they are the same key given twice."""
        return word

    def shown(self, word: str) -> str:
        """A key as the message about giving it twice quotes it."""
        return clip(word)


class Variables(WordMap):
    """`vars:` — names to text; read before anything else, never filled itself."""

    description = "values for {name} placeholders; --set name=value overrides them"
    holds = "names to values"

    def key_problem(self, word: str, node: yaml.Node) -> str | None:
        """A name: letters, digits and _, not starting with a digit, up to MAX_NAME long."""
        if not VARIABLE_NAME.fullmatch(word) or len(word) > MAX_NAME:
            return (f"'{clip(word)}' is not a variable name: use up to {MAX_NAME} letters, "
                    "digits and _, not starting with a digit")
        return None

    def value(self, word: str, node: yaml.Node) -> str:
        """The value's text, as written (nothing is the empty text)."""
        if not isinstance(node, yaml.ScalarNode):
            raise ValueError("a variable's value must be text or a number, not a list or "
                             "mapping")
        return "" if is_null(node) else str(node.value)

    def shown(self, word: str) -> str:
        """The whole name (names are short)."""
        return word

    def json_schema(self) -> dict[str, Any]:
        """Names to strings or numbers."""
        return {"type": "object", "description": self.description,
                "propertyNames": {"pattern": f"^[A-Za-z_][A-Za-z0-9_]{{0,{MAX_NAME - 1}}}$"},
                "additionalProperties": {"anyOf": [{"type": name} for name in (
                    "string", "number", "boolean", "null")]}}

    def examples(self) -> list[Any]:
        """A name and its text."""
        return [{"place": "a quiet beach at sunrise"}]


def _say_as_problem(text: str, limit: int, banned: str) -> str | None:
    if not text.strip():
        return "is empty"
    if len(text) > limit:
        return f"is longer than {limit} characters"
    if any(char in banned for char in text):
        return ("holds a line break, a control character"
                + (" or a bracket" if "[" in banned else "") + "; write plain text")
    return None


class Pronunciations(WordMap):
    """`pronounce:` — words (or short phrases) to how the voice should say them."""

    description = ("how to say words the voice gets wrong: a word (or phrase) and a "
                   "respelling, or [[phonemes]] for Piper (IPA) and eSpeak (its own "
                   "letters); applied to every line, and to the values of vars")
    holds = "words to how to say them"

    def key_problem(self, word: str, node: yaml.Node) -> str | None:
        """A word or phrase of plain text, with no brackets or braces."""
        problem = (_say_as_problem(word, MAX_SAY_AS_WORD, _SAY_AS_CONTROLS + _SAY_AS_WORD_MARKS)
                   if isinstance(node, yaml.ScalarNode) else "is not a word")
        return f"the word '{clip(word)}' {problem}" if problem else None

    def value(self, word: str, node: yaml.Node) -> str:
        """The respelling (or [[phonemes]]): plain text on one line."""
        if not isinstance(node, yaml.ScalarNode) or is_null(node):
            raise ValueError("say how to say it: a respelling like 'Sheh-vawn', or [[phonemes]]")
        problem = _say_as_problem(str(node.value), MAX_SAY_AS, _SAY_AS_CONTROLS)
        if problem:
            raise ValueError(f"how to say '{clip(word)}' {problem}")
        return str(node.value)

    def same(self, word: str) -> str:
        """Words are the same whatever their case."""
        return word.casefold()

    def json_schema(self) -> dict[str, Any]:
        """Words to respellings."""

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
