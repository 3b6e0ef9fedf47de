"""xmlai-seqwin: windows over a frame store: padding, masks, splits, stitching, without copies."""

from seqwin.__about__ import __version__

__all__ = ["__version__"]
