"""A Piper worker process: reads one JSON request per line, answers one JSON line.

Run as a script so a crash or hang inside onnxruntime costs only this process.
Each voice model is loaded once and kept. Synthesis runs with Piper's noise turned
off, so the same line gives the same samples in any worker, in any order.
"""

import json
import os
import sys
import wave
from pathlib import Path
from typing import Any, TextIO


def _send(stream: TextIO, message: dict[str, Any]) -> None:
    stream.write(json.dumps(message) + "\n")
    stream.flush()


def _load(model: str, cache: dict[str, Any]) -> Any:
    if model in cache:
        return cache[model]
    import onnxruntime
    from piper import PiperVoice
    from piper.config import PiperConfig

    config_path = Path(model + ".json")
    if not config_path.is_file():
        raise FileNotFoundError(f"{config_path.name} (the voice's settings) is missing beside "
                                f"{Path(model).name}")
    with config_path.open(encoding="utf-8") as handle:
        config = PiperConfig.from_dict(json.load(handle))
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = int(os.environ.get("AUDIOGUIDE_PIPER_THREADS", "1"))
    options.inter_op_num_threads = 1
    session = onnxruntime.InferenceSession(model, sess_options=options,
                                           providers=["CPUExecutionProvider"])
    voice = PiperVoice(session=session, config=config)
    cache[model] = voice
    return voice


def synthesis_config(request: dict[str, Any]) -> Any:
    """Piper's settings for a request: its pace and speaker, with the random variation off."""
    from piper import SynthesisConfig

    speaker = request.get("speaker_id")
    return SynthesisConfig(speaker_id=None if speaker is None else int(speaker),
                           length_scale=float(request["length_scale"]),
                           noise_scale=0.0, noise_w_scale=0.0, normalize_audio=False)


def main() -> int:
    protocol = os.fdopen(os.dup(1), "w", encoding="utf-8")
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    try:
        import numpy as np
        import piper  # noqa: F401 - fail here, once, if piper-tts is missing
    except Exception as exc:  # noqa: BLE001 - a process boundary: report, do not crash silently
        _send(protocol, {"ok": False, "fatal": True, "error": f"{type(exc).__name__}: {exc}"})
        return 1
    _send(protocol, {"ok": True, "ready": True})
    voices: dict[str, Any] = {}
    for line in sys.stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        try:
            voice = _load(request["model"], voices)
            config = synthesis_config(request)
            pieces = [np.clip(chunk.audio_float_array, -1.0, 1.0)
                      for chunk in voice.synthesize(request["text"], config)]
            frames = [len(piece) for piece in pieces]
            pcm = (np.concatenate(pieces) if pieces else np.zeros(0, np.float32))
            with wave.open(request["path"], "wb") as wav:
                wav.setnchannels(1)
                wav.setsampwidth(2)
                wav.setframerate(voice.config.sample_rate)
                wav.writeframes(np.round(pcm * 32767).astype("<i2").tobytes())
            _send(protocol, {"ok": True, "sentences": frames})
        except Exception as exc:  # noqa: BLE001 - report every failure to the parent
            _send(protocol, {"ok": False, "error": f"{type(exc).__name__}: {exc}"})
    return 0


if __name__ == "__main__":
    sys.exit(main())
