"""Image embeddings of sampled frames: a built-in one (no model) and a user's CLIP ONNX encoder.

No package on PyPI ships CLIP weights that run offline here, so the built-in embedding is a
colour layout (a 16x9 Lab thumbnail) plus a colour distribution (an HSV histogram): it tells
shots apart and stays close within one, which is what an edit model needs from it.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from mediafeat.errors import ModelFileError

THUMB_W, THUMB_H = 16, 9
HIST_BINS = (8, 4, 4)  # hue, saturation, value
EMBEDDING_DIM = THUMB_W * THUMB_H * 3 + int(np.prod(HIST_BINS))  # 432 + 128 = 560
LAYOUT_FLOOR = 8.0 * np.sqrt(THUMB_W * THUMB_H * 3)  # an RMS of 8 Lab units
LAYOUT_WEIGHT = 0.8  # share of the squared norm for the layout; the histogram has the rest

CLIP_MEAN = np.array([0.48145466, 0.4578275, 0.40821073], dtype=np.float32)
CLIP_STD = np.array([0.26862954, 0.26130258, 0.27577711], dtype=np.float32)
CLIP_DEFAULT_SIZE = 224
CLIP_BATCH = 8


def _unit(v: np.ndarray) -> np.ndarray:
    n = float(np.linalg.norm(v))
    return v / n if n > 1e-12 else v


def _layout(rgb: np.ndarray) -> np.ndarray:
    small = cv2.resize(rgb, (THUMB_W, THUMB_H), interpolation=cv2.INTER_AREA)
    lab = cv2.cvtColor(small.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab).reshape(-1, 3)
    # lightness relative to the image's own mean: an exposure change keeps the layout, and the
    # uncentred values (all positive) would make every pair of images look alike
    lab[:, 0] -= lab[:, 0].mean()
    # a flat, low-contrast image has little layout to tell: the floor keeps its noise small
    # instead of stretching it to unit length, so the histogram speaks for it
    return lab.reshape(-1) / max(float(np.linalg.norm(lab)), LAYOUT_FLOOR)


def _histogram(rgb: np.ndarray) -> np.ndarray:
    small = cv2.resize(rgb, (64, 36), interpolation=cv2.INTER_AREA)  # the histogram needs no detail
    hsv = cv2.cvtColor(small, cv2.COLOR_RGB2HSV)
    # hue is noise on greyish pixels: they all go to hue bin 0
    hsv[..., 0][hsv[..., 1] < 256 // HIST_BINS[1]] = 0
    hist = cv2.calcHist([hsv], [0, 1, 2], None, list(HIST_BINS), [0, 180, 0, 256, 0, 256])
    hist = hist.reshape(-1) / max(float(hist.sum()), 1.0)
    # the square root (Hellinger) stops one dominant colour from deciding the cosine alone
    hist = np.sqrt(hist)
    return _unit(hist - hist.mean())


def embed(rgb: np.ndarray) -> np.ndarray:
    """(EMBEDDING_DIM,) float32, unit length, deterministic, for an (h, w, 3) uint8 RGB image."""
    parts = (np.sqrt(LAYOUT_WEIGHT) * _layout(rgb), np.sqrt(1 - LAYOUT_WEIGHT) * _histogram(rgb))
    return _unit(np.concatenate(parts)).astype(np.float32)


def clip_preprocess(rgb: np.ndarray, size: int) -> np.ndarray:
    """CLIP's preprocessing: shortest side to `size` (bicubic), centre crop, /255, normalise.
    (h, w, 3) uint8 RGB -> (3, size, size) float32."""
    h, w = rgb.shape[:2]
    scale = size / min(h, w)
    rw, rh = max(size, round(w * scale)), max(size, round(h * scale))
    if (rw, rh) != (w, h):
        rgb = cv2.resize(rgb, (rw, rh), interpolation=cv2.INTER_CUBIC)
    top, left = (rh - size) // 2, (rw - size) // 2
    crop = rgb[top : top + size, left : left + size].astype(np.float32) / 255.0
    return ((crop - CLIP_MEAN) / CLIP_STD).transpose(2, 0, 1)


def _dim(value) -> int | None:
    return value if isinstance(value, int) and value > 0 else None


class ClipEncoder:
    """A CLIP image encoder exported to ONNX by the user, run single-threaded by onnxruntime.

    Checked on load: one float image input (N, 3, S, S) and a (N, D) output; anything else is a
    ModelFileError naming the file."""

    def __init__(self, path: Path | str, threads: int = 1):
        self.path = Path(path)
        self._session = self._open(threads)
        self._input = self._check_input()
        self._output = self._check_output()
        self.dim = self._probe_dim()

    def _fail(self, what: str) -> ModelFileError:
        return ModelFileError(what, source=str(self.path))

    def _open(self, threads: int):
        import onnxruntime as ort

        if not self.path.is_file():
            raise self._fail("CLIP model file not found")
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3  # its warnings about unused initialisers are noise here
        try:
            return ort.InferenceSession(str(self.path), opts, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises several unrelated types for bad files
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise self._fail(f"not a readable ONNX model ({first[:200]})") from exc

    def _check_input(self):
        inputs = self._session.get_inputs()
        desc = ", ".join(f"{i.name} {i.type} {list(i.shape)}" for i in inputs)
        if len(inputs) != 1:
            raise self._fail(f"not a CLIP image encoder: it has {len(inputs)} inputs ({desc})")
        inp = inputs[0]
        shape = list(inp.shape)
        ok_type = inp.type in ("tensor(float)", "tensor(float16)")
        if not ok_type or len(shape) != 4 or shape[1] != 3:
            wanted = "wanted float (N, 3, S, S)"
            raise self._fail(f"not a CLIP image encoder: input is {desc}, {wanted}")
        h, w = _dim(shape[2]), _dim(shape[3])
        if h is not None and w is not None and h != w:
            raise self._fail(f"not a CLIP image encoder: input is {desc}, not square")
        self.size = h or w or CLIP_DEFAULT_SIZE
        self.batch = _dim(shape[0])  # None: any batch size
        self._dtype = np.float16 if inp.type == "tensor(float16)" else np.float32
        return inp

    def _check_output(self):
        outputs = self._session.get_outputs()
        for out in outputs:
            if len(out.shape) == 2:
                return out
        desc = ", ".join(f"{o.name} {list(o.shape)}" for o in outputs)
        raise self._fail(f"not a CLIP image encoder: no (N, D) output (outputs: {desc})")

    def _probe_dim(self) -> int:
        # a dummy run proves the graph executes and gives D when the file leaves it dynamic
        try:
            out = self._run(np.zeros((1, 3, self.size, self.size), np.float32))
        except Exception as exc:
            raise self._fail(f"the CLIP model failed on a test image: {exc}") from exc
        if out.ndim != 2 or out.shape[0] != 1 or out.shape[1] < 1:
            shape = list(out.shape)
            raise self._fail(f"not a CLIP image encoder: output shape {shape}, wanted (N, D)")
        return int(out.shape[1])

    def _run(self, batch: np.ndarray) -> np.ndarray:
        n = batch.shape[0]
        if self.batch is not None and n < self.batch:  # a fixed batch size: pad, drop it after
            padding = np.zeros((self.batch - n, *batch.shape[1:]), batch.dtype)
            batch = np.concatenate([batch, padding])
        feed = {self._input.name: batch.astype(self._dtype, copy=False)}
        out = self._session.run([self._output.name], feed)[0]
        return np.asarray(out, dtype=np.float32)[:n]

    def preprocess(self, rgb: np.ndarray) -> np.ndarray:
        return clip_preprocess(rgb, self.size)

    def encode_preprocessed(self, batch: np.ndarray) -> np.ndarray:
        """(n, 3, S, S) float32 from `preprocess` -> (n, dim) float32, rows unit length."""
        step = self.batch or CLIP_BATCH
        if len(batch) == 0:
            return np.zeros((0, self.dim), np.float32)
        out = np.concatenate([self._run(batch[i : i + step]) for i in range(0, len(batch), step)])
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return (out / np.maximum(norms, 1e-12)).astype(np.float32)

    def encode(self, images: list[np.ndarray]) -> np.ndarray:
        """(n, dim) float32, each row unit length, for (h, w, 3) uint8 RGB images."""
        batch = np.stack([self.preprocess(im) for im in images]) if images else np.zeros((0,))
        return self.encode_preprocessed(batch)
