"""Train/validation split by edit and by source video: a video never sits on both sides.

Edits that share a source video (or an edit id) form one group and move together. Groups are
ordered by a keyed hash of (seed, group name), not by input order or Python's salted hash(), so
the same seed gives the same split on every machine, in any order the ids arrive.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from seqwin.errors import SplitError


@dataclass(frozen=True)
class Split:
    """Positions (into the ids given to split_by_group), sorted, int64."""

    train: np.ndarray
    val: np.ndarray
    n_groups: int


def split_by_group(
    ids: Sequence[str],
    val_fraction: float = 0.2,
    seed: int = 0,
    *,
    groups: Sequence[str | None] | None = None,
    weights: Sequence[float] | np.ndarray | None = None,
) -> Split:
    """Split edits into train and validation, keeping every group on one side.

    ids:      one per edit (edit ids; repeated ids are one edit and stay together).
    groups:   the source video name of each edit (None or "" = the edit is its own group).
    weights:  what val_fraction measures (default 1 per edit; pass frame counts to split frames).
    Validation receives whole groups, in hashed order, each one that brings its share nearer
    to val_fraction (so one huge group cannot swallow it). With val_fraction > 0 and >= 2
    groups both sides are non-empty.
    """
    n = len(ids)
    if n == 0:
        raise SplitError("no ids to split", where="ids")
    if isinstance(val_fraction, bool) or not isinstance(val_fraction, int | float | np.floating):
        raise SplitError(f"must be a number, got {val_fraction!r}", where="val_fraction")
    if not 0.0 <= float(val_fraction) < 1.0:
        raise SplitError(f"must be in [0, 1), got {val_fraction}", where="val_fraction")
    if groups is not None and len(groups) != n:
        raise SplitError(f"{len(groups)} groups for {n} ids", where="groups")
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64).reshape(-1)
    if w.shape[0] != n or not np.isfinite(w).all() or (w < 0).any():
        raise SplitError("weights must be one finite non-negative number per id", where="weights")

    # Union-find over edits: same edit id or same source video -> same group.
    parent = list(range(n))

    def find(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    first_of: dict[str, int] = {}
    for i in range(n):
        keys = [f"edit:{ids[i]}"]
        if groups is not None and groups[i]:
            keys.append(f"video:{groups[i]}")
        for key in keys:
            j = first_of.setdefault(key, i)
            ra, rb = find(i), find(j)
            if ra != rb:
                parent[max(ra, rb)] = min(ra, rb)
    members: dict[int, list[int]] = {}
    names: dict[int, str] = {}
    for i in range(n):
        r = find(i)
        members.setdefault(r, []).append(i)
        name = f"edit:{ids[i]}" if groups is None or not groups[i] else f"video:{groups[i]}"
        names[r] = min(names.get(r, name), name)  # order-independent group name

    def rank(root: int) -> bytes:
        return hashlib.blake2b(f"{seed}\x00{names[root]}".encode(), digest_size=16).digest()

    roots = sorted(members, key=lambda r: (rank(r), names[r]))
    total = float(w.sum())
    target = float(val_fraction) * total
    val_roots: list[int] = []
    val_weight = 0.0
    if val_fraction > 0 and len(roots) >= 2:
        for r in roots:
            gw = float(w[members[r]].sum())
            if abs(val_weight + gw - target) < abs(val_weight - target):
                val_roots.append(r)
                val_weight += gw
        if not val_roots:  # every group overshoots: the first in hashed order validates
            val_roots.append(roots[0])
        if len(val_roots) == len(roots):  # something must train
            val_roots.pop()
    val = sorted(i for r in val_roots for i in members[r])
    val_set = set(val)
    train = [i for i in range(n) if i not in val_set]
    return Split(np.array(train, dtype=np.int64), np.array(val, dtype=np.int64), len(roots))
