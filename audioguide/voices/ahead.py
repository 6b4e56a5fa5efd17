"""Speech made ahead of need: a session's missing lines, synthesized in the background in
the order the session speaks them, while the part already made is played.

Each engine gets as many threads as it makes lines usefully at once (its `parallelism`,
but no more than leaves one processor for the player), all taking the next line in
script order, so the first lines are made first and the
line the compiler waits for is always among those being made. The threads are daemons:
quitting a session never waits for a line that nobody will hear.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Sequence

from ..errors import VoiceError
from .bank import SpeechBank
from .base import SpeechRequest

log = logging.getLogger(__name__)


class SpeechAhead:
    """Makes `requests` (distinct, missing from the cache, first needed first) through
    `bank`, on background threads; `wait` blocks until one line is made."""

    def __init__(self, bank: SpeechBank, requests: Sequence[SpeechRequest]) -> None:
        self.bank = bank
        self.requests = list(requests)
        self._pending = {request: index for index, request in enumerate(self.requests)}
        self._errors: dict[SpeechRequest, BaseException] = {}
        self._next: dict[str, int] = {}     # engine -> index of its next line to take
        self._changed = threading.Condition()
        self._taken: set[SpeechRequest] = set()
        self._closed = False
        self._failed = False
        self.made = 0

    @property
    def total(self) -> int:
        """How many lines there were to make."""
        return len(self.requests)

    def start(self) -> None:
        """Start making lines: for each engine as many threads as it makes lines at once,
        leaving one processor for the sound."""
        engines = dict.fromkeys(request.settings.engine for request in self.requests)
        spare = max(1, (os.cpu_count() or 1) - 1)
        for name in engines:
            self._next[name] = 0
            for number in range(max(1, min(self.bank.engine(name).parallelism, spare))):
                threading.Thread(target=self._work, args=(name,), daemon=True,
                                 name=f"audioguide-speech-{name}-{number}").start()

    def _take(self, name: str) -> SpeechRequest | None:
        with self._changed:
            index = self._next[name]
            while index < len(self.requests) and self.requests[index].settings.engine != name:
                index += 1
            self._next[name] = index + 1
            if self._closed or self._failed or index >= len(self.requests):
                return None
            self._taken.add(self.requests[index])
            return self.requests[index]

    def _work(self, name: str) -> None:
        engine = self.bank.engine(name)
        while True:
            request = self._take(name)
            if request is None:
                return
            error: BaseException | None = None
            try:
                self.bank._make(engine, request)
            except BaseException as exc:  # noqa: BLE001 - handed to whoever waits for the line
                error = exc
            with self._changed:
                if self._closed:
                    return
                del self._pending[request]
                if error is not None:
                    self._errors[request] = error
                    # The session stops at this line: the lines after it are not needed.
                    self._failed = True
                else:
                    self.made += 1
                self._changed.notify_all()

    def _given_up(self, request: SpeechRequest) -> bool:
        """True if the line will not be made: closed, or a line failed before it was taken."""
        return self._closed or (self._failed and request not in self._taken)

    def ready(self, request: SpeechRequest) -> bool:
        """Whether waiting for the line would return at once (made, never missing, or
        not going to be made: `wait` says why)."""
        with self._changed:
            return (request not in self._pending or request in self._errors
                    or self._given_up(request))

    def wait(self, request: SpeechRequest) -> None:
        """Block until the line is made; raise the error that kept it from being made."""
        with self._changed:
            while request in self._pending and not self._given_up(request):
                self._changed.wait()
            if request not in self._pending:
                error = self._errors.get(request)
                if error is not None:
                    raise error
                return
            first = next(iter(self._errors.values()), None)
        if first is not None:
            raise first
        raise VoiceError("the session was stopped before this line was made")

    def close(self) -> None:
        """Take no more lines, and wake whoever waits (lines being made are left to end)."""
        with self._changed:
            self._closed = True
            self._changed.notify_all()
