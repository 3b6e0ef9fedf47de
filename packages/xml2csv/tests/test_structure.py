"""structure_problems: a small valid edit is clean; breaking one thing reports exactly that; the
real exports report only their known deviations."""

from __future__ import annotations

import re

import pytest

from xml2csv.errors import XmemlError
from xml2csv.structure import structure_problems

RATE = "<rate><timebase>30</timebase><ntsc>FALSE</ntsc></rate>"
FILE_REF = '<file id="file-1"/>'
FILE_DEF = f"""<file id="file-1">
            <name>a.mov</name>
            <pathurl>file://localhost/media/a.mov</pathurl>
            {RATE}
            <duration>400</duration>
            <media>
              <video><samplecharacteristics><width>1920</width><height>1080</height></samplecharacteristics></video>
              <audio><samplecharacteristics><depth>16</depth><samplerate>44100</samplerate></samplecharacteristics><channelcount>2</channelcount></audio>
            </media>
          </file>"""
TRANSITION = """<transitionitem>
          <rate><timebase>30</timebase></rate>
          <start>50</start><end>70</end><alignment>center</alignment>
          <effect><name>Cross Dissolve</name><effectid>Cross Dissolve</effectid><effecttype>transition</effecttype><mediatype>video</mediatype></effect>
        </transitionitem>"""  # noqa: E501  (XML reads best one element a line)


def document(video_file: str = FILE_DEF, audio_file: str = FILE_REF, transition=TRANSITION) -> str:
    """One sequence: a clip, a dissolve, a second clip and a colour generator on V1, and the
    first clip's audio on A1; every value distinct so a test can change exactly one."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE xmeml>
<xmeml version="5">
<sequence id="seq-1">
  <name>edit</name>
  <duration>120</duration>
  <rate><ntsc>FALSE</ntsc><timebase>30</timebase></rate>
  <timecode>{RATE}<string>00:00:00:00</string><frame>0</frame></timecode>
  <media>
    <video>
      <format><samplecharacteristics><width>1280</width><height>720</height></samplecharacteristics></format>
      <track>
        <clipitem id="clip-1">
          <name>A</name>
          <duration>300</duration>
          {RATE}
          <start>0</start><end>-1</end><in>10</in><out>70</out>
          {video_file}
          <filter>
            <effect>
              <name>Basic Motion</name><effectid>basic</effectid><effecttype>motion</effecttype><mediatype>video</mediatype>
              <parameter><parameterid>scale</parameterid><name>Scale</name>
                <keyframe><when>10</when><value>100</value></keyframe>
                <keyframe><when>70</when><value>120</value></keyframe>
              </parameter>
            </effect>
          </filter>
          <link><linkclipref>clip-3</linkclipref><mediatype>audio</mediatype><trackindex>1</trackindex><clipindex>1</clipindex></link>
        </clipitem>
        {transition}
        <clipitem id="clip-2">
          <name>B</name>{RATE}<start>-1</start><end>100</end><in>190</in><out>230</out><file id="file-1"/>
        </clipitem>
        <generatoritem id="gen-1">
          <name>Color</name>{RATE}<start>100</start><end>120</end><in>0</in><out>20</out>
          <effect><name>Color</name><effectid>Color</effectid><effecttype>generator</effecttype><mediatype>video</mediatype>
            <parameter><parameterid>fillcolor</parameterid><name>Color</name>
              <value><alpha>255</alpha><red>10</red><green>20</green><blue>30</blue></value>
            </parameter>
          </effect>
        </generatoritem>
        <enabled>TRUE</enabled>
        <locked>FALSE</locked>
      </track>
    </video>
    <audio>
      <format><samplecharacteristics><depth>16</depth><samplerate>48000</samplerate></samplecharacteristics></format>
      <outputs><group><index>1</index><numchannels>2</numchannels><downmix>0</downmix><channel><index>1</index></channel><channel><index>2</index></channel></group></outputs>
      <track>
        <clipitem id="clip-3">
          <name>A audio</name>{RATE}<start>0</start><end>50</end><in>10</in><out>60</out>
          {audio_file}
          <sourcetrack><mediatype>audio</mediatype><trackindex>1</trackindex></sourcetrack>
          <link><linkclipref>clip-1</linkclipref><mediatype>video</mediatype></link>
        </clipitem>
        <outputchannelindex>1</outputchannelindex>
      </track>
    </audio>
  </media>
  <marker><name>cue</name><in>20</in><out>-1</out></marker>
  <marker><name>span</name><in>30</in><out>40</out></marker>
</sequence>
</xmeml>
"""  # noqa: E501


