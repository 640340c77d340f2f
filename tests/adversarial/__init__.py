"""Adversarial proofs: hostile input at every public endpoint of a real daemon."""
