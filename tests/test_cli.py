import json
from pathlib import Path

import click
import jsonschema
import pytest
import yaml
from click.testing import CliRunner

from audioguide import __version__
from audioguide.cli import cli
from audioguide.script import builtin_sessions
from audioguide.script.schema import SESSION, STEP_KINDS

from conftest import DATA, BrokenFfmpeg, WriteScript

GOOD = """
title: CLI check
voice: {engine: draft}
steps:
  - section: Only
  - say: Hello from the command line.
  - pause: 1s
"""


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_every_command_has_help_with_an_example(runner: CliRunner) -> None:
    assert isinstance(cli, click.Group)
    for name, command in cli.commands.items():
        result = runner.invoke(cli, [name, "--help"])
        assert result.exit_code == 0, name
        assert command.help and "Example" in command.help, name


def test_version(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["--version"])
    assert result.exit_code == 0
    assert result.output == f"audioguide, version {__version__}\n"


def test_render_writes_the_file_and_prints_its_path(runner: CliRunner, write_script: WriteScript,
                                                    tmp_path: Path) -> None:
    out = tmp_path / "nested" / "hello.wav"
    script = write_script(GOOD)
    refused = runner.invoke(cli, ["render", str(script), "-o", str(out)])
    assert refused.exit_code == 2
    assert refused.stderr == (f"error: the folder {out.parent} does not exist; create it, or "
                              "add --mkdir\n")
    result = runner.invoke(cli, ["render", str(script), "-o", str(out), "--mkdir"])
    assert result.exit_code == 0, result.output
    assert result.stdout == f"{out}\n"
    assert out.is_file() and out.stat().st_size > 44
    assert "Rendering" not in result.stderr  # no progress bar when not on a terminal