VALID = document()


def problems(text: str) -> list[str]:
    return structure_problems("edit.xml", text.encode())


def broken(old: str, new: str, text: str = VALID) -> str:
    assert text.count(old) == 1, f"{old!r} must occur exactly once in the document"
    return text.replace(old, new)


def line_of(text: str, needle: str) -> int:
    """The line of the first occurrence of `needle`."""
    assert needle in text, needle
    return text[: text.index(needle)].count("\n") + 1


def assert_only(text: str, needle: str, expected: str) -> None:
    """`text` has exactly one problem: `expected`, on the line where `needle` is."""
    assert problems(text) == [f"line {line_of(text, needle)}: {expected}"]


# -- the valid document --------------------------------------------------------------------


def test_the_valid_document_has_no_problems(tmp_path):
    assert problems(VALID) == []
    path = tmp_path / "edit.xml"
    path.write_text(VALID, encoding="utf-8")
    assert structure_problems(path) == []
    assert structure_problems(str(path)) == []


def test_a_reference_may_come_before_its_definition():
    assert problems(document(video_file=FILE_REF, audio_file=FILE_DEF)) == []


def test_an_unparseable_document_raises_rather_than_reporting():
    with pytest.raises(XmemlError, match="not well-formed"):
        structure_problems("edit.xml", b"<xmeml><sequence>")


# -- required children -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "needle", "expected"),
    [
        (
            "<name>A</name>",
            "",
            '<clipitem id="clip-1">',
            "<clipitem id='clip-1'>: required <name> is missing",
        ),
        (
            "<name>edit</name>",
            "",
            '<sequence id="seq-1">',
            "<sequence id='seq-1'>: required <name> is missing",
        ),
        (
            "<rate><timebase>30</timebase></rate>",
            "<rate><ntsc>FALSE</ntsc></rate>",
            "<rate><ntsc>FALSE</ntsc></rate>",
            "<rate> in <sequence id='seq-1'>: required <timebase> is missing",
        ),
        (
            "<effecttype>generator</effecttype>",
            "",
            "<effect><name>Color</name>",
            "<effect> in <generatoritem id='gen-1'>: required <effecttype> is missing",
        ),
        (
            "<when>70</when>",
            "",
            "<keyframe><value>120",
            "<keyframe> in <clipitem id='clip-1'>: required <when> is missing",
        ),
        (
            "<alignment>center</alignment>",
            "",
            "<transitionitem>",
            "<transitionitem> in <sequence id='seq-1'>: required <alignment> is missing",
        ),
        (
            "<numchannels>2</numchannels>",
            "",
            "<outputs><group>",
            "<group> in <sequence id='seq-1'>: required <numchannels> is missing",
        ),
        (
            '<xmeml version="5">',
            "<xmeml>",
            "<xmeml>",
            "<xmeml>: required attribute version is missing",
        ),
    ],
    ids=[
        "clipitem-name",
        "sequence-name",
        "timebase",
        "effecttype",
        "when",
        "alignment",
        "numchannels",
        "version",
    ],
)
def test_a_missing_required_child_is_reported(old, new, needle, expected):
    assert_only(broken(old, new), needle, expected)


