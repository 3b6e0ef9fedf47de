"""Small synthetic track tables and feature files, built in code (no binary fixtures)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from featalign import track_columns

N_TRACKS = 3


def make_track_table(
    edit_id: str,
    video: str,
    n: int,
    fps: float = 30.0,
    source_offset_s: float = 0.0,
    n_tracks: int = N_TRACKS,
    off_screen: slice | None = None,
) -> pd.DataFrame:
    """An edit of n frames showing `video` from `source_offset_s` on, V1 active throughout,
    V2 a zooming inset on the second half."""
    frame = np.arange(n)
    ts = frame / fps
    src = ts + source_offset_s
    if off_screen is not None:
        src[off_screen] = np.nan
    table = pd.DataFrame(
        {
            "edit_id": edit_id,
            "source_video_name": video,
            "frame": frame,
            "timestamp": ts,
            "source_timestamp": src,
        }
    )
    values = np.tile(np.array([0, 0, 100, 0, 0, 0, 0, 0, 0], np.float64), (n, n_tracks))
    values[:, 0], values[:, 1] = 1, 1
    if n_tracks > 1:
        half = frame >= n // 2
        values[half, 9], values[half, 10] = 1, 2
        values[half, 11] = 100 + frame[half]  # scale ramps up
        values[half, 12] = 0.25
    cols = track_columns(n_tracks)
    return pd.concat([table, pd.DataFrame(values, columns=cols)], axis=1)


def make_audio(seconds: float, rate: float = 100.0, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    return pd.DataFrame(
        {
            "time": t,
            "rms": np.abs(np.sin(t)) + 0.1,
            "pitch": 100 + 10 * np.cos(t),
            "speech": (rng.random(len(t)) < 0.5).astype(int),
            "label": "x",  # non-numeric: dropped with a log line
        }
    )


def make_visual(seconds: float, rate: float = 2.0, width: int = 64, seed: int = 1):
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    base = rng.normal(size=width)
    clip = base + 0.3 * np.sin(t[:, None] * 0.2 + np.arange(width))
    frame = pd.DataFrame({"time": t, "motion": rng.random(len(t)), "face_present": 1})
    emb = pd.DataFrame(clip.astype(np.float16), columns=[f"clip_{k}" for k in range(width)])
    return pd.concat([frame, emb], axis=1)


@pytest.fixture
def corpus(tmp_path: Path):
    """Two videos; `b` has no visual features. Three edits (two of video a)."""
    feats = tmp_path / "features"
    feats.mkdir()
    make_audio(20).to_csv(feats / "Video A.audio.csv", index=False)
    make_visual(20).to_csv(feats / "Video A.visual.csv", index=False)
    (feats / "video_b").mkdir()
    make_audio(10, seed=3).to_csv(feats / "video_b" / "audio.csv", index=False)
    tracks = pd.concat(
        [
            make_track_table("edit one", "file://localhost/x/Video%20A.mp4", 90, 30, 2.0),
            make_track_table("edit/two", "VIDEO A.MOV", 60, 30, 5.0, off_screen=slice(10, 20)),
            make_track_table("edit three", "video_b.mp4", 45, 25, 0.0),
        ],
        ignore_index=True,
    )
    path = tmp_path / "tracks.csv"
    tracks.to_csv(path, index=False)
    return {"features": feats, "tracks": path, "table": tracks, "root": tmp_path}


@pytest.fixture(scope="session")
def make():
    """The builders above, for test modules (importlib mode cannot import conftest)."""
    from types import SimpleNamespace

    return SimpleNamespace(
        track_table=make_track_table, audio=make_audio, visual=make_visual, n_tracks=N_TRACKS
    )
