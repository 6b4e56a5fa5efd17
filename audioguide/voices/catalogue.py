"""The Piper voice library: the catalogue of downloadable voices, and the voices installed.

The catalogue is `voices.json` of the Piper voice repository (rhasspy/piper-voices on
Hugging Face, pinned to revision v1.0.0); `AUDIOGUIDE_VOICES_URL` replaces its base URL
(a mirror, or a local server in tests). Each voice lists its files with their size and
md5 digest. Everything from there is untrusted: the catalogue and every file are
bounded in size, file paths are reduced to checked plain names, and each file must
match its size and digest before the voice is installed (install.py).
"""

from __future__ import annotations

import difflib
import http.client
import json
import logging
import os
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, BinaryIO

from .. import __version__
from ..errors import InputError, UnknownVoiceError, VoiceError, printable
from .piper_engine import PiperVoiceFile, installed_voices, piper_available

log = logging.getLogger(__name__)

#: The Piper voice repository at a fixed revision, so a catalogue entry's digests stay true.
DEFAULT_BASE_URL = "https://huggingface.co/rhasspy/piper-voices/resolve/v1.0.0/"
URL_ENV = "AUDIOGUIDE_VOICES_URL"
CATALOGUE_FILE = "voices.json"
#: The real catalogue is well under 1 MB; anything this big is not one.
MAX_CATALOGUE_BYTES = 8 * 1024 * 1024
#: The largest Piper models are about 120 MB.
MAX_FILE_BYTES = 200 * 1024 * 1024
MAX_FILES_PER_VOICE = 16
#: Seconds to wait for a connection, and for each read on it.
TIMEOUT_S = 30.0
CHUNK_BYTES = 64 * 1024

#: Piper's own voice-name pattern (piper.download_voices.VOICE_PATTERN), narrowed to the
#: characters real names use, since a name becomes a folder name here.
VOICE_NAME = re.compile(r"^(?P<family>[a-z]{2,3})_(?P<region>[A-Z0-9]{2,3})"
                        r"-(?P<name>[A-Za-z0-9_]{1,60})-(?P<quality>x_low|low|medium|high)$")
_PATH_PART = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.+-]{0,120}$")
_MD5 = re.compile(r"^[0-9a-f]{32}$")

#: opener(url, timeout_s) -> a readable response (urllib's by default; tests may pass another).
Opener = Callable[[str, float], Any]

NETWORK_HINT = (f"check the connection, or set {URL_ENV} to a mirror of rhasspy/piper-voices "
                f"(the folder that holds {CATALOGUE_FILE})")


@dataclass(frozen=True)
class CatalogueFile:
    """One file of a voice: where it is in the repository, and what it must be."""

    path: str          # in the repository, e.g. en/en_US/joe/medium/en_US-joe-medium.onnx
    name: str          # installed as, e.g. en_US-joe-medium.onnx
    size_bytes: int
    md5: str


@dataclass(frozen=True)
class CatalogueVoice:
    """A voice the catalogue offers."""

    key: str                 # en_US-joe-medium
    name: str                # joe
    language: str            # en_US
    language_name: str       # English (United States)
    quality: str
    num_speakers: int
    speakers: tuple[str, ...]
    files: tuple[CatalogueFile, ...]
    aliases: tuple[str, ...] = ()

    @property
    def size_bytes(self) -> int:
        """All its files together."""
        return sum(file.size_bytes for file in self.files)


@dataclass(frozen=True)
class Catalogue:
    """The voices at one base URL."""

    base_url: str
    voices: tuple[CatalogueVoice, ...]

    def matching(self, language: str | None = None) -> list[CatalogueVoice]:
        """The voices for a language (`en`, `en-gb`, `en_GB`), or all, sorted by name."""
        return sorted((voice for voice in self.voices
                       if language is None or language_matches(voice.language, language)),
                      key=lambda voice: voice.key)

    def find(self, wanted: str) -> CatalogueVoice:
        """The voice called `wanted` (its name, case aside, or an old alias); an
        UnknownVoiceError with the closest names if there is none."""
        folded = wanted.strip().casefold()
        for voice in self.voices:
            if voice.key.casefold() == folded or folded in (a.casefold() for a in voice.aliases):
                return voice
        keys = [voice.key for voice in self.voices]
        close = [voice.key for voice in self.voices if voice.name.casefold() == folded]
        close = close or difflib.get_close_matches(wanted.strip(), keys, n=3, cutoff=0.6)
        hint = f" (did you mean {', '.join(close[:4])}?)" if close else ""
        raise UnknownVoiceError(f"the Piper catalogue has no voice '{printable(wanted)}'{hint}; "
                                "`audioguide voices --available` lists them")


