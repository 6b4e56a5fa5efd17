"""Comfort playlists with real files: generated tones and noise encoded by the real ffmpeg."""

import subprocess
from pathlib import Path

import mutagen
import numpy as np
import pyloudnorm
import pytest
from click.testing import CliRunner

from audioguide.cli import cli
from audioguide.errors import ScriptError
from audioguide.ffmpeg import find_ffmpeg
from audioguide.jobs.playlists import build_playlist
from audioguide.media import decode

pytestmark = pytest.mark.real


def make_audio(path: Path, source: str, seconds: float, title: str = "",
               artist: str = "") -> Path:
    """Encode a lavfi source with the real ffmpeg, then tag it with mutagen."""
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([find_ffmpeg().path, "-v", "error", "-y", "-f", "lavfi", "-i",
                    f"{source}:d={seconds}", "-ac", "2", "-ar", "44100", str(path)],
                   check=True)
    if title or artist:
        audio = mutagen.File(str(path), easy=True)
        if audio.tags is None:
            audio.add_tags()
        if title:
            audio["title"] = title
        if artist:
            audio["artist"] = artist
        audio.save()
    return path


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("music")
    make_audio(root / "songs" / "low.mp3", "sine=f=220", 6, "Low hum", "Tone Band")
    make_audio(root / "songs" / "soft.ogg", "anoisesrc=c=pink:a=0.05", 5, "Soft rain")
    make_audio(root / "songs" / "bright.flac", "sine=f=660", 4, "Brîght ünïcode", "Ørkestra")
    make_audio(root / "songs" / "plain.wav", "sine=f=440", 3)
    make_audio(root / "Mémos" / "b-second.mp3", "sine=f=330", 3, "Second")
    make_audio(root / "Mémos" / "a-first.mp3", "sine=f=550", 3, "First")
    return root


def parse_m3u8(path: Path) -> list[tuple[float, str, Path]]:
    lines = path.read_text("utf-8").splitlines()
    assert lines[0] == "#EXTM3U"
    entries = []
    for info, target in zip(lines[2::2], lines[3::2], strict=True):
        assert info.startswith("#EXTINF:")
        seconds, label = info[len("#EXTINF:"):].split(",", 1)
        entries.append((float(seconds), label, path.parent / target))
    return entries


def write_playlist(folder: Path, text: str, name: str = "evening.yaml") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_m3u8_parses_back_with_lengths_and_relative_paths(library: Path) -> None:
    playlist = write_playlist(library, """
playlist: Ëvening comfort
tracks:
  - songs/low.mp3
  - {file: songs/soft.ogg, title: Rain on the roof}
  - songs/bright.flac
  - folder: Mémos
  - songs/plain.wav
gap: 1s
""")
    result = build_playlist(playlist)
    entries = parse_m3u8(result.m3u8)  # type: ignore[arg-type]
    labels = [label for _, label, _ in entries]
    assert labels == ["Tone Band - Low hum", "Rain on the roof", "Ørkestra - Brîght ünïcode",
                      "First", "Second", "plain"]
    for seconds, _, target in entries:
        assert target.is_file()                 # every path opens from the playlist's folder
        assert not Path(target.relative_to(library)).is_absolute()
        decoded = decode(target, 44100, 2)
        assert abs(seconds - len(decoded) / 44100) <= 0.1
    text = result.m3u8.read_text("utf-8")  # type: ignore[union-attr]
    assert "#PLAYLIST:Ëvening comfort" in text and "Mémos/a-first.mp3" in text
    absolute = build_playlist(playlist, library / "abs.m3u8", absolute=True)
    assert all(Path(line).is_absolute() for line in
               absolute.m3u8.read_text("utf-8").splitlines()[3::2])  # type: ignore[union-attr]


def test_the_mix_joins_tracks_with_crossfades_and_chapters(library: Path) -> None:
    playlist = write_playlist(library, """
playlist: Mix check
author: Someone Kind
tracks:
  - songs/low.mp3
  - songs/soft.ogg
  - {file: songs/bright.flac, title: Bright}
crossfade: 1.5s
loudness: -18
""", "mix.yaml")
    result = build_playlist(playlist, mix=library / "mix.mp3")
    lengths = [len(decode(t.path, 44100, 2)) / 44100 for t in result.tracks]
    mixed = decode(library / "mix.mp3", 44100, 2)
    expected = sum(lengths) - 2 * 1.5
    assert abs(len(mixed) / 44100 - expected) <= 0.02
    tags = mutagen.File(library / "mix.mp3").tags
    chapters = sorted(tags.getall("CHAP"), key=lambda c: c.start_time)
    assert [str(c.sub_frames["TIT2"]) for c in chapters] == ["Low hum", "Soft rain", "Bright"]
    starts = [0.0, lengths[0] - 1.5, lengths[0] + lengths[1] - 3.0]
    assert [c.start_time / 1000 for c in chapters] == pytest.approx(starts, abs=0.02)
    assert str(tags["TIT2"]) == "Mix check" and str(tags["TPE1"]) == "Someone Kind"
    # Each track, away from the crossfades, sits near the target loudness.
    meter = pyloudnorm.Meter(44100)
    for index, start in enumerate(starts):
        inner = mixed[int((start + 1.6) * 44100): int((start + lengths[index] - 1.6) * 44100)]
        assert meter.integrated_loudness(inner.astype(np.float64)) == pytest.approx(-18, abs=1)


