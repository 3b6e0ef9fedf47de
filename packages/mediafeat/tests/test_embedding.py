"""The built-in embedding (shots apart, frames of one shot together) and the CLIP ONNX encoder
(checked against a numpy reference of CLIP's preprocessing and a tiny model built here)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from mediafeat.columns import CLIP_PREFIX, TIME
from mediafeat.config import ExtractConfig
from mediafeat.embedding import CLIP_MEAN, CLIP_STD, EMBEDDING_DIM, ClipEncoder, embed
from mediafeat.errors import ModelFileError
from mediafeat.frames import ArrayFrame
from mediafeat.visual import VisualExtractor

W, H = 640, 360


def scene(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    field = rng.normal(0, 1, (H // 40 + 1, W // 40 + 1, 3)).astype(np.float32)
    field = cv2.resize(field, (W, H), interpolation=cv2.INTER_CUBIC)
    image = np.clip(128 + 55 * field + rng.uniform(-50, 50, 3), 0, 255).astype(np.uint8)
    for _ in range(3):
        centre = (int(rng.integers(0, W)), int(rng.integers(0, H)))
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        cv2.rectangle(image, centre, (centre[0] + 120, centre[1] + 80), colour, -1)
    return image


def in_shot_variants(image: np.ndarray, seed: int = 0) -> list[np.ndarray]:
    """What changes between frames of one shot: a small pan, exposure, sensor noise, a person
    moving (a patch that moves)."""
    rng = np.random.default_rng(seed)
    pan = cv2.warpAffine(image, np.float32([[1, 0, 12], [0, 1, 6]]), (W, H),
                         borderMode=cv2.BORDER_REFLECT)  # fmt: skip
    brighter = np.clip(image.astype(np.int16) + 15, 0, 255).astype(np.uint8)
    noisy = np.clip(image + rng.normal(0, 6, image.shape), 0, 255).astype(np.uint8)
    moved = image.copy()
    moved[100:220, 300:380] = image[100:220, 220:300]
    return [pan, brighter, noisy, moved]


def test_embedding_is_unit_length_deterministic_560():
    assert EMBEDDING_DIM == 560
    image = scene(1)
    e = embed(image)
    assert e.shape == (EMBEDDING_DIM,) and e.dtype == np.float32
    assert np.linalg.norm(e) == pytest.approx(1.0, abs=1e-4)
    assert np.array_equal(e, embed(image.copy()))
    flat = embed(np.full((H, W, 3), 128, np.uint8))
    assert np.isfinite(flat).all() and np.linalg.norm(flat) == pytest.approx(1.0, abs=1e-4)


def test_same_shot_similar_different_shots_dissimilar():
    shots = [scene(s) for s in range(2, 8)]
    vectors = [embed(s) for s in shots]
    within = [float(embed(v) @ e) for s, e in zip(shots, vectors, strict=True)
              for v in in_shot_variants(s)]  # fmt: skip
    across = [float(vectors[i] @ vectors[j]) for i in range(6) for j in range(i + 1, 6)]
    assert min(within) > 0.85
    assert max(across) < 0.6 and np.mean(across) < 0.3


def test_embedding_on_real_photos():
    skdata = pytest.importorskip("skimage.data")
    names = ("astronaut", "coffee", "chelsea", "rocket", "immunohistochemistry")
    photos = [cv2.resize(getattr(skdata, n)(), (W, H)) for n in names]
    vectors = [embed(p) for p in photos]
    for photo, vector in zip(photos, vectors, strict=True):
        assert min(float(embed(v) @ vector) for v in in_shot_variants(photo)) > 0.85
    across = [float(vectors[i] @ vectors[j]) for i in range(5) for j in range(i + 1, 5)]
    # a colour layout, not semantics: two warm-brown photos (coffee, cat) reach ~0.65
    assert max(across) < 0.7 and np.mean(across) < 0.35


def test_extractor_embedding_rows_are_unit_and_follow_the_shots():
    a, b = scene(8), scene(9)
    ex = VisualExtractor(ExtractConfig(faces=False, text=False))
    for i in range(60):
        ex.push(ArrayFrame(i / 30, a if i < 30 else b))
    out = ex.finish()
    matrix = np.stack([out[f"emb_{i}"] for i in range(EMBEDDING_DIM)], axis=1)
    assert np.allclose(np.linalg.norm(matrix, axis=1), 1.0, atol=1e-5)
    first, second = matrix[out[TIME] < 1.0], matrix[out[TIME] >= 1.0]
    assert (first @ first[0]).min() > 0.99 and (first @ second[0]).max() < 0.6


# --- CLIP (a tiny ONNX model built here) ----------------------------------------------------

WEIGHT = np.array(
    [[1.0, -0.5, 0.2, 0.0, 0.3, -1.0, 0.7, 0.1],
     [0.0, 1.0, -0.4, 0.6, 0.2, 0.5, -0.3, 0.9],
     [0.5, 0.2, 1.0, -0.8, -0.6, 0.1, 0.4, -0.2]], np.float32,
)  # fmt: skip


def build_model(path, input_shape=("N", 3, 224, 224), output_rank=2, n_inputs=1, dtype="float"):
    """input -> GlobalAveragePool -> Flatten -> MatMul (C, 8): an 'encoder' numpy can redo.
    The wrong variants are valid graphs (onnxruntime loads them): only their interface is off."""
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper

    elem = {"float": TensorProto.FLOAT, "int": TensorProto.INT64}[dtype]
    inputs = [helper.make_tensor_value_info(f"pixel_values{i or ''}", elem, list(input_shape))
              for i in range(n_inputs)]  # fmt: skip
    nodes, source = [], "pixel_values"
    if dtype != "float":
        nodes.append(helper.make_node("Cast", [source], ["as_float"], to=TensorProto.FLOAT))
        source = "as_float"
    channels = input_shape[1] if isinstance(input_shape[1], int) else 3
    nodes += [
        helper.make_node("GlobalAveragePool", [source], ["pooled"]),
        helper.make_node("Flatten", ["pooled"], ["flat"]),
        helper.make_node("MatMul", ["flat", "w"], ["embeds"]),
    ]
    out_name, out_shape = "embeds", ["N", 8]
    if output_rank == 3:
        nodes.append(helper.make_node("Unsqueeze", ["embeds", "axes"], ["embeds3"]))
        out_name, out_shape = "embeds3", ["N", 1, 8]
    weight = np.resize(WEIGHT, (channels, 8)).astype(np.float32)  # = WEIGHT for 3 channels
    inits = [numpy_helper.from_array(weight, "w"), numpy_helper.from_array(np.array([1]), "axes")]
    output = helper.make_tensor_value_info(out_name, TensorProto.FLOAT, out_shape)
    graph = helper.make_graph(nodes, "tiny_clip", inputs, [output], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


def reference(image: np.ndarray, size: int = 224) -> np.ndarray:
    """CLIP preprocessing + the tiny model, in numpy (resizing with the same cv2 bicubic)."""
    h, w = image.shape[:2]
    scale = size / min(h, w)
    rw, rh = max(size, round(w * scale)), max(size, round(h * scale))
    if (rw, rh) != (w, h):
        image = cv2.resize(image, (rw, rh), interpolation=cv2.INTER_CUBIC)
    top, left = (rh - size) // 2, (rw - size) // 2
    crop = image[top : top + size, left : left + size].astype(np.float64) / 255
    pooled = ((crop - CLIP_MEAN) / CLIP_STD).mean(axis=(0, 1))
    out = pooled @ WEIGHT
    return out / np.linalg.norm(out)


def test_clip_matches_the_numpy_reference(tmp_path):
    model = build_model(tmp_path / "clip.onnx")
    enc = ClipEncoder(model)
    assert (enc.size, enc.dim) == (224, 8)
    rng = np.random.default_rng(0)
    # 398x224 needs no resize: crop and normalisation are checked exactly; the others resize
    images = [rng.integers(0, 256, (224, 398, 3), dtype=np.uint8), scene(10), scene(11)[:, :300]]
    out = enc.encode(images)
    assert out.shape == (3, 8) and out.dtype == np.float32
    for image, row in zip(images, out, strict=True):
        assert row == pytest.approx(reference(image), abs=1e-4)
    assert np.allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-6)
    # the crop is the centre: a mark outside the centre square changes nothing
    marked = images[0].copy()
    marked[:, :80] = 255
    assert enc.encode([marked])[0] == pytest.approx(out[0], abs=1e-6)


def test_clip_batches_and_fixed_batch_models(tmp_path):
    images = [scene(s) for s in range(12, 23)]  # 11: more than one batch of 8
    dynamic = ClipEncoder(build_model(tmp_path / "dynamic.onnx"))
    fixed = ClipEncoder(build_model(tmp_path / "fixed.onnx", input_shape=(1, 3, 224, 224)))
    square = ClipEncoder(build_model(tmp_path / "free.onnx", input_shape=("N", 3, "H", "W")))
    want = np.stack([reference(im) for im in images])
    assert square.size == 224
    for enc in (dynamic, fixed, square):
        assert enc.encode(images) == pytest.approx(want, abs=1e-4)


def test_clip_size_comes_from_the_model(tmp_path):
    enc = ClipEncoder(build_model(tmp_path / "clip336.onnx", input_shape=("N", 3, 336, 336)))
    image = scene(24)
    assert enc.size == 336
    assert enc.encode([image])[0] == pytest.approx(reference(image, 336), abs=1e-4)


@pytest.mark.parametrize(
    ("kwargs", "says"),
    [
        ({"input_shape": ("N", 1, 224, 224)}, "input is"),
        ({"input_shape": ("N", 3, 224, 200)}, "not square"),
        ({"input_shape": ("N", 224, 224)}, "input is"),
        ({"n_inputs": 2}, "2 inputs"),
        ({"output_rank": 3}, "(N, D)"),
        ({"dtype": "int"}, "input is"),
    ],
)
def test_clip_rejects_models_that_are_not_image_encoders(tmp_path, kwargs, says):
    path = build_model(tmp_path / "wrong_model.onnx", **kwargs)
    with pytest.raises(ModelFileError, match="not a CLIP image encoder") as err:
        ClipEncoder(path)
    assert "wrong_model.onnx" in str(err.value) and says in str(err.value)


@pytest.mark.parametrize("content", ["text", "empty", "truncated"])
def test_clip_rejects_files_that_are_not_onnx(tmp_path, content):
    path = tmp_path / f"bad_{content}.onnx"
    if content == "text":
        path.write_text("this is not a model\n")
    elif content == "empty":
        path.write_bytes(b"")
    else:
        good = build_model(tmp_path / "good.onnx").read_bytes()
        path.write_bytes(good[: len(good) // 2])
    with pytest.raises(ModelFileError) as err:
        ClipEncoder(path)
    assert f"bad_{content}.onnx" in str(err.value)


def test_clip_missing_file(tmp_path):
    with pytest.raises(ModelFileError, match=r"nothing_here\.onnx"):
        ClipEncoder(tmp_path / "nothing_here.onnx")


def test_extractor_clip_columns_held_between_runs(tmp_path):
    model = build_model(tmp_path / "clip.onnx")
    shots = [scene(30), scene(31)]
    frames = [ArrayFrame(i / 30, shots[0] if i < 40 else shots[1]) for i in range(90)]
    cfg = ExtractConfig(faces=False, text=False, embedding=False, clip_onnx=model)
    ex = VisualExtractor(cfg)
    assert ex.columns[-8:] == [f"{CLIP_PREFIX}_{i}" for i in range(8)]
    for frame in frames:
        ex.push(frame)
    out = ex.finish()
    t = out[TIME]
    clip = np.stack([out[f"{CLIP_PREFIX}_{i}"] for i in range(8)], axis=1)
    enc = ClipEncoder(model)
    # runs at 0 s, at the cut (frame 40), at 2 s; rows in between hold the last run
    runs = {0.0: shots[0], 40 / 30: shots[1], 2.0: shots[1]}
    for start, image in runs.items():
        later = [r for r in runs if r > start]
        held = (t >= start - 1e-9) & (t < (min(later) if later else np.inf) - 1e-9)
        assert held.any()
        assert np.allclose(clip[held], enc.encode([image]), atol=1e-5)