def language_matches(code: str, wanted: str) -> bool:
    """Whether a language code (`en_US`, `en-us`) is the one asked for: the same, or its
    family (`en`), or a narrower form of it."""
    code = code.casefold().replace("_", "-")
    wanted = wanted.strip().casefold().replace("_", "-")
    return code == wanted or code.split("-")[0] == wanted or code.startswith(wanted + "-")


def installed_piper_voices(language: str | None = None) -> list[PiperVoiceFile]:
    """The Piper voices on this machine (bundled and in the voices folder), optionally only
    those for a language; each has `.name`, `.short`, `.language` (`en_US`) and speakers."""
    return [voice for voice in installed_voices()
            if language is None or language_matches(voice.language, language)]


def auto_candidates() -> tuple[tuple[str, str, str], ...]:
    """The Piper voices `engine: auto` may choose, as (name, short name, language), the
    bundled one first; none when piper-tts itself is not installed."""
    if not piper_available():
        return ()
    return tuple((voice.name, voice.short, voice.language) for voice in installed_voices())


def catalogue_url() -> str:
    """The base URL voices come from: `$AUDIOGUIDE_VOICES_URL`, else the pinned repository."""
    return os.environ.get(URL_ENV, "").strip() or DEFAULT_BASE_URL


def checked_base_url(base_url: str) -> str:
    """`base_url` ending in `/`; bad input unless it is an http(s) or file URL."""
    scheme = urllib.parse.urlsplit(base_url).scheme.lower()
    if scheme not in ("https", "http", "file"):
        raise InputError(f"{URL_ENV}: '{printable(base_url)}' is not an http(s) or file URL "
                         f"(like {DEFAULT_BASE_URL})")
    return base_url if base_url.endswith("/") else base_url + "/"


def open_url(url: str, timeout_s: float) -> Any:
    """The response for `url` (the default Opener)."""
    request = urllib.request.Request(url, headers={"User-Agent": f"audioguide/{__version__}"})
    return urllib.request.urlopen(request, timeout=timeout_s)


def network_error(what: str, url: str, error: BaseException) -> VoiceError:
    """A failed download of `what` from `url`, said plainly, with what to try."""
    if isinstance(error, urllib.error.HTTPError):
        reason = f"HTTP {error.code} {error.reason}"
    elif isinstance(error, urllib.error.URLError):
        reason = str(error.reason)
    else:
        reason = str(error) or type(error).__name__
    return VoiceError(f"could not download {what} from {url} ({printable(reason)}); "
                      f"{NETWORK_HINT}")


#: What a download may raise on a failing connection or server.
NETWORK_ERRORS = (urllib.error.URLError, http.client.HTTPException, OSError, ValueError)


def fetch_catalogue(base_url: str | None = None, *, timeout_s: float = TIMEOUT_S,
                    opener: Opener = open_url) -> Catalogue:
    """Download and check the catalogue (at most MAX_CATALOGUE_BYTES)."""
    base = checked_base_url(base_url or catalogue_url())
    url = base + CATALOGUE_FILE
    try:
        with opener(url, timeout_s) as response:
            data = _read_bounded(response, MAX_CATALOGUE_BYTES)
    except NETWORK_ERRORS as exc:
        raise network_error("the voice catalogue", url, exc) from None
    if data is None:
        raise VoiceError(f"the voice catalogue at {url} is larger than "
                         f"{MAX_CATALOGUE_BYTES // 2**20} MB, so it is not one; {NETWORK_HINT}")
    try:
        entries = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise VoiceError(f"the voice catalogue at {url} is not JSON ({exc}); "
                         f"{NETWORK_HINT}") from None
    if not isinstance(entries, dict):
        raise VoiceError(f"the voice catalogue at {url} is not a mapping of voices; "
                         f"{NETWORK_HINT}")
    return Catalogue(base, parse_catalogue(entries))


