"""xmlai: the umbrella that composes xml2csv, featalign, seqwin, mttransformer and trainer."""

from xmlai.__about__ import __version__

__all__ = ["__version__"]
