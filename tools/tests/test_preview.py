"""`xmlai.preview.render_preview`: an xmeml edit rendered frame by frame from its sources.

The sources are made here: each video frame writes its frame number as 8 black/white blocks
down the left edge over a background colour (red or blue), so a decoded preview frame names
the source frame it shows; the audio has a 440 Hz tone on the left and 1000 Hz on the right.
"""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path
from urllib.parse import quote

import numpy as np
import pytest

av = pytest.importorskip("av")
pytest.importorskip("cv2")

from xml2csv import XmemlError  # noqa: E402
from xmlai.preview import render_preview  # noqa: E402
from xmlai.preview.media import local_path  # noqa: E402
from xmlai.runlog import PipelineError  # noqa: E402

W, H, N_SRC = 320, 180, 150
RED, BLUE = (200, 30, 30), (30, 30, 200)
TONES = (440.0, 1000.0)


def make_video(path: Path, colour, n=N_SRC, size=(W, H), fps=Fraction(30), audio=False):
    width, height = size
    tb = Fraction(fps.denominator, fps.numerator)
    with av.open(str(path), mode="w") as container:
        video = container.add_stream("libx264", rate=fps, options={"crf": "12", "g": "30"})
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.time_base = video.codec_context.time_base = tb
        sound = container.add_stream("aac", rate=48000, layout="stereo") if audio else None
        for f in range(n):
            image = np.empty((height, width, 3), np.uint8)
            image[:] = colour
            for bit in range(8):
                rows = slice(bit * height // 8, (bit + 1) * height // 8)
                image[rows, : width // 8] = 255 if f >> bit & 1 else 0
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts, frame.time_base = f, tb
            container.mux(video.encode(frame))
        container.mux(video.encode(None))
        if sound is not None:
            t = np.arange(round(n * tb * 48000)) / 48000
            tones = np.stack([0.5 * np.sin(2 * np.pi * hz * t) for hz in TONES]).astype(np.float32)
            for s0 in range(0, tones.shape[1], 1024):
                block = av.AudioFrame.from_ndarray(
                    np.ascontiguousarray(tones[:, s0 : s0 + 1024]), format="fltp", layout="stereo"
                )
                block.sample_rate, block.pts = 48000, s0
                container.mux(sound.encode(block))
            container.mux(sound.encode(None))


def file_xml(file_id, path: Path, size=(W, H), fps=(30, "FALSE"), audio=False, still=False):
    chars = f"<samplecharacteristics><width>{size[0]}</width><height>{size[1]}</height>"
    video = f"<video>{'<stillframe>TRUE</stillframe>' if still else ''}{chars}"
    video += "</samplecharacteristics></video>"
    sound = "<audio><channelcount>2</channelcount></audio>" if audio else ""
    return (
        f'<file id="{file_id}"><name>{path.name}</name>'
        f"<pathurl>file://localhost{quote(str(path))}</pathurl>"
        f"<rate><timebase>{fps[0]}</timebase><ntsc>{fps[1]}</ntsc></rate>"
        f"<media>{video}{sound}</media></file>"
    )


def clip(cid, file, start, end, in_, out, extra=""):
    return (
        f'<clipitem id="{cid}"><name>{cid}</name><enabled>TRUE</enabled><start>{start}</start>'
        f"<end>{end}</end><in>{in_}</in><out>{out}</out>{file}{extra}</clipitem>"
    )


def motion(scale, x, y):
    return (
        "<filter><effect><name>Basic Motion</name><effectid>basic</effectid>"
        "<effecttype>motion</effecttype><mediatype>video</mediatype>"
        f"<parameter><parameterid>scale</parameterid><value>{scale}</value></parameter>"
        f"<parameter><parameterid>center</parameterid><value><horiz>{x}</horiz>"
        f"<vert>{y}</vert></value></parameter></effect></filter>"
    )


def channel(index):
    return (
        f"<sourcetrack><mediatype>audio</mediatype><trackindex>{index}</trackindex></sourcetrack>"
    )


DISSOLVE = (
    "<transitionitem><start>85</start><end>95</end><alignment>center</alignment><effect>"
    "<name>Cross Dissolve</name><effectid>Cross Dissolve</effectid><effecttype>transition"
    "</effecttype><mediatype>video</mediatype></effect></transitionitem>"
)
TITLE = (
    '<generatoritem id="title"><name>Text</name><enabled>TRUE</enabled><start>100</start>'
    "<end>120</end><in>0</in><out>20</out><effect><name>Text</name><effectid>Text</effectid>"
    "<effecttype>generator</effecttype><mediatype>video</mediatype><parameter>"
    "<parameterid>str</parameterid><name>Text</name><value>HELLO</value></parameter>"
    "</effect></generatoritem>"
)


def sequence(n, video_tracks, audio_tracks=(), rate=(30, "FALSE"), size=(W, H)):
    tracks = "".join(f"<track>{t}</track>" for t in video_tracks)
    sound = "".join(f"<track>{t}</track>" for t in audio_tracks)
    return (
        f'<?xml version="1.0"?><xmeml version="4"><sequence id="seq"><name>test</name>'
        f"<duration>{n}</duration><rate><timebase>{rate[0]}</timebase><ntsc>{rate[1]}</ntsc>"
        f"</rate><media><video><format><samplecharacteristics><width>{size[0]}</width>"
        f"<height>{size[1]}</height></samplecharacteristics></format>{tracks}</video>"
        f"<audio>{sound}</audio></media></sequence></xmeml>"
    )


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    folder = tmp_path_factory.mktemp("src") / "my media"  # a space: %20 in the pathurl
    folder.mkdir()
    make_video(folder / "a.mp4", RED, audio=True)
    make_video(folder / "b.mp4", BLUE)
    make_video(folder / "c.mp4", RED, n=60, size=(64, 48), fps=Fraction(30000, 1001))
    return folder


@pytest.fixture(scope="module")
def edit(sources, tmp_path_factory):
    """V1 cuts (forward and backward in source time) and a dissolve A -> B at 85-95; V2 a
    50% B overlay in the top-right corner at 30-60; V3 a missing still at 60-75 and a title
    at 100-120; A1 plays A's channel 1 at 0-60, A2 its channel 2 at 30-90."""
    a, b = sources / "a.mp4", sources / "b.mp4"
    fa, fb = file_xml("file-a", a, audio=True), file_xml("file-b", b)
    logo = file_xml("file-logo", sources / "logo.png", size=(64, 36), still=True)
    v1 = (
        clip("c1", fa, 0, 30, 0, 30)
        + clip("c2", '<file id="file-a"/>', 30, 60, 100, 130)
        + clip("c3", '<file id="file-a"/>', 60, -1, 10, 45)
        + DISSOLVE
        + clip("c4", fb, -1, 120, 0, 35)
    )
    v2 = clip("ov", '<file id="file-b"/>', 30, 60, 50, 80, motion(50, 0.25, -0.25))
    v3 = clip("logo", logo, 60, 75, 0, 15) + TITLE
    a1 = clip("a1", '<file id="file-a"/>', 0, 60, 0, 60, channel(1))
    a2 = clip("a2", '<file id="file-a"/>', 30, 90, 30, 90, channel(2))
    root = tmp_path_factory.mktemp("edit")
    (root / "edit.xml").write_text(sequence(120, [v1, v2, v3], [a1, a2]))
    summary = render_preview(root / "edit.xml", root / "preview.mp4", progress=False)
    return root / "preview.mp4", summary, decode(root / "preview.mp4")


def decode(path: Path):
    """(facts, frames (n, h, w, 3), pts as Fractions of a second, audio (2, m) or None)."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        facts = {"rate": stream.average_rate, "size": (stream.width, stream.height)}
        frames, pts = [], []
        for frame in container.decode(stream):
            frames.append(frame.to_ndarray(format="rgb24"))
            pts.append(frame.pts * stream.time_base)
        facts["has_audio"] = bool(container.streams.audio)
    audio = None
    if facts["has_audio"]:
        with av.open(str(path)) as container:
            audio = np.concatenate([f.to_ndarray() for f in container.decode(audio=0)], axis=1)
    return facts, np.stack(frames), pts, audio


def code(image, x0=0, y0=0, w=W, h=H) -> int:
    """The frame number of a source shown at (x0, y0) with size w x h."""
    value = 0
    for bit in range(8):
        cx, cy = int(x0 + w / 16), int(y0 + (bit + 0.5) * h / 8)
        if image[cy - 1 : cy + 2, cx - 1 : cx + 2].mean() > 128:
            value |= 1 << bit
    return value


def test_one_frame_per_sequence_frame_at_the_exact_rate(edit):
    path, summary, (facts, frames, pts, _) = edit
    assert len(frames) == summary["frames"] == 120
    assert facts["rate"] == 30 and summary["fps"] == "30"
    assert pts == [Fraction(i, 30) for i in range(120)]
    assert facts["size"] == (W, H) and (summary["width"], summary["height"]) == (W, H)
    written = json.loads(path.with_name("preview.preview.json").read_text())
    assert written["frames"] == 120 and written["audio"] is True


@pytest.mark.parametrize(
    ("t", "shown"),
    [(0, 0), (29, 29), (30, 100), (59, 129), (60, 10), (84, 34), (95, 10), (119, 34)],
)
def test_each_frame_shows_in_plus_offset_of_its_clip(edit, t, shown):
    frames = edit[2][1]
    assert code(frames[t]) == shown


def test_the_overlay_is_a_half_size_picture_in_the_top_right_corner(edit):
    frame = edit[2][1][45]
    r, g, b = (frame[..., c].astype(int) for c in range(3))
    ys, xs = np.nonzero((b > 150) & (r < 100) & (g < 100))
    assert ys.min() <= 2 and abs(ys.max() - 89) <= 2  # blue rows: the overlay's full height
    assert abs(xs.min() - (160 + 20)) <= 2 and xs.max() >= W - 2  # right of its code column
    assert code(frame, 160, 0, 160, 90) == 50 + 15  # B's frame in + (t - start)
    assert code(frame) & 0b1111 == (100 + 15) & 0b1111  # V1 still shows under it (low bits)


def test_a_dissolve_blends_outgoing_and_incoming(edit):
    frames = edit[2][1]
    before, middle, after = (frames[t][150, 250].astype(int) for t in (84, 90, 95))
    assert before[0] > 170 and after[2] > 170  # red A, then blue B
    assert 70 < middle[0] < 160 and 70 < middle[2] < 160  # p = 0.55: both


def test_a_missing_still_is_listed_and_drawn_as_a_placeholder(edit):
    summary, frames = edit[1], edit[2][1]
    (missing,) = summary["missing_media"]
    assert missing["file"] == "logo.png" and missing["drawn"] == "placeholder"
    assert missing["role"] == "still image" and missing["path"].endswith("my media/logo.png")
    box = frames[65][H // 2 - 14 : H // 2 + 14, W // 2 - 28 : W // 2 + 28].reshape(-1, 3)
    grey = np.median(box, axis=0)
    assert np.ptp(grey) < 30 and 60 < grey[0] < 160  # grey, not the red underneath
    outside = frames[65][H // 2, W // 2 + 40]
    assert outside[0] > 170  # 64x36 at the centre: red beside it


def test_a_title_generator_draws_its_text(edit):
    frames = edit[2][1]

    def white(frame):
        return int((frame[:, W // 8 :].min(axis=2) > 200).sum())

    assert white(frames[105]) > 100 and white(frames[80]) == 0


def test_audio_tracks_play_their_source_channel_left_and_right(edit):
    summary, audio = edit[1], edit[2][3]
    assert summary["audio"] and audio.shape[0] == 2
    assert abs(audio.shape[1] - 4 * 48000) <= 1024
    assert abs(summary["audio_seconds"] - 4.0) <= 1024 / 48000

    def rms(ch, a, b):
        return float(np.sqrt(np.mean(audio[ch, int(a * 48000) : int(b * 48000)] ** 2)))

    def pitch(ch, a, b):
        part = audio[ch, int(a * 48000) : int(b * 48000)]
        return np.argmax(np.abs(np.fft.rfft(part))) * 48000 / len(part)

    assert rms(0, 0.1, 0.9) > 0.2 and rms(1, 0.1, 0.9) < 0.01  # A1 only
    assert rms(0, 1.1, 1.9) > 0.2 and rms(1, 1.1, 1.9) > 0.2  # both
    assert rms(0, 2.1, 2.9) < 0.01 and rms(1, 2.1, 2.9) > 0.2  # A2 only
    assert rms(0, 3.1, 3.9) < 0.01 and rms(1, 3.1, 3.9) < 0.01  # no audio item
    assert abs(pitch(0, 0.1, 0.9) - TONES[0]) < 5 and abs(pitch(1, 2.1, 2.9) - TONES[1]) < 5


@pytest.fixture
def small_edit(sources, tmp_path):
    """29.97 fps, 45 frames of c.mp4 from its frame 5; no audio tracks."""
    fc = file_xml("file-c", sources / "c.mp4", size=(64, 48), fps=(30, "TRUE"))
    xml = tmp_path / "small.xml"
    xml.write_text(sequence(45, [clip("c", fc, 0, 45, 5, 50)], rate=(30, "TRUE"), size=(64, 48)))
    return xml


def test_ntsc_rate_without_drift_and_no_audio_stream(small_edit, tmp_path):
    summary = render_preview(small_edit, tmp_path / "out.mp4", progress=False)
    facts, frames, pts, audio = decode(tmp_path / "out.mp4")
    assert summary["fps"] == "30000/1001" and facts["rate"] == Fraction(30000, 1001)
    assert len(frames) == 45 and pts == [Fraction(1001 * i, 30000) for i in range(45)]
    assert pts[-1] == Fraction(44 * 1001, 30000)
    assert not facts["has_audio"] and audio is None and summary["audio"] is False
    assert code(frames[-1], 0, 0, 64, 48) == 49 and summary["missing_media"] == []


def test_audio_tracks_without_sound_in_their_sources_give_no_audio_stream(sources, tmp_path):
    fb = file_xml("file-b", sources / "b.mp4")
    a1 = clip("a1", '<file id="file-b"/>', 0, 15, 0, 15, channel(1))
    (tmp_path / "quiet.xml").write_text(sequence(15, [clip("v", fb, 0, 15, 0, 15)], [a1]))
    summary = render_preview(tmp_path / "quiet.xml", tmp_path / "out.mp4", progress=False)
    assert summary["audio"] is False and not decode(tmp_path / "out.mp4")[0]["has_audio"]
    (missing,) = summary["missing_media"]
    assert missing["file"] == "b.mp4" and missing["drawn"] == "silence"


def test_height_scales_down_to_even_sizes(small_edit, tmp_path):
    summary = render_preview(small_edit, tmp_path / "out.mp4", height=25, progress=False)
    assert (summary["width"], summary["height"]) == (34, 26)
    assert decode(tmp_path / "out.mp4")[0]["size"] == (34, 26)


def test_an_existing_output_is_refused_unless_overwrite(small_edit, tmp_path):
    out = tmp_path / "out.mp4"
    out.write_bytes(b"keep me")
    with pytest.raises(PipelineError, match=r"out\.mp4"):
        render_preview(small_edit, out, progress=False)
    assert out.read_bytes() == b"keep me"
    render_preview(small_edit, out, overwrite=True, progress=False)
    assert len(decode(out)[1]) == 45
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_a_missing_or_invalid_xml_raises_the_readers_error(tmp_path):
    with pytest.raises(XmemlError):
        render_preview(tmp_path / "nope.xml", tmp_path / "out.mp4", progress=False)
    (tmp_path / "bad.xml").write_text("<xmeml><sequence>")
    with pytest.raises(XmemlError):
        render_preview(tmp_path / "bad.xml", tmp_path / "out.mp4", progress=False)
    assert not (tmp_path / "out.mp4").exists()


def test_a_nested_sequence_shows_its_own_frame_in_plus_offset(sources, tmp_path):
    inner = sequence(30, [clip("i", file_xml("file-a", sources / "a.mp4"), 0, 30, 40, 70)])
    inner = inner.split("<sequence", 1)[1].rsplit("</xmeml>", 1)[0].replace(' id="seq"', "")
    nest = clip("n", f'<sequence id="inner"{inner}', 0, 20, 5, 25, motion(50, 0, 0))
    (tmp_path / "nested.xml").write_text(sequence(20, [nest]))
    summary = render_preview(tmp_path / "nested.xml", tmp_path / "out.mp4", progress=False)
    frames = decode(tmp_path / "out.mp4")[1]
    assert summary["missing_media"] == [] and len(frames) == 20
    assert code(frames[10], W / 4, H / 4, W / 2, H / 2) == 40 + 5 + 10  # inner frame 15, at 50%


def test_pathurls_become_local_paths(tmp_path):
    (tmp_path / "My Clip.mp4").write_bytes(b"")
    url = f"file://localhost{quote(str(tmp_path))}/My%20Clip.mp4"
    assert local_path(url, "My Clip.mp4", []) == (
        tmp_path / "My Clip.mp4",
        str(tmp_path / "My Clip.mp4"),
    )
    assert local_path(f"file://{quote(str(tmp_path))}/My%20Clip.mp4", "", [])[0] is not None
    found, written = local_path(
        "file://localhost/D%3a/media/My%20Clip.mp4", "My Clip.mp4", [tmp_path]
    )
    assert written == "D:/media/My Clip.mp4" and found == tmp_path / "My Clip.mp4"
    assert local_path("file:///nowhere/x%2520y.mp4", "x%20y.mp4", [])[1] == "/nowhere/x%20y.mp4"
    assert local_path("file:///nowhere/a.mp4", "a.mp4", [])[0] is None


def test_negative_crops_render_within_the_picture(sources, tmp_path):
    """A predicted crop can be below 0 (and a zoom off the frame): the picture is
    cut to its own bounds and the frame's, never past them (this once crashed a render)."""
    crop = (
        "<filter><effect><name>Crop</name><effectid>crop</effectid><effecttype>motion"
        "</effecttype><mediatype>video</mediatype>"
        + "".join(
            f"<parameter><parameterid>{side}</parameterid><value>{value}</value></parameter>"
            for side, value in (("left", -7.3), ("right", 3.1), ("top", -2.6), ("bottom", 4.0))
        )
        + "</effect></filter>"
    )
    v1 = clip("c1", file_xml("file-a", sources / "a.mp4"), 0, 10, 0, 10, motion(37.3, 0.41, 0.3))
    v1 = v1.replace("</clipitem>", crop + "</clipitem>")
    (tmp_path / "edit.xml").write_text(sequence(10, [v1]))
    summary = render_preview(tmp_path / "edit.xml", tmp_path / "p.mp4", height=117, progress=False)
    assert summary["frames"] == 10
