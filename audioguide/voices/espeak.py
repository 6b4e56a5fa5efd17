"""Finding eSpeak NG for pyttsx3 on Linux: the system's library, or the espeakng-loader wheel's.

pyttsx3's eSpeak driver loads `libespeak-ng.so.1` by name. When the system has no
eSpeak NG, the worker loads the wheel's copy first with RTLD_GLOBAL (and points
ESPEAK_DATA_PATH at its data), so that by-name load finds it and `pip install`
alone is enough. `AUDIOGUIDE_ESPEAK_LIB` overrides the choice: a library path, or
`bundled` to use the wheel's copy even when the system has one.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass

ENV_VAR = "AUDIOGUIDE_ESPEAK_LIB"


@dataclass(frozen=True)
class EspeakLibrary:
    """Which eSpeak NG library pyttsx3 will use and why."""

    path: str
    origin: str              # "system", "espeakng-loader wheel" or the env var
    data_path: str | None    # ESPEAK_DATA_PATH to set, for the wheel's copy


def find_espeak(environ: Mapping[str, str] | None = None) -> EspeakLibrary | None:
    """The library to use on Linux, or None where pyttsx3 uses another driver or none is
    found; by `environ`'s AUDIOGUIDE_ESPEAK_LIB (the process's environment unless given),
    looked up once per setting."""
    environ = os.environ if environ is None else environ
    return _find(environ.get(ENV_VAR, "").strip())


@functools.lru_cache(maxsize=8)
def _find(chosen: str) -> EspeakLibrary | None:
    if not sys.platform.startswith("linux"):
        return None
    if chosen and chosen != "bundled":
        return EspeakLibrary(chosen, ENV_VAR, None)
    if not chosen:
        system = ctypes.util.find_library("espeak-ng")
        if system:
            return EspeakLibrary(system, "system", None)
    try:
        import espeakng_loader
    except ImportError:
        return None
    return EspeakLibrary(espeakng_loader.get_library_path(), "espeakng-loader wheel",
                         espeakng_loader.get_data_path())


def espeak_version() -> str:
    """eSpeak NG's own version string, read without initialising the synthesizer."""
    return _version(find_espeak())


@functools.lru_cache(maxsize=8)
def _version(library: EspeakLibrary | None) -> str:
    if library is None:
        return "none"
    try:
        lib = ctypes.CDLL(library.path)
        info = lib.espeak_Info
        info.restype = ctypes.c_char_p
        info.argtypes = [ctypes.c_void_p]
        raw = info(None)
        return raw.decode("utf-8", "replace") if raw else "unknown"
    except (OSError, AttributeError):
        return "unloadable"
