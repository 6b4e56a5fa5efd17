"""The one atomic writer, and plain words for the disk failures every writer can meet.

A file is written under a temporary name in its own folder, fsynced and renamed onto
its final name only when complete, so a failure, Ctrl-C or SIGKILL leaves the old file
(or nothing) there, never a partial one. Temporary files left by a writer that was
killed are cleared by the next write of the same name.

A full disk, a read-only file system or a folder the user may not write in is not a
bug and not an encoder problem: `unwritable` turns it into one line that names the
folder and says what to do.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import re
import secrets
import threading
from collections.abc import Iterator
from pathlib import Path

from .errors import ExportError, InputError

log = logging.getLogger(__name__)

#: The errno values that mean "this folder cannot take the file": full, read-only, not allowed.
DISK_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM})

_PART = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)-[0-9a-f]{8}\.part$")


def disk_errno(error: BaseException) -> int | None:
    """The full-disk, read-only or permission errno behind `error`, if there is one.

    Looks through the chain of causes and arguments, since libraries (mutagen, our own
    ExportError) wrap the OSError that says what really happened.
    """
    seen: set[int] = set()
    pending: list[object] = [error]
    while pending:
        current = pending.pop(0)
        if not isinstance(current, BaseException) or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno in DISK_ERRNOS:
            return current.errno
        pending.extend([current.__cause__, current.__context__, *current.args])
    return None


def errno_in_text(text: str) -> int | None:
    """The disk errno whose system message (`No space left on device`, ...) `text` holds.

    For tools such as ffmpeg that report the failure only as text on stderr.
    """
    for code in sorted(DISK_ERRNOS):
        if os.strerror(code) in text:
            return code
    return None


def unwritable(error: BaseException, folder: Path,
               elsewhere: str = "choose another folder with -o") -> str | None:
    """Why `folder` cannot take a file and what to do, in plain words; None when `error` is
    not a full disk, a read-only file system or a missing permission.

    `elsewhere` says how to write somewhere else (the option that picks the place).
    """
    code = disk_errno(error)
    if code == errno.ENOSPC:
        return f"the disk holding {folder} is full; free some space there, or {elsewhere}"
    if code == errno.EDQUOT:
        return (f"your disk quota on the disk holding {folder} is used up; free some space "
                f"there, or {elsewhere}")
    if code == errno.EROFS:
        return f"{folder} is read-only; {elsewhere}"
    if code in (errno.EACCES, errno.EPERM):
        return f"no permission to write in {folder}; {elsewhere}"
    return None


class CacheWarning:
    """One warning for a cache folder that cannot be written, however many writes fail.

    Caches only save time, so a full or read-only cache folder is not worth stopping a
    render for; it is worth saying, once, rather than once per line.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._said = False
        self._lock = threading.Lock()

    def report(self, error: OSError) -> bool:
        """Warn (the first time) if `error` is the folder's fault; False if it is not."""
        plain = unwritable(error, self.folder.absolute(),
                           "choose another cache folder with --cache")
        if plain is None:
            return False
        with self._lock:
            if self._said:
                return True
            self._said = True
        log.warning("cannot save to the cache: %s; going on without it", plain)
        return True


def temporary_name(path: Path) -> Path:
    """A fresh temporary path beside `path`, named so a later writer can tell whose it is."""
    return path.parent / f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}.part"


def writes_to(path: Path, filename: object) -> bool:
    """True when an OSError's `filename` is `path` or one of its temporary files."""
    if filename is None:
        return True
    named = Path(str(filename))
    if named == path:
        return True
    match = _PART.match(named.name)
    return named.parent == path.parent and match is not None and match.group("name") == path.name


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """A temporary path beside `path` (already created, empty), renamed onto `path` only if
    the block finishes; any OSError is raised as it is, with nothing left behind."""
    _clear_leftovers(path.parent, path.name)
    temporary = temporary_name(path)
    # Created here rather than by whoever fills it (ffmpeg, wave, mutagen), so a folder that
    # cannot take a file fails with a real errno, not with a tool's message about it.
    with open(temporary, "xb"):
        pass
    try:
        yield temporary
        _fsync(temporary)
        os.replace(temporary, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()


def _fsync(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def _clear_leftovers(folder: Path, name: str) -> None:
    """Remove temporary files of `name` left by writers that were killed (their process is
    gone); those of live writers, in this or another process, are theirs."""
    try:
        entries = list(folder.iterdir())
    except OSError:
        return
    for entry in entries:
        match = _PART.match(entry.name)
        if not match or match.group("name") != name:
            continue
        if not process_alive(int(match.group("pid"))):
            with contextlib.suppress(OSError):
                entry.unlink()


def process_alive(pid: int) -> bool:
    """Whether the process that left a temporary file or folder may still be writing it
    (this one, or another that is still running)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


#: How a command's user chooses another place, said when a folder cannot take a file.
ELSEWHERE = "choose another folder with -o"


@contextlib.contextmanager
def atomic_output(path: Path, make_folder: bool = False,
                  elsewhere: str = ELSEWHERE) -> Iterator[Path]:
    """A temporary path beside `path`; renamed onto `path` only if the block finishes.

    A folder that cannot take the file (full, read-only, not ours) is an ExportError that
    names it and says what to do (`elsewhere`: how to choose another place).
    """
    folder = path.parent
    if not folder.is_dir():
        if not make_folder:
            raise InputError(f"the folder {folder} does not exist; create it, or add --mkdir")
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            existing = next((p for p in path.absolute().parents if p.is_dir()), Path("/"))
            plain = unwritable(exc, existing, elsewhere)
            raise ExportError(f"cannot create the folder {folder}: "
                              f"{plain or exc.strerror or exc}") from exc
    try:
        with atomic_path(path) as temporary:
            yield temporary
    except OSError as exc:
        # Only a failure writing this file is about its folder; a file read meanwhile
        # (a bed, a recording) that fails is named as itself.
        if writes_to(path, exc.filename):
            reason = unwritable(exc, path.absolute().parent, elsewhere) or exc.strerror
        else:
            reason = f"{exc.strerror or exc}: {exc.filename}"
        raise ExportError(f"cannot write {path}: {reason or exc}") from exc


def write_text(path: Path, text: str, make_folder: bool = False,
               elsewhere: str = ELSEWHERE) -> Path:
    """Write a small text file (a chapter list, a playlist, a script) the same safe way."""
    with atomic_output(path, make_folder, elsewhere) as temporary:
        temporary.write_text(text, encoding="utf-8")
    return path
