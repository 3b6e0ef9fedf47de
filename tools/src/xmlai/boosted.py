"""A gradient-boosted per-frame baseline (LightGBM, the optional `[baselines]` extra): for each
track, P(on) from windowed context features (rolling mean, min and max of every scalar feature
over ±0.5, ±1 and ±2 s), then the project's own smoothing. A transformer that cannot beat it
has learned nothing that hand-made context would not give a tree."""

from __future__ import annotations

import numpy as np

from trackcore import ACTIVE
from xmlai.metrics import when_on

CONTEXT_SECONDS = (0.5, 1.0, 2.0)
MAX_TRAIN_ROWS = 60_000  # frames sampled for fitting: enough for trees, bounded in memory
TREES = 150
TREE_SETTINGS = dict(objective="binary", learning_rate=0.08, num_leaves=31, min_data_in_leaf=20,
                     bagging_fraction=0.8, bagging_freq=1, feature_fraction=0.8, verbose=-1,
                     num_threads=0)  # fmt: skip


def available() -> bool:
    try:
        import lightgbm  # noqa: F401
    except (ImportError, OSError):  # OSError: the wheel's OpenMP runtime is missing
        return False
    return True


def scalar_columns(store) -> dict[str, list[int]]:
    """Per modality, the columns that are not parts of an embedding."""
    kinds = store.manifest.get("modality_kinds") or {}
    columns = store.manifest.get("modality_columns") or {}
    return {
        m: [i for i, c in enumerate(columns.get(m, [])) if kinds.get(m, {}).get(c) != "embedding"]
        for m in store.modalities
    }


def context_features(store, edit: int, columns: dict[str, list[int]]) -> np.ndarray:
    """(n, F): each scalar feature's rolling mean, min and max over each context width."""
    arrays = store.arrays(edit)
    fps = float(store.edits[edit].fps)
    raw = np.concatenate(
        [np.asarray(arrays[m], dtype=np.float32)[:, cols] for m, cols in columns.items() if cols]
        + [np.asarray(arrays["modality_mask"], dtype=np.float32)],
        axis=1,
    )  # (n, C)
    parts = [raw]
    for seconds in CONTEXT_SECONDS:
        half = max(1, round(seconds * fps))
        parts += list(_rolling(raw, half))
    return np.concatenate(parts, axis=1)


def _rolling(x: np.ndarray, half: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean, min and max over [t - half, t + half], edges padded with the edge value."""
    from numpy.lib.stride_tricks import sliding_window_view

    padded = np.pad(x, ((half, half), (0, 0)), mode="edge")
    windows = sliding_window_view(padded, 2 * half + 1, axis=0)  # (n, C, w)
    return windows.mean(axis=-1), windows.min(axis=-1), windows.max(axis=-1)


class BoostedBaseline:
    """One classifier per track that is ever on in training; on its frames, the track's most
    common asset and mean parameters in training (the comparison is about when, not what)."""

    def __init__(self, store, train: list[int], seed: int = 0):
        import lightgbm

        self.columns = scalar_columns(store)
        self.n_tracks = store.n_tracks
        features = [context_features(store, e, self.columns) for e in train]
        tracks = [np.asarray(store.arrays(e)["tracks"]).reshape(len(f), self.n_tracks, -1)
                  for e, f in zip(train, features, strict=True)]  # fmt: skip
        x = np.concatenate(features)
        on = np.concatenate([t[:, :, ACTIVE] for t in tracks]) > 0.5  # (rows, N)
        rows = np.random.default_rng(seed).permutation(len(x))[:MAX_TRAIN_ROWS]
        self.when_on = when_on(np.concatenate(tracks))  # (N, 9)
        self.models = {}
        for k in range(self.n_tracks):
            labels = on[rows, k]
            if labels.any() and not labels.all():  # lightgbm's own API: no scikit-learn needed
                data = lightgbm.Dataset(x[rows], label=labels.astype(np.float64))
                self.models[k] = lightgbm.train({**TREE_SETTINGS, "seed": seed}, data, TREES)
            elif labels.all():
                self.models[k] = 1.0

    def on_probability(self, store, edit: int) -> np.ndarray:
        """(n, N) P(on) per track."""
        x = context_features(store, edit, self.columns)
        prob = np.zeros((len(x), self.n_tracks))
        for k, model in self.models.items():
            prob[:, k] = model if isinstance(model, float) else model.predict(x)
        return prob


def boosted_tracks(prob: np.ndarray, when_on: np.ndarray, smoothing, style, fps: float):
    """P(on) (n, N) and the per-track asset and parameters (N, 9) -> a smoothed (n, N*9) edit."""
    from trackcore import ASSET, N_ASSETS, PARAMETERS, AssetRole
    from xmlai.smooth import TRACK_WIDTH, smooth_track

    n, n_tracks = prob.shape
    block = when_on.reshape(n_tracks, TRACK_WIDTH)
    out = np.empty((n, n_tracks, TRACK_WIDTH))
    for k in range(n_tracks):
        asset = np.zeros((n, N_ASSETS))
        role = int(block[k, ASSET])
        asset[:, role if role > AssetRole.NONE else AssetRole.MAIN_SOURCE] = 1.0
        params = np.tile(block[k, PARAMETERS], (n, 1))
        habits = style.tracks[k] if style is not None and k < len(style.tracks) else None
        out[:, k] = smooth_track(prob[:, k], asset, params, smoothing, habits, fps)
    return out.reshape(n, -1)
