"""Marketing-platform clients behind one Provider protocol (see base.py and registry.py)."""
