"""Worker processes for speech engines that are not thread-safe or may hang.

Each worker is a small script that reads one JSON request per line on stdin and
answers one JSON line on a private copy of stdout. The pool starts up to
`parallelism` workers on demand, gives each request to an idle one, kills a
worker that does not answer in time (and tries once more on a fresh one), and
replaces a worker that died.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import queue
import signal
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import VoiceError

log = logging.getLogger(__name__)

START_TIMEOUT_S = 30.0


def worker_count() -> int | None:
    """`$AUDIOGUIDE_WORKERS`, if set: how many speech workers each engine may run."""
    value = os.environ.get("AUDIOGUIDE_WORKERS", "").strip()
    if not value:
        return None
    try:
        return max(1, int(value))
    except ValueError:
        log.warning("ignoring AUDIOGUIDE_WORKERS=%r (not a whole number)", value)
        return None


class WorkerTimeout(Exception):
    """A worker did not answer in time."""


class Worker:
    """One worker process and the threads that read its output."""

    def __init__(self, label: str, script: Path, env: dict[str, str], hint: str,
                 start_timeout_s: float = START_TIMEOUT_S) -> None:
        try:
            self.proc = subprocess.Popen(
                [sys.executable, str(script)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                env=env, text=True, encoding="utf-8",
                # Its own process group, so a kill also stops any child it forked.
                start_new_session=os.name == "posix",
            )
        except OSError as exc:
            raise VoiceError(f"cannot start the {label} worker: {exc}; {hint}") from exc
        self.replies: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.stderr_tail: deque[str] = deque(maxlen=20)
        threading.Thread(target=self._read_stdout, daemon=True).start()
        threading.Thread(target=self._read_stderr, daemon=True).start()
        try:
            self.ready = self._reply(start_timeout_s)
        except WorkerTimeout:
            self.kill()
            raise VoiceError(f"{label} did not start within {start_timeout_s:.0f} s; "
                             f"{hint}") from None
        if not self.ready.get("ok"):
            self.kill()
            raise VoiceError(f"{label} could not start: {self.ready.get('error')}; {hint}")

    def _read_stdout(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            try:
                self.replies.put(json.loads(line))
            except json.JSONDecodeError:
                self.stderr_tail.append(line.rstrip())
        self.replies.put(None)

    def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.stderr_tail.append(line.rstrip())

    def _reply(self, timeout_s: float) -> dict[str, Any]:
        try:
            reply = self.replies.get(timeout=timeout_s)
        except queue.Empty:
            raise WorkerTimeout() from None
        if reply is None:
            detail = "; ".join(list(self.stderr_tail)[-3:]) or f"exit code {self.proc.wait()}"
            return {"ok": False, "fatal": True, "error": f"the worker stopped ({detail})"}
        return reply

    def request(self, payload: dict[str, Any], timeout_s: float) -> dict[str, Any]:
        """Send one request and wait for its reply."""
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(json.dumps(payload) + "\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            return {"ok": False, "fatal": True, "error": "the worker is gone"}
        return self._reply(timeout_s)

    def kill(self) -> None:
        """Stop the process (and any child it forked) now."""
        if self.proc.poll() is None:
            if os.name == "posix":
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.kill()
        self.proc.wait()

    def close(self) -> None:
        """Let the process end on its own, or stop it."""
        try:
            if self.proc.stdin:
                self.proc.stdin.close()
            self.proc.wait(timeout=2)
        except (subprocess.TimeoutExpired, OSError):
            self.kill()


class WorkerPool:
    """Up to `parallelism` workers running `script`, one request each at a time."""

    def __init__(self, label: str, script: Path, environment: Callable[[], dict[str, str]],
                 parallelism: int, hint: str,
                 on_start: Callable[[Worker, int], None] | None = None) -> None:
        self.label = label
        self.script = script
        self.parallelism = max(1, parallelism)
        self.hint = hint
        self._environment = environment
        self._on_start = on_start
        self._idle: queue.Queue[Worker] = queue.Queue()
        self._workers: list[Worker] = []
        self._lock = threading.Lock()
        self.started = 0

    def _acquire(self) -> Worker:
        while True:
            try:
                return self._idle.get_nowait()
            except queue.Empty:
                pass
            with self._lock:
                if len(self._workers) < self.parallelism:
                    worker = Worker(self.label, self.script, self._environment(), self.hint)
                    self._workers.append(worker)
                    self.started += 1
                    if self._on_start:
                        self._on_start(worker, self.started)
                    return worker
            try:
                # Wait for a busy worker; look again in a moment in case one was discarded.
                return self._idle.get(timeout=0.5)
            except queue.Empty:
                continue

    def _discard(self, worker: Worker) -> None:
        worker.kill()
        with self._lock:
            if worker in self._workers:
                self._workers.remove(worker)

    def call(self, payload: dict[str, Any], timeout_s: float) -> dict[str, Any]:
        """Run one request, replacing a hung or dead worker and trying once more."""
        for attempt in (1, 2):
            worker = self._acquire()
            try:
                reply = worker.request(payload, timeout_s)
            except WorkerTimeout:
                self._discard(worker)
                log.warning("%s did not answer within %.0f s; restarting it", self.label,
                            timeout_s)
                if attempt == 2:
                    raise VoiceError(f"{self.label} hung twice (no answer within "
                                     f"{timeout_s:.0f} s); try again, or try --engine draft "
                                     "to check the rest of the script") from None
                continue
            if reply.get("fatal"):
                self._discard(worker)
                if attempt == 2:
                    raise VoiceError(f"{self.label} failed: {reply.get('error')}; {self.hint}")
                continue
            self._idle.put(worker)
            return reply
        raise AssertionError("unreachable")

    def close(self) -> None:
        """Stop every worker."""
        with self._lock:
            workers, self._workers = self._workers, []
        for worker in workers:
            worker.close()
        while not self._idle.empty():
            self._idle.get_nowait()
