"""patchbayd: the patchbay daemon."""

__version__ = "0.1.0"
