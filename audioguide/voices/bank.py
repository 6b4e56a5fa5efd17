"""The speech bank: synthesizes missing lines in parallel into the cache, then serves them."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from threading import Lock

from ..dsp import Audio, resample, resampled_length
from ..errors import UnknownVoiceError, VoiceError
from ..progress import Progress
from .base import ENGINES, Engine, SpeechRequest
from .cache import SpeechCache
from .processing import process_speech
from .style import shaping_identity

log = logging.getLogger(__name__)


def create_engine(name: str) -> Engine:
    """A fresh engine by name."""
    if name == "pyttsx3":
        from .pyttsx3_engine import Pyttsx3Engine

        return Pyttsx3Engine()
    if name == "piper":
        from .piper_engine import PiperEngine

        return PiperEngine()
    if name == "recorded":
        from .recorded import RecordedEngine

        return RecordedEngine()
    if name == "draft":
        from .draft import DraftEngine

        return DraftEngine()
    engines = ", ".join(engine for engine in ENGINES if engine != "auto")
    raise VoiceError(f"unknown engine '{name}' (engines: {engines})")


class _Vanished(Exception):
    """A cache entry was removed after it was checked."""


def _located(error: VoiceError, request: SpeechRequest) -> VoiceError:
    """The error, prefixed with where the line was written and which line it is."""
    if (isinstance(error, UnknownVoiceError) or request.where is None
            or str(error).startswith(request.where)):
        return error
    located = type(error)(f"{request.where}: {request.settings.engine} could not say "
                          f"{request.text[:60]!r}: {error}")
    return located


class SpeechBank:
    """Lines of speech by request: made once, cached on disk, resampled on demand."""

    def __init__(self, cache: SpeechCache | None = None,
                 engine_factory: Callable[[str], Engine] = create_engine,
                 memory_entries: int = 128) -> None:
        self.cache = cache or SpeechCache()
        self._factory = engine_factory
        self._engines: dict[str, Engine] = {}
        self._identities: dict[str, str] = {}
        self._lock = Lock()
        self._load = functools.lru_cache(maxsize=memory_entries)(self._load_uncached)

    def engine(self, name: str) -> Engine:
        """The engine of that name, started on first use."""
        with self._lock:
            if name not in self._engines:
                self._engines[name] = self._factory(name)
            return self._engines[name]

    def key(self, request: SpeechRequest) -> str:
        """The cache key for a request."""
        name = request.settings.engine
        engine = self.engine(name)
        if name not in self._identities:
            self._identities[name] = engine.identity()
        voice_identity = getattr(engine, "voice_identity", None)
        try:
            voice = voice_identity(request.settings) if voice_identity else ""
        except VoiceError as exc:
            raise _located(exc, request) from None
        # The calm shaping joins the engine's identity, so retuning it re-makes calm lines.
        shaping = shaping_identity(name, request.settings.style)
        identity = f"{self._identities[name]}; {shaping}" if shaping else self._identities[name]
        return self.cache.key(identity, request, voice)

    def missing(self, requests: Iterable[SpeechRequest]) -> list[SpeechRequest]:
        """The distinct requests not yet in the cache, in first-seen order."""
        seen: dict[SpeechRequest, None] = dict.fromkeys(requests)
        return [request for request in seen if self.cache.frames(self.key(request)) is None]

    def prepare(self, requests: Iterable[SpeechRequest], progress: Progress | None = None) -> int:
        """Synthesize every line not yet cached, each engine in parallel; return how many."""
        todo = self.missing(requests)
        total = len(todo)
        done = 0
        by_engine: dict[str, list[SpeechRequest]] = {}
        for request in todo:
            by_engine.setdefault(request.settings.engine, []).append(request)
        if progress and total:
            progress("speech", 0, total)
        for name, batch in by_engine.items():
            engine = self.engine(name)
            with ThreadPoolExecutor(max_workers=engine.parallelism) as pool:
                futures = {pool.submit(self._make, engine, request) for request in batch}
                while futures:
                    finished, futures = wait(futures, return_when=FIRST_EXCEPTION)
                    for future in finished:
                        error = future.exception()
                        if error is not None:
                            for pending in futures:
                                pending.cancel()
                            raise error
                        done += 1
                        if progress:
                            progress("speech", done, total)
        return total

    def _make(self, engine: Engine, request: SpeechRequest) -> None:
        try:
            raw = engine.synthesize(request.text, request.settings)
        except VoiceError as exc:
            raise _located(exc, request) from None
        try:
            speech = process_speech(raw, request.settings.style,
                                    recorded=request.settings.engine == "recorded",
                                    engine=request.settings.engine)
        except VoiceError:
            raise _located(VoiceError(f"{engine.name} returned only silence for "
                                      f"{request.text[:60]!r}; does the line have words the "
                                      "voice can say?"), request) from None
        self.cache.store(self.key(request), speech)

    def frames(self, request: SpeechRequest, sample_rate: int) -> int:
        """Length of a prepared line at `sample_rate`."""
        info = self.cache.frames(self.key(request))
        if info is None:
            self.prepare([request])
            info = self.cache.frames(self.key(request))
            if info is None:
                raise VoiceError(f"the speech cache lost {request.text[:60]!r}; "
                                 f"check that {self.cache.root} is writable")
        frames, rate = info
        return resampled_length(frames, rate, sample_rate)

    def samples(self, request: SpeechRequest, sample_rate: int) -> Audio:
        """A prepared line at `sample_rate`, mono float32 (read-only; kept in a small LRU).

        If the entry was removed meanwhile (`audioguide cache clear` during a render),
        the line is made again.
        """
        key = self.key(request)
        try:
            return self._load(key, sample_rate)
        except _Vanished:
            log.info("cache entry %s vanished; making %r again", key[:12], request.text[:40])
            self.prepare([request])
            try:
                return self._load(key, sample_rate)
            except _Vanished:
                raise VoiceError(f"the speech cache lost {request.text[:60]!r} twice; check "
                                 f"that {self.cache.root} is writable") from None

    def _load_uncached(self, key: str, sample_rate: int) -> Audio:
        speech = self.cache.load(key)
        if speech is None:
            raise _Vanished(key)
        audio = resample(speech.samples, speech.sample_rate, sample_rate)
        audio.setflags(write=False)
        return audio

    def close(self) -> None:
        """Stop every engine that was started."""
        with self._lock:
            engines, self._engines = list(self._engines.values()), {}
        for engine in engines:
            engine.close()
