"""Reading the user's files: the WAV fast path gives exactly what ffmpeg gives."""

import subprocess
import wave
from pathlib import Path

import numpy as np
import pytest

from audioguide.ffmpeg import find_ffmpeg
from audioguide.media import decode, read_wav
from audioguide.render.sources import ClipLibrary
from audioguide.timeline.model import FileClip
from audioguide.voices import SpeechBank
from audioguide.voices.cache import SpeechCache

pytestmark = pytest.mark.real


def write_wav(path: Path, width: int, channels: int, rate: int = 44100,
              frames: int = 20000) -> Path:
    rng = np.random.default_rng(width * 10 + channels)
    top = 2 ** (8 * width - 1)
    data = rng.integers(-top, top, size=(frames, channels), dtype=np.int64)
    with wave.open(str(path), "wb") as file:
        file.setnchannels(channels)
        file.setsampwidth(width)
        file.setframerate(rate)
        file.writeframes(data.astype("<i2" if width == 2 else "<i4").tobytes())
    return path


def ffmpeg_decode(path: Path, rate: int, channels: int) -> np.ndarray:
    command = [find_ffmpeg().path, "-nostdin", "-v", "error", "-i", str(path), "-f", "f32le",
               "-acodec", "pcm_f32le", "-ac", str(channels), "-ar", str(rate), "pipe:1"]
    out = subprocess.run(command, capture_output=True, check=True).stdout
    return np.frombuffer(out, dtype="<f4").reshape(-1, channels)


@pytest.mark.parametrize(("width", "channels"), [(2, 2), (4, 2), (2, 1)])
def test_pcm_wav_read_natively_equals_ffmpeg(tmp_path: Path, width: int, channels: int) -> None:
    path = write_wav(tmp_path / "a.wav", width, channels)
    native = read_wav(path, 44100, channels)
    assert native is not None
    assert np.array_equal(native, ffmpeg_decode(path, 44100, channels))


@pytest.mark.parametrize(("rate", "own", "wanted"), [(48000, 2, 2), (44100, 1, 2), (44100, 2, 1)])
def test_other_rates_and_channel_counts_go_to_ffmpeg(tmp_path: Path, rate: int, own: int,
                                                     wanted: int) -> None:
    path = write_wav(tmp_path / "b.wav", 2, own, rate=rate)
    assert read_wav(path, 44100, wanted) is None
    assert np.array_equal(decode(path, 44100, wanted), ffmpeg_decode(path, 44100, wanted))


def test_a_broken_wav_is_left_to_ffmpeg_to_report(tmp_path: Path) -> None:
    path = tmp_path / "broken.wav"
    path.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")
    assert read_wav(path, 44100, 2) is None


def test_decoded_files_are_kept_up_to_a_byte_budget(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    paths = [write_wav(tmp_path / f"{i}.wav", 2, 2, frames=10000) for i in range(4)]
    calls: list[Path] = []
    from audioguide.render import sources as clips

    def counting(path: Path, rate: int, channels: int) -> np.ndarray:
        calls.append(path)
        return decode(path, rate, channels)

    monkeypatch.setattr(clips, "decode", counting)
    # Room for two files of 10,000 stereo float32 frames (80,000 bytes each).
    library = ClipLibrary(SpeechBank(SpeechCache(tmp_path / "cache")), 44100, 2,
                          decoded_bytes=170_000)
    for _ in range(3):
        for path in paths[:2]:
            assert library.frames(FileClip(path)) == 10000
    assert calls == paths[:2]
    library.frames(FileClip(paths[2]))      # pushes out the least recently used (paths[0])
    library.frames(FileClip(paths[1]))
    library.frames(FileClip(paths[0]))
    assert calls == paths[:2] + [paths[2], paths[0]]


def _blocks(audio: np.ndarray, size: int) -> list[np.ndarray]:
    return [audio[i: i + size] for i in range(0, len(audio), size)]


def test_a_streamed_bed_loops_exactly_like_a_held_one() -> None:
    from audioguide.sounds import LoopBed, StreamLoopBed

    rate = 8000
    rng = np.random.default_rng(3)
    audio = rng.standard_normal((9 * rate + 123, 2)).astype(np.float32) * 0.1
    held = LoopBed(audio, rate)
    opened = []

    def open_stream() -> list[np.ndarray]:
        opened.append(1)
        return _blocks(audio, 1000)

    streamed = StreamLoopBed(open_stream, rate)
    sizes = [777, 4096, 1, 30000, 12345] * 6
    a = np.concatenate([held.read(n) for n in sizes])
    b = np.concatenate([streamed.read(n) for n in sizes])
    crossfade = 2 * rate
    assert len(b) == len(a) == sum(sizes)
    assert len(a) > 3 * len(audio)                 # several times round the loop
    assert np.array_equal(b[:crossfade], audio[:crossfade])   # the first pass starts plain
    assert np.allclose(b[crossfade:], a[crossfade:], atol=1e-6)  # then the same seam
    assert len(opened) >= 3


def test_a_long_bed_file_is_streamed_not_held(tmp_path: Path) -> None:
    from audioguide.sounds import LoopBed, StreamLoopBed

    path = write_wav(tmp_path / "bed.wav", 2, 2, frames=44100 * 8)
    library = ClipLibrary(SpeechBank(SpeechCache(tmp_path / "cache")), 44100, 2)
    from audioguide.timeline.model import FileLoop

    held = library.open_bed(FileLoop(path))
    assert isinstance(held, LoopBed)
    library.stream_bed_bytes = 1_000_000          # 8 s of stereo float32 is 2.8 MB
    streamed = library.open_bed(FileLoop(path))
    assert isinstance(streamed, StreamLoopBed)
    a = np.concatenate([held.read(50_000) for _ in range(20)])
    b = np.concatenate([streamed.read(50_000) for _ in range(20)])
    assert np.allclose(b[88200:], a[88200:], atol=1e-6)
