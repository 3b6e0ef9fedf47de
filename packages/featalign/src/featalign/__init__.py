"""xmlai-featalign: align per-source feature tables to every edit frame on absolute time."""

from featalign.__about__ import __version__

__all__ = ["__version__"]
