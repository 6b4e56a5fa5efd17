"""The bad inputs fuzzing found, each with the exact message a user sees (tests/data/bad).

Every case exits with code 2 and prints only placed, one-line problems. To re-record the
messages after a deliberate wording change: AUDIOGUIDE_UPDATE_GOLDEN=1 pytest this file,
then read the diff.
"""

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from audioguide.cli import cli

BAD = Path(__file__).parent / "data" / "bad"
CASES = sorted(path.name for path in BAD.glob("*.yaml"))


def command_for(name: str) -> list[str]:
    if name.startswith("playlist-"):
        return ["playlist", "show", name]
    return ["validate", "--engine", "draft", name]


@pytest.mark.parametrize("name", CASES)
def test_bad_input_gets_its_exact_message(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(BAD)
    result = CliRunner().invoke(cli, command_for(name))
    expected_file = BAD / name.replace(".yaml", ".expected")
    if os.environ.get("AUDIOGUIDE_UPDATE_GOLDEN"):
        expected_file.write_text(result.stderr, encoding="utf-8")
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert result.stderr == expected_file.read_text(encoding="utf-8")
    for line in result.stderr.splitlines():
        assert line.startswith(f"{name}:"), line


def test_every_case_has_its_message_and_every_message_its_case() -> None:
    assert len(CASES) >= 20
    assert sorted(p.name.replace(".expected", ".yaml") for p in BAD.glob("*.expected")) == CASES
