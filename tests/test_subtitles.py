"""Subtitles: a cue for every spoken line, on its samples, in files that strict parsers and
ffmpeg read."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from audioguide.cli import cli
from audioguide.ffmpeg import find_ffmpeg
from audioguide.jobs.prepare import prepare
from audioguide.output.subtitles import (
    Cue,
    clock,
    lrc,
    one_line,
    samples_to_units,
    spoken_lines,
    subtitles_text,
)

from conftest import DRAFT, WriteScript

pytestmark = pytest.mark.real

_VTT_TIME = r"(\d{2,}):([0-5]\d):([0-5]\d)\.(\d{3})"
_VTT_TIMING = re.compile(rf"^{_VTT_TIME} --> {_VTT_TIME}$")
_SRT_TIME = r"(\d{2,}):([0-5]\d):([0-5]\d),(\d{3})"
_SRT_TIMING = re.compile(rf"^{_SRT_TIME} --> {_SRT_TIME}$")
_LRC_LINE = re.compile(r"^\[(\d{2,}):([0-5]\d)\.(\d{2})\](.*)$")
_LRC_TAG = re.compile(r"^\[(ti|ar|al|au|length|by|offset|re|ve):[^\[\]]*\]$")
_VTT_REFERENCE = re.compile(r"&(amp|lt|gt);")


def _ms(groups: tuple[str, ...]) -> int:
    hours, minutes, seconds, millis = (int(part) for part in groups)
    return ((hours * 60 + minutes) * 60 + seconds) * 1000 + millis


def parse_webvtt(text: str) -> list[tuple[int, int, str]]:
    """A strict WebVTT reader for what a cue file may hold: (start ms, end ms, text)."""
    assert "\r" not in text and not text.startswith("\ufeff")
    blocks = text.split("\n\n")
    assert re.fullmatch(r"WEBVTT([ \t][^\n]*)?", blocks[0]), blocks[0]
    assert text.endswith("\n") and not text.endswith("\n\n\n")
    cues: list[tuple[int, int, str]] = []
    for block in blocks[1:]:
        lines = block.strip("\n").split("\n")
        if lines == [""]:
            continue
        if "-->" not in lines[0]:
            identifier, *lines = lines
            assert identifier.strip() and "-->" not in identifier
        timing = _VTT_TIMING.match(lines[0])
        assert timing, lines[0]
        start, end = _ms(timing.groups()[:4]), _ms(timing.groups()[4:])
        assert start < end, lines[0]
        assert cues == [] or start >= cues[-1][0], "cues must be in order of start"
        payload = lines[1:]
        assert payload and all(line.strip() for line in payload), block
        for line in payload:
            assert "-->" not in line and "<" not in line and ">" not in line, line
            assert "&" not in _VTT_REFERENCE.sub("", line), line
        shown = "\n".join(payload).replace("&lt;", "<").replace("&gt;", ">")
        cues.append((start, end, shown.replace("&amp;", "&")))
    return cues


def parse_srt(text: str) -> list[tuple[int, int, str]]:
    """A strict SubRip reader: numbered blocks from 1, a timing line, text, a blank line."""
    assert text.endswith("\n\n")
    cues: list[tuple[int, int, str]] = []
    for number, block in enumerate(text[:-2].split("\n\n"), start=1):
        index, timing_line, *payload = block.split("\n")
        assert index == str(number)
        timing = _SRT_TIMING.match(timing_line)
        assert timing, timing_line
        assert payload and all(line.strip() and "-->" not in line for line in payload)
        start, end = _ms(timing.groups()[:4]), _ms(timing.groups()[4:])
        assert start < end
        cues.append((start, end, "\n".join(payload)))
    return cues


def parse_lrc(text: str) -> list[tuple[int, str]]:
    """A strict LRC reader: ID tags first, then `[mm:ss.xx]text` lines in order of time."""
    lines = text.rstrip("\n").split("\n")
    timed: list[tuple[int, str]] = []
    for line in lines:
        match = _LRC_LINE.match(line)
        if match is None:
            assert not timed and _LRC_TAG.match(line), line
            continue
        minutes, seconds, hundredths, words = match.groups()
        at = (int(minutes) * 60 + int(seconds)) * 100 + int(hundredths)
        assert not timed or at >= timed[-1][0], line
        timed.append((at, words))
    return timed


def ffmpeg_events(path: Path) -> list[tuple[int, str]]:
    """What ffmpeg's own demuxer for the format reads: (start ms, text) of each event."""
    done = subprocess.run([find_ffmpeg().path, "-nostdin", "-v", "error", "-i", str(path),
                           "-f", "srt", "-"], capture_output=True, text=True, check=True)
    lines = done.stdout.split("\n")
    events = []
    for index, line in enumerate(lines):
        timing = _SRT_TIMING.match(line)
        if timing:
            words = lines[index + 1] if index + 1 < len(lines) else ""
            events.append((_ms(timing.groups()[:4]), words))
    return events


