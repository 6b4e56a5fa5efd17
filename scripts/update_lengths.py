#!/usr/bin/env python3
"""Measure every built-in session's length in the default voice and store it in
content/lengths.json, which `audioguide list` reads instead of making every line first.

Run after changing a built-in session or the default voice:
    .venv/bin/python scripts/update_lengths.py
The library tests fail while a stored length differs from a fresh compile.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from audioguide.atomic import atomic_path
from audioguide.jobs.library import LENGTHS_FILE, measure_builtin_lengths

TARGET = Path(__file__).resolve().parent.parent / "content" / LENGTHS_FILE


def main() -> int:
    """Write content/lengths.json."""
    lengths = measure_builtin_lengths()
    text = json.dumps(lengths, indent=1, sort_keys=True) + "\n"
    with atomic_path(TARGET) as temporary:
        temporary.write_text(text, encoding="utf-8")
    for name, entry in sorted(lengths.items()):
        print(f"{name:<24} {entry['seconds']:>9.3f} s  {entry['voice']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
