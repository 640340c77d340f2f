"""patchbay: the CLI and console, clients of patchbayd's control socket."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("patchbay")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = ["__version__"]
