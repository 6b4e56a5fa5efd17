"""Sounds synthesized with numpy: pacing tones and ticks, steady tones, humming, bells, beds."""

from .beds import LoopBed, NoiseBed, StreamLoopBed
from .rhythm import Rhythm
from .synth import TICK_HZ, BellStrike, HumDrone, PacerTone, SteadyTone, Tick

__all__ = ["TICK_HZ", "BellStrike", "HumDrone", "LoopBed", "NoiseBed", "PacerTone", "Rhythm",
           "SteadyTone", "StreamLoopBed", "Tick"]
