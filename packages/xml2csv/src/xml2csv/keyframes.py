"""Parameter curves as keyframes: reduction, then the `<filter>` elements that carry them.

An editor adjusts a zoom that is three keyframes; one that is a keyframe per frame is noise.
Reduction keeps only data points (never a fitted value), so a kept keyframe is exact and the
error bound holds at every frame, not just on average.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from lxml.builder import E

from xml2csv.params import DEFAULT_PARAMETERS, ParameterSpec


@dataclass(frozen=True)
class Tolerance:
    """The largest error a reduced curve may leave at any frame, in the column's own units."""

    scale: float = 0.05  # percentage points of zoom
    position: float = 0.0005  # frame widths / heights (about 1 px at 1920x1080)
    crop: float = 0.05  # percentage points of the source
    other: float = 0.05  # rotation (degrees), opacity (percent), later registry columns

    def of(self, column: str) -> float:
        """Tolerance for a column suffix such as `scale`, `pos_x` or `crop_left`."""
        if column == "scale":
            return self.scale
        if column.startswith("pos_"):
            return self.position
        if column.startswith("crop_"):
            return self.crop
        return self.other


DEFAULT_TOLERANCE = Tolerance()
_PYTHON_FRAMES = 8  # frames scanned in plain Python before numpy takes over


def reduce_keyframes(values, tolerance) -> list[int]:
    """Indices of the frames to keep as keyframes.

    `values` is (n,) or (n, c) for a point parameter (centre's horiz/vert share keyframes);
    `tolerance` is a scalar or one per component. Linear interpolation through the kept
    points is within tolerance of every frame in every component. The first and last frame
    are kept, except that a run within tolerance of its first value collapses to `[0]`.

    Greedy: from each kept point, jump to the farthest frame whose chord stays within the
    tolerance band of all frames in between. This is exact, O(n * reach), and gives the
    minimum for piecewise-linear input (the break points); for noise it is near-minimal.
    """
    v = np.asarray(values, dtype=np.float64)
    v = v[:, None] if v.ndim == 1 else v  # (n, c)
    n = len(v)
    if n == 0:
        return []
    tol = np.broadcast_to(np.asarray(tolerance, dtype=np.float64), (v.shape[1],))
    if not np.isfinite(v).all() or (tol < 0).any():
        raise ValueError("keyframe values must be finite and tolerances non-negative")
    # a hair inside the band, so float rounding in the reader's interpolation cannot cross it
    band = tol - 1e-12 * np.maximum(1.0, np.abs(v).max(axis=0))
    band = np.maximum(band, 0.0)
    if (np.abs(v - v[0]) <= band).all():
        return [0]
    keep, a, rows = [0], 0, v.tolist()
    while a < n - 1:
        a = _farthest(v, rows, a, band)
        keep.append(a)
    return keep


def _farthest(v: np.ndarray, rows: list, a: int, band: np.ndarray) -> int:
    """The largest b > a such that the chord a->b is within `band` at every frame between.

    A chord from a with slope s passes frame i within the band iff s lies in
    [(v_i - band - v_a)/(i-a), (v_i + band - v_a)/(i-a)]; intersecting these cones as i grows
    tests every b in one pass, and once the cone is empty no later b can work.
    """
    n, c = len(v), v.shape[1]
    best, lo, hi = a + 1, [-np.inf] * c, [np.inf] * c
    # the first frames in plain Python: noisy curves stop within a few frames, where numpy's
    # per-call cost would dominate
    va, edge = rows[a], band.tolist()
    for i in range(a + 1, min(n, a + 1 + _PYTHON_FRAMES)):
        d, vi = i - a, rows[i]
        rise = [vi[j] - va[j] for j in range(c)]
        if all(lo[j] <= rise[j] / d <= hi[j] for j in range(c)):
            best = i
        lo = [max(lo[j], (rise[j] - edge[j]) / d) for j in range(c)]
        hi = [min(hi[j], (rise[j] + edge[j]) / d) for j in range(c)]
        if any(lo[j] > hi[j] for j in range(c)):
            return best
    lo_carry, hi_carry = np.array(lo), np.array(hi)
    start, size = a + 1 + _PYTHON_FRAMES, 64
    while start < n:
        stop = min(n, start + size)
        d = np.arange(start, stop, dtype=np.float64)[:, None] - a  # (m, 1)
        rise = v[start:stop] - v[a]  # (m, c)
        slope = rise / d
        lo = np.maximum.accumulate(np.vstack([lo_carry, (rise - band) / d]), axis=0)
        hi = np.minimum.accumulate(np.vstack([hi_carry, (rise + band) / d]), axis=0)
        # the cone a candidate b must hit is made of frames strictly before it: row j of lo/hi
        ok = ((lo[:-1] <= slope) & (slope <= hi[:-1])).all(axis=1)
        hits = np.flatnonzero(ok)
        if len(hits):
            best = start + int(hits[-1])
        if (lo[-1] > hi[-1]).any():
            break
        lo_carry, hi_carry = lo[-1], hi[-1]
        start, size = stop, size * 2
    return best


