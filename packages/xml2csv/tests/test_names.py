"""`source_video_name` from `pathurl`: decoded, drive letters, NFC, fallback to `<name>`."""

from __future__ import annotations

import unicodedata
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from xml2csv.names import source_name, source_stem

name_chars = st.characters(
    blacklist_categories=("Cs", "Cc", "Zl", "Zp"), blacklist_characters="/\\:%?#"
)


@given(
    stem=st.text(name_chars, min_size=1, max_size=30).filter(lambda s: s.strip(" .") == s and s),
    ext=st.sampled_from([".mp4", ".mov", ".MXF"]),
    prefix=st.sampled_from(
        [
            "file://localhost/Volumes/Media/",
            "file:///home/ed/",
            "file://localhost/D%3a/rec/",
            "file://localhost/D:/rec/",
            "file://localhost/c%3A/",
        ]
    ),
    nfd=st.booleans(),
)
def test_any_name_survives_url_encoding_and_nfd(stem, ext, prefix, nfd):
    name = unicodedata.normalize("NFC", stem + ext)
    encoded = quote(unicodedata.normalize("NFD", name) if nfd else name)
    assert source_name(prefix + encoded) == name
    assert (
        source_stem(source_name(prefix + encoded)) == unicodedata.normalize("NFC", stem).casefold()
    )


@pytest.mark.parametrize(
    ("pathurl", "fallback", "expected"),
    [
        ("file://localhost/Volumes/Kra%CC%8Akeklubben/a%20b.mov", None, "a b.mov"),
        ("file://localhost/D%3a/media/x.mov", None, "x.mov"),
        ("file://localhost/D:/media/y.mov", None, "y.mov"),
        ("file://localhost/Volumes/K%c3%b8ge/%C3%B8.mov", None, "ø.mov"),
        (None, "Clip Name.mov", "Clip Name.mov"),
        ("", "fallback.mp4", "fallback.mp4"),
    ],
)
def test_known_pathurl_forms(pathurl, fallback, expected):
    assert source_name(pathurl, fallback) == expected
