from __future__ import annotations

import pytest

from patchbayd.bus import Bus
from patchbayd.web.control import event_matches

pytestmark = pytest.mark.anyio


def publish(bus: Bus, n: int, level: str = "info", **fields: object) -> None:
    for i in range(n):
        bus.publish(
            ts="t", kind="log", level=level, component="c", message=f"m{i}", fields=dict(fields)
        )


async def test_subscriber_gets_live_events_and_ends_on_close() -> None:
    bus = Bus()
    sub = bus.subscribe()
    publish(bus, 3)
    bus.close()
    assert [e.message async for e in sub] == ["m0", "m1", "m2"]


async def test_slow_subscriber_drops_oldest_and_counts_them() -> None:
    bus = Bus()
    sub = bus.subscribe(maxsize=2)
    publish(bus, 5)
    bus.close()
    got = [e.message async for e in sub]
    assert got == ["m4"]  # the close marker took the last slot
    assert sub.dropped == 4


async def test_ring_keeps_the_last_events_and_ids_continue_after_seed() -> None:
    bus = Bus(ring=3)
    publish(bus, 5)
    assert [e.id for e in bus.recent(10)] == [3, 4, 5]
    restarted = Bus(ring=3)
    restarted.seed(bus.recent(3))
    publish(restarted, 1)
    assert restarted.recent(1)[0].id == 6
    assert [e.id for e in bus.take_unsaved()] == [1, 2, 3, 4, 5]
    assert bus.take_unsaved() == []


async def test_subscribe_after_close_ends_at_once() -> None:
    bus = Bus()
    bus.close()
    assert [e async for e in bus.subscribe()] == []


@pytest.mark.parametrize(
    ("level", "filter_level", "integration", "filter_integration", "after", "shown"),
    [
        ("info", None, None, None, 0, True),
        ("debug", "info", None, None, 0, False),
        ("error", "warning", None, None, 0, True),
        ("info", None, "7", "7", 0, True),
        ("info", None, "7", "8", 0, False),
        ("info", None, None, "8", 0, False),
        ("info", None, None, None, 1, False),  # already seen (reconnect with after=)
    ],
)
async def test_event_filters(
    level: str,
    filter_level: str | None,
    integration: str | None,
    filter_integration: str | None,
    after: int,
    shown: bool,
) -> None:
    bus = Bus()
    fields = {"integration": integration} if integration else {}
    event = bus.publish(ts="t", kind="log", level=level, component="c", message="m", fields=fields)
    assert event_matches(event, filter_level, filter_integration, after) is shown


async def test_waiting_with_a_timeout_does_not_end_the_subscription() -> None:
    bus = Bus()
    sub = bus.subscribe()
    for _ in range(2):
        with pytest.raises(TimeoutError):
            await sub.next(0.01)
    publish(bus, 1)
    event = await sub.next(1)
    assert event is not None and event.message == "m0"
    bus.close()
    assert await sub.next(1) is None
