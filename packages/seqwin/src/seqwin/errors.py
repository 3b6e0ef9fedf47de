"""Errors raised by seqwin. Each names the file (or the argument) and the place at fault."""

from __future__ import annotations

from trackcore.errors import LocatedError


class SeqwinError(LocatedError):
    """Base class: bad input to seqwin (a ValueError naming the file and place, as trackcore's
    errors do)."""


class StoreError(SeqwinError):
    """A frame store or a sequences .npz file is missing, corrupt or inconsistent."""


class WindowConfigError(SeqwinError):
    """Window length / overlap (or window indices) that cannot describe a windowing."""


class SplitError(SeqwinError):
    """Arguments to split_by_group that cannot produce a split."""


class StitchError(SeqwinError):
    """Window predictions that do not match their index, or frames no window covers."""
