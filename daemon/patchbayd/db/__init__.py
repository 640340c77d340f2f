"""SQLite state: one connection, WAL, numbered migrations; queries live in this package."""

from .database import Database, SchemaTooNew

__all__ = ["Database", "SchemaTooNew"]
