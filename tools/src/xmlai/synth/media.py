"""A synthetic recording rendered as a video file with sound, its hidden events visible and
audible, so the product can be run end to end from video files.

    OUT/media/<name>.mp4    h264 yuv420p + AAC stereo 48 kHz; video frame k has pts k at time
                            base 1/fps, so the container's frame rate is exactly the plan's

What each hidden event looks or sounds like (sizes are shares of the frame):
  scene       a two-tone pattern in one hue (stripes, checks, dots, waves, grid, bricks); the
              next scene changes hue by >= 120 degrees and pattern, and dark (luma 40-60)
              and bright (150-170) scenes alternate, so a content detector (an HSV or a luma
              score >= 27, PySceneDetect's threshold) fires at the change and nowhere else
  action      the pattern scrolls fast and three big soft discs fly across; otherwise the
              background is still and only a small soft disc drifts (~2 px per frame)
  face        a face photo (assets/face.jpg, from skimage's astronaut) in the webcam box, a
              0.36 x 0.42 box centred at WEBCAM_CENTRE (0.27 / 0.73) in the plan's corner;
              the box is shown, empty, without the face; guest: a mirrored second face beside it
  text        a lower-third box, white words on near-black, away from a bottom webcam
  speech      espeak-ng phrases (assets/speech_*.flac) back to back with short pauses, at
              -20 dBFS, cut to each speech run; a guest's lines in the other voice
  background  game music (arpeggio, bass, hi-hat) at MUSIC_RMS x level: -31..-27 dBFS,
              -44 dBFS in dead air
  loud        an explosion: shaped noise and rumble peaking at 0.9 of full scale (-13 dBFS
              rms); the mix is clipped at 0.95
Everything is drawn from np.random.default_rng([seed, 4, index]), so a rerun decodes to the
same frames and samples (the container's bytes may differ by metadata).
"""

from __future__ import annotations

import functools
import os
import time
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from trackcore.atomic import atomic_path
from xmlai.synth.recording import WEBCAM_CENTRE, HiddenEvents, RecordingPlan

ASSETS = Path(__file__).with_name("assets")
SAMPLE_RATE = 48_000
DEFAULT_SIZE = (640, 360)
PRESET = "veryfast"
CRF = 20  # keeps the lower-third text sharp
MAX_GOP_S = 10.0  # keyframes at scene cuts (x264's scenecut) and at least this often
WEBCAM_BOX = (0.36, 0.42)  # width, height as shares of the frame's width, height
FACE_SIDE = 0.31  # a solo face photo's side, share of the frame height
TEXT_BOX_H = 0.12  # the lower-third box's height, share of the frame height
TEXT_TOP = 0.74
MUSIC_RMS = 0.2  # music rms = MUSIC_RMS * hidden.background
SPEECH_RMS = 0.1
LOUD_PEAK = 0.9
CLIP = 0.95  # the mix is clipped here, below full scale: AAC overshoots a little
TEXTS = (
    "GG WP",
    "NEW FOLLOWER",
    "BOSS FIGHT",
    "HYPE TRAIN",
    "ROUND TWO",
    "SUBSCRIBE",
    "LEVEL UP",
    "NICE SHOT",
    "DROPS ON",
    "VICTORY",
    "WAVE 5",
    "BRB",
)
TONE_STEP = 40  # the light tone of a pattern = the dark one + this in R, G and B (luma + 40)
PATTERNS = ("stripes", "checks", "dots", "waves", "grid", "bricks")
VOICES = ("a", "b")


def _import_av():
    """(av, cv2); an ImportError that says what to install."""
    try:
        import av
        import cv2
    except ImportError as exc:  # pragma: no cover - both come with mediafeat's extras
        raise ImportError(
            f"rendering media needs PyAV and OpenCV (pip install av opencv-python-headless): {exc}"
        ) from None
    return av, cv2


