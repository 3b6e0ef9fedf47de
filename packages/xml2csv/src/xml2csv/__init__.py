"""xmlai-xml2csv: xmeml (Premiere / Final Cut Pro 7 XML) to a per-frame track table.

>>> from xml2csv import read_xmeml, sample
>>> timeline = read_xmeml("edit.xml")
>>> table = sample(timeline)            # one row per frame, 20 tracks x 9 columns
"""

from xml2csv.__about__ import __version__
from xml2csv.errors import NoXmlFilesError, OutputError, XmemlError
from xml2csv.keyframes import DEFAULT_TOLERANCE, Tolerance, reduce_keyframes, written_keyframes
from xml2csv.media import SourceMedia, media_url
from xml2csv.model import Marker, Timeline
from xml2csv.params import DEFAULT_PARAMETERS, OPTIONAL_PARAMETERS, ParameterSpec
from xml2csv.reader import list_sequences, read_xmeml
from xml2csv.roles import DEFAULT_RULES, AssetRole, AssetRules
from xml2csv.sampler import sample, sample_source_view, track_columns
from xml2csv.structure import structure_problems
from xml2csv.writer import write_xmeml, xmeml_bytes

__all__ = [
    "DEFAULT_PARAMETERS",
    "DEFAULT_RULES",
    "DEFAULT_TOLERANCE",
    "OPTIONAL_PARAMETERS",
    "AssetRole",
    "AssetRules",
    "Marker",
    "NoXmlFilesError",
    "OutputError",
    "ParameterSpec",
    "SourceMedia",
    "Timeline",
    "Tolerance",
    "XmemlError",
    "__version__",
    "list_sequences",
    "media_url",
    "read_xmeml",
    "reduce_keyframes",
    "sample",
    "sample_source_view",
    "structure_problems",
    "track_columns",
    "write_xmeml",
    "written_keyframes",
    "xmeml_bytes",
]
