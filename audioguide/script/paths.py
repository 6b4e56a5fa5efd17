"""Paths in a script: files and folders, relative to the folder of the file that names them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from .fields import FieldType
from .nodes import Context, Invalid, clip, node_word
from .scalars import text_pattern


class _PathField(FieldType):
    """A path to an existing file or folder, relative to the script's folder."""

    #: What the path names, in messages.
    names = "file"
    example = "sounds/stream.ogg"

    def __init__(self, description: str = "") -> None:
        self.description = description

    def parse(self, node: yaml.Node, path: str, ctx: Context) -> Any:
        """Fill placeholders, resolve the path and check that it names what it should."""
        ctx.count(node, path)
        filled = ctx.scalar_text(node, path,
                                 f"expected a {self.names} path, found {node_word(node)}")
        if isinstance(filled, Invalid):
            return filled
        return self.resolve(filled.strip(), node, path, ctx)

    def resolve(self, text: str, node: yaml.Node, path: str, ctx: Context) -> Path | Invalid:
        """The path `text` names; record an issue if it is not there."""
        return resolve_file(text, node, path, ctx)

    def examples(self) -> list[Any]:
        """One beside the script."""
        return [self.example]

    def json_schema(self) -> dict[str, Any]:
        """A path: some text (whether it names what it should only the loader can tell)."""
        return {"type": "string", "pattern": text_pattern(), "description": self.description}


class FilePath(_PathField):
    """A path to an existing file, relative to the script's folder."""


class FolderPath(_PathField):
    """A path to an existing folder, relative to the script's folder."""

    names = "folder"
    example = "recordings"

    def resolve(self, text: str, node: yaml.Node, path: str, ctx: Context) -> Path | Invalid:
        """The folder `text` names; record an issue if it is not one."""
        if not text:
            return ctx.error(node, path, "the folder path is empty")
        candidate = local_path(text, ctx.base_dir)
        found = file_or_folder(candidate)
        if found != "folder":
            what = "is a file; name the folder that holds it" if found == "file" else (
                "not found (paths are relative to the script's folder; create it, or run "
                "`audioguide record-list` to see what to record)")
            return ctx.error(node, path, f"folder {clip(str(candidate), 300)} {what}")
        return candidate


def resolve_file(text: str, node: yaml.Node, path: str, ctx: Context) -> Path | Invalid:
    """Resolve `text` against the script's folder; record an issue if it is not a file."""
    if not text:
        return ctx.error(node, path, "the file path is empty")
    candidate = local_path(text, ctx.base_dir)
    found = file_or_folder(candidate)
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


def file_or_folder(path: Path) -> str | None:
    """"file", "folder", or None when missing or not a name the system can look up."""
    try:
        if path.is_dir():
            return "folder"
        if path.is_file():
            return "file"
    except (OSError, ValueError):   # a name too long, a NUL in it
        pass
    return None