def _cli(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.fixture(scope="module")
def box(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """box-breathing rendered by the real CLI with each kind of subtitles (mono WAV, to stay
    quick), and inspect's JSON of it."""
    folder = tmp_path_factory.mktemp("subtitles")
    data = json.loads(_cli("inspect", "box-breathing", "--engine", "draft", "--json"))
    made: dict[str, Any] = {}
    for fmt in ("vtt", "srt", "lrc"):
        printed = _cli("render", "box-breathing", "--engine", "draft", "--mono", "--loudness",
                       "off", "-q", "-o", str(folder / f"box-{fmt}.wav"),
                       "--subtitles", str(folder / f"box.{fmt}"))
        made[fmt] = {"paths": printed.split(), "path": folder / f"box.{fmt}", "inspect": data,
                     "text": (folder / f"box.{fmt}").read_text(encoding="utf-8")}
    return made


def _spoken_clips(data: dict[str, Any]) -> list[dict[str, Any]]:
    return sorted((clip for clip in data["clips"] if clip["kind"] in ("say", "cue")),
                  key=lambda clip: (clip["start"], clip["length"]))


def test_inspect_lines_are_the_spoken_clips_to_the_sample(box: dict[str, Any]) -> None:
    data = box["vtt"]["inspect"]
    clips = _spoken_clips(data)
    assert len(data["lines"]) == len(clips) > 20
    assert {line["kind"] for line in data["lines"]} == {"say", "cue"}
    for line, clip in zip(data["lines"], clips, strict=True):
        assert (line["start"], line["end"]) == (clip["start"], clip["start"] + clip["length"])
        assert line["text"] == one_line(clip["text"])
        assert line["start_s"] == pytest.approx(line["start"] / data["sample_rate"], abs=1e-6)


def test_webvtt_has_one_cue_per_spoken_line_on_its_samples(box: dict[str, Any]) -> None:
    made = box["vtt"]
    data = made["inspect"]
    rate = data["sample_rate"]
    cues = parse_webvtt(made["text"])
    assert len(cues) == len(data["lines"])
    for (start_ms, end_ms, words), line in zip(cues, data["lines"], strict=True):
        assert abs(start_ms / 1000 - line["start_s"]) <= 0.010
        # Formatted from exactly the samples inspect reports: agreement to the sample.
        assert start_ms == samples_to_units(line["start"], rate, 1000)
        assert end_ms == samples_to_units(line["end"], rate, 1000)
        assert words == line["text"]
    # The first cue is the welcome, which starts 5 s in (the script's opening pause).
    assert cues[0][0] == 5000 and cues[0][2].startswith("Welcome.")


def test_webvtt_chapters_file_beside_it(box: dict[str, Any]) -> None:
    made = box["vtt"]
    chapters_file = made["path"].with_name("box.chapters.vtt")
    assert made["paths"][1:] == [str(made["path"]), str(chapters_file)]
    cues = parse_webvtt(chapters_file.read_text(encoding="utf-8"))
    data = made["inspect"]
    assert [words for _, _, words in cues] == [c["title"] for c in data["chapters"]]
    rate = data["sample_rate"]
    for (start_ms, end_ms, _), chapter in zip(cues, data["chapters"], strict=True):
        assert start_ms == samples_to_units(chapter["start"], rate, 1000)
        assert end_ms == samples_to_units(chapter["start"] + chapter["length"], rate, 1000)
    assert cues[-1][1] == round(data["length_s"] * 1000)


def test_srt_cues_match_inspect(box: dict[str, Any]) -> None:
    made = box["srt"]
    data = made["inspect"]
    cues = parse_srt(made["text"])
    assert len(cues) == len(data["lines"])
    for (start_ms, end_ms, words), line in zip(cues, data["lines"], strict=True):
        assert abs(start_ms / 1000 - line["start_s"]) <= 0.010
        assert (start_ms, end_ms) == (samples_to_units(line["start"], 44100, 1000),
                                      samples_to_units(line["end"], 44100, 1000))
        assert words == line["text"]
    assert made["paths"][1:] == [str(made["path"])]  # chapters go with WebVTT only


def test_lrc_lines_start_with_each_spoken_line(box: dict[str, Any]) -> None:
    made = box["lrc"]
    data = made["inspect"]
    timed = parse_lrc(made["text"])
    spoken = [(at, words) for at, words in timed if words]
    assert len(spoken) == len(data["lines"])
    for (at, words), line in zip(spoken, data["lines"], strict=True):
        assert abs(at / 100 - line["start_s"]) <= 0.010
        assert at == samples_to_units(line["start"], 44100, 100)
        assert words == line["text"]
    # Where the voice stops before the next line, an empty line clears the words.
    clears = [at for at, words in timed if not words]
    assert clears and clears[-1] == samples_to_units(data["lines"][-1]["end"], 44100, 100)
    assert made["text"].startswith("[ti:Box breathing]\n[length:04:24]\n")


@pytest.mark.parametrize("fmt", ["vtt", "srt", "lrc"])
def test_ffmpeg_reads_each_format(box: dict[str, Any], fmt: str) -> None:
    made = box[fmt]
    events = [(start, words) for start, words in ffmpeg_events(made["path"]) if words.strip()]
    lines = made["inspect"]["lines"]
    assert [words for _, words in events] == [line["text"] for line in lines]
    for (start_ms, _), line in zip(events, lines, strict=True):
        assert abs(start_ms / 1000 - line["start_s"]) <= 0.010


def test_text_is_escaped_for_each_format(write_script: WriteScript) -> None:
    script = write_script("""
        title: Escapes <& -->
        steps:
          - section: One & <two>
          - say: "Fish & chips <b>not bold</b> --> arrow"
          - say: |
              First paragraph.

              Second paragraph, after a blank line.
          - say: "A [bracket] line"
        """)
    with prepare(script, DRAFT) as prepared:
        timeline = prepared.timeline
    expected = ["Fish & chips <b>not bold</b> --> arrow",
                "First paragraph. Second paragraph, after a blank line.", "A [bracket] line"]
    vtt = subtitles_text(timeline, "vtt")
    assert "Fish &amp; chips &lt;b&gt;not bold&lt;/b&gt; --&gt; arrow" in vtt
    assert [words for _, _, words in parse_webvtt(vtt)] == expected
    srt = parse_srt(subtitles_text(timeline, "srt"))
    assert [words for _, _, words in srt] == [expected[0].replace("-->", "->"), *expected[1:]]
    timed = parse_lrc(subtitles_text(timeline, "lrc"))
    assert [words for _, words in timed if words] == expected
    assert subtitles_text(timeline, "lrc").startswith("[ti:Escapes <& -->]\n")


def test_cues_come_from_say_and_spoken_breathing_cues_only(write_script: WriteScript) -> None:
    script = write_script("""
        title: Kinds
        steps:
          - say: Hello there.
          - bell: {kind: soft}
          - breathe: {pattern: box, cycles: 1, cue: both}
          - say: Goodbye.
        """)
    with prepare(script, DRAFT) as prepared:
        cues = spoken_lines(prepared.timeline)
    assert [cue.text for cue in cues] == ["Hello there.", "Breathe in", "Hold", "Breathe out",
                                          "Hold", "Goodbye."]
    assert all(a.end <= b.start for a, b in zip(cues, cues[1:], strict=False))


def test_times_round_once_from_samples() -> None:
    rate = 44100
    assert clock(0, rate) == "00:00:00.000"
    assert clock(rate * 3723 + rate // 2, rate) == "01:02:03.500"
    assert clock(rate * 3723 + 22, rate, ",") == "01:02:03,000"   # 0.499 ms rounds down
    assert clock(rate * 3723 + 23, rate, ",") == "01:02:03,001"   # 0.522 ms rounds up
    assert samples_to_units(rate * 12 * 3600, rate, 100) == 12 * 3600 * 100
    assert samples_to_units(441, rate, 100) == 1


def test_lrc_clears_only_where_the_voice_stops_before_the_next_line() -> None:
    cues = [Cue(0, 8000, "one", "say", 1), Cue(8000, 16000, "two", "say", 2),
            Cue(24000, 32000, "three", "say", 3)]
    assert lrc(cues, 8000) == ("[re:audioguide]\n[00:00.00]one\n[00:01.00]two\n[00:02.00]\n"
                               "[00:03.00]three\n[00:04.00]\n")


def test_bad_subtitles_name_is_refused_before_rendering(tmp_path: Path) -> None:
    output = tmp_path / "out.wav"
    result = CliRunner().invoke(cli, ["render", "box-breathing", "--engine", "draft",
                                      "-o", str(output), "--subtitles", "words.txt"])
    assert result.exit_code == 2
    assert result.stderr == ("error: --subtitles words.txt: name a .vtt, .srt or .lrc file "
                             "(or say 'auto' for a .vtt beside the audio)\n")
    assert not output.exists()
    missing = tmp_path / "nowhere" / "words.vtt"
    result = CliRunner().invoke(cli, ["render", "box-breathing", "--engine", "draft",
                                      "-o", str(output), "--subtitles", str(missing)])
    assert result.exit_code == 2
    assert result.stderr == (f"error: --subtitles {missing}: the folder {missing.parent} does "
                             "not exist; create it, or add --mkdir\n")
    assert not output.exists()


def test_auto_writes_beside_the_output(tmp_path: Path) -> None:
    output = tmp_path / "calm" / "box.wav"
    printed = _cli("render", "box-breathing", "--engine", "draft", "--sample-rate", "8000",
                   "--mono", "--loudness", "off", "-q", "--mkdir", "-o", str(output),
                   "--subtitles", "auto")
    assert printed.split() == [str(output), str(output.with_suffix(".vtt")),
                               str(tmp_path / "calm" / "box.chapters.vtt")]
    assert len(parse_webvtt(output.with_suffix(".vtt").read_text(encoding="utf-8"))) > 20
    leftovers = [p.name for p in output.parent.iterdir() if p.name.endswith(".part")]
    assert leftovers == []


def test_breathe_save_writes_the_spoken_cues(tmp_path: Path) -> None:
    saved = tmp_path / "478.wav"
    printed = _cli("breathe", "4-7-8", "--cycles", "2", "--engine", "draft", "--bed", "none",
                   "--save", str(saved), "--subtitles", str(tmp_path / "478.srt"))
    assert printed.split() == [str(saved), str(tmp_path / "478.srt")]
    cues = parse_srt((tmp_path / "478.srt").read_text(encoding="utf-8"))
    # Each breath's cues sit on its phase boundaries: in at 4 s, hold at 8 s, out at 15 s.
    words = [(start, words) for start, _, words in cues]
    assert [w for _, w in words] == ["Breathe in", "Hold", "Breathe out"] * 2
    assert [start - words[0][0] for start, _ in words[:3]] == [0, 4000, 11000]
    refused = CliRunner().invoke(cli, ["breathe", "--subtitles", "auto"])
    assert refused.exit_code == 2 and "--subtitles goes with --save FILE" in refused.output
