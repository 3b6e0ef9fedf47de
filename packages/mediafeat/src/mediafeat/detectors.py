"""Per-sample detectors on the analysis image: faces (Haar), saliency (spectral residual) and
on-screen text (rapidocr). Each returns its columns as a dict, so the extractor stays generic."""

from __future__ import annotations

import functools

import cv2
import numpy as np

from mediafeat.errors import ModelFileError

FACE_CASCADE = "haarcascade_frontalface_default.xml"
# Haar's cost grows with the pixels scanned. Measured on one core, a textured 1080p frame at
# 640 px analysis size: 480 px 46 ms a run (flat frames 27), 400 px 31 ms (flat 19), 640 px
# with step 1.1 about 110 ms. 480 px finds faces from 1/20 of the frame width (the cascade's
# 24 px window) up; 400 px missed a face 1/16 wide. So 480 px, run at a lower rate than the
# samples (visual.FACE_RATE_HZ) to pay for it.
FACE_SIDE = 480
FACE_SCALE_STEP = 1.15  # 1.2 misses faces that fall between its coarse scales
FACE_MIN = (24, 24)  # the cascade's own window
FACE_NEIGHBOURS = 4  # 3 adds boxes (coin and gravel textures, twice one face); 5 loses faces

SALIENCY_SIZE = 64  # Hou & Zhang work on a 64 px image: the residual is a coarse, global cue
SALIENCY_FACTOR = 3.0  # salient = above 3x the map's mean (Hou & Zhang's object threshold)

TEXT_MIN_SCORE = 0.5  # recognition confidence; detection alone also fires on shapes
TEXT_MIN_CHARS = 2
TEXT_PARAMS = {
    "Det.limit_type": "max",  # the default (min side 736) upscales a 640 image: 770 ms a call
    "Det.limit_side_len": 480,
    "Global.use_cls": False,  # on-screen text is upright; the 180-degree classifier costs time
    "Global.log_level": "error",
    "Global.text_score": TEXT_MIN_SCORE,
    "EngineConfig.onnxruntime.intra_op_num_threads": 1,  # worker processes run side by side
    "EngineConfig.onnxruntime.inter_op_num_threads": 1,
}


def _grey(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)


class FaceDetector:
    """OpenCV's Haar frontal-face cascade. The grey image is NOT equalised: equalizeHist stopped
    all detections in the measurements this is tuned on."""

    def __init__(self, side: int = FACE_SIDE):
        data = getattr(cv2, "data", None)  # OpenCV 5 wheels ship no cascades (and no cv2.data)
        path = (data.haarcascades if data is not None else "") + FACE_CASCADE
        self._cascade = cv2.CascadeClassifier(path)
        if self._cascade.empty():
            raise ModelFileError("OpenCV's Haar face cascade is missing", source=path)
        self._side = side

    def __call__(self, rgb: np.ndarray) -> dict[str, float]:
        grey = _grey(rgb)
        h, w = grey.shape
        scale = min(1.0, self._side / max(h, w))
        if scale < 1.0:
            size = (round(w * scale), round(h * scale))
            grey = cv2.resize(grey, size, interpolation=cv2.INTER_AREA)
        faces = self._cascade.detectMultiScale(
            grey, FACE_SCALE_STEP, FACE_NEIGHBOURS, minSize=FACE_MIN
        )
        if len(faces) == 0:
            return {"face_count": 0, "face_x": np.nan, "face_y": np.nan, "face_size": np.nan}
        x, y, fw, fh = max(faces, key=lambda f: f[2] * f[3])
        gh, gw = grey.shape
        return {
            "face_count": len(faces),
            "face_x": (x + fw / 2) / gw,
            "face_y": (y + fh / 2) / gh,
            "face_size": fw / gw,
        }


