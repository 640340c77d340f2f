"""The main screen's event log as one lives in it: search, filters by level, integration,
sync and words (always said in the title), pause and resume, one event in full, local
times, lines that wrap and never lose text, 2000 events kept. Table tests for the pure
parts (which events a filter shows, how it is described, times), pilot tests against
the fake daemon (tests/console/fake.py) for the keys."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from rich.console import Console
from textual.pilot import Pilot
from textual.widgets import Static

from patchbay.render import ago
from patchbay.tui import records
from patchbay.tui.app import PatchbayApp
from patchbay.tui.local_time import clock, local
from patchbay.tui.messages import LogArrived
from patchbay.tui.screens.event import EventScreen, detail_value
from patchbay.tui.screens.help import HelpScreen
from patchbay.tui.screens.integrations import IntegrationsScreen
from patchbay.tui.screens.syncs import SyncsScreen
from patchbay.tui.widgets.log_filter import LogFilter, matches
from patchbay.tui.widgets.log_pane import KEEP, LogPane
from patchbay.tui.widgets.log_search import LogSearch
from patchbay.tui.widgets.log_view import COLUMN, LogView, event_strips, line_text
from tests.console.fake import EVENTS, SOCKET, FakeDaemon, installation
from tests.console.pilot import until

pytestmark = pytest.mark.anyio


def event(
    level: str = "info", message: str = "m", component: str = "c", **fields: Any
) -> records.LogEvent:
    return records.LogEvent(
        id=1, ts="2026-11-22T10:00:00Z", level=level, component=component, message=message,
        fields=fields,
    )  # fmt: skip


# -- which events a filter shows -----------------------------------------------------------


@pytest.mark.parametrize(
    ("shown", "where", "expected"),
    [
        (event("debug"), LogFilter(), True),
        (event("debug"), LogFilter(min_level="info"), False),
        (event("error"), LogFilter(min_level="warning"), True),
        (event("trace"), LogFilter(min_level="info"), True),
        (event("trace"), LogFilter(min_level="warning"), False),
        (event(integration=3), LogFilter(integration="3"), True),
        (event(integration="3"), LogFilter(integration="3"), True),
        (event(integration=31), LogFilter(integration="3"), False),
        (event(), LogFilter(integration="3"), False),
        (event(integration=None), LogFilter(integration="3"), False),
        (event(sync=2, integration=3), LogFilter(integration="3", sync="2"), True),
        (event(sync=1, integration=3), LogFilter(integration="3", sync="2"), False),
        (event(message="Request TIMEOUT"), LogFilter(text="timeout"), True),
        (event(message="timeout", component="outbox"), LogFilter(text="outbox  time"), True),
        (event(message="timeout"), LogFilter(text="timeout shop"), False),
        (event(message="x", store="shop"), LogFilter(text="store=shop"), True),
        (event(message="x", integration=3), LogFilter(text="integration=3"), True),
        (event("warning", message="x"), LogFilter(text="warning"), True),
        (event(message="x", reason=""), LogFilter(text="reason"), False),
        (event(message="x"), LogFilter(text="   "), True),
        (
            event("warning", message="call timeout", integration=3),
            LogFilter(min_level="warning", integration="3", text="timeout"),
            True,
        ),
    ],
    ids=[
        "everything",
        "below the level",
        "above the level",
        "an unknown level counts as info",
        "an unknown level is below warning",
        "integration as a number",
        "integration as text",
        "not a prefix match",
        "no integration field",
        "an empty integration field",
        "integration and sync",
        "the other sync",
        "words in any case",
        "every word, anywhere in the line",
        "a word missing",
        "a field as shown",
        "the integration as shown",
        "the level is searched",
        "empty fields are not searched (not shown)",
        "blank text is no filter",
        "all at once",
    ],
)
def test_what_a_filter_shows(shown: records.LogEvent, where: LogFilter, expected: bool) -> None:
    assert matches(shown, where) is expected


@pytest.mark.parametrize(
    ("where", "title"),
    [
        (LogFilter(), ""),
        (LogFilter(min_level="warning"), "level≥warning"),
        (LogFilter(integration="3"), "integration 3"),
        (
            LogFilter(min_level="error", integration="3", sync="7", text=" timeout "),
            "level≥error · integration 3 · sync 7 · 'timeout'",
        ),
        (LogFilter(text="  "), ""),
    ],
    ids=["none", "level", "integration", "all", "blank text"],
)
def test_what_the_title_says_of_a_filter(where: LogFilter, title: str) -> None:
    assert where.describe() == title


def test_a_filter_by_something_else_is_refused() -> None:
    with pytest.raises(ValueError, match="not store"):
        LogFilter().only("store", "shop")


def test_levels_cycle_back_to_everything() -> None:
    where = LogFilter()
    seen = []
    for _ in range(4):
        where = where.next_level()
        seen.append(where.min_level)
    assert seen == ["info", "warning", "error", "debug"]


# -- times -----------------------------------------------------------------------------

PLUS_TWO = timezone(timedelta(hours=2), "CEST")


@pytest.mark.parametrize(
    ("ts", "tz", "column", "full"),
    [
        ("2026-11-22T10:03:00.250Z", UTC, "10:03:00", "2026-11-22 10:03:00.250 UTC"),
        ("2026-11-22T23:59:30Z", PLUS_TWO, "01:59:30", "2026-11-23 01:59:30.000 CEST"),
        ("2026-11-22T10:03:00+01:00", UTC, "09:03:00", "2026-11-22 09:03:00.000 UTC"),
        ("2026-11-22T10:03:00", UTC, "10:03:00", "2026-11-22 10:03:00.000 UTC"),
        ("yesterday", UTC, "yesterda", "yesterday"),
        ("", UTC, "?       ", "no time given"),
    ],
    ids=["utc", "another zone, next day", "an offset", "no zone: utc", "not a time", "none"],
)
def test_times_are_local(ts: str, tz: timezone, column: str, full: str) -> None:
    assert clock(ts, tz) == column
    assert local(ts, tz) == full


@pytest.mark.parametrize(
    ("ts", "shown"),
    [
        ("2026-11-22T10:19:59.5Z", "just now"),
        ("2026-11-22T10:17:55Z", "2m 5s ago"),
        ("2026-11-22T07:20:00Z", "3h 0m ago"),
        ("2026-11-20T09:20:00Z", "2d 1h ago"),
        ("2026-11-22T10:20:09Z", "in 9s"),
        ("soon", "soon"),  # not a time: shown as it came
    ],
)
def test_ages(ts: str, shown: str) -> None:
    assert ago(ts, datetime(2026, 11, 22, 10, 20, tzinfo=UTC)) == shown


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ({"role_address": 12, "opted_out": 0}, "role_address 12, opted_out 0"),
        (["a", "b c"], "a, b c"),
        ("API key revoked", "API key revoked"),
        ("a\x1b[2Jb", "a\\x1b[2Jb"),
        (True, "yes"),
        (0, "0"),
        (None, "—"),
        ({}, "—"),
    ],
    ids=["a table, zeros too", "a list", "text unquoted", "control characters", "flag",
         "zero", "none", "empty table"],
)  # fmt: skip
def test_a_value_in_full(value: Any, shown: str) -> None:
    assert detail_value(value) == shown


# -- lines wrap, never cut ------------------------------------------------------------------


@pytest.mark.parametrize("width", [20, 40, 66, 160])
def test_a_long_event_wraps_under_its_message_and_keeps_every_word(width: int) -> None:
    words = [f"word{n}" for n in range(60)]
    long = event(
        "error", " ".join(words[:40]),
        url="https://example.com/" + "x" * 90, note=" ".join(words[40:]),
    )  # fmt: skip
    strips = event_strips(long, width, Console(width=200), UTC)
    assert len(strips) > 1
    assert all(strip.cell_length <= width for strip in strips)
    text = "".join(strip.text for strip in strips)
    squeezed = text.replace(" ", "")
    assert line_text(long, UTC).replace(" ", "") == squeezed  # every character, in order
    if width >= 40:  # the time and level stay a column of their own
        assert all(strip.text.startswith(" " * COLUMN) for strip in strips[1:])


# -- keys --------------------------------------------------------------------------------


def keys(bindings: list[Any]) -> set[str]:
    return {k.strip() for b in bindings for k in b.key.split(",")}


def test_the_logs_keys_are_not_the_apps() -> None:
    """The log's keys act on the main screen only, and never shadow a key of the app."""
    log_keys = keys(LogPane.BINDINGS) | keys(LogView.BINDINGS)
    assert {"slash", "I", "S", "p", "escape", "enter"} <= log_keys
    assert log_keys & keys(PatchbayApp.BINDINGS) == set()


