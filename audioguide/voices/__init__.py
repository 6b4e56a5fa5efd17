"""Voices: text-to-speech engines behind one interface, and the speech cache."""

from .bank import SpeechBank, create_engine
from .base import ENGINES, Engine, Speech, SpeechRequest, VoiceInfo, VoiceSettings
from .cache import SpeechCache, default_cache_dir
from .processing import process_speech

__all__ = [
    "ENGINES", "Engine", "Speech", "SpeechBank", "SpeechCache", "SpeechRequest", "VoiceInfo",
    "VoiceSettings", "create_engine", "default_cache_dir", "process_speech",
]
