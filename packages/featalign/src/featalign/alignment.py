"""Align one feature table to target frame timestamps (absolute seconds in the source video).

One np.searchsorted over the sample times gives every frame its left/right neighbour; the
values are then gathered in row chunks (cache-sized) and combined by kind:
- exact: a frame within `schema.time_tolerance_s` of a sample takes that sample
- continuous: a + w (b - a), clipped to [min(a, b), max(a, b)] against rounding
- binary / discrete: a (the previous sample)
- embedding: interpolated then L2-renormalised; where the neighbours' cosine similarity is
  below `schema.cut_similarity` (a cut) the nearest sample is taken instead (tie: the later)
The availability mask is 0 for frames with a non-finite target time, outside
[first sample, last sample], or between two samples further apart than `max_gap_s`.
Rows under mask 0 are zeros. NaN/inf cells under mask 1 are zeros too, flagged in
`Aligned.missing` and counted in the report.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from featalign.schema import FeatureSchema
from featalign.tables import FeatureTable, load_features

_CHUNK_BYTES = 512 << 10  # rows per chunk sized so a gathered block stays in cache


@dataclass
class Gap:
    start_s: float
    end_s: float
    length_s: float


@dataclass
class AlignmentReport:
    source: str
    n_frames: int
    n_samples: int
    coverage_pct: float  # frames with mask 1
    exact_pct: float  # frames that landed on a sample (within tolerance)
    interpolated_pct: float  # frames between two samples
    outside_pct: float  # before the first / after the last sample, or no target time
    in_gap_pct: float  # inside a gap longer than max_gap_s
    max_gap_s: float
    time_range_s: tuple[float, float]
    gaps: list[Gap]  # sample gaps longer than max_gap_s
    columns_by_kind: dict[str, int]
    embedding_groups: dict[str, int]  # group -> width
    dropped_columns: list[str]
    nonfinite_values: int  # NaN/inf cells in the table (after row cleaning)
    zero_filled_cells: int  # aligned cells under mask 1 that were NaN/inf: set to 0
    bad_time_rows: int
    duplicate_rows: int
    was_unsorted: bool
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        d = dict(self.__dict__)
        d["gaps"] = [g.__dict__ for g in self.gaps]
        d["time_range_s"] = list(self.time_range_s)
        return d


@dataclass
class Aligned:
    values: np.ndarray  # (n, D) float32, zeros where mask is 0 or a cell was NaN/inf
    mask: np.ndarray  # (n,) bool, True = the features are real at that frame
    columns: list[str]
    kinds: dict[str, str]  # column -> continuous | binary | discrete | embedding
    groups: dict[str, list[str]]  # embedding group -> its columns
    missing: np.ndarray | None  # (n, D) bool, zero-filled NaN/inf cells; None when none
    report: AlignmentReport

    def with_nan(self) -> np.ndarray:
        """Values with NaN for every cell that is not real (mask 0 or missing): what
        Normaliser.fit and .transform expect."""
        out = self.values.copy()
        out[~self.mask] = np.nan
        if self.missing is not None:
            out[self.missing] = np.nan
        return out


def default_max_gap(times: np.ndarray) -> float:
    """1 s, or 3 sample intervals for tables slower than 3 Hz."""
    if len(times) < 2:
        return 1.0
    return max(1.0, 3.0 * float(np.median(np.diff(times))))


def align(
    frames_s: np.ndarray,
    feature_table: FeatureTable | pd.DataFrame | str | Path,
    schema: FeatureSchema | None = None,
    max_gap_s: float | None = None,
    *,
    source: str | None = None,
) -> Aligned:
    """Features at each target time. `frames_s` (n,) seconds in the source video; NaN = no
    source at that frame (mask 0). `max_gap_s=None` uses `default_max_gap`."""
    schema = schema or FeatureSchema()
    table = load_features(feature_table, schema, source)
    gap_limit = default_max_gap(table.times) if max_gap_s is None else float(max_gap_s)
    frames = _neighbours(np.asarray(frames_s, dtype=np.float64).reshape(-1), table.times,
                         schema.time_tolerance_s, gap_limit)  # fmt: skip
    columns = _ColumnPlan.of(table, frames, schema.cut_similarity)
    out, missing = _gathered(table.values, frames, columns, check=bool(table.nonfinite))
    zero_filled = int(missing.sum()) if missing is not None else 0
    if missing is not None and not zero_filled:
        missing = None
    report = _report(table, len(frames.mask), frames.mask, frames.exact, frames.interp,
                     frames.in_gap, frames.finite, gap_limit, zero_filled, schema)  # fmt: skip
    resolved = table.resolved
    return Aligned(
        out, frames.mask, list(table.columns), dict(resolved.kinds), dict(resolved.groups),
        missing, report,
    )  # fmt: skip


@dataclass
class _Neighbours:
    """Per target frame: which samples it reads (i, j) and with what weight of j (w)."""

    finite: np.ndarray  # (n,) bool: the frame has a target time
    exact: np.ndarray  # within the tolerance of a sample: takes it
    interp: np.ndarray  # between two samples no further apart than the gap limit
    in_gap: np.ndarray  # between two samples further apart
    mask: np.ndarray  # exact | interp: the features are real there
    lft: np.ndarray  # the last sample at or before the frame
    i: np.ndarray
    j: np.ndarray
    w: np.ndarray  # (n,) float32 in [0, 1]


def _neighbours(x: np.ndarray, t: np.ndarray, tol: float, gap_limit: float) -> _Neighbours:
    """One searchsorted: l = last sample with t <= x, r = first with t >= x (both clipped)."""
    m = len(t)
    finite = np.isfinite(x)
    xs = np.where(finite, x, t[0])
    right = np.searchsorted(t, xs, side="left")
    r = np.minimum(right, m - 1)
    lft = np.maximum(right - 1, 0)
    dist_l = np.abs(xs - t[lft])
    dist_r = np.abs(t[r] - xs)
    exact = finite & (np.minimum(dist_l, dist_r) <= tol)
    inside = finite & (xs > t[0]) & (xs < t[-1])
    span = t[r] - t[lft]
    between = inside & ~exact
    in_gap = between & (span > gap_limit)
    interp = between & ~in_gap
    nearest = np.where(dist_r < dist_l, r, lft)
    i = np.where(exact, nearest, np.where(interp, lft, 0))
    j = np.where(interp, r, i)
    w = np.zeros(len(x), dtype=np.float32)
    w[interp] = ((xs[interp] - t[lft[interp]]) / span[interp]).astype(np.float32)
    np.clip(w, 0.0, 1.0, out=w)
    return _Neighbours(finite, exact, interp, in_gap, exact | interp, lft, i, j, w)


@dataclass
class _ColumnPlan:
    """How each column is combined: the non-embedding ones together (`flat`; those read from
    the previous sample at `prev_pos` within it), each embedding group by its own weights."""

    flat: np.ndarray
    prev_pos: np.ndarray
    groups: list  # (slice, gi, gj, alpha, beta) per embedding group

    @classmethod
    def of(cls, table: FeatureTable, frames: _Neighbours, cut_similarity: float) -> _ColumnPlan:
        cols, kinds = table.columns, table.resolved.kinds
        col_index = {c: k for k, c in enumerate(cols)}
        cont = np.array([k for k, c in enumerate(cols) if kinds[c] == "continuous"], np.intp)
        prev = np.array(
            [k for k, c in enumerate(cols) if kinds[c] in ("binary", "discrete")], np.intp
        )
        flat = np.sort(np.concatenate([cont, prev]))  # every non-embedding column
        groups = []
        for gcols in table.resolved.groups.values():
            lo = col_index[gcols[0]]
            sl = slice(lo, lo + len(gcols))
            plan = _embedding_plan(table.values[:, sl], frames.interp, frames.lft, frames.i,
                                   frames.j, frames.w, cut_similarity)  # fmt: skip
            groups.append((sl, *plan))
        return cls(flat, np.searchsorted(flat, prev), groups)


def _gathered(values, frames: _Neighbours, plan: _ColumnPlan, check: bool):
    """(n, D) float32 aligned values and the (n, D) bool cells zero-filled (None when no
    cell can be: only tables with NaN/inf, or zero-norm embeddings, need the check)."""
    n, d = len(frames.mask), values.shape[1]
    out = np.empty((n, d), dtype=np.float32)
    check = check or any(bool(np.isnan(p[3][frames.mask]).any()) for p in plan.groups)
    missing = np.zeros((n, d), dtype=bool) if check else None
    chunk = max(256, _CHUNK_BYTES // max(1, 4 * d))
    flat_vals = values[:, plan.flat] if len(plan.flat) else None
    with np.errstate(invalid="ignore", over="ignore"):  # NaN/inf cells: zero-filled below
        for s in range(0, n, chunk):
            rows = slice(s, min(n, s + chunk))
            if flat_vals is not None:
                _gather_flat(out, rows, flat_vals, frames, plan)
            for sl, gi, gj, alpha, beta in plan.groups:
                a = values[:, sl][gi[rows]]
                a *= alpha[rows, None]
                b = values[:, sl][gj[rows]]
                b *= beta[rows, None]
                np.add(a, b, out=out[rows, sl])
            _zero_unreal(out, missing, rows, frames.mask)
    return out, missing


def _gather_flat(out, rows: slice, flat_vals, frames: _Neighbours, plan: _ColumnPlan) -> None:
    a = flat_vals[frames.i[rows]]
    b = flat_vals[frames.j[rows]]
    res = b - a
    res *= frames.w[rows, None]
    res += a
    np.clip(res, np.minimum(a, b), np.maximum(a, b), out=res)  # rounding stays between them
    if len(plan.prev_pos):
        res[:, plan.prev_pos] = a[:, plan.prev_pos]
    flat = plan.flat
    if flat[-1] - flat[0] + 1 == len(flat):  # one slice: a view, not a scatter
        out[rows, flat[0] : flat[-1] + 1] = res
    else:
        out[rows, flat] = res


def _zero_unreal(out, missing, rows: slice, mask) -> None:
    """Zeros for NaN/inf cells (flagged in `missing`) and for rows under mask 0 (not flagged)."""
    if missing is not None:
        bad = ~np.isfinite(out[rows])
        if bad.any():
            out[rows][bad] = 0.0
            missing[rows] = bad
    off = ~mask[rows]
    if off.any():
        out[rows][off] = 0.0
        if missing is not None:
            missing[rows][off] = False


def _embedding_plan(
    vals: np.ndarray,
    interp: np.ndarray,
    lft: np.ndarray,
    i: np.ndarray,
    j: np.ndarray,
    w: np.ndarray,
    cut_similarity: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per frame: rows (gi, gj) and weights (alpha, beta) so that alpha*v[gi] + beta*v[gj]
    is the interpolated embedding already at unit length (NaN weights: zero norm)."""
    gv = vals.astype(np.float64)  # (m, k)
    m = len(gv)
    sq = np.einsum("ij,ij->i", gv, gv)  # |v_k|^2
    dot = np.einsum("ij,ij->i", gv[:-1], gv[1:]) if m > 1 else np.zeros(0)  # v_k . v_k+1
    with np.errstate(divide="ignore", invalid="ignore"):
        cos = dot / np.sqrt(sq[:-1] * sq[1:])
    cut_pair = np.append(~(cos >= cut_similarity), False)  # NaN counts as a cut
    cut = interp & cut_pair[lft]
    gi = np.where(cut & (w >= 0.5), j, i)  # across a cut: the nearest sample, ties the later
    gw = np.where(cut, 0.0, w.astype(np.float64))
    gj = np.where(gw > 0, j, gi)  # b is only read where it has weight (no NaN leaks)
    # |a(1-w) + b w|^2 from per-sample scalars, so renormalising costs no pass over rows.
    pair_dot = np.append(dot, 0.0)[gi]
    norm2 = (1 - gw) ** 2 * sq[gi] + 2 * gw * (1 - gw) * pair_dot + gw**2 * sq[gj]
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = np.where(norm2 > 1e-30, 1.0 / np.sqrt(norm2), np.nan)  # zero norm: missing
    return gi, gj, ((1 - gw) * inv).astype(np.float32), (gw * inv).astype(np.float32)


