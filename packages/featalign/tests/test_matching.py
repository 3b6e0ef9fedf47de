"""Video name matching and feature discovery."""

from __future__ import annotations

import unicodedata
from urllib.parse import quote

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from featalign import discover_features, video_key

stems = st.text(
    alphabet=st.characters(
        codec="utf-8", exclude_characters="/\\.%\x00", exclude_categories=("Cs", "Cc")
    ),
    min_size=1,
    max_size=20,
).filter(lambda s: s.strip() == s and s.strip())


@settings(max_examples=100, deadline=None)
@given(stems, st.sampled_from(["mp4", "MOV", "mkv"]), st.data())
def test_video_names_match_whatever_their_spelling(stem, ext, data):
    folder = data.draw(st.sampled_from(["", "/Users/me/", "C:\\clips\\", "file://localhost/x/"]))
    spelled = data.draw(st.sampled_from([str.upper, str.lower, str.title, lambda s: s]))(stem)
    nfc = unicodedata.normalize
    # Unicode case mapping is not always reversible (dotless i -> I -> i): out of contract.
    assume(nfc("NFC", spelled).casefold() == nfc("NFC", stem).casefold())
    form = data.draw(st.sampled_from(["NFC", "NFD"]))
    name = unicodedata.normalize(form, spelled) + "." + ext
    if folder.startswith("file:") or data.draw(st.booleans()):
        name = quote(name)
    name = folder + name
    key = video_key(stem + ".mp4")
    assert video_key(name) == key
    assert key == unicodedata.normalize("NFC", stem).casefold()


def test_a_name_that_starts_like_a_url_scheme_is_still_a_name():
    """Found by the property above: `FILE:.mp4` was parsed as a URL with an empty path."""
    assert video_key("FILE:.mp4") == video_key("file:.MOV") == "file:"
    assert video_key("FILE:///Volumes/x/FILE%3A.mp4") == "file:"


def test_discovery_both_layouts_and_lookup(tmp_path):
    (tmp_path / "My Clip.audio.csv").write_text("time,x\n0,1\n")
    (tmp_path / "my%20clip.visual.parquet").write_bytes(b"")
    (tmp_path / "Other").mkdir()
    (tmp_path / "Other" / "audio.csv").write_text("time,x\n0,1\n")
    (tmp_path / "notes.txt").write_text("")
    (tmp_path / "orphan.csv").write_text("")  # no modality in the name
    index = discover_features(tmp_path)
    assert index.modalities == ["audio", "visual"]
    found = index.lookup("file:///Volumes/A/MY CLIP.mov")
    assert set(found) == {"audio", "visual"}
    assert index.lookup("other.mp4")["audio"].name == "audio.csv"
    assert index.lookup("unknown.mp4") == {}
    assert any("orphan.csv" in w for w in index.warnings)


def test_full_name_is_a_second_candidate(tmp_path):
    (tmp_path / "clip.v2.audio.csv").write_text("time,x\n0,1\n")
    assert "audio" in discover_features(tmp_path).lookup("clip.v2")


def test_missing_folder_is_a_warning_not_an_error(tmp_path):
    index = discover_features(tmp_path / "nope")
    assert index.files == {} and index.warnings


def test_side_files_beside_features_are_ignored_without_a_warning(tmp_path):
    folder = tmp_path / "talk"
    folder.mkdir()
    (folder / "audio.csv").write_text("time,rms\n0,0.1\n")
    for side in ("media.json", "schema.toml", "words.json", "extract.json"):
        (folder / side).write_text("{}")
    (tmp_path / "mediafeat.log").write_text("")
    (tmp_path / "talk.notes.xyz").write_text("")  # not a side file: still reported
    index = discover_features(tmp_path)
    assert set(index.lookup("talk.mp4")) == {"audio"}
    assert len(index.warnings) == 1 and "talk.notes.xyz" in index.warnings[0]


def _touch(root, *names):
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("time,x\n0,1\n")


def test_naming_is_a_setting(tmp_path):
    _touch(tmp_path, "rec_0000_audio.csv", "rec_0000-visual.parquet", "rec_0001_audio.csv")
    default = discover_features(tmp_path)
    assert default.files == {}
    index = discover_features(tmp_path, ["{stem}_{modality}.{ext}", "{stem}-{modality}.{ext}"])
    assert set(index.lookup("rec_0000.mp4")) == {"audio", "visual"}
    assert set(index.lookup("rec_0001.mov")) == {"audio"}


def test_no_match_names_what_it_saw_and_tried(tmp_path):
    import pytest

    from featalign import NamingError

    _touch(tmp_path, *(f"rec_{i:04d}_audio.csv" for i in range(8)))
    index = discover_features(tmp_path)
    with pytest.raises(NamingError) as caught:
        index.require_files()
    message = str(caught.value)
    assert "'rec_0000_audio.csv'" in message and "and 3 more" in message
    assert "{stem}.{modality}.{ext}" in message and "{stem}/{modality}.{ext}" in message
    assert "\n" not in message


def test_a_per_video_folder_file_that_repeats_the_stem_is_its_modality(tmp_path):
    _touch(tmp_path, "rec_0000/rec_0000_audio.parquet", "rec_0000/REC_0000.visual.csv")
    index = discover_features(tmp_path)
    assert index.modalities == ["audio", "visual"]


def test_modality_names_follow_one_rule(tmp_path):
    _touch(tmp_path, "x.face-mesh.csv", "x.Face Box.csv", "x.2d.csv")
    index = discover_features(tmp_path)
    assert index.modalities == ["face_box", "face_mesh"]
    assert any("'2d'" in w for w in index.warnings)


def test_bad_naming_patterns_are_refused():
    import pytest

    from featalign import NamingError
    from featalign.matching import naming_patterns

    for bad in ("{stem}.csv", "{modality}/{stem}.{ext}", "a/b/{stem}{modality}.{ext}"):
        with pytest.raises(NamingError):
            naming_patterns(bad)