def started() -> tuple[PatchbayApp, FakeDaemon]:
    daemon = FakeDaemon(installation(), EVENTS)
    return PatchbayApp(SOCKET, reconnect_delay=60, open_client=daemon.open), daemon


async def ready(pilot: Pilot[None], app: PatchbayApp) -> LogPane:
    log = app.query_one(LogPane)
    await until(pilot, lambda: app.connected and len(log.view.events) == len(EVENTS))
    await until(pilot, lambda: log.view.has_focus)
    return log


def title(log: LogPane) -> str:
    return str(log.border_title)


async def cursor_to(
    pilot: Pilot[None], log: LogPane, pick: Callable[[records.LogEvent], bool]
) -> None:
    """Up from the last event to the first that `pick` likes."""
    for _ in range(len(log.view.events)):
        if log.view.chosen is not None and pick(log.view.chosen):
            return
        await pilot.press("up")
    raise AssertionError("no such event shown")


async def test_search_applies_on_enter_and_gives_the_keys_back() -> None:
    app, _ = started()
    async with app.run_test(size=(80, 24)) as pilot:
        log = await ready(pilot, app)
        await pilot.press("slash")
        box = app.query_one(LogSearch)
        await until(pilot, lambda: box.has_focus and box.display)
        await pilot.press(*"Dead isc")  # typed into the search, not taken as keys
        assert box.value == "Dead isc" and app.screen is log.screen
        box.value = "dead"
        await pilot.press("enter")
        await until(pilot, lambda: len(log.lines) == 1)
        assert "delivery dead" in log.lines[0]
        assert "'dead'" in title(log) and "1 of 7" in title(log)
        assert log.view.has_focus and not box.display
        await pilot.press("i")  # the app's keys work again
        await until(pilot, lambda: isinstance(app.screen, IntegrationsScreen))
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is log.screen)
        assert len(log.lines) == 1  # the filter stays while away

        await pilot.press("slash")  # opens with the search in force, to edit it
        assert box.value == "dead"
        await pilot.press("x", "y", "escape")  # escape: left as it was
        await until(pilot, lambda: log.view.has_focus and not box.display)
        assert log.filter.text == "dead" and len(log.lines) == 1
        await pilot.press("s")
        await until(pilot, lambda: isinstance(app.screen, SyncsScreen))