def check_media() -> None:
    """Raise ImportError now (before any work) if media cannot be rendered here."""
    _import_av()
    missing = [p.name for p in (ASSETS / "face.jpg",) if not p.is_file()]
    missing += [f"speech_{v}*.flac" for v in VOICES if not any(ASSETS.glob(f"speech_{v}*.flac"))]
    if missing:
        raise ImportError(f"xmlai's synth assets are missing from {ASSETS}: {missing}")


# ---- geometry ------------------------------------------------------------------------------

Box = tuple[int, int, int, int]  # x0, y0, x1, y1 in pixels, [x0, x1) x [y0, y1)


def webcam_box(webcam: tuple[bool, bool] | None, width: int, height: int) -> Box | None:
    """The webcam box, centred at WEBCAM_CENTRE of the plan's corner (None: no webcam)."""
    if webcam is None:
        return None
    bw, bh = round(WEBCAM_BOX[0] * width), round(WEBCAM_BOX[1] * height)
    cx, cy = WEBCAM_CENTRE[webcam[0]] * width, WEBCAM_CENTRE[webcam[1]] * height
    x0, y0 = round(cx - bw / 2), round(cy - bh / 2)
    return x0, y0, x0 + bw, y0 + bh


def face_boxes(webcam: tuple[bool, bool] | None, width: int, height: int, guest: bool) -> list:
    """Where the face photos go: one centred in the webcam box, or two side by side."""
    box = webcam_box(webcam, width, height)
    if box is None:
        return []
    x0, y0, x1, y1 = box
    cx, cy = (x0 + x1) // 2, (y0 + y1) // 2
    side = min(round(FACE_SIDE * height), y1 - y0 - 4)
    if not guest:
        return [(cx - side // 2, cy - side // 2, cx - side // 2 + side, cy - side // 2 + side)]
    gap = max(2, (x1 - x0) // 60)
    side = min(side, (x1 - x0 - 3 * gap) // 2)
    return [
        (cx - gap // 2 - side, cy - side // 2, cx - gap // 2, cy - side // 2 + side),
        (cx + gap - gap // 2, cy - side // 2, cx + gap - gap // 2 + side, cy - side // 2 + side),
    ]


def text_box(webcam: tuple[bool, bool] | None, width: int, height: int) -> Box:
    """Where the lower-third box goes: beside a bottom webcam, else in the middle. The box is
    centred in this region and as wide as its words."""
    y0 = round(TEXT_TOP * height)
    y1 = y0 + round(TEXT_BOX_H * height)
    if webcam is not None and webcam[1]:
        x0, x1 = (0.04, 0.5) if webcam[0] else (0.5, 0.96)
    else:
        x0, x1 = 0.22, 0.78
    return round(x0 * width), y0, round(x1 * width), y1


# ---- assets --------------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def face_photo() -> np.ndarray:
    """(128, 128, 3) uint8 RGB."""
    _, cv2 = _import_av()
    image = cv2.imread(str(ASSETS / "face.jpg"), cv2.IMREAD_COLOR)
    if image is None:
        raise FileNotFoundError(ASSETS / "face.jpg")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def _upsample3(x: np.ndarray) -> np.ndarray:
    """16 kHz -> 48 kHz by zero-padding the spectrum (band-limited, no imaging)."""
    spectrum = np.fft.rfft(x)
    padded = np.zeros(3 * len(x) // 2 + 1, dtype=complex)
    padded[: len(spectrum)] = spectrum
    return np.fft.irfft(padded, 3 * len(x)) * 3.0


@functools.lru_cache(maxsize=1)
def speech_phrases() -> dict[str, tuple[np.ndarray, ...]]:
    """voice -> phrases as float32 at 48 kHz, each at SPEECH_RMS."""
    av, _ = _import_av()
    out = {}
    for voice in VOICES:
        phrases = []
        for path in sorted(ASSETS.glob(f"speech_{voice}*.flac")):
            with av.open(str(path)) as container:
                rate = container.streams.audio[0].rate
                chunks = [f.to_ndarray().reshape(-1) for f in container.decode(audio=0)]
            if rate != SAMPLE_RATE // 3:  # pragma: no cover - the committed assets are 16 kHz
                raise ValueError(f"{path}: {rate} Hz, expected 16 kHz")
            y = _upsample3(np.concatenate(chunks).astype(np.float64) / 32768.0)
            phrases.append((y * (SPEECH_RMS / np.sqrt(np.mean(y**2)))).astype(np.float32))
        if not phrases:
            raise FileNotFoundError(ASSETS / f"speech_{voice}*.flac")
        out[voice] = tuple(phrases)
    return out


# ---- picture -------------------------------------------------------------------------------


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    edges = np.flatnonzero(np.diff(np.concatenate([[0], mask.astype(np.int8), [0]])))
    return list(zip(edges[0::2].tolist(), edges[1::2].tolist(), strict=True))


LUMA = np.array([0.299, 0.587, 0.114])  # BT.601, as OpenCV's RGB2GRAY


def colour_of(hue: float, sat: float, luma: float) -> np.ndarray:
    """(3,) uint8 RGB of the hue (degrees) and saturation (0..1) with the given luma
    (0..255): scaled down from full value, or mixed toward white where it cannot reach it."""
    h6 = (hue % 360.0) / 60.0
    x = 1.0 - abs(h6 % 2.0 - 1.0)
    rgb = [(1, x, 0), (x, 1, 0), (0, 1, x), (0, x, 1), (x, 0, 1), (1, 0, x)][int(h6) % 6]
    full = 255.0 * (1.0 - sat * (1.0 - np.array(rgb)))  # HSV with value 1
    own = float(LUMA @ full)
    if luma <= own:
        out = full * (luma / own)
    else:  # luma + k * (full - own), the largest k <= 1 that stays within 0..255
        chroma = full - own
        room = np.where(chroma > 0, (255.0 - luma) / np.maximum(chroma, 1e-9), np.inf)
        room = np.minimum(room, np.where(chroma < 0, luma / np.maximum(-chroma, 1e-9), np.inf))
        out = luma + min(1.0, float(room.min())) * chroma
    return np.clip(np.round(out), 0, 255).astype(np.uint8)


def _pattern(kind: str, period: int) -> np.ndarray:
    """(period, period) bool tile of a periodic pattern."""
    yy, xx = np.mgrid[0:period, 0:period].astype(np.float64)
    p, half = float(period), period / 2.0
    if kind == "stripes":
        return ((xx + yy) % p) < half
    if kind == "checks":
        return (xx < half) ^ (yy < half)
    if kind == "dots":
        return (xx - half) ** 2 + (yy - half) ** 2 < (0.3 * p) ** 2
    if kind == "waves":
        return ((yy + 0.3 * p * np.sin(2 * np.pi * xx / p)) % p) < half
    if kind == "grid":
        return (xx < 0.14 * p) | (yy < 0.14 * p)
    if kind == "bricks":
        row = (yy // half).astype(np.int64)
        shifted = (xx + row * half) % p
        return ((yy % half) < 0.16 * p) | (shifted < 0.16 * p)
    raise ValueError(kind)


@dataclass
class SceneLook:
    pattern: str
    hue: float  # degrees
    dark: np.ndarray  # (3,) uint8 RGB
    light: np.ndarray


def scene_looks(rng: np.random.Generator, n_scenes: int) -> list[SceneLook]:
    """One look per scene; consecutive scenes differ in hue (>= 120 degrees on a 12-step
    wheel) and pattern, and alternate between dark saturated colours (luma 40-60) and bright
    pale ones (luma 150-170), so the luma alone tells them apart."""
    looks: list[SceneLook] = []
    step, pattern = int(rng.integers(12)), int(rng.integers(len(PATTERNS)))
    parity = int(rng.integers(2))
    for s in range(n_scenes):
        if s:
            step = (step + int(rng.integers(4, 9))) % 12
            pattern = (pattern + int(rng.integers(1, len(PATTERNS)))) % len(PATTERNS)
            parity = 1 - parity
        hue = 30.0 * step
        if parity:  # dark and saturated
            dark = colour_of(hue, rng.uniform(0.8, 1.0), rng.uniform(40.0, 60.0))
        else:  # bright and pale
            dark = colour_of(hue, rng.uniform(0.4, 0.6), rng.uniform(150.0, 170.0))
        light = np.minimum(dark.astype(np.int64) + TONE_STEP, 255).astype(np.uint8)
        looks.append(SceneLook(PATTERNS[pattern], hue, dark, light))
    return looks


def _text_image(cv2, label: str, max_width: int, height: int) -> np.ndarray:
    """White words on a near-black box with a yellow rule above and below; as wide as the
    words (at most max_width), glyphs about half the box's height."""
    font = cv2.FONT_HERSHEY_DUPLEX
    thickness = max(1, round(height / 22))
    (w1, h1), _ = cv2.getTextSize(label, font, 1.0, thickness)
    margin = max(4, height // 3)
    scale = min(0.52 * height / h1, (max_width - 2 * margin) / w1)
    (tw, th), _ = cv2.getTextSize(label, font, scale, thickness)
    image = np.full((height, min(max_width, tw + 2 * margin), 3), 16, dtype=np.uint8)
    border = max(1, height // 24)
    image[:border], image[-border:] = (250, 200, 40), (250, 200, 40)
    org = (margin, (height + th) // 2)
    cv2.putText(image, label, org, font, scale, (255, 255, 255), thickness, cv2.LINE_AA)
    return image


def _soft_disc(radius: int) -> np.ndarray:
    """(2r, 2r) float32 alpha of a disc with a soft edge (no outline an OCR could read)."""
    yy, xx = np.mgrid[0 : 2 * radius, 0 : 2 * radius] + 0.5 - radius
    d = np.sqrt(xx**2 + yy**2) / radius
    return np.clip((1.0 - d) / 0.35, 0.0, 1.0).astype(np.float32) ** 1.5


def _blend(out: np.ndarray, x: int, y: int, alpha: np.ndarray, colour: np.ndarray) -> None:
    """Paint `colour` through `alpha` with its top-left corner at (x, y), clipped."""
    h, w = out.shape[:2]
    a0, b0 = max(0, -y), max(0, -x)
    a1, b1 = min(alpha.shape[0], h - y), min(alpha.shape[1], w - x)
    if a0 >= a1 or b0 >= b1:
        return
    region = out[y + a0 : y + a1, x + b0 : x + b1]
    a = alpha[a0:a1, b0:b1, None]
    region[:] = (region * (1.0 - a) + colour * a + 0.5).astype(np.uint8)


class Picture:
    """The frames of one recording; `frame(f)` returns the (h, w, 3) uint8 RGB image of
    frame f (a buffer reused by the next call)."""

    def __init__(
        self,
        rng: np.random.Generator,
        plan: RecordingPlan,
        hidden: HiddenEvents,
        width: int,
        height: int,
    ) -> None:
        _, cv2 = _import_av()
        self.cv2 = cv2
        self.hidden, self.w, self.h = hidden, width, height
        n, fps = hidden.n_frames, float(hidden.fps)
        self.period = max(8, round(height / 4.5 / 2) * 2)
        self.looks = scene_looks(rng, int(hidden.scene.max()) + 1)
        self._textures: dict[int, np.ndarray] = {}
        # action: the pattern scrolls; shapes fly while action lasts
        moving = np.cumsum(hidden.action.astype(np.int64))
        p = self.period
        self.ox = (moving * max(2, round(0.022 * width)) + int(rng.integers(p))) % p
        self.oy = (moving * max(1, round(0.005 * width)) + int(rng.integers(p))) % p
        r, k = max(4, round(0.09 * height)), 3
        start = rng.uniform(0, 1, (k, 2)) * (width + 2 * r, height + 2 * r)
        angle = rng.uniform(0, 2 * np.pi, k)
        speed = rng.uniform(0.025, 0.04, k) * width
        vel = np.stack([np.cos(angle), np.sin(angle)], axis=1) * speed[:, None]
        span = np.array([width + 2 * r, height + 2 * r])
        pos = (start[None] + moving[:, None, None] * vel[None]) % span - 2 * r
        self.shapes = np.round(pos).astype(np.int64)  # (n, k, 2): top-left corners
        self.ball = _soft_disc(r)
        self.ball_colours = np.array([(255, 235, 70), (250, 250, 250), (255, 90, 210)], np.float32)
        # the sprite drifts slowly all the time
        t = np.arange(n) / fps
        r_sprite = max(3, round(0.045 * height))
        phase = rng.uniform(0, 2 * np.pi, 2)
        sx = 0.42 * width + 0.14 * width * np.sin(2 * np.pi * t / 7.3 + phase[0])
        sy = 0.40 * height + 0.12 * height * np.sin(2 * np.pi * t / 5.1 + phase[1])
        self.sprite_xy = np.stack([np.round(sx), np.round(sy)], axis=1).astype(np.int64)
        self.sprite = _soft_disc(r_sprite)
        self.sprite_colour = np.array((80, 230, 255), np.float32)
        # the webcam box: empty, one face, two faces
        self.cam = webcam_box(plan.webcam, width, height)
        self.cam_images: list[np.ndarray] = []
        if self.cam is not None:
            x0, y0, x1, y1 = self.cam
            shade = np.linspace(1.0, 0.7, y1 - y0)[:, None, None]
            wall = rng.uniform(60, 110, 3)
            empty = np.broadcast_to(wall * shade, (y1 - y0, x1 - x0, 3)).astype(np.uint8).copy()
            face = face_photo()
            self.cam_images.append(empty)
            for guest in (False, True):
                image = empty.copy()
                for j, (fx0, fy0, fx1, fy1) in enumerate(
                    face_boxes(plan.webcam, width, height, guest)
                ):
                    photo = face if j == 0 else face[:, ::-1]
                    size = (fx1 - fx0, fy1 - fy0)
                    interp = cv2.INTER_AREA if size[0] < photo.shape[1] else cv2.INTER_LINEAR
                    photo = cv2.resize(np.ascontiguousarray(photo), size, interpolation=interp)
                    image[fy0 - y0 : fy1 - y0, fx0 - x0 : fx1 - x0] = photo
                self.cam_images.append(image)
            self.cam_state = np.where(hidden.face, 1 + hidden.guest.astype(np.int64), 0)
        # text: a phrase per segment of each text run, changing every 2.5-4 s
        self.tbox = text_box(plan.webcam, width, height)
        self.label = np.full(n, -1, dtype=np.int64)
        last = -1
        for s, e in _runs(hidden.text):
            pos = s
            while pos < e:
                length = max(1, round(rng.uniform(2.5, 4.0) * fps))
                choice = int(rng.integers(len(TEXTS) - 1))
                last = choice + 1 if choice >= last >= 0 else choice  # never the same twice
                self.label[pos : min(pos + length, e)] = last
                pos += length
        tx0, ty0, tx1, ty1 = self.tbox
        self._labels = {}  # label -> (x0, image)
        for k in np.unique(self.label[self.label >= 0]).tolist():
            image = _text_image(cv2, TEXTS[k], tx1 - tx0, ty1 - ty0)
            self._labels[k] = ((tx0 + tx1 - image.shape[1]) // 2, image)
        self.buffer = np.empty((height, width, 3), dtype=np.uint8)

    def texture(self, scene: int) -> np.ndarray:
        """(h + period, w + period, 3): the scene's pattern, sliced to scroll."""
        if scene not in self._textures:
            if len(self._textures) > 4:
                self._textures.clear()
            look, p = self.looks[scene], self.period
            mask = np.tile(_pattern(look.pattern, p).astype(np.float32), (3, 3))
            sigma = max(0.5, p / 16)  # soft edges: a pattern, not strokes an OCR reads
            mask = self.cv2.GaussianBlur(mask, (0, 0), sigma)[p : 2 * p, p : 2 * p, None]
            tile = np.round(look.dark + mask * (look.light.astype(np.float32) - look.dark))
            reps = (-(-(self.h + p) // p), -(-(self.w + p) // p), 1)
            big = np.tile(tile.astype(np.uint8), reps)[: self.h + p, : self.w + p]
            self._textures[scene] = np.ascontiguousarray(big)
        return self._textures[scene]

    def frame(self, f: int) -> np.ndarray:
        h, w, out = self.h, self.w, self.buffer
        tex = self.texture(int(self.hidden.scene[f]))
        ox, oy = int(self.ox[f]), int(self.oy[f])
        np.copyto(out, tex[oy : oy + h, ox : ox + w])
        _blend(out, *self.sprite_xy[f].tolist(), self.sprite, self.sprite_colour)
        if self.hidden.action[f]:
            for (x, y), colour in zip(self.shapes[f].tolist(), self.ball_colours, strict=True):
                _blend(out, x, y, self.ball, colour)
        if self.cam is not None:
            x0, y0, x1, y1 = self.cam
            out[y0:y1, x0:x1] = self.cam_images[self.cam_state[f]]
        if self.label[f] >= 0:
            x0, image = self._labels[int(self.label[f])]
            y0 = self.tbox[1]
            out[y0 : y0 + image.shape[0], x0 : x0 + image.shape[1]] = image
        return out


# ---- sound ---------------------------------------------------------------------------------


def sample_of_frame(f, fps: Fraction) -> np.ndarray:
    """First audio sample of frame f (f may be an array)."""
    return np.asarray(f, dtype=np.int64) * SAMPLE_RATE * fps.denominator // fps.numerator


def n_samples(n_frames: int, fps: Fraction) -> int:
    return int(sample_of_frame(n_frames, fps))


def _music(rng: np.random.Generator, n: int) -> np.ndarray:
    """Loopy game music at rms 1: a square-ish arpeggio, a bass line and a hi-hat."""
    t = np.arange(n) / SAMPLE_RATE
    step_s = 60.0 / rng.uniform(100.0, 140.0) / 2.0  # eighth notes
    idx = (t // step_s).astype(np.int64)
    tau = t - idx * step_s
    root = rng.integers(45, 57)
    scale = np.array([0, 3, 5, 7, 10, 12, 15, 17, 19, 22])
    melody = root + 12 + scale[rng.integers(0, len(scale), 16)]
    bass_roots = root + np.array([0, -5, -3, -7])[rng.permutation(4)]
    note = melody[idx % 16]
    bass = bass_roots[(idx // 8) % 4]
    freq = 440.0 * 2.0 ** ((note - 69) / 12.0)
    bass_freq = 440.0 * 2.0 ** ((bass - 69) / 12.0)
    attack = np.minimum(1.0, tau / 0.005)
    lead = sum(np.sin(2 * np.pi * k * freq * tau) / k for k in (1, 3, 5))
    lead *= attack * np.exp(-tau / 0.12)
    low = np.sin(2 * np.pi * bass_freq * t) * np.minimum(1.0, tau / 0.005) * np.exp(-tau / 0.3)
    hat = rng.standard_normal(n) * np.exp(-tau / 0.015) * (idx % 2 == 1)
    x = 0.5 * lead + 0.8 * low + 0.25 * hat
    return x / np.sqrt(np.mean(x**2))


def _explosion(rng: np.random.Generator, length: int) -> np.ndarray:
    """A burst of shaped noise and rumble, peak LOUD_PEAK."""
    noise = rng.standard_normal(length)
    spectrum = np.fft.rfft(noise)
    f = np.fft.rfftfreq(length, 1.0 / SAMPLE_RATE)
    spectrum /= np.sqrt(1.0 + f / 150.0)  # pink-ish: more boom than hiss
    body = np.fft.irfft(spectrum, length)
    t = np.arange(length) / SAMPLE_RATE
    rumble = np.sin(2 * np.pi * rng.uniform(40.0, 60.0) * t) * body.std() * 1.5
    envelope = np.minimum(1.0, t / 0.004) * (0.55 + 0.45 * np.exp(-t / 0.3))
    envelope *= np.minimum(1.0, (length - np.arange(length)) / (0.04 * SAMPLE_RATE))
    x = (body + rumble) * envelope
    return x * (LOUD_PEAK / np.max(np.abs(x)))


def _fade_out(x: np.ndarray, samples: int) -> np.ndarray:
    k = min(samples, len(x))
    if k:
        x = x.copy()
        x[-k:] *= np.linspace(1.0, 0.0, k)
    return x


def soundtrack(rng: np.random.Generator, hidden: HiddenEvents) -> np.ndarray:
    """(n_samples,) float32 mono mix at SAMPLE_RATE: music at the background level, speech
    over each speech run, an explosion over each loud run."""
    fps = hidden.fps
    n = n_samples(hidden.n_frames, fps)
    starts = sample_of_frame(np.arange(hidden.n_frames + 1), fps)
    music_rng, speech_rng, loud_rng = rng.spawn(3)
    # background level per sample, stepping at frame starts with a 10 ms ramp
    frame = np.minimum(np.arange(n) * fps.numerator // (SAMPLE_RATE * fps.denominator),
                       hidden.n_frames - 1)  # fmt: skip
    level = hidden.background[frame].astype(np.float64)
    ramp = max(1, SAMPLE_RATE // 100)
    total = np.cumsum(np.pad(level, (ramp // 2 + 1, ramp - 1 - ramp // 2), mode="edge"))
    level = (total[ramp:] - total[:-ramp]) / ramp  # a moving average: 10 ms ramps
    mix = _music(music_rng, n) * (MUSIC_RMS * level)
    # speech: phrases back to back with 0.12-0.28 s pauses, cut at the end of the run
    phrases = speech_phrases()
    host = VOICES[int(speech_rng.integers(len(VOICES)))]
    other = VOICES[1 - VOICES.index(host)]
    last = {v: -1 for v in VOICES}
    fade = SAMPLE_RATE // 100
    for s, e in _runs(hidden.speech):
        pos, end = int(starts[s]) + int(speech_rng.integers(0, SAMPLE_RATE // 12)), int(starts[e])
        while pos < end:
            f = min(
                int(pos * fps.numerator // (SAMPLE_RATE * fps.denominator)), hidden.n_frames - 1
            )
            voice = other if hidden.guest[f] and speech_rng.random() < 0.5 else host
            k = int(speech_rng.integers(len(phrases[voice]) - 1))
            k = k + 1 if k >= last[voice] >= 0 else k  # never the same phrase twice
            last[voice] = k
            clip = phrases[voice][k][: end - pos]
            if pos + len(phrases[voice][k]) > end:
                clip = _fade_out(clip, fade)
            mix[pos : pos + len(clip)] += clip
            pos += len(clip) + int(speech_rng.uniform(0.12, 0.28) * SAMPLE_RATE)
    for s, e in _runs(hidden.loud):
        a, b = int(starts[s]), int(starts[e])
        mix[a:b] += _explosion(loud_rng, b - a)
    return np.clip(mix, -CLIP, CLIP).astype(np.float32)


# ---- the file ------------------------------------------------------------------------------


@dataclass
class MediaInfo:
    path: Path
    n_frames: int
    n_samples: int
    seconds: float
    elapsed_s: float

    @property
    def frames_per_s(self) -> float:
        return self.n_frames / max(self.elapsed_s, 1e-9)


def render_media(
    plan: RecordingPlan,
    hidden: HiddenEvents,
    path: str | Path,
    seed: int,
    index: int,
    size: tuple[int, int] = DEFAULT_SIZE,
) -> MediaInfo:
    """Write the recording as an mp4 at `path` (via a temporary file renamed into place)."""
    av, _ = _import_av()
    started = time.perf_counter()
    width, height = (int(v) for v in size)
    fps = Fraction(hidden.fps)
    path = Path(path)
    picture_rng, sound_rng = np.random.default_rng([seed, 4, index]).spawn(2)
    picture = Picture(picture_rng, plan, hidden, width, height)
    audio = soundtrack(sound_rng, hidden)
    stereo = np.ascontiguousarray(np.stack([audio, audio]))
    frame_tb, sample_tb = Fraction(fps.denominator, fps.numerator), Fraction(1, SAMPLE_RATE)
    chunk = 1024
    with atomic_path(path) as tmp, av.open(str(tmp), mode="w", format="mp4") as container:
        video = container.add_stream(
            "libx264",
            rate=fps,
            options={"preset": PRESET, "crf": str(CRF), "g": str(round(MAX_GOP_S * fps))},
        )
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.time_base = frame_tb
        video.codec_context.time_base = frame_tb
        sound = container.add_stream(
            "aac", rate=SAMPLE_RATE, layout="stereo", options={"aac_coder": "fast", "b": "160k"}
        )
        sound.time_base = sample_tb
        done = 0
        for f in range(hidden.n_frames):
            image = av.VideoFrame.from_ndarray(picture.frame(f), format="rgb24")
            image.pts, image.time_base = f, frame_tb
            container.mux(video.encode(image))
            until = len(audio) if f == hidden.n_frames - 1 else sample_of_frame(f + 1, fps)
            while done < until and (until - done >= chunk or until == len(audio)):
                stop = min(done + chunk, until)
                block = av.AudioFrame.from_ndarray(
                    stereo[:, done:stop], format="fltp", layout="stereo"
                )
                block.sample_rate, block.pts, block.time_base = SAMPLE_RATE, done, sample_tb
                container.mux(sound.encode(block))
                done = stop
        container.mux(video.encode(None))
        container.mux(sound.encode(None))
    return MediaInfo(
        path,
        hidden.n_frames,
        len(audio),
        hidden.n_frames * fps.denominator / fps.numerator,
        time.perf_counter() - started,
    )


def write_media(
    edit, root: Path, seed: int, index: int, size=DEFAULT_SIZE
) -> tuple[str, MediaInfo]:
    """Render a `SynthEdit`'s recording as root/media/<source_video_name> (the file the edit
    refers to); returns its path relative to root and what was written."""
    folder = Path(root) / "media"
    folder.mkdir(parents=True, exist_ok=True)
    info = render_media(edit.plan, edit.hidden, folder / edit.source_video_name, seed, index, size)
    return f"media/{edit.source_video_name}", info


class MediaQueue:
    """Renders recordings on worker threads while the corpus goes on (PyAV and x264 let go
    of the GIL while they encode: about 1.8x on 2 cores). `submit` returns the file's path at
    once; `finish` waits and returns what was written, in submission order, raising the
    first failure; leaving the `with` block cancels what has not started."""

    def __init__(self, root: Path, seed: int, size=DEFAULT_SIZE, workers: int | None = None,
                 on_done=None) -> None:  # fmt: skip
        from concurrent.futures import ThreadPoolExecutor

        if workers is None:
            workers = min(8, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                          else os.cpu_count() or 1)  # fmt: skip
        self.root, self.seed, self.size = Path(root), seed, size
        self.pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="media")
        self.jobs: list = []
        self.on_done = on_done

    def submit(self, edit, index: int) -> str:
        job = self.pool.submit(write_media, edit, self.root, self.seed, index, self.size)
        if self.on_done is not None:
            job.add_done_callback(lambda _: self.on_done())
        self.jobs.append(job)
        return f"media/{edit.source_video_name}"

    def finish(self) -> list[MediaInfo]:
        return [job.result()[1] for job in self.jobs]

    def __enter__(self) -> MediaQueue:
        return self

    def __exit__(self, *exc) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)