def test_a_file_definition_needs_a_name_or_a_pathurl():
    text = broken("<pathurl>file://localhost/media/a.mov</pathurl>", "")
    text = broken("<name>a.mov</name>", "", text)
    expected = "<file id='file-1'>: required <name> or <pathurl> is missing"
    assert_only(text, '<file id="file-1">', expected)


# -- order -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "needle", "expected"),
    [
        (
            "<start>0</start><end>-1</end><in>10</in><out>70</out>",
            "<start>0</start><end>-1</end><out>70</out><in>10</in>",
            '<clipitem id="clip-1">',
            "<clipitem id='clip-1'>: <out> comes before <in>; expected after it",
        ),
        (
            f"<name>B</name>{RATE}<start>-1</start>",
            f"{RATE}<name>B</name><start>-1</start>",
            '<clipitem id="clip-2">',
            "<clipitem id='clip-2'>: <rate> comes before <name>; expected after it",
        ),
        (
            '<in>190</in><out>230</out><file id="file-1"/>',
            '<file id="file-1"/><in>190</in><out>230</out>',
            '<clipitem id="clip-2">',
            "<clipitem id='clip-2'>: <file> comes before <out>; expected after it",
        ),
    ],
    ids=["out-before-in", "rate-before-name", "file-before-timing"],
)
def test_children_out_of_order_are_reported(old, new, needle, expected):
    assert_only(broken(old, new), needle, expected)


def test_a_sequence_keeps_name_duration_and_rate_before_media():
    text = broken(
        "  </media>\n  <marker>",
        "  </media><name>edit</name>\n  <marker>",
        broken("<name>edit</name>", ""),
    )
    expected = "<sequence id='seq-1'>: <media> comes before <name>; expected after it"
    assert_only(text, '<sequence id="seq-1">', expected)


def test_the_pairs_may_come_in_either_order_as_fcp7_and_premiere_write_them():
    fcp7 = broken(
        "<start>0</start><end>50</end><in>10</in><out>60</out>",
        "<in>10</in><out>60</out><start>0</start><end>50</end>",
    )
    assert problems(fcp7) == []


def test_a_track_lists_its_items_in_time_order():
    text = broken("<start>100</start><end>120</end>", "<start>40</start><end>60</end>")
    generator = line_of(text, '<generatoritem id="gen-1">')
    expected = (
        f"<track> in <sequence id='seq-1'>: <generatoritem> at line {generator} starts at 40, "
        "before the item ahead of it (50); a track lists its items in time order"
    )
    assert_only(text, "<track>", expected)


def test_a_track_holds_only_items_and_its_flags():
    text = broken("<enabled>TRUE</enabled>", "<name>V1</name><enabled>TRUE</enabled>")
    assert_only(text, "<track>", "<track> in <sequence id='seq-1'>: <name> is not allowed here")


# -- timing ------------------------------------------------------------------------------------


def test_minus_one_needs_a_transition_beside_it():
    text = document(transition="")
    first, second = (line_of(text, f'<clipitem id="{c}">') for c in ("clip-1", "clip-2"))
    assert problems(text) == [
        f"line {first}: <clipitem id='clip-1'>: "
        "<end> is -1 but no transitionitem comes after it in the track",
        f"line {second}: <clipitem id='clip-2'>: "
        "<start> is -1 but no transitionitem comes before it in the track",
    ]


@pytest.mark.parametrize(
    ("old", "new", "needle", "expected"),
    [
        (
            "<in>10</in><out>60</out>",
            "<in>10.5</in><out>60</out>",
            '<clipitem id="clip-3">',
            "<clipitem id='clip-3'>: <in> '10.5' is not a whole number",
        ),
        (
            "<in>10</in><out>60</out>",
            "<in>-1</in><out>60</out>",
            '<clipitem id="clip-3">',
            "<clipitem id='clip-3'>: <in> is -1; only <start> and <end> may be -1 "
            "(beside a transition)",
        ),
        (
            "<start>100</start><end>120</end>",
            "<start>100</start><end>100</end>",
            '<generatoritem id="gen-1">',
            "<generatoritem id='gen-1'>: <end> 100 is not after <start> 100",
        ),
        (
            "<in>190</in><out>230</out>",
            "<in>190</in><out>180</out>",
            '<clipitem id="clip-2">',
            "<clipitem id='clip-2'>: <out> 180 is not after <in> 190",
        ),
    ],
    ids=["fraction", "minus-one-in", "end-not-after-start", "out-before-in"],
)
def test_bad_timing_values_are_reported(old, new, needle, expected):
    assert_only(broken(old, new), needle, expected)


