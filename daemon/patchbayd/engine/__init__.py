"""Engines: the decisions and loops between the durable tables and the providers."""
