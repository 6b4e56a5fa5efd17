"""The wheel carries the built-in sessions: a plain (non-editable) install renders them by name."""

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.real
def test_a_wheel_install_renders_a_builtin_session_by_name(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w",
                    str(wheels), str(ROOT)], check=True, capture_output=True)
    (wheel,) = wheels.glob("audioguide-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "audioguide/content/box-breathing.yaml" in names
    assert "audioguide/voices/_pyttsx3_worker.py" in names
    assert not any(name.startswith(("tests/", "content/")) for name in names)

    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target",
                    str(target), str(wheel)], check=True, capture_output=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**os.environ, "PYTHONPATH": str(target)}
    where = subprocess.run([sys.executable, "-c", "import audioguide; print(audioguide.__file__)"],
                           cwd=elsewhere, env=env, check=True, capture_output=True, text=True)
    assert where.stdout.startswith(str(target))
    result = subprocess.run([sys.executable, "-m", "audioguide", "render", "box-breathing",
                             "--engine", "draft", "--format", "wav"],
                            cwd=elsewhere, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "output/box-breathing.wav\n"
    assert (elsewhere / "output" / "box-breathing.wav").stat().st_size > 1_000_000
