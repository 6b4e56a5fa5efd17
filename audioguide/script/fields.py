"""A small declarative schema over YAML nodes that keeps line and column marks.

Each `FieldType` turns one YAML node into a Python value or records an `Issue` at the
node's position; the same declarations produce the published JSON Schema, so the
loader and the editor's autocompletion cannot drift apart. Here are the base types and
the structure (a mapping of `Field`s, a list, a custom parser); the values themselves are
in `scalars`, `paths` and `word_maps`.

Scalars are read from their source text, not from PyYAML's YAML 1.1 guesses, so
`1:30` stays a clock time, `off` stays a word and `010` stays ten.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import yaml

from . import ecma
from .nodes import INVALID, Context, Invalid, child_path, clip, is_null, node_word, suggest


class FieldType:
    """One type of value in a script: how it is parsed, and its JSON Schema."""

    description = ""

    def parse(self, node: yaml.Node, path: str, ctx: Context) -> Any:
        """Turn `node` into a value, or record an issue and return INVALID."""
        raise NotImplementedError

    def json_schema(self) -> dict[str, Any]:
        """The JSON Schema fragment that describes this type."""
        raise NotImplementedError

    def examples(self) -> list[Any]:
        """Values of this type the loader accepts, for the editor to show."""
        return _examples_in(self.json_schema())


class ScalarType(FieldType):
    """A type written as one scalar; subclasses convert its (filled) text."""

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
            return ctx.error(node, path, f"expected {self.expected}, found {node_word(node)}")
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


@dataclass(frozen=True)
class Field:
    """One key of a mapping: its type (`kind`), whether it must be given, its default."""

    kind: FieldType
    required: bool = False
    default: Any = None
    #: Values to show in an editor; the kind's own examples when empty.
    examples: tuple[Any, ...] = ()

    def example_values(self) -> list[Any]:
        """This key's examples: its own, else its kind's."""
        return list(self.examples) or self.kind.examples()


class Obj(FieldType):
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
                             f"{', '.join(self.fields)}, found {node_word(node)}")
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
            if not isinstance(short_kind, ScalarType):
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


class ListOf(FieldType):
    """A sequence of one type of value."""

    def __init__(self, item: FieldType, description: str = "", *, min_items: int = 0,
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
            return ctx.error(node, path, f"expected a list, found {node_word(node)}")
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


class Custom(FieldType):
    """A type defined by a parse function and a schema (for the few irregular values)."""

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