async def test_an_empty_search_shows_everything_again() -> None:
    app, _ = started()
    async with app.run_test(size=(80, 24)) as pilot:
        log = await ready(pilot, app)
        await pilot.press("slash", *"quarantined", "enter")
        await until(pilot, lambda: len(log.lines) == 1)
        await pilot.press("slash", "ctrl+u", "enter")
        await until(pilot, lambda: len(log.lines) == len(EVENTS))
        assert title(log) == "log"


async def test_filters_by_the_chosen_events_integration_and_sync_then_clear() -> None:
    app, _ = started()
    async with app.run_test(size=(80, 24)) as pilot:
        log = await ready(pilot, app)
        await cursor_to(pilot, log, lambda e: e.fields.get("integration") == 3)
        await pilot.press("I")
        await until(pilot, lambda: len(log.lines) == 1)
        assert "integration changed" not in title(log) and "integration 3" in title(log)
        assert log.view.chosen is not None and log.view.chosen.fields["integration"] == 3
        await pilot.press("I")  # again: every integration
        await until(pilot, lambda: len(log.lines) == len(EVENTS))
        assert title(log) == "log"

        await cursor_to(pilot, log, lambda e: e.fields.get("sync") == 1)
        await pilot.press("S")
        await until(pilot, lambda: "sync 1" in title(log) and len(log.lines) == 1)
        await pilot.press("l", "l")  # level and sync together: info is below warning
        await until(pilot, lambda: len(log.lines) == 0)
        assert "level≥warning · sync 1 · 0 of 7" in title(log)
        assert "no event matches the filter (esc clears it)" in log.view.render_line(0).text
        assert "esc clear" in str(log.border_subtitle)
        await pilot.press("escape")  # every filter cleared
        await until(pilot, lambda: len(log.lines) == len(EVENTS))
        assert log.filter == LogFilter() and log.min_level == "debug" and title(log) == "log"


