"""Adversarial proofs against a real daemon: hostile input, floods, crashes."""