# -- values in range ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "<ntsc>FALSE</ntsc><timebase>30</timebase>",
            "<ntsc>FALSE</ntsc><timebase>0</timebase>",
            "<timebase> in <sequence id='seq-1'>: value '0', expected a positive whole number",
        ),
        (
            "<ntsc>FALSE</ntsc><timebase>30</timebase>",
            "<ntsc>yes</ntsc><timebase>30</timebase>",
            "<ntsc> in <sequence id='seq-1'>: value 'yes', expected TRUE or FALSE",
        ),
        (
            "<width>1280</width>",
            "<width>0</width>",
            "<width> in <sequence id='seq-1'>: value '0', expected a positive number",
        ),
        (
            "<samplerate>44100</samplerate>",
            "<samplerate>-1</samplerate>",
            "<samplerate> in <file id='file-1'>: value '-1', expected a positive number",
        ),
        (
            "<channelcount>2</channelcount>",
            "<channelcount>0</channelcount>",
            "<channelcount> in <file id='file-1'>: value '0', expected a whole number >= 1",
        ),
        (
            "<effecttype>generator</effecttype>",
            "<effecttype>plugin</effecttype>",
            "<effecttype> in <generatoritem id='gen-1'>: value 'plugin', expected filter or "
            "transition or generator or motion or audiolevels or audiopan",
        ),
    ],
    ids=["timebase", "ntsc", "width", "samplerate", "channelcount", "effecttype"],
)
def test_values_out_of_range_are_reported(old, new, expected):
    text = broken(old, new)
    assert_only(text, new, expected)


def test_a_colour_component_above_255_is_reported():
    text = broken("<red>10</red>", "<red>256</red>")
    expected = "<red> in <generatoritem id='gen-1'>: value '256', expected a whole number 0..255"
    assert_only(text, "<red>256</red>", expected)


def test_ntsc_is_read_in_any_case_as_premiere_writes_it():
    assert problems(broken("<ntsc>FALSE</ntsc><timebase>", "<ntsc>False</ntsc><timebase>")) == []


# -- pathurl -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "file://localhost/media/my a.mov",
            "'file://localhost/media/my a.mov' has ' ' unescaped; a pathurl must be "
            "percent-encoded",
        ),
        (
            "file://localhost/media/kråke.mov",
            "'file://localhost/media/kråke.mov' has 'å' unescaped; a pathurl must be "
            "percent-encoded",
        ),
        (
            "/media/a.mov",
            "'/media/a.mov' must start with file://localhost/, file:/// or file://HOST/",
        ),
    ],
    ids=["space", "non-ascii", "no-scheme"],
)
def test_a_bad_pathurl_is_reported(url, expected):
    text = broken("file://localhost/media/a.mov", url)
    assert_only(text, "<pathurl>", f"<pathurl> in <file id='file-1'>: {expected}")


@pytest.mark.parametrize(
    "url", ["file:///media/a%20b.mov", "file://server/share/a.mov", "file://localhost/D:/a.mov"]
)
def test_good_pathurls_pass(url):
    assert problems(broken("file://localhost/media/a.mov", url)) == []


# -- references and links ----------------------------------------------------------------------


def test_a_reference_to_an_undefined_file_is_reported():
    text = broken('<out>230</out><file id="file-1"/>', '<out>230</out><file id="file-9"/>')
    expected = (
        "<file id='file-9'>: refers to file id 'file-9', which is defined nowhere in the document"
    )
    assert_only(text, '<file id="file-9"/>', expected)


