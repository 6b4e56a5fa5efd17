"""Format version 1 of the session script, declared once for the loader and the JSON Schema."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import yaml

from ..breathing import PHASE_KINDS
from ..cover import NO_COVER, CoverProblem, read_cover
from ..voices import ENGINES
from . import ecma
from .bed_fields import BED, FADE, SECTION_BED_OR_NONE
from .breath_fields import BREATHE_HUM, PATTERN, PHASES, VOWELS
from .fields import Custom, Field, FieldType, ListOf, Obj
from .nodes import Context, Invalid, clip, suggest
from .paths import FilePath, FolderPath, resolve_file
from .scalars import FALSE_WORDS, Choice, Duration, Flag, Frequency, Level, Number, Text
from .word_maps import Pronunciations, Variables

FORMAT_VERSION = 1
#: Engines that can speak a line no recording covers.
SPEAKING_ENGINES = tuple(engine for engine in ENGINES if engine != "recorded")
STYLES = ("calm", "plain")
BELLS = ("bowl", "chime", "soft")
CUES = ("both", "voice", "tone", "none")
WAVES = ("sine", "triangle", "soft-square")
RHYTHMS = ("drum", "heartbeat", "shaker", "tick", "sway")
KINDS = ("breathing", "sound", "movement", "visualization", "awareness", "together", "writing",
         "other")
FORMATS = ("mp3", "wav", "ogg", "flac", "m4b", "m4a")
CODECS = ("vorbis", "opus")
BITS = (16, 24)


# --- steps ---------------------------------------------------------------------------

TEXT = Text("what to say; {name} placeholders are filled from vars:")

SAY = Obj({
    "text": Field(TEXT, required=True),
    "after": Field(Duration("silence after the line (overrides voice.gap)")),
    "engine": Field(Choice(ENGINES, "text-to-speech engine for this line")),
    "voice": Field(Text("the engine's voice id for this line")),
    "rate": Field(Number("words per minute", minimum=40, maximum=500)),
    "pitch": Field(Number("pitch in engine units (pyttsx3/eSpeak: 0-99)", minimum=0,
                          maximum=99)),
    "level": Field(Level("gain of this line")),
    "audio": Field(FilePath("a recording of this line (any format ffmpeg reads), used instead "
                            "of the engine")),
}, "speak a line, then leave a gap", shorthand="text")

WORDS = Obj({kind: Field(Text(f"what the voice says at each {kind.replace('_', '-')}"))
             for kind in PHASE_KINDS}, "the spoken cue for each phase")

BREATHE = Obj({
    "pattern": Field(PATTERN, required=True),
    "cycles": Field(Number("how many whole breaths", minimum=1, maximum=20000, integer=True)),
    "duration": Field(Duration("how long; rounded up to whole breaths", positive=True)),
    "cue": Field(Choice(CUES, "spoken words, a tone, both, or nothing at each phase"),
                 default="both"),
    "words": Field(WORDS),
    "ramp": Field(PHASES),
    "level": Field(Level("level of the pacing tone and the ticks"), default=-22.0),
    "hum": Field(BREATHE_HUM),
}, "paced breathing for whole breaths", shorthand="pattern", at_most_one=[("cycles", "duration")])

HUM = Obj({
    "note": Field(Frequency("the drone's note, like A2", notes=True, minimum=20, maximum=2000)),
    "hz": Field(Frequency("the drone's pitch in Hz", notes=False, minimum=20, maximum=2000)),
    "duration": Field(Duration(positive=True), required=True),
    "level": Field(Level(), default=-20.0),
    "fade_in": Field(FADE, default=Fraction(2)),
    "fade_out": Field(FADE, default=Fraction(3)),
    "vowel": Field(Choice(VOWELS, "the vowel colour of the hum"), default="mm"),
    "under": Field(Flag("play under the steps that follow (the next step starts at once)"),
                   default=False),
}, "a warm humming drone to hum along with", one_of=[("note", "hz")])

BELL = Obj({
    "kind": Field(Choice(BELLS, "bowl (singing bowl), chime or soft"), default="bowl"),
    "count": Field(Number("strikes", minimum=1, maximum=100, integer=True), default=1),
    "gap": Field(Duration("time from one strike to the next", positive=True),
                 default=Fraction(5)),
    "level": Field(Level(), default=-12.0),
    "file": Field(FilePath("your own bell recording, used instead of the synthesized one")),
}, "bell strikes; the step lasts count × gap and the last ring carries on under what follows",
    shorthand="kind")

TONE = Obj({
    "note": Field(Frequency(notes=True)),
    "hz": Field(Frequency(notes=False)),
    "duration": Field(Duration(positive=True), required=True),
    "level": Field(Level(), default=-20.0),
    "wave": Field(Choice(WAVES), default="sine"),
    "fade_in": Field(FADE, default=Fraction(1)),
    "fade_out": Field(FADE, default=Fraction(1)),
    "beat": Field(Number("binaural beat in Hz between left and right (needs stereo)",
                         minimum=0, maximum=40), default=0.0),
    "under": Field(Flag("play under the steps that follow (the next step starts at once)"),
                   default=False),
}, "a steady tone", one_of=[("note", "hz")])

SOUND = Obj({
    "file": Field(FilePath("an audio file ffmpeg can read, relative to the script"),
                  required=True),
    "level": Field(Level(), default=0.0),
    "fade_in": Field(FADE, default=Fraction(0)),
    "fade_out": Field(FADE, default=Fraction(0)),
    "after": Field(Duration("silence after the sound"), default=Fraction(0)),
}, "play an audio file in full", shorthand="file")


SECTION = Obj({
    "title": Field(Text("chapter title"), required=True),
    "bed": Field(SECTION_BED_OR_NONE),
}, "starts a chapter (and may change the bed)", shorthand="title")

PAUSE = Duration("silence for this long")
AT = Duration("the next step starts at this absolute time")


def _parse_steps(node: yaml.Node, path: str, ctx: Context) -> Any:
    if not isinstance(node, yaml.SequenceNode):
        return ctx.error(node, path, "expected a list of steps (each line starting with '- ')")
    if not node.value:
        return ctx.error(node, path, "the list of steps is empty; add at least one step")
    steps = []
    for index, item in enumerate(node.value):
        item_path = f"{path}[{index}]"
        ctx.count(item, item_path)
        if not isinstance(item, yaml.MappingNode) or len(item.value) != 1:
            found = (f"keys {', '.join(clip(str(k.value)) for k, _ in item.value[:6])}"
                     + (", ..." if len(item.value) > 6 else "")
                     if isinstance(item, yaml.MappingNode) else "something else")
            ctx.error(item, item_path, f"a step is one of {', '.join(STEP_KINDS)} with its "
                      f"value (found {found}); indent a step's settings under its name")
            continue
        key_node, value_node = item.value[0]
        kind = clip(str(key_node.value))
        if kind not in STEP_KINDS:
            hint = suggest(kind, STEP_KINDS) or f" (steps are: {', '.join(STEP_KINDS)})"
            ctx.error(key_node, item_path, f"unknown step '{kind}'{hint}")
            continue
        value = STEP_KINDS[kind].parse(value_node, f"{item_path}.{kind}", ctx)
        mark = key_node.start_mark
        steps.append((kind, value, mark.line + 1, mark.column + 1, f"{item_path}.{kind}"))
    return steps


def _steps_schema() -> dict[str, Any]:
    steps = {kind: {"description": value.description, "examples": value.examples()[:2],
                    "$ref": f"#/$defs/{kind}"} for kind, value in STEP_KINDS.items()}
    return {"type": "array", "minItems": 1, "description": STEPS.description,
            "examples": STEPS.examples(),
            "items": {"type": "object", "minProperties": 1, "maxProperties": 1,
                      "additionalProperties": False, "properties": steps}}


STEPS = Custom(_parse_steps, _steps_schema, description="what happens, in order",
               examples=[[{"say": "Let your shoulders drop."}, {"pause": "3s"}]])

REPEAT = Obj({
    "times": Field(Number("how many times", minimum=1, maximum=1000, integer=True),
                   required=True),
    "steps": Field(STEPS, required=True),
}, "steps played several times over")

RHYTHM = Obj({
    "bpm": Field(Number("beats per minute", minimum=20, maximum=200), default=60.0),
    "duration": Field(Duration(positive=True), required=True),
    "style": Field(Choice(RHYTHMS, "drum, heartbeat, shaker, tick (a metronome) or sway (a soft "
                                   "swell from side to side, to rock with)"), default="drum"),
    "level": Field(Level(), default=-18.0),
    "fade_in": Field(FADE, default=Fraction(2)),
    "fade_out": Field(FADE, default=Fraction(3)),
    "under": Field(Flag("play under the steps that follow (the next step starts at once)"),
                   default=False),
}, "a steady synthesized rhythm to move, rock or breathe with")

CHOOSE_OPTIONS = ListOf(STEPS, "the options: each a list of steps", min_items=1, max_items=100)
CHOOSE_FIELDS = Obj({
    "pick": Field(Text("all, or the numbers of the options to play, like 1,3,4 (in that "
                       "order); usually a {placeholder}"), default="all",
                  examples=("all", "1", "{prompts}")),
    "options": Field(CHOOSE_OPTIONS, required=True),
}, "play some of several options, chosen by number (for example with --set)")


def _parse_choose(node: yaml.Node, path: str, ctx: Context) -> Any:
    values = CHOOSE_FIELDS.parse(node, path, ctx)
    if isinstance(values, Invalid) or not isinstance(values["options"], (list, tuple)):
        return values
    options, pick = values["options"], values["pick"]
    if isinstance(pick, Invalid):
        return values
    pick_node = next((v for k, v in node.value if getattr(k, "value", None) == "pick"), node)
    try:
        values["chosen"] = parse_pick(pick, len(options))
    except ValueError as exc:
        return ctx.error(pick_node, f"{path}.pick", str(exc))
    return values


def parse_pick(text: str, count: int) -> list[int]:
    """`all` → every option; `1,3,4` → those (1-based), in that order."""
    if text.strip().lower() == "all":
        return list(range(count))
    chosen = []
    for part in text.replace(" ", "").split(","):
        if not (part.isascii() and part.isdigit() and len(part) < 6
                and 1 <= int(part) <= count):
            raise ValueError(f"'{text}' is not 'all' or option numbers between 1 and {count} "
                             "separated by commas, like 1,3")
        chosen.append(int(part) - 1)
    return chosen




def _choose_schema() -> dict[str, Any]:
    schema = CHOOSE_FIELDS.json_schema()
    # parse_pick's form: `all`, or option numbers of up to 5 digits (spaces dropped)
    # separated by commas; whether each is within the options only loading tells.
    number = "(?= *[0-9 ]*[1-9]) *[0-9](?: *[0-9]){0,4} *"
    form = ecma.whole(ecma.one_of([ecma.folded("all"), f"{number}(?:,{number})*"]))
    pick = schema["properties"]["pick"]
    pick["anyOf"][0] = {"allOf": [pick["anyOf"][0], {"anyOf": [
        {"type": "string", "pattern": form}, {"type": "string", "pattern": ecma.with_placeholder()},
        {"type": "integer", "minimum": 1, "maximum": 99999}]}]}
    return schema


CHOOSE = Custom(_parse_choose, _choose_schema, description=CHOOSE_FIELDS.description,
                examples=CHOOSE_FIELDS.examples())

STEP_KINDS: dict[str, FieldType] = {
    "say": SAY, "pause": PAUSE, "breathe": BREATHE, "hum": HUM, "bell": BELL, "tone": TONE,
    "rhythm": RHYTHM, "sound": SOUND, "section": SECTION, "repeat": REPEAT, "choose": CHOOSE,
    "at": AT,
}


# --- the session ---------------------------------------------------------------------

VOICE = Obj({
    "engine": Field(Choice(ENGINES, "text-to-speech engine; auto: the best installed voice "
                                    "for the script's language (a Piper voice, else the "
                                    "system voice)"), default="auto"),
    "id": Field(Text("the engine's voice id (see `audioguide voices`)")),
    "model": Field(FilePath("a Piper voice file (.onnx, with its .onnx.json beside it) for "
                            "engine: piper")),
    "speaker": Field(Text("piper only: the speaker of a multi-speaker voice, by name or number",
                          max_length=100)),
    "folder": Field(FolderPath("recordings of the lines for engine: recorded (see "
                               "`audioguide record-list`)")),
    "fallback": Field(Choice(SPEAKING_ENGINES, "engine for lines that have no recording"),
                      default="auto"),
    "style": Field(Choice(STYLES, "calm: a little slower, with a soft tail (for "
                                  "eSpeak also lower, warmer, in a small room); plain: "
                                  "the engine as it is"), default="plain"),
    "rate": Field(Number("words per minute", minimum=40, maximum=500), default=130.0),
    "pitch": Field(Number("pitch in engine units (pyttsx3/eSpeak: 0-99)", minimum=0,
                          maximum=99)),
    "gap": Field(Duration("silence after each line"), default=Fraction(1)),
    "level": Field(Level("gain of the narration"), default=0.0),
}, "defaults for every say line")


def _parse_loudness(node: yaml.Node, path: str, ctx: Context) -> Any:
    if isinstance(node, yaml.ScalarNode) and node.value.strip().lower() in FALSE_WORDS:
        return None
    return LOUDNESS_NUMBER.parse(node, path, ctx)


LOUDNESS_NUMBER = Number("integrated loudness target in LUFS", minimum=-40, maximum=-5)
LOUDNESS = Custom(_parse_loudness, lambda: {
    "description": "integrated loudness target in LUFS, or off to keep levels as written",
    "examples": [-16, "off"],
    "anyOf": [LOUDNESS_NUMBER.json_schema(), {"enum": ["off", False]},
              {"type": "string", "pattern": ecma.whole(ecma.words(FALSE_WORDS, fold=True))}]})

OUTPUT = Obj({
    "format": Field(Choice(FORMATS, "file format")),
    "sample_rate": Field(Number("samples per second", minimum=8000, maximum=192000,
                                integer=True), default=44100),
    "channels": Field(Number("1 (mono) or 2 (stereo)", minimum=1, maximum=2, integer=True),
                      default=2),
    "loudness": Field(LOUDNESS, default=-16.0),
    "codec": Field(Choice(CODECS, "the codec inside an ogg file")),
    "quality": Field(Number("VBR quality: mp3 0 (best) to 9, vorbis -1 to 10 (best)",
                            minimum=-1, maximum=10)),
    "bitrate": Field(Number("kbit/s: constant for mp3, a target for vorbis, opus and aac "
                            "(m4b, m4a)", minimum=8, maximum=512, integer=True)),
    "bits": Field(Custom(lambda n, p, c: _parse_bits(n, p, c), lambda: {
        "enum": list(BITS), "description": "bits a sample in flac and wav files"}), default=16),
}, "render settings; command-line options override them")

BITS_NUMBER = Number("bits a sample in flac and wav files", minimum=1, maximum=64, integer=True)


def _parse_bits(node: yaml.Node, path: str, ctx: Context) -> Any:
    value = BITS_NUMBER.parse(node, path, ctx)
    if isinstance(value, Invalid) or value in BITS:
        return value
    return ctx.error(node, path, f"{value} bits is not offered; choose 16 or 24")


def _parse_cover(node: yaml.Node, path: str, ctx: Context) -> Any:
    text = ctx.scalar_text(node, path, "expected a PNG or JPEG file, or none")
    if isinstance(text, Invalid):
        return text
    if text.strip().lower() in (NO_COVER, "off", "false", "no"):
        return NO_COVER
    found = resolve_file(text.strip(), node, path, ctx)
    if isinstance(found, Invalid):
        return found
    try:
        read_cover(found)
    except CoverProblem as problem:
        return ctx.error(node, path, str(problem))
    return found


#: Cover art: an image file (checked while the script loads), or `none` for no art.
COVER = Custom(_parse_cover, lambda: {
    "description": "cover art: a PNG or JPEG file (relative to the script), or none; "
                   "default: a generated square with the title",
    "anyOf": [{"enum": [NO_COVER]}, {"type": "string"}]})

SESSION = Obj({
    "audioguide": Field(Number("script format version", minimum=1, maximum=FORMAT_VERSION,
                               integer=True), default=FORMAT_VERSION),
    "title": Field(Text("the session's title")),
    "description": Field(Text("what the session is for")),
    "author": Field(Text("written to the file's artist tag")),
    "kind": Field(Choice(KINDS, "what sort of session it is (groups `audioguide list`)"),
                  default="other"),
    "album": Field(Text("the album tag (default: audioguide)")),
    "genre": Field(Text("the genre tag (default: Meditation)")),
    "date": Field(Text("the date tag, like 2026 or 2026-11-29 (default: the day of the render)")),
    "cover": Field(COVER),
    "language": Field(Text("language code, like en"), default="en"),
    "voice": Field(VOICE),
    "bed": Field(BED),
    "vars": Field(Variables()),
    "pronounce": Field(Pronunciations()),
    "output": Field(OUTPUT),
    "steps": Field(STEPS, required=True),
}, "an audioguide session script")


def json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of format version 1, for editors and validators.

    Built from the declarations above, key by key, so a key added there is here too.
    """
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "audioguide session script, format 1",
        **SESSION.json_schema(),
        "$defs": {kind: value.json_schema() for kind, value in STEP_KINDS.items()},
    }


SCHEMA_ID = "https://audioguide.invalid/schema/session-v1.json"

