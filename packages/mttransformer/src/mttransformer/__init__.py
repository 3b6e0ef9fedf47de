"""xmlai-mttransformer: a leak-free multi-track transformer that predicts an edit from features."""

from mttransformer.__about__ import __version__

__all__ = ["__version__"]
