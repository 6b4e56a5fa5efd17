"""The one progress protocol: `progress(stage, done, total)`.

Every long job reports through it: the stage says what is being counted ("speech": lines
made; "measure": frames of the loudness pass; "render": frames written; "mix": frames of a
playlist mix; "download": bytes of a voice), `done` rises to `total`. The command line
draws a bar per stage; the Python API hands the same calls to the caller.
"""

from __future__ import annotations

from collections.abc import Callable

Progress = Callable[[str, int, int], None]
