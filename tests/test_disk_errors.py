"""A full disk, a read-only folder, a folder we may not write in: one plain line, exit 1,
the previous file kept, no temporary file left; a cache that cannot be written is one
warning and the render goes on.

Real failures come from small tmpfs mounts (root may mount them; the tests that need one
skip, saying why, where it cannot); the same failures are also injected without a mount.
"""

from __future__ import annotations

import errno
import logging
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import mutagen
import numpy as np
import pytest
from click.testing import CliRunner

from audioguide.atomic import CacheWarning, disk_errno, errno_in_text, unwritable
from audioguide.cli import cli
from audioguide.errors import ExportError
from audioguide.output import export as export_module
from audioguide.output.export import ExportSettings, export
from audioguide.render.loudness import Loudness
from audioguide.render.memo import LoudnessMemo
from audioguide.voices import SpeechBank, SpeechCache, SpeechRequest, VoiceSettings
from audioguide.voices.draft import DraftEngine

from conftest import BrokenFfmpeg, WriteScript

DRAFT_SETTINGS = VoiceSettings("draft", None, 130.0)
PREVIOUS = b"yesterday's good render"

SESSION = """
    title: Small disk
    date: "2026"
    voice: {engine: draft}
    steps:
      - say: Let the breath settle.
      - say: Notice the weight of your hands.
      - say: Soften the space between your eyes.
      - pause: 20s
"""

Mount = Callable[..., Path]


def _run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, check=False)


@pytest.fixture
def mount(tmp_path: Path) -> Iterator[Mount]:
    """mount(name, free_bytes=None, read_only=False, keep=None) → a fresh tmpfs of 1 MB at
    tmp_path/name; `keep` (a file name) holds PREVIOUS; `free_bytes` fills the rest of the
    disk so only that much is left. Unmounted afterwards."""
    mounted: list[Path] = []
    if shutil.which("mount") is None:
        pytest.skip("no mount command here to make a small tmpfs")

    def make(name: str, free_bytes: int | None = None, read_only: bool = False,
             keep: str | None = None) -> Path:
        folder = tmp_path / name
        folder.mkdir()
        done = _run("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(folder))
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here (needs root where mounts are allowed): "
                        f"{done.stderr.strip()}")
        mounted.append(folder)
        if keep is not None:
            (folder / keep).write_bytes(PREVIOUS)
        if free_bytes is not None:
            stats = os.statvfs(folder)
            with open(folder / "filler", "wb") as filler:
                filler.write(b"\0" * max(0, stats.f_bavail * stats.f_frsize - free_bytes))
        if read_only:
            done = _run("mount", "-o", "remount,ro", str(folder))
            if done.returncode != 0:
                pytest.skip(f"cannot remount a tmpfs read-only here: {done.stderr.strip()}")
        return folder

    yield make
    for folder in reversed(mounted):
        if _run("umount", str(folder)).returncode != 0:
            _run("umount", "-l", str(folder))


def _names(folder: Path) -> list[str]:
    return sorted(entry.name for entry in folder.iterdir())


def _render(script: Path, output: Path, *extra: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["render", str(script), "-o", str(output), "--quiet",
                                      *extra])
    return result.exit_code, result.stderr


# Real mounts ---------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["mp3", "wav"])
def test_a_full_disk_is_said_plainly_and_keeps_the_previous_file(
        mount: Mount, write_script: WriteScript, fmt: str) -> None:
    small = mount("small", free_bytes=64 * 1024, keep=f"safe-place.{fmt}")
    target = small / f"safe-place.{fmt}"
    code, stderr = _render(write_script(SESSION), target, "--loudness", "off")
    assert stderr == (f"error: cannot write {target}: the disk holding {small} is full; free "
                      "some space there, or choose another folder with -o\n")
    assert code == 1
    assert target.read_bytes() == PREVIOUS
    assert _names(small) == ["filler", f"safe-place.{fmt}"]


def test_a_read_only_folder_is_said_plainly(mount: Mount, write_script: WriteScript) -> None:
    read_only = mount("ro", read_only=True, keep="session.mp3")
    target = read_only / "session.mp3"
    code, stderr = _render(write_script(SESSION), target, "--loudness", "off")
    assert stderr == (f"error: cannot write {target}: {read_only} is read-only; choose "
                      "another folder with -o\n")
    assert code == 1
    assert target.read_bytes() == PREVIOUS
    assert _names(read_only) == ["session.mp3"]


def test_a_missing_folder_on_a_read_only_disk_cannot_be_made(
        mount: Mount, write_script: WriteScript) -> None:
    read_only = mount("ro", read_only=True)
    code, stderr = _render(write_script(SESSION), read_only / "new" / "s.wav", "--mkdir")
    assert stderr == (f"error: cannot create the folder {read_only / 'new'}: {read_only} is "
                      "read-only; choose another folder with -o\n")
    assert code == 1


