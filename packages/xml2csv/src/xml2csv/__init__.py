"""xmlai-xml2csv: xmeml (Premiere / Final Cut Pro 7 XML) to a per-frame track table."""

from xml2csv.__about__ import __version__

__all__ = ["__version__"]
