"""The error tree: every message here is meant to be shown to a user as it is."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


class AudioguideError(Exception):
    """A failure with a message a user can act on; the CLI prints it as one line."""

    #: Exit code the command line uses: 2 for bad input, 1 for a runtime failure.
    exit_code = 1


class InputError(AudioguideError):
    """Bad input that is not a script: a missing file, an option out of range."""

    exit_code = 2


@dataclass(frozen=True)
class Issue:
    """One problem in a script, placed at `file:line:col` (1-based)."""

    file: str
    line: int
    column: int
    message: str

    def __post_init__(self) -> None:
        # Quoted input may hold line breaks or terminal control codes: show them escaped,
        # so that one problem is always one line and cannot repaint the terminal.
        if not self.message.isprintable():
            object.__setattr__(self, "message", printable(self.message))

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.message}"


def printable(text: str) -> str:
    """`text` with line breaks and other control characters written as escapes."""
    return "".join(char if char.isprintable() else repr(char)[1:-1] for char in text)


class ScriptError(InputError):
    """A script (or playlist) that cannot be used; lists every problem found."""

    #: More problems than this are summed up in one last line.
    MAX_SHOWN = 50

    def __init__(self, issues: Iterable[Issue]) -> None:
        found = tuple(issues)
        if not found:
            raise ValueError("ScriptError needs at least one issue")
        if len(found) > self.MAX_SHOWN:
            rest = found[self.MAX_SHOWN]
            found = found[: self.MAX_SHOWN] + (Issue(
                rest.file, rest.line, rest.column,
                f"... and {len(found) - self.MAX_SHOWN} more problems; fix the ones above "
                "first"),)
        self.issues: tuple[Issue, ...] = found
        super().__init__("\n".join(str(issue) for issue in self.issues))

    @property
    def first(self) -> Issue:
        """The first problem, in file order."""
        return self.issues[0]


class VoiceError(AudioguideError):
    """A text-to-speech engine failed or is missing."""


class UnknownVoiceError(VoiceError):
    """An engine does not offer the voice a script asks for (bad input, not a crash)."""

    exit_code = 2


class MediaError(AudioguideError):
    """An audio file could not be read or decoded."""


class ExportError(AudioguideError):
    """The output file could not be written."""


class PlaybackError(AudioguideError):
    """The sound card or playback backend failed."""
