"""VisualExtractor against frames whose truth is known: built in numpy (cuts, motion, fades,
sampling times), a real face photo (scikit-image) and drawn text (rapidocr)."""

from __future__ import annotations

import logging
from fractions import Fraction

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mediafeat import visual as visual_module
from mediafeat.columns import FLOW_COLUMNS, TIME, VISUAL_COLUMNS
from mediafeat.config import ExtractConfig
from mediafeat.detectors import saliency
from mediafeat.embedding import EMBEDDING_DIM
from mediafeat.framediff import CUT_HIST_BINS, cut_score
from mediafeat.frames import ArrayFrame
from mediafeat.visual import VisualExtractor

W, H = 640, 360
# the detectors with their own tests stay off where a test is about something else
BARE = {"faces": False, "text": False, "embedding": False}


def config(**kw) -> ExtractConfig:
    return ExtractConfig(**{**BARE, **kw})


def scene(seed: int, size=(W, H)) -> np.ndarray:
    """A 'shot': smooth random colour regions plus a few shapes, different for each seed."""
    rng = np.random.default_rng(seed)
    w, h = size
    field = rng.normal(0, 1, (h // 20 + 1, w // 20 + 1, 3)).astype(np.float32)
    field = cv2.resize(field, (w, h), interpolation=cv2.INTER_CUBIC)
    image = np.clip(128 + 60 * field + rng.uniform(-60, 60, 3), 0, 255).astype(np.uint8)
    for _ in range(4):
        centre = (int(rng.integers(0, w)), int(rng.integers(0, h)))
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        cv2.circle(image, centre, int(rng.integers(20, 80)), colour, -1)
    return image


def texture(seed: int = 3, size=(2 * W, H), sigma: float = 3.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    noise = cv2.GaussianBlur(rng.normal(0, 1, size[::-1]).astype(np.float32), (0, 0), sigma)
    grey = np.clip(128 + 50 * noise / noise.std(), 0, 255).astype(np.uint8)
    return np.stack([grey, grey, grey // 2 + 64], axis=-1)


def run(frames, cfg: ExtractConfig | None = None) -> dict[str, np.ndarray]:
    ex = VisualExtractor(cfg or config())
    for frame in frames:
        ex.push(frame)
    return ex.finish()


def frames_at(times, image_at) -> list[ArrayFrame]:
    return [ArrayFrame(t, image_at(i)) for i, t in enumerate(times)]


class CountingFrame:
    """A FrameView that counts its rgb() calls and serves tiny fixed images."""

    def __init__(self, time: float, image: np.ndarray):
        self.time = time
        self._image = image
        self.rgb_calls = 0

    def grey(self) -> np.ndarray:
        return cv2.cvtColor(self._image, cv2.COLOR_RGB2GRAY)

    def rgb(self) -> np.ndarray:
        self.rgb_calls += 1
        return self._image


# --- sampling -------------------------------------------------------------------------------


def expected_sample_times(frame_times: list[Fraction], rate: Fraction) -> list[Fraction]:
    """The first frame at or after each k / rate, in exact arithmetic."""
    out, k = [], 0
    while k / rate <= frame_times[-1]:
        first = next(t for t in frame_times if t >= k / rate)
        if not out or first != out[-1]:
            out.append(first)
        k += 1
    return out


@pytest.mark.parametrize("fps", [Fraction(30), Fraction(30000, 1001), Fraction(25)])
def test_sample_times_follow_k_over_rate(fps):
    exact = [i / fps for i in range(int(4 * fps))]
    image = scene(1, (64, 36))
    frames = [CountingFrame(float(t), image) for t in exact]
    out = run(frames)
    want = [float(t) for t in expected_sample_times(exact, Fraction(5))]
    assert out[TIME].tolist() == want
    assert out[TIME].dtype == np.float64
    # rgb() only for the sampled frames, once each
    assert [f.time for f in frames if f.rgb_calls] == want
    assert all(f.rgb_calls <= 1 for f in frames)
    assert not out["scene_cut"].any()


@settings(max_examples=60, deadline=None)
@given(
    gaps_ms=st.lists(st.integers(1, 700), min_size=1, max_size=60),
    rate=st.sampled_from([1, 2, 4, 5, 10]),
)
def test_sample_times_for_any_increasing_times(gaps_ms, rate):
    """Frame times with gaps and jitter (a variable frame rate): each row is the first frame at
    or after a k / rate, no row twice; times come from the frames, never from a counter."""
    ms = np.cumsum([0, *gaps_ms]).tolist()
    image = np.full((18, 32, 3), 90, np.uint8)
    out = run([CountingFrame(m / 1000, image) for m in ms], config(visual_rate_hz=rate))
    step = 1000 // rate
    want = sorted({next(m for m in ms if m >= k * step) for k in range(ms[-1] // step + 1)})
    assert out[TIME].tolist() == [m / 1000 for m in want]


def test_repeated_timestamps_never_give_two_rows():
    image = scene(2, (64, 36))
    times = [0.0, 0.0, 0.1, 0.2, 0.2, 0.2, 0.4]
    out = run([CountingFrame(t, image) for t in times])
    assert out[TIME].tolist() == [0.0, 0.2, 0.4]


# --- motion ---------------------------------------------------------------------------------


def test_motion_is_higher_in_the_fast_stretch():
    still, moving = scene(4), texture()
    n = 30  # 1 s still, then 1 s of the texture sliding 24 px a frame

    def image(i):
        if i < n:
            return still
        x = (i - n) * 24 % W
        return moving[:, x : x + W]

    out = run(frames_at([i / 30 for i in range(2 * n)], image))
    t = out[TIME]
    still_rows, fast_rows = (t > 0) & (t < 1.0), t > 1.1
    assert out["motion"][still_rows].max() < 0.01
    assert out["motion"][fast_rows].min() > 0.3
    assert out["motion_diff"][fast_rows].min() > 5 * out["motion_diff"][still_rows].max() + 0.01
    assert out["motion"].min() >= 0 and out["motion"].max() <= 1


def test_motion_of_a_row_is_the_mean_over_the_frames_since_the_last_row():
    # 30 fps, rows every 6 frames; uniform frames, changing on chosen frames only
    dark, light = np.full((36, 64, 3), 60, np.uint8), np.full((36, 64, 3), 160, np.uint8)
    changes = {1, 2, 3, 7, 13, 14, 15, 16, 17}  # frame i differs from frame i - 1
    images, current = [], dark
    for i in range(24):
        if i in changes:
            current = light if current is dark else dark
        images.append(current)
    # cuts off (threshold above the 0..255 scale): only the motion average is under test
    out = run([CountingFrame(i / 30, im) for i, im in enumerate(images)],
              config(scene_threshold=300))  # fmt: skip
    # the frames each row averages: row 0 has none, row r covers frames 6(r-1)+1 .. 6r
    want = [0.0, 3 / 6, 1 / 6, 5 / 6]
    assert out["motion"][:4] == pytest.approx(want, abs=1e-6)
    assert out["motion_diff"][:4] == pytest.approx([w * 100 / 255 for w in want], abs=2e-3)


# --- scene cuts -----------------------------------------------------------------------------


def test_hard_cut_marks_exactly_its_own_row():
    cut = 47  # t = 1.5667: between two regular samples, so the cut row is an extra row
    times = [i / 30 for i in range(90)]
    out = run(frames_at(times, lambda i: scene(5) if i < cut else scene(6)))
    t, cuts = out[TIME], out["scene_cut"]
    assert cuts.dtype == np.int8
    assert t[cuts == 1].tolist() == [times[cut]]
    assert set(np.round(np.arange(0, 3, 0.2), 6)) <= set(np.round(t, 6))  # the grid is kept


def test_cut_between_real_photos():
    skdata = pytest.importorskip("skimage.data")
    a = cv2.resize(skdata.astronaut(), (W, H))
    b = cv2.resize(skdata.coffee(), (W, H))
    times = [i / 25 for i in range(50)]
    out = run(frames_at(times, lambda i: a if i < 20 else b))
    assert out[TIME][out["scene_cut"] == 1].tolist() == [times[20]]


def test_fast_motion_of_one_texture_is_no_cut():
    moving = texture()
    frames = frames_at([i / 30 for i in range(60)], lambda i: moving[:, i * 20 % W :][:, :W])
    # the pixel difference alone would call every frame a cut: the guard is what holds
    g0, g1 = frames[0].grey(), frames[1].grey()
    assert cv2.absdiff(g0, g1).mean() > 27
    hists = [np.bincount((g >> 3).ravel(), minlength=CUT_HIST_BINS) / g.size for g in (g0, g1)]
    assert cut_score(g1, hists[1], g0, hists[0]) < 27
    out = run(frames)
    assert not out["scene_cut"].any()


def test_slow_fade_is_no_cut_but_a_fast_one_is():
    image = scene(7)

    def fade(n_frames):
        return lambda i: (image * max(0.0, 1 - i / n_frames)).astype(np.uint8)

    slow = run(frames_at([i / 30 for i in range(45)], fade(30)))  # to black over 1 s
    assert not slow["scene_cut"].any()
    flash = run(frames_at([i / 30 for i in range(45)], lambda i: image if i < 20 else image // 5))
    assert flash["scene_cut"].sum() == 1


def test_at_most_one_cut_per_min_scene():
    shots = [scene(s) for s in (8, 9, 10)]
    shot_of = [0] * 30 + [1] * 6 + [2] * 30  # a second cut 0.2 s after the first
    times = [i / 30 for i in range(len(shot_of))]
    out = run(frames_at(times, lambda i: shots[shot_of[i]]))
    assert out[TIME][out["scene_cut"] == 1].tolist() == [times[30]]
    out = run(frames_at(times, lambda i: shots[shot_of[i]]), config(min_scene_s=0.1))
    assert out[TIME][out["scene_cut"] == 1].tolist() == [times[30], times[36]]


def test_first_frame_is_no_cut():
    out = run(frames_at([0.0, 0.2], lambda i: scene(11)))
    assert out["scene_cut"].tolist() == [0, 0]


# --- brightness, saliency, flow -------------------------------------------------------------


def test_brightness_of_uniform_grey_frames():
    out = run(frames_at([0.0, 0.2, 0.4], lambda i: np.full((H, W, 3), (50, 100, 200)[i], np.uint8)),
              config(scene_threshold=300))  # fmt: skip
    assert out["brightness"] == pytest.approx([50 / 255, 100 / 255, 200 / 255], abs=2e-3)
    assert out["saliency"].tolist() == [0, 0, 0]  # nothing stands out of a flat frame


def pink_noise(seed: int) -> np.ndarray:
    """A grey 1/f texture: the spectrum of natural pictures, which spectral residual expects."""
    rng = np.random.default_rng(seed)
    fy, fx = np.fft.fftfreq(H)[:, None], np.fft.fftfreq(W)[None, :]
    radius = np.hypot(fx, fy)
    radius[0, 0] = 1.0
    image = np.real(np.fft.ifft2(np.fft.fft2(rng.normal(0, 1, (H, W))) / radius))
    return np.clip(110 + 35 * image / image.std(), 0, 255).astype(np.uint8)


@pytest.mark.parametrize("background", ["pink", "flat"])
def test_saliency_centroid_follows_the_salient_object(background):
    grey = pink_noise(0) if background == "pink" else np.full((H, W), 60, np.uint8)
    for cx, cy in ((120, 90), (530, 280), (330, 190)):
        image = np.stack([grey] * 3, axis=-1)
        cv2.circle(image, (cx, cy), 40, (250, 230, 90), -1)  # 2.2 % of the frame
        s = saliency(image)
        assert abs(s["saliency_x"] - cx / W) < 0.05 and abs(s["saliency_y"] - cy / H) < 0.05
        assert 0.005 < s["saliency"] < 0.1


def test_flow_columns_only_when_asked_and_higher_when_moving():
    moving = texture(sigma=6)

    def image(i):  # still for 0.5 s, then sliding 8 px a frame
        x = max(0, i - 14) * 8
        return moving[:, x : x + W]

    frames = frames_at([i / 30 for i in range(30)], image)
    assert FLOW_COLUMNS[0] not in run(frames)
    out = run(frames, config(optical_flow=True))
    t, flow = out[TIME], out[FLOW_COLUMNS[0]]
    # 8 px a frame at 640 wide and 30 fps = 0.375 frame widths per second
    assert flow[t > 0.55].min() > 0.2 and flow[t > 0.55].max() < 0.6
    assert flow[(t > 0) & (t < 0.45)].max() < 0.02


# --- the table ------------------------------------------------------------------------------


def test_columns_dtypes_and_empty_table():
    ex = VisualExtractor(ExtractConfig(text=False))
    assert ex.columns[0] == TIME and len(ex.columns) == 1 + len(VISUAL_COLUMNS) - 2 + EMBEDDING_DIM
    empty = ex.finish()
    assert list(empty) == ex.columns and all(len(v) == 0 for v in empty.values())
    for t in (0.0, 0.1, 0.2):
        ex.push(ArrayFrame(t, scene(12)))
    out = ex.finish()
    assert list(out) == ex.columns and all(len(v) == 2 for v in out.values())
    assert out["face_count"].dtype == np.int16 and out["scene_cut"].dtype == np.int8
    assert all(out[c].dtype == np.float32 for c in ("brightness", "motion", "face_x", "emb_0"))


def test_text_columns_left_out_when_ocr_is_unavailable(monkeypatch, caplog):
    monkeypatch.setattr(visual_module, "rapidocr_error", lambda: "rapidocr is not importable")
    with caplog.at_level(logging.WARNING):
        ex = VisualExtractor(config(text=True))
    assert "text_present" not in ex.columns and "text_area" not in ex.columns
    assert len(ex.warnings) == 1 and "text_present" in ex.warnings[0]
    assert sum("rapidocr" in r.getMessage() for r in caplog.records) == 1
    ex.push(ArrayFrame(0.0, scene(13)))
    assert "text_present" not in ex.finish()
    assert "text_present" not in VisualExtractor(config(text=False)).columns


# --- faces (a real photo) -------------------------------------------------------------------

# where OpenCV's cascade finds the astronaut's face in the 512x512 photo: box (177, 66, 95, 95)
ASTRONAUT_FACE_CENTRE = (224.5, 113.5)


def test_faces_on_a_real_photo():
    skdata = pytest.importorskip("skimage.data")
    photo = skdata.astronaut()
    x0, y0 = 620, 120
    background = (np.random.default_rng(0).normal(90, 12, (720, 1280, 3))).clip(0, 255)
    background = background.astype(np.uint8)
    with_face = background.copy()
    with_face[y0 : y0 + 512, x0 : x0 + 512] = photo
    # shown between two times the detector runs (FACE_RATE_HZ; no cut here), 10 fps
    every = 1 / visual_module.FACE_RATE_HZ
    start, stop = 2 * every, 4 * every
    times = [i / 10 for i in range(round(10 * (stop + 1)))]
    out = run(frames_at(times, lambda i: with_face if start <= times[i] < stop else background),
              config(faces=True))  # fmt: skip
    assert not out["scene_cut"].any()
    t, count = out[TIME], out["face_count"]
    shown = (t >= start) & (t < stop)
    assert count[shown].tolist() == [1] * int(shown.sum())
    assert count[~shown].tolist() == [0] * int((~shown).sum())
    cx, cy = (x0 + ASTRONAUT_FACE_CENTRE[0]) / 1280, (y0 + ASTRONAUT_FACE_CENTRE[1]) / 720
    assert np.abs(out["face_x"][shown] - cx).max() < 0.02
    assert np.abs(out["face_y"][shown] - cy).max() < 0.03
    assert np.abs(out["face_size"][shown] - 95 / 1280).max() < 0.02
    assert np.isnan(out["face_x"][~shown]).all() and np.isnan(out["face_size"][~shown]).all()


# --- text (rapidocr) ------------------------------------------------------------------------


def test_drawn_text_is_present_while_drawn():
    pytest.importorskip("rapidocr")
    plain = scene(14)
    captioned = plain.copy()
    cv2.rectangle(captioned, (40, 250), (600, 330), (10, 10, 10), -1)
    cv2.putText(captioned, "SCORE 1234", (60, 312), cv2.FONT_HERSHEY_SIMPLEX, 2.0,
                (255, 255, 255), 5)  # fmt: skip
    times = [i / 10 for i in range(60)]
    ex = VisualExtractor(config(text=True))
    assert not ex.warnings
    for i, t in enumerate(times):
        ex.push(ArrayFrame(t, captioned if 20 <= i < 40 else plain))
    out = ex.finish()
    t, present = out[TIME], out["text_present"]
    drawn = (t >= 2.0) & (t < 4.0)
    assert present.dtype == np.int8
    assert present[drawn].tolist() == [1] * int(drawn.sum())
    assert present[~drawn].tolist() == [0] * int((~drawn).sum())
    # the caption's box covers ~ 0.5 x 0.12 of the frame; text_area is its recognised share
    assert out["text_area"][drawn].min() > 0.03 and out["text_area"][drawn].max() < 0.25
    assert (out["text_area"][~drawn] == 0).all()


def test_ocr_runs_at_text_rate_and_holds_values(monkeypatch):
    calls = []

    class FakeReader:
        def __call__(self, rgb):
            calls.append(len(calls))
            return {"text_present": len(calls) % 2, "text_area": 0.1 * len(calls)}

    monkeypatch.setattr(visual_module, "rapidocr_error", lambda: None)
    monkeypatch.setattr(visual_module, "shared_text_reader", FakeReader)
    image = scene(15, (64, 36))
    moving = [CountingFrame(i / 30, np.roll(image, 3 * i, axis=1)) for i in range(90)]
    out = run(moving, config(text=True))
    assert len(calls) == 3  # at 0, 1 and 2 s
    assert out["text_area"].tolist() == pytest.approx([0.1] * 5 + [0.2] * 5 + [0.3] * 5)


def test_faces_run_at_their_rate_and_on_cuts(monkeypatch):
    seen = []

    class FakeFaces:
        def __call__(self, rgb):
            seen.append(int(rgb[0, 0, 0]))
            return {"face_count": len(seen), "face_x": 0.5, "face_y": 0.5, "face_size": 0.1}

    monkeypatch.setattr(visual_module, "FaceDetector", FakeFaces)
    shots = [np.full((36, 64, 3), v, np.uint8) for v in (40, 200)]
    # 30 fps for 2 s, a cut at frame 35 (1.1667 s)
    frames = [CountingFrame(i / 30, shots[i >= 35] + np.uint8(i // 3)) for i in range(60)]
    out = run(frames, config(faces=True))
    t = out[TIME]
    every = 1 / visual_module.FACE_RATE_HZ  # runs at k * every and at the cut
    runs = sorted([k * every for k in range(20) if k * every < 2] + [35 / 30])
    assert len(seen) == len(runs)
    # each row holds the run at or before it
    for row_time, count in zip(t, out["face_count"], strict=True):
        assert count == sum(r <= row_time + 1e-6 for r in runs)


def test_an_unchanged_picture_is_not_analysed_again(monkeypatch):
    """A static screen holds its faces and text; only a change (or a cut) runs them again."""
    runs = {"faces": 0, "text": 0}

    def counting(key):
        class Detector:
            def __call__(self, rgb):
                runs[key] += 1
                if key == "faces":
                    return {"face_count": 1, "face_x": 0.5, "face_y": 0.5, "face_size": 0.1}
                return {"text_present": 1, "text_area": 0.2}

        return Detector

    monkeypatch.setattr(visual_module, "FaceDetector", counting("faces"))
    monkeypatch.setattr(visual_module, "rapidocr_error", lambda: None)
    monkeypatch.setattr(visual_module, "shared_text_reader", counting("text"))
    still, changed = scene(3, (64, 36)), scene(9, (64, 36))
    frames = [CountingFrame(i / 30, still if i < 90 else changed) for i in range(150)]
    out = run(frames, config(faces=True, text=True))
    assert runs == {"faces": 2, "text": 2}  # the first frame, then the cut at 3 s
    assert out["face_count"].tolist() == [1] * len(out[TIME])
    assert out["text_present"].tolist() == [1] * len(out[TIME])
