"""patchbay: the CLI and console, clients of patchbayd's control socket."""

from patchbayd import __version__

__all__ = ["__version__"]
