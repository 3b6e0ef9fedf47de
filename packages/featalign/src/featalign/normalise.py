"""Per-column normalisation fitted on training videos only, saved as JSON (never pickle).

- continuous: z-score with the training mean and standard deviation (std 0 -> 1)
- binary, discrete: unchanged
- embedding groups: L2 per row (a unit vector stays itself, so the inverse is the identity)
- missing values (NaN: no face in frame, a masked frame) become 0 after transforming, which
  for a z-scored column is the training mean
Statistics are float64 and merged chunk by chunk (Chan et al.), so fitting streams over any
number of arrays. The track table's regression columns use the same class (`for_tracks`).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

import trackcore
from featalign.errors import SchemaError
from trackcore import ACTIVE, PARAMETERS, TRACK_WIDTH, track_columns
from trackcore.atomic import write_text

TRACK_FIELDS = trackcore.FIELD_NAMES  # the field names in block order (trackcore.layout)
TRACK_NEUTRAL = trackcore.TRACK_NEUTRAL  # an inactive track's values


def track_kinds(n_tracks: int) -> dict[str, str]:
    """Column -> featalign kind of the track table's columns, from the layout."""
    kinds = [f.kind for f in trackcore.TRACK_FIELDS]
    return dict(zip(track_columns(n_tracks), kinds * n_tracks, strict=True))


def mask_inactive_tracks(tracks: np.ndarray) -> np.ndarray:
    """(n, N*9) -> float64 copy with the regression parameters of inactive tracks set to NaN,
    so the statistics describe what the editor did, not the neutral filler."""
    x = np.array(tracks, dtype=np.float64).reshape(len(tracks), -1, TRACK_WIDTH)
    x[..., PARAMETERS][x[..., ACTIVE] < 0.5] = np.nan
    return x.reshape(len(tracks), -1)


class Normaliser:
    def __init__(
        self,
        columns: list[str],
        kinds: dict[str, str],
        groups: dict[str, list[str]] | None = None,
    ):
        self.columns = list(columns)
        self.kinds = {c: kinds[c] for c in self.columns}
        self.groups = {g: list(cols) for g, cols in (groups or {}).items()}
        index = {c: k for k, c in enumerate(self.columns)}
        self._cont = np.array(
            [k for k, c in enumerate(self.columns) if self.kinds[c] == "continuous"], dtype=np.intp
        )
        self._slices = []
        for g, cols in self.groups.items():
            ks = [index[c] for c in cols]
            if ks != list(range(ks[0], ks[0] + len(ks))):
                raise SchemaError(f"embedding group {g!r} is not contiguous in the columns")
            self._slices.append(slice(ks[0], ks[0] + len(ks)))
        d = len(self.columns)
        self.count = np.zeros(d)
        self.mean = np.zeros(d)
        self._m2 = np.zeros(d)

    @classmethod
    def for_tracks(cls, n_tracks: int) -> Normaliser:
        return cls(track_columns(n_tracks), track_kinds(n_tracks))

    @property
    def std(self) -> np.ndarray:
        var = np.divide(self._m2, self.count, out=np.zeros_like(self._m2), where=self.count > 0)
        std = np.sqrt(var)
        return np.where(std > 1e-12, std, 1.0)

    def partial_fit(self, x: np.ndarray) -> Normaliser:
        """Add (n, D) rows to the statistics; NaN cells are missing and do not count."""
        x = self._check(x).astype(np.float64)
        valid = np.isfinite(x)
        n_b = valid.sum(axis=0).astype(np.float64)
        safe = np.where(valid, x, 0.0)
        mean_b = np.divide(safe.sum(axis=0), n_b, out=np.zeros_like(n_b), where=n_b > 0)
        m2_b = (np.where(valid, x - mean_b, 0.0) ** 2).sum(axis=0)
        total = self.count + n_b
        delta = mean_b - self.mean
        with np.errstate(invalid="ignore", divide="ignore"):
            share = np.where(total > 0, n_b / total, 0.0)
        self.mean = self.mean + delta * share
        self._m2 = self._m2 + m2_b + delta**2 * self.count * share
        self.count = total
        return self

    def fit(self, arrays) -> Normaliser:
        """Fit on an iterable of (n, D) arrays (training videos only)."""
        if isinstance(arrays, np.ndarray):
            arrays = [arrays]
        for x in arrays:
            self.partial_fit(x)
        return self

    def transform(self, x: np.ndarray) -> np.ndarray:
        x = self._check(x).astype(np.float32, copy=True)
        c = self._cont
        x[:, c] = (x[:, c] - self.mean[c]) / self.std[c]
        for sl in self._slices:
            block = x[:, sl]
            norm = np.sqrt(np.einsum("ij,ij->i", block, block))[:, None]
            np.divide(block, norm, out=block, where=norm > 0)
        x[~np.isfinite(x)] = 0.0
        return x

    def inverse_transform(self, z: np.ndarray) -> np.ndarray:
        z = self._check(z).astype(np.float64, copy=True)
        c = self._cont
        z[:, c] = z[:, c] * self.std[c] + self.mean[c]
        return z.astype(np.float32)

    def _check(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x)
        if x.ndim != 2 or x.shape[1] != len(self.columns):
            raise SchemaError(
                f"expected (n, {len(self.columns)}) values, got {x.shape}", source="Normaliser"
            )
        return x

    def to_dict(self) -> dict:
        return {
            "format": "xmlai-normaliser",
            "version": 1,
            "columns": self.columns,
            "kinds": self.kinds,
            "groups": self.groups,
            "count": self.count.tolist(),
            "mean": self.mean.tolist(),
            "m2": self._m2.tolist(),
            "std": self.std.tolist(),  # for readers; recomputed from m2 and count on load
        }

    @classmethod
    def from_dict(cls, data: dict, source: str = "<normaliser>") -> Normaliser:
        try:
            if data.get("format") != "xmlai-normaliser":
                raise KeyError("format")
            norm = cls(data["columns"], data["kinds"], data.get("groups"))
            norm.count = np.array(data["count"], dtype=np.float64)
            norm.mean = np.array(data["mean"], dtype=np.float64)
            norm._m2 = np.array(data["m2"], dtype=np.float64)
        except (KeyError, TypeError, ValueError) as exc:
            raise SchemaError(f"not a featalign normaliser ({exc})", source=source) from None
        if not len(norm.count) == len(norm.mean) == len(norm._m2) == len(norm.columns):
            raise SchemaError("statistics and columns differ in length", source=source)
        return norm

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        write_text_atomic(path, json.dumps(self.to_dict(), indent=1))
        return path

    @classmethod
    def load(cls, path: str | Path) -> Normaliser:
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise SchemaError(f"cannot read normaliser: {exc}", source=str(path)) from None
        return cls.from_dict(data, source=str(path))


def write_text_atomic(path: Path, text: str) -> None:
    """A temporary sibling renamed into place (`trackcore.atomic.write_text`): the file gets
    the user's umask (mkstemp's 0600 hid stores from the others sharing a folder)."""
    write_text(path, text)