def _read_bounded(response: BinaryIO, limit: int) -> bytes | None:
    """All of a response, or None if it is longer than `limit`."""
    parts: list[bytes] = []
    size = 0
    while True:
        chunk = response.read(min(CHUNK_BYTES, limit + 1 - size))
        if not chunk:
            return b"".join(parts)
        size += len(chunk)
        if size > limit:
            return None
        parts.append(chunk)


def parse_catalogue(entries: Mapping[str, Any]) -> tuple[CatalogueVoice, ...]:
    """The usable voices of a decoded `voices.json`; an entry that breaks a rule (an odd
    name, an unsafe path, a file too large) is left out, and logged."""
    voices = []
    for key, entry in entries.items():
        try:
            voices.append(_parse_voice(str(key), entry))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            log.info("catalogue entry %r left out: %s", printable(str(key))[:80], exc)
    return tuple(voices)


def _parse_voice(key: str, entry: Any) -> CatalogueVoice:
    match = VOICE_NAME.match(key)
    if not match or entry.get("key", key) != key:
        raise ValueError("not a voice name like en_GB-alan-medium")
    language = entry.get("language") or {}
    code = f"{match['family']}_{match['region']}"
    if str(language.get("code", code)) != code:
        raise ValueError(f"its language {language.get('code')!r} is not the name's")
    speakers = int(entry.get("num_speakers", 1))
    if not 1 <= speakers <= 100_000:
        raise ValueError(f"{speakers} speakers")
    speaker_map = entry.get("speaker_id_map") or {}
    names = tuple(str(name) for name, _ in sorted(dict(speaker_map).items(),
                                                  key=lambda pair: int(pair[1])))
    files = tuple(_parse_file(str(path), spec) for path, spec in dict(entry["files"]).items())
    if len(files) > MAX_FILES_PER_VOICE:
        raise ValueError(f"{len(files)} files")
    installed_as = [file.name for file in files]
    if len(set(installed_as)) != len(installed_as):
        raise ValueError("two files have the same name")
    for needed in (f"{key}.onnx", f"{key}.onnx.json"):
        if needed not in installed_as:
            raise ValueError(f"it lists no {needed}")
    country = str(language.get("country_english") or "")
    language_name = str(language.get("name_english") or code)
    if country:
        language_name += f" ({country})"
    aliases = tuple(str(alias) for alias in entry.get("aliases") or () if isinstance(alias, str))
    return CatalogueVoice(key, match["name"], code, printable(language_name)[:60],
                          match["quality"], speakers, names, files, aliases)


def _parse_file(path: str, spec: Any) -> CatalogueFile:
    parts = path.split("/")
    if not all(_PATH_PART.match(part) and part.strip(".") for part in parts):
        raise ValueError(f"unsafe file path {path!r}")
    size = spec["size_bytes"]
    digest = str(spec["md5_digest"]).lower()
    if not isinstance(size, int) or isinstance(size, bool) or not 0 < size <= MAX_FILE_BYTES:
        raise ValueError(f"{path}: size {size!r} is not between 1 byte and "
                         f"{MAX_FILE_BYTES // 2**20} MB")
    if not _MD5.match(digest):
        raise ValueError(f"{path}: {digest!r} is not an md5 digest")
    return CatalogueFile(path, parts[-1], size, digest)


def installed_names() -> set[str]:
    """The names of the Piper voices on this machine."""
    return {voice.name for voice in installed_voices()}


__all__ = [
    "CATALOGUE_FILE", "DEFAULT_BASE_URL", "MAX_CATALOGUE_BYTES", "MAX_FILE_BYTES", "URL_ENV",
    "VOICE_NAME", "Catalogue", "CatalogueFile", "CatalogueVoice", "catalogue_url",
    "fetch_catalogue", "installed_names", "installed_piper_voices", "language_matches",
    "parse_catalogue",
]
