"""Bad input: a specific XmemlError naming the file, element and line, or a documented
warning; never a traceback from deep inside, never a partial output."""

from __future__ import annotations

from pathlib import Path

import pytest

from xml2csv import XmemlError, read_xmeml, sample
from xml2csv.io import atomic_write


def error_for(path) -> XmemlError:
    with pytest.raises(XmemlError) as info:
        sample(read_xmeml(path))
    assert info.value.path == str(path)
    return info.value


def test_not_xml(write):
    err = error_for(write(b"this is a text file, not xml"))
    assert "not well-formed" in str(err)


def test_truncated_xml_names_the_line(xm, write):
    data = xm.document(xm.track(xm.clip(0, 10, 0, 10)))
    err = error_for(write(data[: len(data) // 2]))
    assert "not well-formed" in err.message and err.line is not None


def test_root_that_is_not_xmeml(write):
    err = error_for(write(b"<?xml version='1.0'?>\n<fcpxml><project/></fcpxml>"))
    assert err.element == "fcpxml" and err.line == 2 and "expected <xmeml>" in err.message


def test_external_entity_is_refused_and_nothing_is_read(write, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-VALUE")
    xxe = (
        f'<?xml version="1.0"?><!DOCTYPE xmeml [<!ENTITY x SYSTEM "file://{secret}">]>'
        "<xmeml><sequence><name>&x;</name></sequence></xmeml>"
    )
    err = error_for(write(xxe))
    assert "entities" in err.message and "TOP-SECRET-VALUE" not in str(err)


def test_entity_expansion_bomb_is_refused_quickly(write):
    levels = ['<!ENTITY a0 "lol">'] + [
        f'<!ENTITY a{i} "{f"&a{i - 1};" * 10}">' for i in range(1, 10)
    ]
    bomb = f'<?xml version="1.0"?><!DOCTYPE xmeml [{"".join(levels)}]><xmeml><a>&a9;</a></xmeml>'
    assert "entities" in error_for(write(bomb)).message


@pytest.mark.parametrize("value", ["ten", "", "1e999x"])
def test_non_numeric_or_missing_timing(xm, write, value):
    data = xm.document(xm.track(xm.clip(0, 10, 0, 10))).replace(
        b"<end>10</end>", f"<end>{value}</end>".encode()
    )
    err = error_for(write(data))
    assert err.element in ("end", "clipitem") and err.line is not None
    assert "<end>" in err.message


def test_end_before_start(xm, write):
    err = error_for(write(xm.document(xm.track(xm.clip(50, 10, 0, 10)))))
    assert err.element == "clipitem" and "before start" in err.message


def test_rate_of_zero(xm, write):
    err = error_for(write(xm.document(xm.track(xm.clip(0, 10, 0, 10)), timebase=0)))
    assert err.element == "rate" and "positive" in err.message


def test_unsorted_keyframes_are_sorted_with_a_warning(xm, write):
    motion = xm.filt("basic", xm.param("scale", keyframes=[(20, 200), (0, 100)]))
    timeline = read_xmeml(write(xm.document(xm.track(xm.clip(0, 20, 0, 20, "main", motion)))))
    table = sample(timeline, n_tracks=1)
    assert table["t01_scale"].iloc[10] == pytest.approx(150)
    assert any("not sorted" in w for w in timeline.warnings)


def test_a_keyframe_without_a_numeric_value_is_skipped_with_a_warning(xm, write):
    keyframes = [(0, 100), (10, "big"), (20, 200)]
    motion = xm.filt("basic", xm.param("scale", keyframes=keyframes))
    timeline = read_xmeml(write(xm.document(xm.track(xm.clip(0, 20, 0, 20, "main", motion)))))
    table = sample(timeline, n_tracks=1)
    assert table["t01_scale"].iloc[10] == pytest.approx(150)  # between the two that are numbers
    assert any("no numeric <value>" in w and "'scale'" in w for w in timeline.warnings)


def test_non_utf8_bytes(write):
    err = error_for(
        write(b'<?xml version="1.0" encoding="UTF-8"?><xmeml><name>\xff\xfe</name></xmeml>')
    )
    assert "not well-formed" in err.message and err.line == 1


def test_unreadable_file(tmp_path):
    folder = tmp_path / "looks-like.xml"
    folder.mkdir()
    assert "cannot read file" in error_for(folder).message
    missing = tmp_path / "missing.xml"
    assert "cannot read file" in error_for(missing).message


def test_empty_file_and_no_sequence(write):
    assert "empty" in error_for(write(b"")).message
    assert "no <sequence>" in error_for(write(b"<xmeml version='4'><bin/></xmeml>")).message


def test_error_text_names_file_line_and_element():
    err = XmemlError("bad value", "/x/edit.xml", "start", 12)
    assert str(err) == "/x/edit.xml:12: <start>: bad value"


def test_an_interrupted_write_leaves_no_file(tmp_path):
    target = tmp_path / "out.csv"
    target.write_text("previous")

    def half_then_crash(tmp: Path) -> None:
        tmp.write_text("partial")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write(target, half_then_crash)
    assert target.read_text() == "previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]


@pytest.mark.parametrize("value", ["²", "--5", "9" * 5000])
def test_odd_digits_are_an_error_at_the_element(xm, write, value):
    """`str.isdigit()` accepts `²` and `--5` passed `lstrip("-")`; int() then raised a bare
    ValueError without file or line, and 5000 digits hit Python's int-conversion limit."""
    err = error_for(write(xm.document(xm.track(xm.clip(value, 10, 0, 10)))))
    assert err.element == "start" and err.line is not None and "not a number" in err.message


@pytest.mark.parametrize("text", ["²", "--5"])
def test_odd_digits_in_optional_integers_are_ignored(xm, write, text):
    """pproTicksIn and marker in/out: not whole numbers, so not used (as before for `abc`)."""
    ticks = f"<pproTicksIn>{text}</pproTicksIn>"
    timeline = read_xmeml(write(xm.document(xm.track(xm.clip(0, 10, 0, 10, extra=ticks)))))
    assert timeline.sequence.tracks[0].items[0].ticks_in is None
    assert len(sample(timeline)) == 10


def test_a_fractional_timebase_that_rounds_to_zero(xm, write):
    err = error_for(write(xm.document(xm.track(xm.clip(0, 10, 0, 10)), timebase=0.3)))
    assert err.element == "rate" and "positive" in err.message


@pytest.mark.parametrize("end", ["1000000000000", "1e12", "1e308"])
def test_a_gigantic_position_is_refused_before_anything_is_allocated(xm, write, end):
    err = error_for(write(xm.document(xm.track(xm.clip(0, end, 0, 10)))))
    assert err.element == "end" and "out of range" in err.message


def test_a_sequence_longer_than_the_limit_is_refused(xm, write):
    from xml2csv.reader import MAX_FRAMES

    err = error_for(write(xm.document(xm.track(xm.clip(0, MAX_FRAMES + 1, 0, 10)))))
    assert err.element == "sequence" and f"{MAX_FRAMES + 1} frames" in err.message


def test_a_source_view_of_a_gigantic_source_is_refused(xm, write):
    from xml2csv import sample_source_view

    defs = [xm.FileDef("main", "main.mp4", duration=2_000_000_000)]
    path = write(xm.document(xm.track(xm.clip(0, 10, 0, 10)), definitions=defs))
    with pytest.raises(XmemlError, match="main source is 2000000000 frames") as info:
        sample_source_view(read_xmeml(path))
    assert info.value.path == str(path)


def test_a_fifo_is_refused_instead_of_blocking(tmp_path):
    import os

    fifo = tmp_path / "edit.xml"
    os.mkfifo(fifo)
    err = error_for(fifo)
    assert "not a regular file" in err.message
