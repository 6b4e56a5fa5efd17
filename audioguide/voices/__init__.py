"""Voices: text-to-speech engines behind one interface, and the speech cache."""

from .bank import SpeechBank, create_engine, process_speech
from .base import Engine, Speech, SpeechRequest, VoiceInfo, VoiceSettings
from .cache import SpeechCache, default_cache_dir

#: What --engine and voice.engine accept; `auto` is resolved to one of the others before
#: any line is spoken (timeline.AutoVoice).
ENGINES = ("auto", "pyttsx3", "piper", "recorded", "draft")

__all__ = [
    "ENGINES", "Engine", "Speech", "SpeechBank", "SpeechCache", "SpeechRequest", "VoiceInfo",
    "VoiceSettings", "create_engine", "default_cache_dir", "process_speech",
]