def test_new_into_a_read_only_folder(mount: Mount) -> None:
    read_only = mount("ro", read_only=True, keep="evening.yaml")
    result = CliRunner().invoke(cli, ["new", "evening", "-o", str(read_only), "--force"])
    assert result.stderr == (f"error: cannot write {read_only / 'evening.yaml'}: {read_only} is "
                             "read-only; choose another folder with -o\n")
    assert result.exit_code == 1
    assert (read_only / "evening.yaml").read_bytes() == PREVIOUS
    assert _names(read_only) == ["evening.yaml"]


def test_new_with_a_folder_writes_there(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["new", "evening", "-o", str(tmp_path)])
    assert result.exit_code == 0, result.stderr
    assert result.stdout == f"{tmp_path / 'evening.yaml'}\n"
    assert (tmp_path / "evening.yaml").read_text("utf-8").lstrip().startswith(("title:", "#",
                                                                               "audioguide:"))


def _playlist(tmp_path: Path) -> Path:
    track = tmp_path / "noise.wav"
    # Noise, so that the mix's MP3 cannot be squeezed into a few kilobytes.
    noise = np.random.default_rng(1).uniform(-0.2, 0.2, (44100 * 4, 2)).astype(np.float32)
    export([noise], track, ExportSettings("wav", 44100, 2))
    playlist = tmp_path / "calm.yaml"
    playlist.write_text("playlist: Calm\ntracks:\n  - noise.wav\n", encoding="utf-8")
    return playlist


def test_a_playlist_into_a_read_only_folder(mount: Mount, tmp_path: Path) -> None:
    playlist = _playlist(tmp_path)
    read_only = mount("ro", read_only=True, keep="calm.m3u8")
    target = read_only / "calm.m3u8"
    result = CliRunner().invoke(cli, ["playlist", "build", str(playlist), "-o", str(target),
                                      "--quiet"])
    assert result.stderr == (f"error: cannot write {target}: {read_only} is read-only; "
                             "choose another folder with -o\n")
    assert result.exit_code == 1
    assert target.read_bytes() == PREVIOUS
    assert _names(read_only) == ["calm.m3u8"]


def test_a_playlist_mix_onto_a_full_disk(mount: Mount, tmp_path: Path) -> None:
    playlist = _playlist(tmp_path)
    small = mount("small", free_bytes=8 * 1024, keep="calm.mp3")
    mix = small / "calm.mp3"
    result = CliRunner().invoke(cli, ["playlist", "build", str(playlist), "-o",
                                      str(tmp_path / "calm.m3u8"), "--mix", str(mix), "--quiet"])
    assert result.stderr == (f"error: cannot write {mix}: the disk holding {small} is full; "
                             "free some space there, or choose another folder with --mix\n")
    assert result.exit_code == 1
    assert mix.read_bytes() == PREVIOUS
    assert _names(small) == ["calm.mp3", "filler"]


@pytest.mark.parametrize("broken", ["read-only", "full"])
def test_a_cache_that_cannot_be_written_warns_once_and_the_render_goes_on(
        mount: Mount, write_script: WriteScript, tmp_path: Path, broken: str) -> None:
    cache = (mount("cache", read_only=True) if broken == "read-only"
             else mount("cache", free_bytes=0))
    target = tmp_path / "out.wav"
    # Normalised (the default), so the loudness memo is written too: still one warning.
    code, stderr = _render(write_script(SESSION), target, "--cache", str(cache))
    reason = (f"{cache} is read-only" if broken == "read-only" else
              f"the disk holding {cache} is full; free some space there, or")
    assert stderr == (f"warning: cannot save to the cache: {reason}"
                      f"{'; ' if broken == 'read-only' else ' '}choose another cache folder "
                      "with --cache; going on without it\n")
    assert code == 0
    assert mutagen.File(target) is not None and target.stat().st_size > 44100 * 2 * 2 * 20
    # The same bytes as a render with a cache that works.
    again = tmp_path / "again.wav"
    assert _render(write_script(SESSION), again, "--cache", str(tmp_path / "c")) == (0, "")
    assert again.read_bytes() == target.read_bytes()


# Injected failures (no mount needed) ---------------------------------------------------

@pytest.mark.parametrize(("message", "reason"), [
    ("No space left on device", "the disk holding {folder} is full; free some space there, or "
                                "choose another folder with -o"),
    ("Read-only file system", "{folder} is read-only; choose another folder with -o"),
    ("Permission denied", "no permission to write in {folder}; choose another folder with -o"),
])
def test_ffmpeg_reporting_the_disk_is_not_blamed_on_the_encoder(
        tmp_path: Path, write_script: WriteScript, broken_ffmpeg: BrokenFfmpeg,
        message: str, reason: str) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    target = folder / "safe-place.mp3"
    target.write_bytes(PREVIOUS)
    broken_ffmpeg(f"Error closing file {folder}/.safe-place.mp3.part: {message}", 1)
    code, stderr = _render(write_script(SESSION), target, "--loudness", "off")
    assert stderr == f"error: cannot write {target}: {reason.format(folder=folder)}\n"
    assert code == 1
    assert target.read_bytes() == PREVIOUS
    assert _names(folder) == ["safe-place.mp3"]