async def test_a_filter_by_a_field_the_event_lacks_says_so() -> None:
    app, _ = started()
    async with app.run_test(size=(80, 24)) as pilot:
        log = await ready(pilot, app)
        assert log.view.chosen is not None and "sync" not in log.view.chosen.fields
        await pilot.press("S")
        await until(pilot, lambda: any("names no sync" in n.message for n in app._notifications))
        assert log.filter == LogFilter() and len(log.lines) == len(EVENTS)


def arriving(n: int, **fields: Any) -> records.LogEvent:
    return records.LogEvent(
        id=100 + n, ts="2026-11-22T10:09:00Z", level="info", component="sync",
        message=f"batch {n} sent", fields=fields,
    )  # fmt: skip


async def test_paused_the_log_keeps_and_counts_new_events_and_shows_them_on_resume() -> None:
    app, _ = started()
    async with app.run_test(size=(80, 24)) as pilot:
        log = await ready(pilot, app)
        await pilot.press("p")
        assert "paused · 0 new" in title(log) and "p resume" in str(log.border_subtitle)
        for n in range(3):
            app.post_message(LogArrived(arriving(n, sync=n % 2)))
        await until(pilot, lambda: len(log.events) == len(EVENTS) + 3)
        assert "paused · 3 new" in title(log)
        assert len(log.lines) == len(EVENTS)  # kept, not shown

        await cursor_to(pilot, log, lambda e: e.fields.get("sync") == 1)
        await pilot.press("S")  # a filter while paused: applied to what is shown and counted
        await until(pilot, lambda: "sync 1" in title(log))
        assert len(log.lines) == 1 and "paused · 1 new" in title(log)
        await pilot.press("escape")
        await until(pilot, lambda: "paused · 3 new" in title(log))

        await pilot.press("p")
        await until(pilot, lambda: len(log.lines) == len(EVENTS) + 3)
        assert "paused" not in title(log) and "batch 2 sent" in log.lines[-1]
        app.post_message(LogArrived(arriving(3)))  # live again
        await until(pilot, lambda: "batch 3 sent" in log.lines[-1])


