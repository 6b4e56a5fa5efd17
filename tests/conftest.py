"""Shared fixtures: a private speech cache, script files, and whole renders as arrays."""

from __future__ import annotations

import os
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from audioguide.jobs.options import RenderOptions
from audioguide.jobs.prepare import prepare

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="session", autouse=True)
def private_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Keep every test away from the user's real speech cache."""
    folder = tmp_path_factory.mktemp("speech-cache")
    old = os.environ.get("AUDIOGUIDE_CACHE")
    os.environ["AUDIOGUIDE_CACHE"] = str(folder)
    yield folder
    if old is None:
        del os.environ["AUDIOGUIDE_CACHE"]
    else:
        os.environ["AUDIOGUIDE_CACHE"] = old


WriteScript = Callable[..., Path]


@pytest.fixture
def write_script(tmp_path: Path) -> WriteScript:
    """write_script(text, name="s.yaml") → the path of a dedented script file in tmp_path."""

    def write(text: str, name: str = "s.yaml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    return write


DRAFT = RenderOptions(engine="draft")


def render_array(script: Path | str, options: RenderOptions = DRAFT) -> tuple[np.ndarray, object]:
    """Render a (short) script fully into memory: (samples (frames, channels), timeline)."""
    with prepare(script, options) as prepared:
        blocks = list(prepared.blocks())
        audio = np.concatenate(blocks) if blocks else np.zeros((0, prepared.timeline.channels))
        return audio, prepared.timeline


def dominant_hz(samples: np.ndarray, sample_rate: int) -> float:
    """The strongest frequency in a stretch of mono samples."""
    window = np.hanning(len(samples))
    spectrum = np.abs(np.fft.rfft(samples * window))
    return float(np.argmax(spectrum) * sample_rate / len(samples))


BrokenFfmpeg = Callable[[str, int], Path]


@pytest.fixture
def broken_ffmpeg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[BrokenFfmpeg]:
    """broken_ffmpeg(message, code): AUDIOGUIDE_FFMPEG becomes a script that fails so."""

    def install(message: str, code: int) -> Path:
        fake = tmp_path / "ffmpeg"
        fake.write_text(f"#!/bin/sh\necho '{message}' >&2\nexit {code}\n")
        fake.chmod(0o755)
        monkeypatch.setenv("AUDIOGUIDE_FFMPEG", str(fake))
        return fake

    yield install