def test_render_defaults_to_output_folder(runner: CliRunner, write_script: WriteScript,
                                          tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    script = write_script(GOOD, "my-session.yaml")
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(cli, ["render", str(script), "--format", "wav"])
    assert result.exit_code == 0, result.output
    assert result.stdout == "output/my-session.wav\n"
    assert (tmp_path / "output" / "my-session.wav").is_file()


def test_a_bad_script_creates_nothing(runner: CliRunner, write_script: WriteScript,
                                      tmp_path: Path) -> None:
    script = write_script("""
        voice: {engine: draft}
        steps:
          - say: Fine.
          - breathe: {pattern: boxx}
          - pause: soon
    """)
    out = tmp_path / "out" / "never.mp3"
    result = runner.invoke(cli, ["render", str(script), "-o", str(out)])
    assert result.exit_code == 2
    assert result.stderr == (
        f"{script}:4:24: steps[1].breathe.pattern: unknown pattern 'boxx' (did you mean 'box'?)\n"
        f"{script}:5:12: steps[2].pause: 'soon' is not a duration; write it like 4, 4s, 1.5s, "
        "500ms, 2m, 1m30s or 1:30\n")
    assert result.stdout == ""
    assert not out.parent.exists()


def test_a_timing_error_also_creates_nothing(runner: CliRunner, write_script: WriteScript,
                                             tmp_path: Path) -> None:
    script = write_script("voice: {engine: draft}\nsteps:\n  - pause: 2m\n  - at: 1m\n")
    out = tmp_path / "never.wav"
    result = runner.invoke(cli, ["render", str(script), "-o", str(out)])
    assert result.exit_code == 2
    assert result.stderr == (f"{script}:4:5: steps[1].at: 'at: 1:00.000' is earlier than where "
                             "the session already is (2:00.000); move it later or shorten the "
                             "steps before it\n")
    assert list(tmp_path.iterdir()) == [script]


def test_missing_script_and_bad_options_exit_2(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["render", "no-such-session"])
    assert result.exit_code == 2
    assert result.stderr == ("error: no script file or built-in session named 'no-such-session'; "
                             "`audioguide list` shows the built-in sessions\n")
    result = runner.invoke(cli, ["render", "box-breathing", "--set", "rounds"])
    assert result.exit_code == 2
    assert "Invalid value for --set: 'rounds' is not name=value" in result.stderr
    result = runner.invoke(cli, ["render", "box-breathing", "--rate", "1000"])
    assert result.exit_code == 2
    result = runner.invoke(cli, ["render", "box-breathing", "--set", "round=4",
                                 "--engine", "draft"])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: --set round: ")
    assert result.stderr.endswith("has no variable 'round' (did you mean 'rounds'?)\n")


def test_a_runtime_failure_exits_1_with_what_to_try(runner: CliRunner, write_script: WriteScript,
                                                    tmp_path: Path,
                                                    broken_ffmpeg: BrokenFfmpeg) -> None:
    broken_ffmpeg("Segmentation fault", 139)
    # A fresh cache, so the loudness is measured (not remembered from another test).
    measuring = runner.invoke(cli, ["render", str(write_script(GOOD)), "-o",
                                    str(tmp_path / "x.mp3"), "--cache", str(tmp_path / "c")])
    result = runner.invoke(cli, ["render", str(write_script(GOOD)), "-o",
                                 str(tmp_path / "x.mp3"), "--loudness", "off"])
    assert measuring.exit_code == 1
    assert measuring.stderr == ("error: ffmpeg could not measure loudness: Segmentation fault; "
                                "try --loudness off, or set AUDIOGUIDE_FFMPEG to another "
                                "ffmpeg\n")
    assert result.exit_code == 1
    assert result.stderr == ("error: ffmpeg could not encode mp3 with libmp3lame (exit 139): "
                             "Segmentation fault; try --format wav, or set AUDIOGUIDE_FFMPEG to "
                             "an ffmpeg built with that encoder\n")
    assert not (tmp_path / "x.mp3").exists()


def test_debug_shows_the_traceback(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["--debug", "render", "no-such-session"])
    assert result.exit_code == 1
    assert type(result.exception).__name__ == "InputError"


def test_inspect_json_lists_every_item(runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(DATA)
    result = runner.invoke(cli, ["inspect", "structure.yaml", "--json", "--engine", "draft"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    # Beside the timeline, the spoken lines the subtitles are written from (test_subtitles).
    lines = data.pop("lines")
    assert data == json.loads((DATA / "structure.timeline.json").read_text("utf-8"))
    texts = [clip["text"] for clip in data["clips"] if "text" in clip]
    assert [line["text"] for line in lines] == texts
    assert texts[0] == "Picture a quiet garden."
    assert [c["title"] for c in data["chapters"]] == ["Arriving", "Tones", "Closing"]
    for item in data["clips"]:
        assert item["start_s"] == round(item["start"] / data["sample_rate"], 6)


def test_inspect_text(runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(DATA)
    result = runner.invoke(cli, ["inspect", "bed.yaml"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "Bed golden — 0:29.637 (22050 Hz, 1 ch, 11 clips)"
    assert lines[3] == "   0:00.000    0:02.662  say         7  The bed dips while I speak."
    assert result.stderr.startswith("bed.yaml:9:5: warning: steps[2].breathe: a 12s hold")


def test_validate_reports_each_script(runner: CliRunner, write_script: WriteScript) -> None:
    good = write_script(GOOD, "good.yaml")
    bad = write_script("steps:\n  - pause: -1\n", "bad.yaml")
    result = runner.invoke(cli, ["validate", str(good), str(bad)])
    assert result.exit_code == 2
    assert result.stdout.startswith(f"ok: {good} (")
    assert result.stderr == (f"{bad}:2:12: steps[0].pause: duration '-1' is negative; use a "
                             "length of 0 or more\n")


def test_list_show_new_and_where(runner: CliRunner, tmp_path: Path,
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    result = runner.invoke(cli, ["list", "--json"])
    assert result.exit_code == 0, result.output
    entries = {entry["name"]: entry for entry in json.loads(result.stdout)}
    box = entries["box-breathing"]
    assert box["kind"] == "breathing" and box["title"] == "Box breathing"
    assert 180 <= box["seconds"] <= 1200
    text = runner.invoke(cli, ["list"]).stdout.splitlines()
    assert "Breathing:" in text
    row = next(line for line in text if line.strip().startswith("box-breathing "))
    assert "Box breathing: Four slow counts" in row
    shown = runner.invoke(cli, ["show", "box-breathing"])
    assert shown.exit_code == 0 and "pattern: box" in shown.stdout
    monkeypatch.chdir(tmp_path)
    made = runner.invoke(cli, ["new", "mine", "--from", "box-breathing"])
    assert made.exit_code == 0 and made.stdout.strip().endswith("mine.yaml")
    assert (tmp_path / "mine.yaml").read_text("utf-8") == shown.stdout
    again = runner.invoke(cli, ["new", "mine"])
    assert again.exit_code == 2
    assert again.stderr == (f"error: {tmp_path / 'mine.yaml'} already exists; choose another "
                            "name or add --force\n")
    where = runner.invoke(cli, ["where", "box-breathing"])
    assert where.exit_code == 0
    assert Path(where.stdout.strip()).read_text("utf-8").startswith("# Box breathing")


def test_vars_file_and_set_fill_placeholders(runner: CliRunner, write_script: WriteScript,
                                            tmp_path: Path) -> None:
    script = write_script("""
        voice: {engine: draft}
        vars: {place: a beach, minutes: 1}
        steps:
          - say: Picture {place}.
          - pause: "{minutes}m"
    """)
    values = tmp_path / "mine.yaml"
    values.write_text("place: the old garden\nminutes: 2\n", encoding="utf-8")
    result = runner.invoke(cli, ["inspect", str(script), "--json", "--vars", str(values),
                                 "--set", "minutes=0.5"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["clips"][0]["text"] == "Picture the old garden."
    assert data["steps"][1]["length_s"] == 30.0
    bad = tmp_path / "bad.yaml"
    bad.write_text("place: [not, text]\n", encoding="utf-8")
    refused = runner.invoke(cli, ["inspect", str(script), "--vars", str(bad)])
    assert refused.exit_code == 2
    assert refused.stderr == (f"{bad}:1:8: place: a variable's value must be text or a "
                              "number, not a list or mapping\n")


def test_voices_lists_the_draft_voice(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["voices", "--engine", "draft"])
    assert result.exit_code == 0
    assert result.stdout.split() == ["draft", "murmur", "Draft", "murmur", "any"]


def test_schema_matches_the_loader_and_accepts_every_script(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["schema"])
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    jsonschema.Draft202012Validator.check_schema(schema)
    assert set(schema["properties"]) == set(SESSION.fields)
    assert set(schema["$defs"]) == set(STEP_KINDS)
    validator = jsonschema.Draft202012Validator(schema)
    scripts = [s.path for s in builtin_sessions()] + sorted(DATA.glob("*.yaml"))
    for path in scripts:
        errors = list(validator.iter_errors(yaml.safe_load(path.read_text("utf-8"))))
        assert errors == [], (path, errors[:1])
    bad = {"steps": [{"breathe": {"pattern": "box", "cycels": 3}}]}
    assert list(validator.iter_errors(bad))
