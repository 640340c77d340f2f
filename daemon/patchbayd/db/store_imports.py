"""Where each Shopify store's import stands (table store_imports), so it survives a restart."""

from __future__ import annotations

from dataclasses import dataclass

from .database import Database


@dataclass
class ImportProgress:
    """A store's import: customers since `cursor`, pages of a pass cut off, orders once.

    Shopify pages by id, not by time, so the cursor moves only when a pass is complete
    (a page may hold a newer customer than a later page); until then `pass_newest` holds
    what the pass has committed and the `*_next` link where it goes on.
    """

    source: str  # the shop this belongs to (its base URL)
    cursor: str | None = None
    pass_newest: str | None = None
    customers_next: str | None = None
    orders_next: str | None = None
    orders_read: bool = False


async def load(db: Database, store: str) -> ImportProgress | None:
    row = await db.fetchone(
        "SELECT source, cursor, pass_newest, customers_next, orders_next, orders_read"
        " FROM store_imports WHERE store = ?",
        (store,),
    )
    if row is None:
        return None
    return ImportProgress(row[0], row[1], row[2], row[3], row[4], bool(row[5]))


async def save(db: Database, store: str, progress: ImportProgress, now: str) -> None:
    await db.write(
        "INSERT INTO store_imports (store, source, cursor, pass_newest, customers_next,"
        " orders_next, orders_read, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (store) DO UPDATE SET source = excluded.source,"
        " cursor = excluded.cursor, pass_newest = excluded.pass_newest,"
        " customers_next = excluded.customers_next, orders_next = excluded.orders_next,"
        " orders_read = excluded.orders_read, updated_at = excluded.updated_at",
        (
            store,
            progress.source,
            progress.cursor,
            progress.pass_newest,
            progress.customers_next,
            progress.orders_next,
            int(progress.orders_read),
            now,
        ),
    )


async def saved_at(db: Database, store: str) -> str | None:
    """When the store's import last committed a page (None: never)."""
    row = await db.fetchone("SELECT updated_at FROM store_imports WHERE store = ?", (store,))
    return row[0] if row else None
