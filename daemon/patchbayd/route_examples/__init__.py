"""Example routes, importable as they are: `patchbay routes import FILE` (see README)."""
