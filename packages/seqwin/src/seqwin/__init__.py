"""xmlai-seqwin: windows over a frame store: padding, masks, splits, stitching, without copies.

store = FrameStore("out/store")                       # validates, memory-maps lazily
split = split_by_group([e.edit_id for e in store.edits], 0.2, seed=0,
                       groups=[e.source_video_name for e in store.edits])
train = WindowDataset(store, split.train, length=100, overlap=20)
batch = train.gather(range(64))                       # dict of (64, 100, D) arrays
per_frame = stitch(predictions, train.index, store.n_frames)   # {edit_index: (n, ...)}
"""

from seqwin.__about__ import __version__
from seqwin.errors import SeqwinError, SplitError, StitchError, StoreError, WindowConfigError
from seqwin.sequences import SequenceSet, load_sequences, save_sequences
from seqwin.split import Split, split_by_group
from seqwin.stitch import stitch, taper_weights
from seqwin.store import EditInfo, FrameStore
from seqwin.windows import WindowDataset, WindowIndex, check_window_params, make_windows

__all__ = [
    "EditInfo",
    "FrameStore",
    "SequenceSet",
    "SeqwinError",
    "Split",
    "SplitError",
    "StitchError",
    "StoreError",
    "WindowConfigError",
    "WindowDataset",
    "WindowIndex",
    "__version__",
    "check_window_params",
    "load_sequences",
    "make_windows",
    "save_sequences",
    "split_by_group",
    "stitch",
    "taper_weights",
]
