"""xmlai-trackcore: the contract every xmlai library shares, in the standard library only.

    trackcore.layout     the track layout (versioned): fields, units, neutral values, column
                         names, asset roles, metadata columns, check_layout
    trackcore.modality   the one modality-name rule
    trackcore.manifest   the frame store's manifest: one writer, one reader
    trackcore.atomic     atomic writes (files and folders) with the user's umask

>>> from trackcore import TRACK_FIELDS, track_columns, AssetRole
>>> track_columns(1)[:3]
['t01_active', 't01_asset', 't01_scale']
"""

from trackcore.__about__ import __version__
from trackcore.errors import (
    LayoutError,
    LocatedError,
    ManifestError,
    ModalityNameError,
    TrackcoreError,
)
from trackcore.layout import (
    ACTIVE,
    ASSET,
    DEFAULT_N_TRACKS,
    FIELD_NAMES,
    FIELDS,
    KNOWN_LAYOUTS,
    LAYOUT_VERSION,
    META_COLUMNS,
    N_ASSETS,
    N_PARAMETERS,
    PARAMETER_FIELDS,
    PARAMETER_NAMES,
    PARAMETER_NEUTRAL,
    PARAMETERS,
    TRACK_FIELDS,
    TRACK_NEUTRAL,
    TRACK_WIDTH,
    AssetRole,
    TrackField,
    check_layout,
    check_track_columns,
    count_tracks,
    field_index,
    parse_track_column,
    track_column,
    track_columns,
)
from trackcore.manifest import Manifest, ManifestEdit, read_manifest, write_manifest
from trackcore.modality import (
    MODALITY_NAME_RULE,
    MODALITY_RULE,
    RESERVED_NAMES,
    canonical_modality_name,
    check_modality_name,
    is_modality_name,
)

__all__ = [
    "ACTIVE",
    "ASSET",
    "DEFAULT_N_TRACKS",
    "FIELDS",
    "FIELD_NAMES",
    "KNOWN_LAYOUTS",
    "LAYOUT_VERSION",
    "META_COLUMNS",
    "MODALITY_NAME_RULE",
    "MODALITY_RULE",
    "N_ASSETS",
    "N_PARAMETERS",
    "PARAMETERS",
    "PARAMETER_FIELDS",
    "PARAMETER_NAMES",
    "PARAMETER_NEUTRAL",
    "RESERVED_NAMES",
    "TRACK_FIELDS",
    "TRACK_NEUTRAL",
    "TRACK_WIDTH",
    "AssetRole",
    "LayoutError",
    "LocatedError",
    "Manifest",
    "ManifestEdit",
    "ManifestError",
    "ModalityNameError",
    "TrackField",
    "TrackcoreError",
    "__version__",
    "canonical_modality_name",
    "check_layout",
    "check_modality_name",
    "check_track_columns",
    "count_tracks",
    "field_index",
    "is_modality_name",
    "parse_track_column",
    "read_manifest",
    "track_column",
    "track_columns",
    "write_manifest",
]
