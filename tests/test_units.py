from fractions import Fraction

import pytest

from audioguide.units import (
    format_seconds,
    parse_duration,
    parse_level,
    parse_note,
    seconds_to_samples,
)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("4", Fraction(4)),
        ("4s", Fraction(4)),
        ("1.5s", Fraction(3, 2)),
        ("500ms", Fraction(1, 2)),
        ("2m", Fraction(120)),
        ("1m30s", Fraction(90)),
        ("1m 30s", Fraction(90)),
        ("1:30", Fraction(90)),
        ("90:00", Fraction(5400)),
        ("1:02:03", Fraction(3723)),
        ("1h", Fraction(3600)),
        ("0.1", Fraction(1, 10)),
        ("1h2m3.5s", Fraction(7447, 2)),
    ],
)
def test_durations_in_every_documented_form(text: str, seconds: Fraction) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("-3", "duration '-3' is negative; use a length of 0 or more"),
        ("3x", "'3x' is not a duration; write it like 4, 4s, 1.5s, 500ms, 2m, 1m30s or 1:30"),
        ("1:75", "'1:75' is not a clock time: minutes and seconds go up to 59"),
        ("1:60:00", "'1:60:00' is not a clock time: minutes and seconds go up to 59"),
        ("2s3s", "duration '2s3s' names 's' twice"),
        ("nan", "'nan' is not a duration; write it like 4, 4s, 1.5s, 500ms, 2m, 1m30s or 1:30"),
    ],
)
def test_bad_durations_say_how_to_write_them(text: str, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_duration(text)
    assert str(caught.value) == message


def test_decimal_durations_stay_exact() -> None:
    # 0.1 s ten times is exactly one second: no binary floating point on the way.
    assert sum((parse_duration("0.1") for _ in range(10)), Fraction(0)) == 1


def test_levels_and_notes() -> None:
    assert parse_level("-18dB") == -18.0
    assert parse_level("+3 db") == 3.0
    assert parse_level("-6") == -6.0
    with pytest.raises(ValueError):
        parse_level("loud")
    assert parse_note("A4") == pytest.approx(440.0)
    assert parse_note("A2") == pytest.approx(110.0)
    assert parse_note("C#3") == pytest.approx(138.591, abs=1e-3)
    assert parse_note("Bb3") == pytest.approx(233.082, abs=1e-3)
    with pytest.raises(ValueError):
        parse_note("H2")


def test_rounding_to_samples_is_once_and_half_up() -> None:
    assert seconds_to_samples(Fraction(1, 3), 44100) == 14700
    assert seconds_to_samples(Fraction(1, 88200), 44100) == 1  # exactly half a sample
    assert seconds_to_samples(Fraction(3600), 44100) == 158_760_000


def test_format_seconds() -> None:
    assert format_seconds(0) == "0:00.000"
    assert format_seconds(Fraction(905, 2)) == "7:32.500"
    assert format_seconds(3725.25) == "1:02:05.250"