# -- parameter curves as xmeml filters -----------------------------------------------------------

EFFECT_NAMES = {"basic": "Basic Motion", "crop": "Crop", "opacity": "Opacity"}
VALUE_RANGES = {"scale": (0, 1000), "rotation": (-8640, 8640), "opacity": (0, 100)}
VALUE_RANGES |= {side: (0, 100) for side in ("left", "right", "top", "bottom")}


def filter_elements(specs, block: dict[str, np.ndarray], in_: int, tolerance: Tolerance) -> list:
    """`<filter>`s for one item: one per effect with a value off its default by more than the
    tolerance (Basic Motion, Crop, ...). `block` maps column -> the item's frames; keyframe
    `when`s are on the media axis, `in_ + offset`."""
    filters = []
    for effect_id, by_param in _written_effects(specs, block, tolerance).items():
        parameters = [
            _parameter(
                pid, parts, np.column_stack([block[s.column] for s in parts]), in_, tolerance
            )
            for pid, parts in by_param.items()
        ]
        name = EFFECT_NAMES.get(effect_id, effect_id.capitalize())
        effect = E.effect(
            E.name(name), E.effectid(effect_id), E.effectcategory("motion"),
            E.effecttype("motion"), E.mediatype("video"), *parameters,
        )  # fmt: skip
        filters.append(E.filter(E.enabled("TRUE"), effect))
    return filters


def written_keyframes(
    block: dict[str, np.ndarray],
    tolerance: Tolerance = DEFAULT_TOLERANCE,
    specs: tuple[ParameterSpec, ...] = DEFAULT_PARAMETERS,
) -> int:
    """How many `<keyframe>`s `filter_elements` writes for one item (`block`: column -> the
    item's frames): a parameter that holds one value writes none, a point parameter's
    components share theirs. Counting with this counts what a written edit holds."""
    count = 0
    for by_param in _written_effects(specs, block, tolerance).values():
        for parts in by_param.values():
            values = np.column_stack([block[s.column] for s in parts])
            kept = len(reduce_keyframes(values, [tolerance.of(s.column) for s in parts]))
            count += kept if kept > 1 else 0
    return count


def _written_effects(specs, block, tolerance: Tolerance) -> dict[str, dict[str, list]]:
    """{effect id: {parameter id: its specs}} for the effects written: those with a value off
    its default by more than the tolerance somewhere in the item."""
    by_effect: dict[str, list] = {}
    for spec in specs:
        by_effect.setdefault(spec.effect_ids[0], []).append(spec)
    written = {}
    for effect_id, group in by_effect.items():
        if all(
            (np.abs(block[s.column] - s.default) <= tolerance.of(s.column)).all() for s in group
        ):
            continue
        by_param: dict[str, list] = {}
        for spec in group:
            by_param.setdefault(spec.parameter_id, []).append(spec)
        written[effect_id] = by_param
    return written


def _parameter(param_id: str, parts, values: np.ndarray, in_: int, tolerance: Tolerance):
    """values (length, components): a static value, or reduced keyframes plus a value beside
    them (Premiere writes both; readers take the keyframes)."""
    keep = reduce_keyframes(values, [tolerance.of(s.column) for s in parts])
    param = E.parameter(E.parameterid(param_id), E.name(param_id.capitalize()))
    if param_id in VALUE_RANGES:
        low, high = VALUE_RANGES[param_id]
        param.extend([E.valuemin(str(low)), E.valuemax(str(high))])
    param.append(_value(parts, values[keep[0]]))
    if len(keep) > 1:
        param.extend(E.keyframe(E.when(str(in_ + i)), _value(parts, values[i])) for i in keep)
    return param


def _value(parts, row: np.ndarray):
    if parts[0].component is None:
        return E.value(number_text(row[0]))
    return E.value(*(E(s.component, number_text(v)) for s, v in zip(parts, row, strict=True)))


def number_text(value) -> str:
    """Exact (repr round-trips a float) and short: 150 rather than 150.0."""
    value = float(value)
    return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