def saliency_map(rgb: np.ndarray) -> np.ndarray | None:
    """Spectral residual saliency (Hou & Zhang 2007), (64, 64) float, max 1; None when flat."""
    small = cv2.resize(_grey(rgb), (SALIENCY_SIZE, SALIENCY_SIZE), interpolation=cv2.INTER_AREA)
    small = small.astype(np.float64)
    if small.std() < 1.0:  # a flat frame has no spectrum to speak of: nothing stands out
        return None
    spectrum = np.fft.fft2(small)
    # log(1 + |F|), not log|F|: the exact spectral zeros of drawn shapes would dominate
    log_amp = np.log1p(np.abs(spectrum))
    residual = log_amp - cv2.blur(log_amp, (3, 3), borderType=cv2.BORDER_WRAP)
    sal = np.abs(np.fft.ifft2(np.exp(residual + 1j * np.angle(spectrum)))) ** 2
    sal = cv2.GaussianBlur(sal, (11, 11), 3)  # OpenCV contrib's smoothing for the same method
    low, high = float(sal.min()), float(sal.max())  # to 0..1 as Hou & Zhang do (mat2gray)
    return (sal - low) / max(high - low, 1e-12)


def saliency(rgb: np.ndarray) -> dict[str, float]:
    """`saliency`: share of the map above 3x its mean; `saliency_x/y`: the centroid of that
    salient part, weighted by the map (the whole map's centroid sits near the middle whatever
    the picture: the residual of a textured background is spread everywhere)."""
    sal = saliency_map(rgb)
    if sal is None:
        return {"saliency": 0.0, "saliency_x": 0.5, "saliency_y": 0.5}
    salient = sal > SALIENCY_FACTOR * sal.mean()
    weights = np.where(salient, sal, 0.0) if salient.any() else sal
    centres = (np.arange(SALIENCY_SIZE) + 0.5) / SALIENCY_SIZE
    total = float(weights.sum())
    return {
        "saliency": float(salient.mean()),
        "saliency_x": float(weights.sum(axis=0) @ centres / total),
        "saliency_y": float(weights.sum(axis=1) @ centres / total),
    }


def rapidocr_error() -> str | None:
    """Why OCR cannot run here (None when it can)."""
    try:
        import rapidocr  # noqa: F401
    except Exception as exc:  # ImportError, or one of its own dependencies failing to load
        return f"rapidocr is not importable ({type(exc).__name__}: {exc})"
    return None


class TextReader:
    """On-screen text by rapidocr's PP-OCR models (inside its wheel): detect, recognise, and keep
    lines with a recognition score >= TEXT_MIN_SCORE and >= TEXT_MIN_CHARS non-space characters."""

    def __init__(self):
        from rapidocr import RapidOCR

        self._ocr = RapidOCR(params=TEXT_PARAMS)
        self(self._probe_image())  # loads both models now, so a broken install fails here

    @staticmethod
    def _probe_image() -> np.ndarray:
        img = np.zeros((96, 320, 3), np.uint8)
        cv2.putText(img, "OK 42", (20, 70), cv2.FONT_HERSHEY_SIMPLEX, 2.0, (255, 255, 255), 4)
        return img

    def __call__(self, rgb: np.ndarray) -> dict[str, float]:
        result = self._ocr(np.ascontiguousarray(rgb[..., ::-1]))  # rapidocr takes arrays as BGR
        boxes = _kept_boxes(result)
        if not boxes:
            return {"text_present": 0, "text_area": 0.0}
        return {"text_present": 1, "text_area": _union_share(boxes, rgb.shape[:2])}


@functools.cache
def shared_text_reader() -> TextReader:
    """One reader per process: loading the models costs ~0.8 s, more than a minute of OCR runs,
    and a worker extracts many recordings. (A failure is not cached: the next one retries.)"""
    return TextReader()


def _kept_boxes(result) -> list[np.ndarray]:
    boxes, txts, scores = (getattr(result, k, None) for k in ("boxes", "txts", "scores"))
    if boxes is None or txts is None or scores is None:
        return []
    return [
        np.asarray(box, np.float32)
        for box, txt, score in zip(boxes, txts, scores, strict=False)
        if score >= TEXT_MIN_SCORE and len("".join(str(txt).split())) >= TEXT_MIN_CHARS
    ]


def _union_share(boxes: list[np.ndarray], shape: tuple[int, int], cell: int = 4) -> float:
    """Share of the image covered by the union of the (4, 2) boxes, rasterised at 1/cell size."""
    h, w = shape
    mask = np.zeros((max(1, h // cell), max(1, w // cell)), np.uint8)
    polys = [np.round(b / cell).astype(np.int32).reshape(-1, 1, 2) for b in boxes]
    cv2.fillPoly(mask, polys, 1)
    return float(mask.mean())
