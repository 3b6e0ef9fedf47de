"""The shared contract (trackcore) as the libraries use it together: one layout, one
modality-name rule from build to train, one manifest writer and reader."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import trackcore


def test_every_library_speaks_the_same_layout():
    import featalign
    import mttransformer
    import xml2csv
    from xml2csv.sampler import META_COLUMNS

    assert xml2csv.AssetRole is trackcore.AssetRole
    assert xml2csv.track_columns(3) == featalign.track_columns(3) == trackcore.track_columns(3)
    assert tuple(META_COLUMNS) == trackcore.META_COLUMNS
    assert tuple(p.default for p in xml2csv.DEFAULT_PARAMETERS) == trackcore.PARAMETER_NEUTRAL
    assert tuple(p.column for p in xml2csv.DEFAULT_PARAMETERS) == trackcore.PARAMETER_NAMES
    assert mttransformer.TRACK_WIDTH == trackcore.TRACK_WIDTH
    assert mttransformer.REGRESSION_NAMES == trackcore.PARAMETER_NAMES
    config = mttransformer.MultiTrackConfig(modalities={"audio": 2})
    assert (config.n_assets, config.n_tracks) == (trackcore.N_ASSETS, trackcore.DEFAULT_N_TRACKS)
    assert config.regression_offset == trackcore.PARAMETER_NEUTRAL


def _edit(n: int = 40, n_tracks: int = 2) -> pd.DataFrame:
    meta = pd.DataFrame(
        {
            "edit_id": "rec",
            "source_video_name": "rec.mp4",
            "frame": np.arange(n),
            "timestamp": np.arange(n) / 25,
            "source_timestamp": np.arange(n) / 25,
        }
    )
    tracks = np.tile(np.array(trackcore.TRACK_NEUTRAL), (n, n_tracks))
    tracks[:, trackcore.ACTIVE] = 1
    tracks[:, trackcore.ASSET] = trackcore.AssetRole.MAIN_SOURCE
    columns = trackcore.track_columns(n_tracks)
    return pd.concat([meta, pd.DataFrame(tracks, columns=columns)], axis=1)


def test_a_face_mesh_file_is_one_name_from_build_to_a_model_step(tmp_path):
    """`rec.face-mesh.csv` is canonicalised when featalign builds the store, so seqwin opens it
    and mttransformer takes its name: it cannot pass the build and fail at train."""
    import torch

    from featalign import build_frame_store
    from mttransformer import BatchLoss, MultiTrackConfig, MultiTrackTransformer
    from seqwin import FrameStore, WindowDataset

    features = tmp_path / "features"
    features.mkdir()
    t = np.arange(0, 2, 0.1)
    pd.DataFrame({"time": t, "x": np.sin(t), "y": np.cos(t)}).to_csv(
        features / "rec.face-mesh.csv", index=False
    )
    pd.DataFrame({"time": t, "rms": t}).to_csv(features / "rec.audio.csv", index=False)
    build_frame_store(_edit(), features, tmp_path / "store")

    store = FrameStore(tmp_path / "store")
    assert store.modalities == ["audio", "face_mesh"] and store.layout_version == 1
    config = MultiTrackConfig(
        modalities={m: store.widths[m] for m in store.modalities},
        n_tracks=store.n_tracks,
        layout_version=store.layout_version,
        d_model=8,
        n_heads=2,
        n_layers=1,
        d_ff=16,
        head_hidden=4,
    )
    batch = WindowDataset(store, length=16, overlap=4).gather([0, 1])
    torch.manual_seed(0)
    total, _ = BatchLoss(config)(MultiTrackTransformer(config), batch)
    assert torch.isfinite(total)


def test_a_store_holding_another_spelling_is_refused_when_opened(tmp_path):
    from featalign import build_frame_store
    from seqwin import FrameStore, StoreError

    features = tmp_path / "features"
    features.mkdir()
    pd.DataFrame({"time": [0.0, 2.0], "x": [0.0, 1.0]}).to_csv(
        features / "rec.face-mesh.csv", index=False
    )
    build_frame_store(_edit(), features, tmp_path / "store")
    path = tmp_path / "store" / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["modalities"] = ["face-mesh"]  # what seqwin and mttransformer used to disagree on
    manifest["modality_columns"] = {"face-mesh": manifest["modality_columns"]["face_mesh"]}
    path.write_text(json.dumps(manifest))
    with pytest.raises(StoreError, match="did you mean 'face_mesh'"):
        FrameStore(tmp_path / "store")
