"""The consent decision table: every rule, at its edges."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from patchbayd.engine.consent import Change, Decision, Known, Settings, decide

REG = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
NOW = REG + timedelta(hours=1)
M = timedelta(minutes=1)
S = timedelta(seconds=1)
GUARD = Settings()


def at(minutes: float) -> datetime:
    return REG + timedelta(minutes=minutes)


CASES: list[tuple[str, Change, Known, Settings, tuple[str, str, str]]] = [
    # (name, change, known, settings, (outcome, action, rule))
    (
        "opt-out exactly 15:00 after registration is sent",
        Change("store", "unsubscribed", REG + 15 * M),
        Known(REG, "subscribed", REG),
        GUARD,
        ("applied", "send_to_provider", "opt_out_guard"),
    ),
    (
        "opt-out at 14:59 is suppressed",
        Change("store", "unsubscribed", REG + 15 * M - S),
        Known(REG, "subscribed", REG),
        GUARD,
        ("suppressed", "none", "opt_out_guard"),
    ),
    (
        "opt-out at registration is suppressed",
        Change("store", "unsubscribed", REG),
        Known(REG),
        GUARD,
        ("suppressed", "none", "opt_out_guard"),
    ),
    (
        "opt-out dated before registration is suppressed",
        Change("store", "unsubscribed", REG - 5 * M),
        Known(REG),
        GUARD,
        ("suppressed", "none", "opt_out_guard"),
    ),
    (
        "opt-out without a time is suppressed for review",
        Change("store", "unsubscribed", None),
        Known(REG),
        GUARD,
        ("suppressed", "none", "opt_out_guard"),
    ),
    (
        "opt-out for a customer without a registration time is suppressed",
        Change("store", "unsubscribed", at(60)),
        Known(None),
        GUARD,
        ("suppressed", "none", "opt_out_guard"),
    ),
    (
        "a per-integration guard of 5 min lets a 6 min opt-out through",
        Change("store", "unsubscribed", at(6)),
        Known(REG),
        Settings(timedelta(minutes=5)),
        ("applied", "send_to_provider", "opt_out_guard"),
    ),
    (
        "store-side opt-in is sent at once, even at registration",
        Change("store", "subscribed", REG),
        Known(REG),
        GUARD,
        ("applied", "send_to_provider", "opt_in"),
    ),
    (
        "store-side opt-in older than the provider's state is stale",
        Change("store", "subscribed", at(20)),
        Known(REG, provider_state="unsubscribed", provider_at=at(30)),
        GUARD,
        ("stale", "none", "store_change"),
    ),
    (
        "a store change older than the store's own state (arrived late) is stale",
        Change("store", "subscribed", at(0)),
        Known(REG, "unsubscribed", at(5)),
        GUARD,
        ("stale", "none", "store_change"),
    ),
    (
        "store-side opt-out the provider already has is a duplicate",
        Change("store", "unsubscribed", at(40)),
        Known(REG, provider_state="unsubscribed", provider_at=at(40)),
        GUARD,
        ("duplicate", "none", "store_change"),
    ),
    (
        "store-side not_subscribed is not an opt-out: nothing sent",
        Change("store", "not_subscribed", at(60)),
        Known(REG),
        GUARD,
        ("ignored", "none", "store_change"),
    ),
    (
        "an unknown state is ignored",
        Change("store", "maybe", at(60)),
        Known(REG),
        GUARD,
        ("ignored", "none", "unknown_state"),
    ),
    (
        "provider opt-out callback is written to the store",
        Change("provider", "unsubscribed", at(30)),
        Known(REG, "subscribed", at(1)),
        GUARD,
        ("applied", "write_to_store", "provider_callback"),
    ),
    (
        "provider callback older than the store's state is stale",
        Change("provider", "unsubscribed", at(5)),
        Known(REG, "subscribed", at(10)),
        GUARD,
        ("stale", "none", "provider_callback"),
    ),
    (
        "a later store change to the state the provider already has is a duplicate",
        Change("store", "subscribed", at(20)),
        Known(REG, provider_state="subscribed", provider_at=at(0)),
        GUARD,
        ("duplicate", "none", "store_change"),
    ),
    (
        "provider callback repeated is a duplicate",
        Change("provider", "unsubscribed", at(30)),
        Known(REG, "unsubscribed", at(30)),
        GUARD,
        ("duplicate", "none", "provider_callback"),
    ),
    (
        "provider callback of the store's state, said later, is noted (an older one is stale)",
        Change("provider", "subscribed", at(32)),
        Known(REG, "subscribed", at(30)),
        GUARD,
        ("duplicate", "note_provider", "provider_callback"),
    ),
    (
        "provider callback of the store's state, said earlier, changes nothing",
        Change("provider", "subscribed", at(20)),
        Known(REG, "subscribed", at(30)),
        GUARD,
        ("duplicate", "none", "provider_callback"),
    ),
    (
        "provider callback without a time counts as now",
        Change("provider", "subscribed", None),
        Known(REG, "unsubscribed", at(30)),
        GUARD,
        ("applied", "write_to_store", "provider_callback"),
    ),
    (
        "clock skew: a provider clock 2 min behind makes a real later change look older",
        Change("provider", "subscribed", at(29)),
        Known(REG, "unsubscribed", at(30)),
        GUARD,
        ("stale", "none", "provider_callback"),
    ),
    (
        "an unknown provider state is ignored",
        Change("provider", "cleaned", at(30)),
        Known(REG),
        GUARD,
        ("ignored", "none", "unknown_state"),
    ),
    (
        "registration without consent: look the contact up",
        Change("registration", None, REG),
        Known(REG, "not_subscribed", REG),
        GUARD,
        ("lookup", "lookup_provider", "fetch_on_register"),
    ),
    (
        "registration with consent: nothing to look up",
        Change("registration", None, REG),
        Known(REG, "subscribed", REG),
        GUARD,
        ("ignored", "none", "fetch_on_register"),
    ),
    (
        "registration with fetch_on_register off: nothing",
        Change("registration", None, REG),
        Known(REG, "not_subscribed", REG),
        Settings(fetch_on_register=False),
        ("ignored", "none", "fetch_on_register"),
    ),
    (
        "lookup finds them opted in: the store is switched",
        Change("lookup", "subscribed", REG - 30 * M),
        Known(REG, "not_subscribed", None),
        GUARD,
        ("applied", "write_to_store", "fetch_on_register"),
    ),
    (
        "lookup finds them opted out: nothing changes",
        Change("lookup", "unsubscribed", REG),
        Known(REG, "not_subscribed", REG),
        GUARD,
        ("ignored", "none", "fetch_on_register"),
    ),
    (
        "lookup finds them never subscribed: nothing changes",
        Change("lookup", "not_subscribed", None),
        Known(REG, "not_subscribed", REG),
        GUARD,
        ("ignored", "none", "fetch_on_register"),
    ),
    (
        "lookup older than a store change made meanwhile is stale",
        Change("lookup", "subscribed", at(1)),
        Known(REG, "unsubscribed", at(20)),
        GUARD,
        ("stale", "none", "fetch_on_register"),
    ),
]


@pytest.mark.parametrize(
    ("name", "change", "known", "settings", "expected"), CASES, ids=[c[0] for c in CASES]
)
def test_decision_table(
    name: str, change: Change, known: Known, settings: Settings, expected: tuple[str, str, str]
) -> None:
    decision: Decision = decide(change, known, settings, NOW)
    assert (decision.outcome, decision.action, decision.rule) == expected
    assert decision.reason


def test_suppression_reason_names_the_guard_and_the_gap() -> None:
    decision = decide(
        Change("store", "unsubscribed", REG + 14 * M + 59 * S), Known(REG), GUARD, NOW
    )
    assert decision.reason == "opt_out_guard: 14:59 after registration, under 15 min"
    assert decision.new_state == "unsubscribed"