def _report(
    table: FeatureTable,
    n: int,
    mask: np.ndarray,
    exact: np.ndarray,
    interp: np.ndarray,
    in_gap: np.ndarray,
    finite: np.ndarray,
    gap_limit: float,
    zero_filled: int,
    schema: FeatureSchema,
) -> AlignmentReport:
    t = table.times
    pct = (lambda k: 100.0 * float(k) / n) if n else (lambda k: 0.0)
    dt = np.diff(t)
    big = np.flatnonzero(dt > gap_limit)
    gaps = [Gap(float(t[k]), float(t[k + 1]), float(dt[k])) for k in big]
    by_kind: dict[str, int] = {}
    for kind in table.resolved.kinds.values():
        by_kind[kind] = by_kind.get(kind, 0) + 1
    warnings = list(table.warnings)
    interpolated_pct = pct(interp.sum())
    if interpolated_pct > schema.interpolation_warn_pct:
        warnings.append(
            f"{interpolated_pct:.1f}% of frames interpolated "
            f"(> {schema.interpolation_warn_pct:g}%): features are slower than the frames"
        )
    long_gaps = [g for g in gaps if g.length_s > schema.gap_warn_s]
    if long_gaps:
        worst = max(long_gaps, key=lambda g: g.length_s)
        warnings.append(
            f"{len(long_gaps)} gaps longer than {schema.gap_warn_s:g} s "
            f"(longest {worst.length_s:.2f} s at {worst.start_s:.2f} s)"
        )
    if zero_filled:
        warnings.append(
            f"{zero_filled} aligned cells had no value (NaN/inf input or a zero-norm "
            "embedding): set to 0"
        )
    outside = finite & ~mask & ~in_gap
    return AlignmentReport(
        source=table.source,
        n_frames=n,
        n_samples=len(t),
        coverage_pct=pct(mask.sum()),
        exact_pct=pct(exact.sum()),
        interpolated_pct=interpolated_pct,
        outside_pct=pct(outside.sum() + (~finite).sum()),
        in_gap_pct=pct(in_gap.sum()),
        max_gap_s=gap_limit,
        time_range_s=(float(t[0]), float(t[-1])),
        gaps=gaps,
        columns_by_kind=by_kind,
        embedding_groups={g: len(c) for g, c in table.resolved.groups.items()},
        dropped_columns=list(table.resolved.dropped),
        nonfinite_values=sum(table.nonfinite.values()),
        zero_filled_cells=zero_filled,
        bad_time_rows=table.bad_time_rows,
        duplicate_rows=table.duplicate_rows,
        was_unsorted=table.was_unsorted,
        warnings=warnings,
    )
