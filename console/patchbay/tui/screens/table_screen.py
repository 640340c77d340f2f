"""The shape the live list screens share (routes, deliveries, inbox quarantine): a line
saying what is shown, a table of typed rows from the app's feed that keeps the cursor
where it was, an optional detail of the highlighted row, and feedback that stays until
the next action."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Generic, Protocol, TypeVar

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import DataTable, Header, Static

from .live import LiveScreen, footer


class Row(Protocol):
    @property
    def id(self) -> int: ...


R = TypeVar("R", bound=Row)


def clip(value: str, width: int, style: str = "") -> Text:
    """A cell from outside, as Text (never markup), cut to `width` with … (the detail
    box below shows it whole)."""
    text = Text(value, style=style, no_wrap=True, overflow="ellipsis")
    text.truncate(width, overflow="ellipsis")
    return text


NARROWEST = 80  # the terminal width the cells' caps are chosen for


class TableScreen(LiveScreen, Generic[R]):
    DEFAULT_CSS = """
    TableScreen DataTable { height: 1fr; border: round $primary; }
    TableScreen #detail { height: auto; max-height: 8; padding: 0 1;
                          border: round $secondary; }
    """
    COLUMNS: tuple[str, ...] = ()
    DETAIL: str | None = None  # the detail box's title; None: no detail box

    def __init__(self) -> None:
        super().__init__()
        self.rows: tuple[R, ...] = ()
        self._cells: Callable[[R], Sequence[str | Text]] | None = None
        self._width = 0

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("waiting for the daemon …", id="message")
        yield DataTable(cursor_type="row", zebra_stripes=True)
        if self.DETAIL:
            yield Static("-", id="detail")
        yield Static("", id="feedback")
        yield footer()

    def on_mount(self) -> None:
        # Textual calls this for every class in the MRO that has one: subclasses set up
        # their own part in their own on_mount and do not call this one again.
        self.query_one(DataTable).add_columns(*self.COLUMNS)
        if self.DETAIL:
            self.query_one("#detail", Static).border_title = self.DETAIL

    def clip(self, value: str, width: int, style: str = "") -> Text:
        """`clip`, with `width` (chosen for 80 columns) grown with the screen."""
        return clip(value, width * max(NARROWEST, self.size.width) // NARROWEST, style)

    def on_resize(self) -> None:
        if self.size.width != self._width and self._cells is not None:
            self.show_rows(self.rows, self._cells, again=True)

    def show_rows(
        self,
        rows: tuple[R, ...],
        cells: Callable[[R], Sequence[str | Text]],
        *,
        again: bool = False,
    ) -> None:
        """Put `rows` in the table, the cursor where it was; nothing is redrawn when
        nothing changed (unless `again`: the width did)."""
        self._cells, self._width = cells, self.size.width
        if rows == self.rows and not again:
            return
        self.rows = rows
        table = self.query_one(DataTable)
        cursor = table.cursor_row
        table.clear()
        for row in rows:
            table.add_row(*cells(row), key=str(row.id))
        if rows:
            table.move_cursor(row=min(max(cursor, 0), len(rows) - 1))
        self.detail(self.highlighted())

    def highlighted(self) -> R | None:
        index = self.query_one(DataTable).cursor_row
        return self.rows[index] if 0 <= index < len(self.rows) else None

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        index = event.cursor_row
        self.detail(self.rows[index] if 0 <= index < len(self.rows) else None)

    def detail(self, row: R | None) -> None:
        """Show the highlighted row in the detail box (screens with one override this)."""