def test_a_link_to_a_missing_clipitem_is_reported():
    text = broken("<linkclipref>clip-3</linkclipref>", "<linkclipref>clip-9</linkclipref>")
    expected = (
        "<link> in <clipitem id='clip-1'>: <linkclipref> 'clip-9' names no clipitem in the document"
    )
    assert_only(text, "<link><linkclipref>clip-9", expected)


# -- markers and stills --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("new", "expected"),
    [
        ("<in>30</in><out>20</out>", "<out> '20', expected -1 or a whole number >= <in>"),
        ("<in>-5</in><out>40</out>", "<in> '-5', expected a whole number >= 0"),
    ],
    ids=["out-before-in", "negative-in"],
)
def test_a_marker_out_of_order_is_reported(new, expected):
    text = broken("<in>30</in><out>40</out>", new)
    assert_only(text, "<marker><name>span", f"<marker> in <sequence id='seq-1'>: {expected}")


def test_a_stillframe_directly_under_file_is_reported():
    text = broken(
        "<duration>400</duration>", "<duration>400</duration><stillframe>TRUE</stillframe>"
    )
    expected = (
        "<stillframe> in <file id='file-1'>: <stillframe> sits directly under <file>; it belongs "
        "in <file><media><video>"
    )
    assert_only(text, "<stillframe>", expected)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (
            "<video><samplecharacteristics>",
            "<video><stillframe>TRUE</stillframe><samplecharacteristics>",
        ),
        ("<duration>300</duration>", "<duration>300</duration><stillframe>TRUE</stillframe>"),
    ],
    ids=["file-media-video", "clipitem"],
)
def test_a_stillframe_in_its_places_passes(old, new):
    assert problems(broken(old, new)) == []


# -- the real exports ----------------------------------------------------------------------------

# Real deviations in the exports; every other file must come out clean.
KNOWN = {
    # Hiero writes fractional in/out, a <name> in <track>, and a file ("/") without media.
    "otio_hiero_xml_export.xml": [
        "line 32: <track> in <sequence id='hiero_xml_export'>: <name> is not allowed here",
        "line 34: <clipitem> in <sequence id='hiero_xml_export'>: <in> '0.0' is not a whole number",
        "line 34: <clipitem> in <sequence id='hiero_xml_export'>: <out> '1055.0' is not a whole "
        "number",
        "line 76: <clipitem> in <sequence id='hiero_xml_export'>: <in> '326400.0' is not a whole "
        "number",
        "line 76: <clipitem> in <sequence id='hiero_xml_export'>: <out> '326639.0' is not a whole "
        "number",
        "line 88: <file id='/'>: required <media> is missing",
    ],
    # the filtering tool removed file-22901's definition (PROVENANCE.md says so)...
    "nick_premiere_filtered.xml": [
        "line 15025: <file id='file-22901'>: refers to file id 'file-22901', which is defined "
        "nowhere in the document",
        "line 15489: <file id='file-22901'>: refers to file id 'file-22901', which is defined "
        "nowhere in the document",
    ],
}
# ...and replaced every pathurl with a bare file name: 316 of them, one problem each.
BARE_PATHURL = re.compile(
    r"line \d+: <pathurl> in <file id='file-\d+'>: '[^/':]+\.(mov|png)' must start with "
    r"file://localhost/, file:/// or file://HOST/"
)
KNOWN_BARE_PATHURLS = {"nick_premiere_filtered.xml": 316}


@pytest.mark.corpus
def test_real_exports_report_only_their_known_deviations(corpus, corpus_file):
    found = structure_problems(corpus / corpus_file)
    bare = [p for p in found if BARE_PATHURL.fullmatch(p)]
    assert len(bare) == KNOWN_BARE_PATHURLS.get(corpus_file, 0)
    assert [p for p in found if p not in bare] == KNOWN.get(corpus_file, [])