def test_a_writer_meeting_a_full_disk(tmp_path: Path, write_script: WriteScript,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "safe-place.wav"
    target.write_bytes(PREVIOUS)

    def full(blocks: object, path: Path, settings: object) -> None:
        path.write_bytes(b"RIFF half a header")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(export_module, "_write_wav", full)
    code, stderr = _render(write_script(SESSION), target, "--loudness", "off")
    assert stderr == (f"error: cannot write {target}: the disk holding {tmp_path} is full; free "
                      "some space there, or choose another folder with -o\n")
    assert code == 1
    assert target.read_bytes() == PREVIOUS
    assert _names(tmp_path) == ["s.yaml", "safe-place.wav"]


def test_tags_that_do_not_fit_are_the_disk_s_fault(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "tagged.mp3"
    target.write_bytes(PREVIOUS)

    def no_room(*args: object) -> None:
        try:
            raise mutagen.MutagenError(OSError(errno.EDQUOT, os.strerror(errno.EDQUOT)))
        except mutagen.MutagenError as exc:
            raise ExportError(f"cannot write tags into x: {exc}") from exc

    monkeypatch.setattr(export_module, "write_tags", no_room)
    with pytest.raises(ExportError) as caught:
        export([np.zeros((4410, 2), np.float32)], target, ExportSettings("mp3", 44100, 2))
    assert str(caught.value) == (f"cannot write {target}: your disk quota on the disk holding "
                                 f"{tmp_path} is used up; free some space there, or choose "
                                 "another folder with -o")
    assert target.read_bytes() == PREVIOUS
    assert _names(tmp_path) == ["tagged.mp3"]


def test_a_file_read_meanwhile_is_not_blamed_on_the_folder(tmp_path: Path) -> None:
    def blocks() -> Iterator[np.ndarray]:
        yield np.zeros((100, 2), np.float32)
        raise PermissionError(errno.EACCES, "Permission denied", "/music/bed.ogg")

    with pytest.raises(ExportError) as caught:
        export(blocks(), tmp_path / "x.wav", ExportSettings("wav", 44100, 2))
    assert str(caught.value) == f"cannot write {tmp_path / 'x.wav'}: Permission denied: " \
                                "/music/bed.ogg"
    assert _names(tmp_path) == []


def test_the_plain_words_for_each_errno() -> None:
    folder = Path("/x")
    words = {code: unwritable(OSError(code, os.strerror(code)), folder)
             for code in (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM,
                          errno.EIO)}
    assert words == {
        errno.ENOSPC: "the disk holding /x is full; free some space there, or choose another "
                      "folder with -o",
        errno.EDQUOT: "your disk quota on the disk holding /x is used up; free some space "
                      "there, or choose another folder with -o",
        errno.EROFS: "/x is read-only; choose another folder with -o",
        errno.EACCES: "no permission to write in /x; choose another folder with -o",
        errno.EPERM: "no permission to write in /x; choose another folder with -o",
        errno.EIO: None,
    }
    assert errno_in_text("av_interleaved_write_frame(): No space left on device") == errno.ENOSPC
    assert errno_in_text("Unknown encoder 'libmp3lame'") is None
    wrapped = ExportError("tags")
    wrapped.__cause__ = mutagen.MutagenError(OSError(errno.EROFS, "Read-only file system"))
    assert disk_errno(wrapped) == errno.EROFS


def test_a_cache_that_cannot_be_written_keeps_lines_in_memory_and_warns_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    cache = SpeechCache(tmp_path / "cache")
    bank = SpeechBank(cache, engine_factory=lambda name: DraftEngine())
    lines = [SpeechRequest(text, DRAFT_SETTINGS) for text in
             ("One line.", "Another line.", "A third, longer line than the others.")]

    def full(src: object, dst: object) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "replace", full)
    with caplog.at_level(logging.WARNING, logger="audioguide"):
        assert bank.prepare(lines) == 3
        memo = LoudnessMemo(cache.root.parent / "loudness", cache.unwritable)
        memo.put("k" * 64, Loudness(-16.0, -1.5, 4.0), -3.0)
    warnings = [record.getMessage() for record in caplog.records]
    assert warnings == [f"cannot save to the cache: the disk holding {tmp_path / 'cache'} is "
                        "full; free some space there, or choose another cache folder with "
                        "--cache; going on without it"]
    for line in lines:
        assert len(bank.samples(line, 44100)) == bank.frames(line, 44100) > 1000
    leftovers = [p for p in (tmp_path / "cache").rglob("*") if p.is_file()]
    assert leftovers == []
    monkeypatch.undo()
    # Once the disk has room, the lines are written as usual.
    fresh = SpeechCache(tmp_path / "cache")
    fresh_bank = SpeechBank(fresh, engine_factory=lambda name: DraftEngine())
    assert fresh_bank.prepare(lines) == 3
    assert fresh.stats().entries == 3
    for line in lines:
        assert np.array_equal(fresh_bank.samples(line, 44100), bank.samples(line, 44100))


def test_other_cache_failures_are_not_hidden(tmp_path: Path) -> None:
    warning = CacheWarning(tmp_path)
    assert warning.report(OSError(errno.EIO, "Input/output error")) is False
    assert warning.report(OSError(errno.ENOSPC, "No space left on device")) is True

