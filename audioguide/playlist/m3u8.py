"""The playlist as an extended M3U (UTF-8), paths relative to it unless asked otherwise."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from .load import Playlist
from .tracks import Track


def m3u8_text(playlist: Playlist, tracks: Sequence[Track], m3u8_path: Path,
              absolute: bool = False) -> str:
    """An extended M3U (UTF-8): #EXTM3U, #PLAYLIST, then #EXTINF and a path for each track."""
    lines = ["#EXTM3U", f"#PLAYLIST:{playlist.title}"]
    base = m3u8_path.parent.resolve()
    for track in tracks:
        lines.append(f"#EXTINF:{track.seconds:.3f},{track.label}")
        target = track.path.resolve()
        if absolute:
            lines.append(str(target))
        else:
            lines.append(Path(os.path.relpath(target, base)).as_posix())
    return "\n".join(lines) + "\n"