def test_a_gap_adds_silence_between_tracks(library: Path) -> None:
    playlist = write_playlist(library, "playlist: Gaps\ntracks: [songs/plain.wav, "
                              "songs/plain.wav]\ngap: 2s\nloudness: off\n", "gap.yaml")
    result = build_playlist(playlist, mix=library / "gap.wav")
    mixed = decode(library / "gap.wav", 44100, 2)
    assert len(mixed) == 2 * 3 * 44100 + 2 * 44100
    assert not mixed[3 * 44100 + 100: 5 * 44100 - 100].any()
    assert [c.start_ms for c in result.chapters] == [0, 5000]


def test_missing_and_unreadable_files_are_listed_with_their_lines(library: Path) -> None:
    (library / "broken.mp3").write_bytes(b"this is not audio")
    playlist = write_playlist(library, """
playlist: Broken
tracks:
  - songs/low.mp3
  - songs/nowhere.mp3
  - broken.mp3
  - folder: no-such-folder
""", "broken.yaml")
    with pytest.raises(ScriptError) as caught:
        build_playlist(playlist)
    assert [str(issue) for issue in caught.value.issues] == [
        f"{playlist}:5:5: tracks[1]: file not found: {library}/songs/nowhere.mp3 (paths are "
        "relative to the folder of the file that names them)",
        f"{playlist}:7:13: tracks[3].folder: folder not found: {library}/no-such-folder "
        "(paths are relative to the playlist's folder)",
    ]
    unreadable = write_playlist(library, "playlist: B\ntracks:\n  - songs/low.mp3\n"
                                "  - broken.mp3\n", "unreadable.yaml")
    runner = CliRunner()
    refused = runner.invoke(cli, ["playlist", "build", str(unreadable)])
    assert refused.exit_code == 2
    assert refused.stderr == (f"{unreadable}:4:5: tracks[1]: broken.mp3 is not an audio file "
                              "ffmpeg and mutagen recognise (can't sync to MPEG frame)\n")
    skipped = runner.invoke(cli, ["playlist", "build", str(unreadable), "--skip-missing"])
    assert skipped.exit_code == 0, skipped.output
    assert "warning: skipped:" in skipped.stderr
    assert len(parse_m3u8(library / "unreadable.m3u8")) == 1


def test_shuffle_with_a_seed_is_repeatable(library: Path) -> None:
    text = "playlist: S\ntracks:\n  - {folder: songs, shuffle: true, seed: %d}\n"
    orders = []
    for seed in (3, 3, 4):
        path = write_playlist(library, text % seed, f"shuffle{len(orders)}.yaml")
        orders.append([label for _, label, _ in parse_m3u8(build_playlist(path).m3u8)])  # type: ignore[arg-type]
    assert orders[0] == orders[1]
    assert sorted(orders[0]) == sorted(orders[2])


def test_sessions_are_rendered_once_and_reused(library: Path) -> None:
    playlist = write_playlist(library, """
playlist: With a session
tracks:
  - songs/plain.wav
  - session: box-breathing
    set: {rounds: 1}
""", "session.yaml")
    first = build_playlist(playlist)
    rendered = first.tracks[1].path
    assert rendered.parent.name == "session-sessions" and rendered.suffix == ".mp3"
    assert first.tracks[1].title == "Box breathing" and first.tracks[1].from_session
    made = rendered.stat().st_mtime_ns
    second = build_playlist(playlist)
    assert second.tracks[1].path == rendered and rendered.stat().st_mtime_ns == made
    shown = CliRunner().invoke(cli, ["playlist", "show", str(playlist)])
    assert shown.exit_code == 0, shown.output
    lines = shown.stdout.splitlines()
    assert lines[0] == "With a session"
    assert lines[2].endswith("Box breathing (session)")
    assert lines[-1].startswith("  2 tracks, ")


def test_next_and_previous_jump_between_tracks(library: Path) -> None:
    import time

    from test_play import CaptureBackend

    from audioguide.jobs.live import live_playlist

    backend = CaptureBackend(latency=0)
    playlist = write_playlist(library, "playlist: Jumps\ntracks: [songs/low.mp3, "
                              "songs/bright.flac, songs/plain.wav]\ngap: 1s\n", "jumps.yaml")
    live = live_playlist(playlist, output=backend)
    backend.player = live.player
    live.player.start()

    def tick(count: int) -> np.ndarray:
        return np.concatenate([backend.tick(4410) for _ in range(count)])

    def settle() -> None:  # let the new producer queue audio after a jump
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not any(
                item[0] == live.player._generation for item in list(live.player._queue.queue)):
            time.sleep(0.01)

    tick(10)                                              # a second into "Low hum"
    assert live.current() == 0
    assert live.navigate(+1)                              # n
    settle()
    heard = tick(10)
    assert live.current() == 1
    bright = decode(library / "songs" / "bright.flac", 44100, 2)
    assert np.allclose(heard[: len(bright) // 2][:, 0], bright[: 44100][:, 0], atol=1e-4)
    tick(25)                                              # 3.5 s into it (of 4 s)
    assert live.navigate(-1) and (settle() is None) and live.current() == 1  # p restarts it
    tick(2)
    assert live.navigate(-1) and (settle() is None)      # p again: the track before
    tick(2)
    assert live.current() == 0
    assert live.navigate(+1) and live.navigate(+1)       # n, n: to the last track...
    assert not live.navigate(+1)                          # ...and n past it ends
    live.player.close()
