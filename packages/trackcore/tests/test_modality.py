"""One modality-name rule for every library."""

from __future__ import annotations

import pytest

from trackcore import (
    RESERVED_NAMES,
    ModalityNameError,
    canonical_modality_name,
    check_modality_name,
    is_modality_name,
)


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("audio", "audio"),
        ("face-mesh", "face_mesh"),
        ("Face Box", "face_box"),
        (" Visual ", "visual"),
        ("clip_v2", "clip_v2"),
        ("CAFÉ", None),  # not ASCII after folding: refused, not guessed
        ("2d", None),
        ("../x", None),
        ("", None),
        ("a.b", None),
        ("tracks", "tracks"),  # canonical, but reserved: is_modality_name says so
    ],
)
def test_canonical_names(raw, canonical):
    assert canonical_modality_name(raw) == canonical


def test_only_canonical_unreserved_names_pass():
    assert check_modality_name("face_mesh") == "face_mesh"
    assert is_modality_name("audio") and not is_modality_name("Audio")
    for name in RESERVED_NAMES:
        assert not is_modality_name(name)
        with pytest.raises(ModalityNameError, match="reserved"):
            check_modality_name(name)
    with pytest.raises(ModalityNameError, match="did you mean 'face_mesh'"):
        check_modality_name("face-mesh")
    for bad in ("Audio", "_x", "a b", "", "x/y", 3, None):
        with pytest.raises(ModalityNameError, match="modality name"):
            check_modality_name(bad)
    assert {"tracks", "frame_mask", "modality_mask", "given_tracks"} <= RESERVED_NAMES
