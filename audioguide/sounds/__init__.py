"""Sounds synthesized with numpy: cue tones, steady tones, humming, bells and background beds."""

from .beds import LoopBed, NoiseBed
from .synth import CUE_HZ, BellStrike, CueTone, HumDrone, SteadyTone

__all__ = ["CUE_HZ", "BellStrike", "CueTone", "HumDrone", "LoopBed", "NoiseBed", "SteadyTone"]
