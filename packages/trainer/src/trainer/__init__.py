"""xmlai-trainer: a small, explicit, resumable training loop for any torch.nn.Module."""

from trainer.__about__ import __version__

__all__ = ["__version__"]
