"""The windows a trained model predicts on."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from seqwin.stitch import taper_weights
from seqwin.windows import make_windows
from xmlai.infer import prediction_overlap


@settings(max_examples=80, deadline=None)
@given(
    window=st.integers(8, 400),
    overlap_share=st.floats(0.0, 0.99),
    n_frames=st.integers(1, 1500),
)
def test_every_frame_leans_on_a_window_with_a_quarter_of_it_on_either_side(
    window, overlap_share, n_frames
):
    """Stitching weighs each frame by the window where it is most central. With the prediction
    overlap, that window holds at least a quarter window of context on both sides of the
    frame (or all the recording has, near its ends): a silence of that length either side is
    seen whole, whatever the training overlap."""
    overlap = prediction_overlap(window, min(window - 1, int(overlap_share * window)))
    assert window // 2 <= overlap < window
    index = make_windows([n_frames], window, overlap)
    weights = taper_weights(window, overlap)
    for frame in range(n_frames):
        inside = np.flatnonzero(
            (index.start_frame <= frame) & (frame < index.start_frame + index.n_real)
        )
        w = inside[np.argmax(weights[frame - index.start_frame[inside]])]
        before = frame - index.start_frame[w]
        after = index.start_frame[w] + index.n_real[w] - 1 - frame
        quarter = window // 4 - 1
        assert before >= min(quarter, frame)
        assert after >= min(quarter, n_frames - 1 - frame)
