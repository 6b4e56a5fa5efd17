"""The live terminal display and keys for `play` and `breathe` (part of the command line).

It draws what `play.describe` says is being heard, reads single keys in cbreak
mode, and always puts the terminal back as it found it (modes, cursor), also
after Ctrl-C or an exception.
"""

from __future__ import annotations

import math
import os
import select
import sys
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, TextIO

from ..live.player import Player
from ..live.state import PlayState, describe
from ..units import format_seconds

PHASE_WORDS = {"inhale": "Breathe in", "top_up": "A little more", "hold": "Hold",
               "exhale": "Breathe out", "hold_out": "Rest"}
BAR_WIDTH = 30
#: How often the display is redrawn.
FRAME_S = 0.1


class Keys:
    """Single keypresses from a terminal (cbreak: no echo, no Enter); inert otherwise."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdin
        try:
            self.fd = self.stream.fileno()
            self.enabled = self.stream.isatty()
        except (AttributeError, ValueError, OSError):
            self.fd, self.enabled = -1, False
        self._saved: list[Any] | None = None
        self._pending = ""

    def __enter__(self) -> Keys:
        if self.enabled:
            import termios
            import tty

            self._saved = termios.tcgetattr(self.fd)
            tty.setcbreak(self.fd)
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        if self._saved is not None:
            import termios

            termios.tcsetattr(self.fd, termios.TCSADRAIN, self._saved)
            self._saved = None

    def read(self, timeout_s: float) -> str | None:
        """The next key within `timeout_s`, or None (Esc is returned as 'esc')."""
        if not self.enabled:
            time.sleep(timeout_s)
            return None
        if not self._pending:
            ready, _, _ = select.select([self.fd], [], [], timeout_s)
            if not ready:
                return None
            data = os.read(self.fd, 64).decode("utf-8", "replace")
            if data == "\x1b":
                return "esc"
            if data.startswith("\x1b"):
                return None  # an arrow or function key: not ours
            self._pending = data
        key, self._pending = self._pending[0], self._pending[1:]
        return key


class Display:
    """Redraws a few lines in place on a terminal; prints one line per step otherwise."""

    def __init__(self, title: str, out: TextIO | None = None) -> None:
        self.title = title
        self.out = out or sys.stdout
        self.live = bool(getattr(self.out, "isatty", lambda: False)())
        self.lines = 0
        self.last_item: object = None
        encoding = (getattr(self.out, "encoding", "") or "").lower()
        self.full, self.empty = ("█", "░") if "utf" in encoding else ("#", "-")
        if self.live:
            self.out.write("\x1b[?25l")  # hide the cursor while drawing

    def show(self, state: PlayState, paused: bool = False, volume_db: float = 0.0) -> None:
        """Draw the current state."""
        if not self.live:
            self._plain(state)
            return
        lines = [f"{self.title}" + (f" — {state.section}" if state.section else "")]
        if state.item is not None:
            lines.append(f"  {state.item.kind:<8} {state.item.detail}"[:100])
        else:
            lines.append("")
        status = f"  {format_seconds(state.elapsed_s)[:-4]} / {format_seconds(state.total_s)[:-4]}"
        if paused:
            status += "   paused (space to go on)"
        if volume_db:
            status += f"   volume {volume_db:+.0f} dB"
        lines.append(status)
        if state.phase is not None:
            filled = int(round(state.breath * BAR_WIDTH))
            bar = self.full * filled + self.empty * (BAR_WIDTH - filled)
            count = max(1, math.ceil(state.phase_left_s - 1e-6))
            lines.append(f"  {PHASE_WORDS.get(state.phase, state.phase):<14}{count:>3}  {bar}")
        else:
            lines.append("")
        self._draw(lines)

    def _draw(self, lines: list[str]) -> None:
        if self.lines:
            self.out.write(f"\x1b[{self.lines}F")  # back to the first line drawn
        for line in lines:
            self.out.write("\x1b[2K" + line + "\n")
        self.lines = len(lines)
        self.out.flush()

    def _plain(self, state: PlayState) -> None:
        if state.item is None or state.item is self.last_item:
            return
        self.last_item = state.item
        section = f"[{state.section}] " if state.section else ""
        self.out.write(f"{format_seconds(state.elapsed_s)[:-4]} {section}{state.item.kind}: "
                       f"{state.item.detail}\n")
        self.out.flush()

    def message(self, text: str) -> None:
        """A closing line under the display."""
        self.out.write(text + "\n")
        self.out.flush()

    def close(self) -> None:
        """Show the cursor again."""
        if self.live:
            self.out.write("\x1b[?25h")
            self.out.flush()


def run_live(player: Player, title: str, out: TextIO | None = None,
             keys_from: TextIO | None = None,
             navigate: Callable[[int], bool] | None = None) -> int:
    """Play with the display and keys until the end, `q`/Esc (0) or Ctrl-C (130).

    With `navigate` (a playlist), `n` and `p` move to the next and previous track.
    """
    display = Display(title, out)
    volume_db = 0.0
    try:
        with Keys(keys_from) as keys:
            player.start()
            while True:
                failure = player.error()
                if failure is not None:
                    raise failure
                state = describe(player.timeline, player.position())
                display.show(state, player.paused, volume_db)
                if player.finished:
                    player.stop(fade=False)
                    display.message("Done.")
                    return 0
                key = keys.read(FRAME_S)
                if key == " ":
                    player.toggle_pause()
                elif key in ("q", "Q", "esc"):
                    player.stop()
                    display.message("Stopped.")
                    return 0
                elif key in ("+", "="):
                    volume_db = player.change_volume(+3)
                elif key in ("-", "_"):
                    volume_db = player.change_volume(-3)
                elif navigate is not None and key in ("n", "p"):
                    if not navigate(+1 if key == "n" else -1):
                        player.stop()
                        display.message("Done.")
                        return 0
    except KeyboardInterrupt:
        player.stop()
        display.message("Stopped.")
        return 130
    finally:
        display.close()
        player.close()