async def test_enter_opens_the_event_in_full_and_escape_goes_back() -> None:
    app, _ = started()
    async with app.run_test(size=(80, 24)) as pilot:
        log = await ready(pilot, app)
        log.tz = UTC
        log.clock = lambda: datetime(2026, 11, 22, 10, 20, tzinfo=UTC)
        await cursor_to(pilot, log, lambda e: e.fields.get("integration") == 3)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, EventScreen))
        out = Console(width=100, record=True, file=io.StringIO())
        out.print(app.screen.query_one(Static).content)
        shown = out.export_text()
        for part in (
            "2026-11-22 10:03:00.000 UTC",
            "(17m 0s ago)",
            "warning",
            "integrations",
            "integration state changed",
            "API key revoked",  # in full, unquoted
            "#4",
        ):
            assert part in shown, part
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is log.screen and log.view.has_focus)
        assert log.view.chosen is not None and log.view.chosen.id == 4  # where it was


async def test_the_cursor_follows_new_events_until_moved_up() -> None:
    app, _ = started()
    async with app.run_test(size=(80, 24)) as pilot:
        log = await ready(pilot, app)
        assert log.view.following and log.view.chosen is not None and log.view.chosen.id == 7
        app.post_message(LogArrived(arriving(0)))
        await until(pilot, lambda: log.view.chosen is not None and log.view.chosen.id == 100)
        await pilot.press("up")
        app.post_message(LogArrived(arriving(1)))
        await until(pilot, lambda: len(log.view.events) == len(EVENTS) + 2)
        assert not log.view.following and log.view.chosen.id == 7
        await pilot.press("end")
        assert log.view.following and log.view.chosen.id == 101


async def test_2000_events_are_kept_the_oldest_go_and_the_cursor_stays_on_its_event() -> None:
    app, _ = started()
    async with app.run_test(size=(80, 24)) as pilot:
        log = await ready(pilot, app)
        await pilot.press("home")
        first = log.view.chosen
        assert first is not None and first.id == 1
        await pilot.press("down", "down")
        for n in range(KEEP - len(EVENTS) - 1):
            log.add_event(arriving(n, sync=n % 7))
        await pilot.pause()
        assert log.view.chosen is not None and log.view.chosen.id == 3
        for n in range(5):
            log.add_event(arriving(KEEP + n))
        await pilot.pause()
        assert len(log.events) == len(log.view.events) == KEEP
        assert log.view.events[0] is log.events[0]
        assert log.view.chosen is not None and log.view.chosen is log.events[0]
        await pilot.press("l", "l", "l")  # the error event, the only one left of EVENTS
        await until(pilot, lambda: len(log.lines) == 1)
        await pilot.press("escape")
        await until(pilot, lambda: len(log.lines) == KEEP)
        await pilot.press("end", "pageup", "pageup")
        view = log.view
        chosen = view.chosen
        assert not view.following and chosen is not None
        for n in range(50):  # the oldest go; what is read stays in view
            log.add_event(arriving(KEEP + 10 + n))
        await pilot.pause()
        assert view.chosen is chosen
        shown = [view.render_line(y).text for y in range(view.scrollable_content_region.height)]
        assert any(chosen.message in line for line in shown)


async def test_a_long_line_wraps_on_screen_whole() -> None:
    app, _ = started()
    async with app.run_test(size=(80, 24)) as pilot:
        log = await ready(pilot, app)
        message = "provider answered: " + " ".join(f"part{n}" for n in range(30))
        app.post_message(LogArrived(arriving(0, reason=message)))
        await until(pilot, lambda: len(log.view.events) == len(EVENTS) + 1)
        await pilot.pause()
        view = log.view
        screen_text = " ".join(
            view.render_line(y).text for y in range(view.scrollable_content_region.height)
        )
        for n in range(30):
            assert f"part{n}" in screen_text


async def test_help_on_the_main_screen_lists_the_logs_keys() -> None:
    app, _ = started()
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot, app)
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen))
        text = str(app.screen.query_one(Static).render())
        for description in (
            "Search the log",
            "Its integration only",
            "Its sync only",
            "Pause or resume the log",
            "Clear the log's filters",
            "The event in full",
        ):
            assert description in text
        assert text.index("Search the log") < text.index("anywhere") < text.index("Log level")
