"""Publishing the script format's JSON Schema where editors look for it.

`install_schema` writes the schema beside a script and points the script at it with the
modeline yaml-language-server reads (VS Code's YAML extension, and the editors that use
the same server). The path in the modeline is relative, which the server resolves from the
script's folder, so the folder can move, or be shared, with its schema.
"""

from __future__ import annotations

import codecs
import json
import re
import shutil
from pathlib import Path

from ..atomic import atomic_path, unwritable
from ..errors import ExportError, InputError
from .load import SCRIPT_SUFFIXES, builtin_sessions, read_text
from .paths import file_or_folder
from .schema import json_schema

#: The schema's name in the script's folder (hidden: it is the editor's, not the user's).
SCHEMA_FILE = ".audioguide.schema.json"
MODELINE_PREFIX = "# yaml-language-server: $schema="
_MODELINE = re.compile(r"#\s*yaml-language-server\s*:\s*\$schema=")


def schema_text() -> str:
    """The schema as the JSON file editors read."""
    return json.dumps(json_schema(), indent=1, ensure_ascii=False) + "\n"


def with_modeline(text: str, target: str) -> str:
    """`text` with its first line pointing at the schema `target` (an older one replaced).

    Only the comments at the top are looked at, so text inside the script is never touched.
    """
    lines = text.splitlines(keepends=True)
    first = lines[0] if lines else "\n"
    newline = first[len(first.rstrip("\r\n")):] or "\n"
    head = 0
    while head < len(lines) and lines[head].lstrip().startswith("#"):
        head += 1
    kept = [line for line in lines[:head] if not _MODELINE.match(line.lstrip())]
    return MODELINE_PREFIX + target + newline + "".join(kept + lines[head:])


def install_schema(script: Path) -> Path:
    """Write the schema beside `script` and its modeline into it; return the schema's path."""
    found = file_or_folder(script)
    if found != "file":
        raise InputError(f"{script} is a folder; give a script file" if found == "folder"
                         else f"script not found: {script}")
    real = script.resolve()
    if not real.name.endswith(SCRIPT_SUFFIXES):
        raise InputError(f"{script} is not a .yaml script")
    if any(real == session.path.resolve() for session in builtin_sessions()):
        raise InputError(f"{script} is a built-in session; copy it to edit with "
                         f"`audioguide new NAME --from {real.stem}`, then install into the copy")
    text = read_text(real)
    bom = codecs.BOM_UTF8 if real.read_bytes().startswith(codecs.BOM_UTF8) else b""
    schema_path = real.parent / SCHEMA_FILE
    _write(schema_path, schema_text().encode("utf-8"))
    updated = with_modeline(text, f"./{SCHEMA_FILE}")
    if updated != text:
        _write(real, bom + updated.encode("utf-8"), keep_mode=True)
    return schema_path


def _write(path: Path, data: bytes, keep_mode: bool = False) -> None:
    """Replace `path` with `data` atomically (nothing is written when it holds them already)."""
    try:
        if path.is_file() and path.read_bytes() == data:
            return
        with atomic_path(path) as temporary:
            temporary.write_bytes(data)
            if keep_mode:
                shutil.copymode(path, temporary)
    except OSError as exc:
        reason = (unwritable(exc, path.parent, "copy the script to a folder you can write to")
                  or exc.strerror or str(exc))
        raise ExportError(f"cannot write {path}: {reason}") from exc
