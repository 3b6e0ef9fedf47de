"""xmlai-featalign: align per-source feature tables to every edit frame on absolute time.

Names load on first use (PEP 562), so `featalign --help` does not pay for pandas.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from featalign.__about__ import __version__

_EXPORTS = {
    "alignment": ["Aligned", "AlignmentReport", "Gap", "align", "default_max_gap"],
    "errors": [
        "FeatAlignError",
        "FeatureTableError",
        "SchemaError",
        "StoreError",
        "TrackTableError",
    ],
    "matching": [
        "DEFAULT_NAMING",
        "FeatureIndex",
        "NamingError",
        "discover_features",
        "modality_name",
        "video_key",
    ],
    "normalise": ["Normaliser", "mask_inactive_tracks", "track_columns", "track_kinds"],
    "schema": ["FeatureSchema", "load_schema"],
    "store": ["StoreSummary", "build_frame_store"],
    "tables": ["FeatureTable", "load_features"],
    "validate": ["validate_corpus", "validate_features", "write_corpus_report"],
}
_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = [
    "DEFAULT_NAMING",
    "Aligned",
    "AlignmentReport",
    "FeatAlignError",
    "FeatureIndex",
    "FeatureSchema",
    "FeatureTable",
    "FeatureTableError",
    "Gap",
    "NamingError",
    "Normaliser",
    "SchemaError",
    "StoreError",
    "StoreSummary",
    "TrackTableError",
    "__version__",
    "align",
    "build_frame_store",
    "default_max_gap",
    "discover_features",
    "load_features",
    "load_schema",
    "mask_inactive_tracks",
    "modality_name",
    "track_columns",
    "track_kinds",
    "validate_corpus",
    "validate_features",
    "video_key",
    "write_corpus_report",
]


def __getattr__(name: str):
    if name not in _MODULE_OF:
        raise AttributeError(f"module 'featalign' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"featalign.{_MODULE_OF[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__


if TYPE_CHECKING:  # static tools see the real names
    from featalign.alignment import Aligned, AlignmentReport, Gap, align, default_max_gap
    from featalign.errors import (
        FeatAlignError,
        FeatureTableError,
        SchemaError,
        StoreError,
        TrackTableError,
    )
    from featalign.matching import (
        DEFAULT_NAMING,
        FeatureIndex,
        NamingError,
        discover_features,
        modality_name,
        video_key,
    )
    from featalign.normalise import Normaliser, mask_inactive_tracks, track_columns, track_kinds
    from featalign.schema import FeatureSchema, load_schema
    from featalign.store import StoreSummary, build_frame_store
    from featalign.tables import FeatureTable, load_features
    from featalign.validate import validate_corpus, validate_features, write_corpus_report
