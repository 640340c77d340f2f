"""The Syncs screen against the fake daemon (tests/console/fake.py): creating a sync from
the form (the daemon's refusal shown in place), deleting one after a confirmation, a
sync's runs and failures, and the rate and ETA a running card works out; the pure rate
function by table, and `patchbay sync progress --follow` drawing them too. The last test
does the form, the detail and the delete once against the real daemon."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from textual.pilot import Pilot
from textual.widgets import Button, DataTable, Input, Select, Static

from patchbay import render
from patchbay.cli import main as patchbay
from patchbay.client import ApiFailure, ControlClient
from patchbay.render import Pace, observe, pace, pace_text
from patchbay.tui.app import PatchbayApp
from patchbay.tui.screens.confirm import ConfirmScreen
from patchbay.tui.screens.sync_create import SyncCreateScreen, mapping_pairs
from patchbay.tui.screens.sync_detail import SyncDetailScreen
from patchbay.tui.screens.syncs import SyncsScreen
from patchbay.tui.widgets import sync_card
from patchbay.tui.widgets.sync_card import SyncCard
from tests.console.fake import EVENTS, SOCKET, SYNC_DETAILS, SYNCS, FakeDaemon, installation
from tests.console.pilot import until
from tests.support import Daemon, Sandbox

pytestmark = pytest.mark.anyio  # the screen's tests; the pure ones run as they are

# -- the rate and the ETA, pure ----------------------------------------------------------


@pytest.mark.parametrize(
    ("samples", "total", "expected"),
    [
        ((), 400, Pace()),
        (((0.0, 100),), 400, Pace()),  # one look: nothing to measure by
        (((5.0, 100), (5.0, 200)), 400, Pace()),  # no time between them
        (((0.0, 100), (2.0, 100)), 400, Pace()),  # nothing moved yet, too soon to say stuck
        (((0.0, 100), (2.0, 300)), 400, Pace(100.0, 1.0)),
        (((0.0, 100), (1.0, 100), (4.0, 400)), 1000, Pace(75.0, 8.0)),  # over all of them
        (((0.0, 100), (10.0, 100)), 400, Pace(0.0, None)),  # stalled: no ETA
        (((0.0, 100), (2.0, 300)), None, Pace(100.0, None)),  # no total: no ETA
        (((0.0, 100), (2.0, 400)), 400, Pace(150.0, 0.0)),  # through
        (((0.0, 100), (2.0, 450)), 400, Pace(175.0, 0.0)),  # more than the total: through
    ],
)
def test_pace_is_rows_per_second_over_the_samples_and_the_time_left_at_that_rate(
    samples: tuple[render.Sample, ...], total: int | None, expected: Pace
) -> None:
    assert pace(samples, total) == expected


@pytest.mark.parametrize(
    ("samples", "at", "scanned", "expected"),
    [
        ((), 0.0, 5, ((0.0, 5),)),
        (((0.0, 5),), 1.0, 9, ((0.0, 5), (1.0, 9))),
        (((0.0, 5), (1.0, 9)), 2.0, 3, ((2.0, 3),)),  # fewer rows: a new run, start over
        (((5.0, 5),), 4.0, 9, ((4.0, 9),)),  # the clock went back: start over
        # the oldest goes once the next one is as old as the window: the rate stays over
        # the last 30 s, not since the start
        (((0.0, 0), (10.0, 10), (20.0, 20)), 40.0, 40, ((10.0, 10), (20.0, 20), (40.0, 40))),
        (((0.0, 0), (10.0, 10)), 45.0, 40, ((10.0, 10), (45.0, 40))),
        (((0.0, 0), (10.0, 10), (15.0, 15)), 45.0, 40, ((15.0, 15), (45.0, 40))),
    ],
)
def test_observe_keeps_the_window_and_starts_over_for_a_new_run(
    samples: tuple[render.Sample, ...],
    at: float,
    scanned: int,
    expected: tuple[render.Sample, ...],
) -> None:
    assert observe(samples, at, scanned) == expected


@pytest.mark.parametrize(
    ("found", "expected"),
    [
        (Pace(), "measuring the rate …"),
        (Pace(2.25, 125.0), "2.2 rows/s · ETA 2m 5s"),
        (Pace(1234.4, 3599.6), "1,234 rows/s · ETA 1h 0m"),
        (Pace(0.0, None), "0.0 rows/s · ETA -"),
        (Pace(50.0, 0.0), "50 rows/s · ETA 0s"),
    ],
)
def test_pace_text(found: Pace, expected: str) -> None:
    assert pace_text(found) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", []),
        ("member.points=points", ["member.points=points"]),
        (
            " first_name=fname, last_name=lname  phone= ",
            ["first_name=fname", "last_name=lname", "phone="],
        ),
    ],
)
def test_the_form_reads_a_mapping_as_the_cli_takes_it(text: str, expected: list[str]) -> None:
    assert mapping_pairs(text) == expected


@pytest.mark.parametrize("text", ["points", "=points", "a=b,c"])
def test_the_form_names_a_mapping_entry_it_cannot_read(text: str) -> None:
    with pytest.raises(ValueError, match="expected store_field=dest_field"):
        mapping_pairs(text)


def test_sync_progress_follow_draws_the_rate_and_the_eta(monkeypatch: pytest.MonkeyPatch) -> None:
    """From the rows scanned at the times the daemon stamped its events with."""

    def progress(ts: str, scanned: int, done: bool = False) -> dict[str, Any]:
        fields = {"sync": 1, "run": 8, "done": done, "total": 1000, "scanned": scanned}
        return {"id": scanned, "ts": ts, "kind": "progress", "fields": {**fields, "sent": 0}}

    events = [
        {"sync": 1, "state": "running", "running": True, "run": None},  # the opening snapshot
        progress("2026-11-22T10:00:00Z", 100),
        progress("2026-11-22T10:00:02Z", 300),
        progress("2026-11-22T10:00:04.5Z", 1000, done=True),
    ]

    async def stream(self: ControlClient, path: str, **params: Any) -> AsyncIterator[Any]:
        assert path == "/v1/syncs/1/progress" and params == {"follow": 1}
        for event in events:
            yield event

    monkeypatch.setattr(ControlClient, "stream", stream)
    result = CliRunner().invoke(patchbay, ["sync", "progress", "1", "--follow"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert len(lines) == 3
    assert lines[0].startswith("[###.") and "measuring the rate …" in lines[0]
    assert "  30%  100 rows/s · ETA 7s  sent 0" in lines[1]
    assert lines[2].startswith("[##############################] 100%  done")


# -- the screen, against the fake daemon ---------------------------------------------------


def shown(widget: object) -> str:
    return str(widget.render())  # type: ignore[attr-defined]


def feedback(app: PatchbayApp) -> str:
    return shown(app.screen.query_one("#feedback", Static))


async def on_syncs(pilot: Pilot[None], app: PatchbayApp, cards: int = 3) -> SyncsScreen:
    await until(pilot, lambda: app.connected)
    await pilot.press("s")
    screen = app.screen
    assert isinstance(screen, SyncsScreen)
    await until(pilot, lambda: len(screen.query(SyncCard)) == cards)
    return screen


def card(screen: SyncsScreen, sync_id: int) -> SyncCard:
    return next(c for c in screen.query(SyncCard) if c.sync.id == sync_id)


async def test_the_form_creates_a_sync_and_keeps_what_was_typed_when_the_daemon_refuses() -> None:
    answers = installation()
    posted: list[Any] = []

    def create(body: dict[str, Any]) -> dict[str, Any]:
        posted.append(body)
        if "colour" in body["map"][0]:
            raise ApiFailure(422, "invalid", "unknown store field 'colour'; one of email, …")
        return {**SYNCS["syncs"][0], "id": 4, "integration": 2, "segment": "new", "mode": "once"}

    answers["POST /v1/syncs"] = create
    daemon = FakeDaemon(answers, EVENTS)
    app = PatchbayApp(SOCKET, reconnect_delay=60, open_client=daemon.open)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await on_syncs(pilot, app)
        await pilot.press("plus")
        await until(pilot, lambda: isinstance(app.screen, SyncCreateScreen))
        form = app.screen
        create_button = form.query_one("#create", Button)
        await until(pilot, lambda: not create_button.disabled)  # the integrations are read
        integration = form.query_one("#integration", Select)
        # the daemon's integrations, not the providers still to connect
        assert [value for _, value in integration._options[1:]] == [1, 2, 3, 4]
        result = form.query_one("#result", Static)

        form.query_one("#list", Input).focus()
        await pilot.press("enter")  # nothing chosen yet: said, nothing posted
        assert "choose the integration" in shown(result) and not posted
        integration.focus()
        await pilot.press("enter", "down", "down", "enter")  # the list opens; #2 is chosen
        await until(pilot, lambda: integration.value == 2)
        form.query_one("#list", Input).focus()
        await pilot.press("enter")
        assert "choose a segment" in shown(result) and not posted
        form.query_one("#segment", Select).value = "new"
        form.query_one("#mode", Select).value = "once"
        form.query_one("#list", Input).value = " Newsletter "
        form.query_one("#tags", Input).value = "vip,loyal"
        form.query_one("#map", Input).value = "points"
        form.query_one("#tags", Input).focus()
        await pilot.press("enter")
        assert "expected store_field=dest_field, got 'points'" in shown(result)
        assert not posted

        form.query_one("#map", Input).value = "properties.colour=colour colourx=c"
        await pilot.press("enter")
        await until(pilot, lambda: "unknown store field 'colour'" in shown(result))
        assert app.screen is form and result.has_class("-error")
        assert not create_button.disabled  # another try is possible
        assert form.query_one("#tags", Input).value == "vip,loyal"  # nothing typed is lost

        form.query_one("#map", Input).value = "member.points=points"
        await pilot.press("enter")
        await until(pilot, lambda: app.screen is screen)
        await until(pilot, lambda: "sync 4 created (once, segment new)" in feedback(app))
    assert posted[-1] == {
        "integration": 2,
        "segment": "new",
        "list": "Newsletter",
        "mode": "once",
        "map": ["member.points=points"],
        "tags": "vip,loyal",
        "export_opted_out": False,
        "acquired_since": None,
        "acquired_until": None,
        "dry_run": False,
    }
    assert len(daemon.calls("POST")) == 2


async def test_escape_closes_the_form_and_nothing_is_posted() -> None:
    daemon = FakeDaemon(installation(), EVENTS)
    app = PatchbayApp(SOCKET, reconnect_delay=60, open_client=daemon.open)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await on_syncs(pilot, app)
        await pilot.press("plus")
        await until(pilot, lambda: isinstance(app.screen, SyncCreateScreen))
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is screen)
    assert not daemon.calls("POST")


async def test_delete_asks_first_then_the_card_goes_and_the_next_one_has_the_focus() -> None:
    answers = installation()
    listing: dict[str, Any] = copy.deepcopy(SYNCS)
    answers["GET /v1/syncs"] = lambda _query: copy.deepcopy(listing)
    refusals = [ApiFailure(409, "conflict", "sync 2 is busy")]

    def delete(_body: Any) -> dict[str, Any]:
        if refusals:
            raise refusals.pop()
        listing["syncs"] = [s for s in listing["syncs"] if s["id"] != 2]
        return {"deleted": 2}

    answers["DELETE /v1/syncs/2"] = delete
    daemon = FakeDaemon(answers, EVENTS)
    app = PatchbayApp(SOCKET, reconnect_delay=60, open_client=daemon.open)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await on_syncs(pilot, app)
        card(screen, 2).focus()
        await pilot.press("delete")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("escape")  # no: nothing sent
        assert app.screen is screen and not daemon.calls("DELETE")

        await pilot.press("delete", "y")
        await until(pilot, lambda: "could not delete sync 2: sync 2 is busy" in feedback(app))
        assert len(screen.query(SyncCard)) == 3  # the cards stay as they were

        await pilot.press("delete", "y")
        await until(pilot, lambda: "sync 2 deleted" in feedback(app))
        await until(pilot, lambda: [c.sync.id for c in screen.query(SyncCard)] == [1, 3])
        assert screen.focused is card(screen, 3)  # the card now where it was
    assert daemon.calls("DELETE") == [("DELETE", "/v1/syncs/2", None)] * 2


async def test_enter_opens_the_runs_and_failures_which_the_feed_keeps_fresh() -> None:
    answers = installation()
    detail = copy.deepcopy(SYNC_DETAILS[1])
    answers["GET /v1/syncs/1"] = lambda _query: copy.deepcopy(detail)
    daemon = FakeDaemon(answers, EVENTS)
    app = PatchbayApp(SOCKET, reconnect_delay=60, open_client=daemon.open)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await on_syncs(pilot, app)
        card(screen, 1).focus()
        await pilot.press("enter")
        assert isinstance(app.screen, SyncDetailScreen)
        view = app.screen
        runs = view.query_one("#runs", DataTable)
        failures = view.query_one("#failures", DataTable)
        await until(pilot, lambda: runs.row_count == 3 and failures.row_count == 2)
        assert [str(c) for c in runs.get_row_at(2)] == [
            "#5",
            "11-22 09:00",
            "21m 30s",
            "done",
            "1200",
            "1150",
            "2",
            "15",
        ]
        assert "mapping member.points=points · tags vip" in shown(view.query_one("#summary"))
        box = view.query_one("#detail", Static)
        assert "run #7 (changes only) done" in shown(box)
        await pilot.press("down")  # the failed run: its error, whole
        await until(pilot, lambda: "error: destination refused the batch" in shown(box))
        await pilot.press("tab")  # the failures: the reason whole (the cell is cut)
        await until(pilot, lambda: "must be a number)" in shown(box))
        assert "annabelle.longname@example.com (customer c17), 3 tries" in shown(box)

        detail["runs"].insert(0, {**detail["runs"][0], "id": 9, "state": "running"})
        detail["runs"][0]["finished_at"] = None
        await until(pilot, lambda: runs.row_count == 4)  # the feed, no key pressed
        assert [str(c) for c in runs.get_row_at(0)][:4] == ["#9", "11-22 10:00", "…", "running"]

        await pilot.press("escape")
        assert app.screen is screen
    assert ("GET", "/v1/syncs/1", {}) in daemon.calls("GET")


async def test_a_sync_gone_meanwhile_is_said_in_red_on_its_page() -> None:
    answers = installation()
    answers["GET /v1/syncs/1"] = ApiFailure(404, "not_found", "no sync '1'")
    app = PatchbayApp(SOCKET, reconnect_delay=60, open_client=FakeDaemon(answers, EVENTS).open)
    async with app.run_test(size=(80, 24)) as pilot:
        await on_syncs(pilot, app)
        await pilot.press("enter")
        await until(pilot, lambda: "no sync '1'" in feedback(app))


async def test_a_running_card_shows_its_rate_and_eta_then_the_report(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = {"now": 100.0}
    monkeypatch.setattr(sync_card, "monotonic", lambda: clock["now"])
    listing: dict[str, Any] = copy.deepcopy(SYNCS)
    running = listing["syncs"][1]
    answers = installation()
    answers["GET /v1/syncs"] = lambda _query: copy.deepcopy(listing)
    app = PatchbayApp(SOCKET, reconnect_delay=60, open_client=FakeDaemon(answers, EVENTS).open)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await on_syncs(pilot, app)
        pace_line = card(screen, 2).query_one(".pace", Static)
        assert "150/400 rows · measuring the rate …" in shown(pace_line)

        clock["now"], running["last_run"]["counts"]["scanned"] = 102.0, 250
        await until(pilot, lambda: "250/400 rows · 50 rows/s · ETA 3s" in shown(pace_line))

        running["running"], running["state"] = False, "done"
        running["last_run"]["state"] = "done"
        await until(pilot, lambda: not pace_line.display)
        assert "last run #8 done" in shown(card(screen, 2).query_one(".report", Static))


async def test_a_long_pace_line_wraps_in_the_card_at_80_columns() -> None:
    listing: dict[str, Any] = copy.deepcopy(SYNCS)
    counts = listing["syncs"][1]["last_run"]["counts"]
    counts["total"], counts["scanned"] = 12_345_678, 1_234_567
    answers = installation()
    answers["GET /v1/syncs"] = listing
    app = PatchbayApp(SOCKET, reconnect_delay=60, open_client=FakeDaemon(answers, EVENTS).open)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await on_syncs(pilot, app)
        line = card(screen, 2).query_one(".pace", Static)
        await until(pilot, lambda: line.size.height == 2)
        assert line.region.right <= card(screen, 2).content_region.right


async def test_against_the_daemon_a_sync_is_created_opened_and_deleted(
    hub: Daemon, sandbox: Sandbox
) -> None:
    """The form's body is the one the real daemon takes (and its refusal is its own)."""
    people = [
        {"id": f"c{i}", "email": f"p{i}@example.com", "email_consent": {"state": "subscribed"}}
        for i in range(5)
    ]
    httpx.post(
        hub.url("/ingest/demo/customers"),
        json={"items": people},
        headers={"Authorization": "Bearer demo-token"},
    ).raise_for_status()
    key = hub.directory / "k"
    key.write_text("sandbox-k")
    hub.cli(
        "integrations",
        "connect",
        "omnisend",
        "--store",
        "demo",
        "--api-key-file",
        str(key),
        "--base-url",
        f"{sandbox.url}/omnisend",
    )
    app = PatchbayApp(hub.socket, reconnect_delay=0.2)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await on_syncs(pilot, app, cards=0)
        await pilot.press("plus")
        await until(pilot, lambda: isinstance(app.screen, SyncCreateScreen))
        form = app.screen
        await until(pilot, lambda: not form.query_one("#create", Button).disabled)
        assert form.query_one("#integration", Select).value == 1  # the only one: chosen
        form.query_one("#segment", Select).value = "all"
        form.query_one("#mode", Select).value = "once"
        form.query_one("#map", Input).value = "shoe_size=size"
        form.query_one("#map", Input).focus()
        await pilot.press("enter")
        result = form.query_one("#result", Static)
        await until(pilot, lambda: "unknown store field 'shoe_size'" in shown(result))
        assert app.screen is form

        form.query_one("#map", Input).value = "first_name=fname"
        await pilot.press("enter")
        await until(pilot, lambda: app.screen is screen)
        await until(pilot, lambda: len(screen.query(SyncCard)) == 1)
        await until(pilot, lambda: "last run #1 done" in shown(screen.query_one(".report")))

        await pilot.press("enter")
        view = app.screen
        assert isinstance(view, SyncDetailScreen)
        runs = view.query_one("#runs", DataTable)
        await until(pilot, lambda: runs.row_count == 1)
        assert [str(c) for c in runs.get_row_at(0)][3:6] == ["done", "5", "5"]
        assert "mapping first_name=fname" in shown(view.query_one("#summary"))
        await pilot.press("escape", "delete", "y")
        await until(pilot, lambda: "sync 1 deleted" in feedback(app))
        await until(pilot, lambda: not screen.query(SyncCard))
    assert hub.api("/v1/syncs")["syncs"] == []
