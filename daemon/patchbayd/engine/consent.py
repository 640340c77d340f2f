"""Consent reconciliation: one pure decision per change, then the engine applies it.

`decide` takes a change (from the store, from a provider callback, or from the lookup
made when a customer registers), what we know of the contact, the integration's
settings and the decision time, and returns what to do and why. The rules:

  a. registered without consent, fetch_on_register on  -> look the contact up at the
     provider; opted in there -> the store is switched to subscribed (rule
     fetch_on_register). Not found or not opted in -> nothing changes.
  b. store-side opt-out at least `opt_out_guard` after registration -> sent to the
     provider; earlier (or undated, or dated before registration) -> suppressed
     (reason opt_out_guard) and listed for review.
  c. store-side opt-in -> sent at once.
  d. provider callback -> written to the store.
  Event time decides everywhere: a change not newer than what we already know for that
  side is stale; the same change twice is a duplicate. Either changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

STATES = ("subscribed", "not_subscribed", "unsubscribed")
Source = Literal["store", "provider", "lookup", "registration"]
Outcome = Literal["applied", "suppressed", "stale", "duplicate", "ignored", "lookup", "failed"]
Action = Literal["send_to_provider", "write_to_store", "lookup_provider", "note_provider", "none"]


@dataclass(frozen=True)
class Settings:
    opt_out_guard: timedelta = timedelta(minutes=15)
    fetch_on_register: bool = True


@dataclass(frozen=True)
class Known:
    """What we know of one contact at one integration before this change."""

    registered_at: datetime | None
    store_state: str | None = None
    store_at: datetime | None = None
    provider_state: str | None = None  # last state sent to or heard from the provider
    provider_at: datetime | None = None


@dataclass(frozen=True)
class Change:
    source: Source
    state: str | None
    at: datetime | None  # the event's own time; None when the sender gave none


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    action: Action
    rule: str
    reason: str
    old_state: str | None
    new_state: str | None


def _same_or_stale(
    state: str, at: datetime | None, known_state: str | None, known_at: datetime | None
) -> Outcome | None:
    if known_state == state:
        return "duplicate"  # nothing would change, whatever the times say
    if at is not None and known_at is not None and at <= known_at:
        return "stale"
    return None


def decide(change: Change, known: Known, settings: Settings, now: datetime) -> Decision:
    state, at = change.state, change.at
    if change.source == "registration":
        if known.store_state == "subscribed":
            return Decision(
                "ignored",
                "none",
                "fetch_on_register",
                "registered with consent: nothing to look up",
                None,
                state,
            )
        if not settings.fetch_on_register:
            return Decision(
                "ignored",
                "none",
                "fetch_on_register",
                "fetch_on_register is off",
                known.store_state,
                known.store_state,
            )
        return Decision(
            "lookup",
            "lookup_provider",
            "fetch_on_register",
            "registered without consent: asking the provider",
            known.store_state,
            None,
        )
    if change.source == "lookup" and state != "subscribed":
        return Decision(
            "ignored",
            "none",
            "fetch_on_register",
            "not known at the provider" if state is None else "not opted in at the provider",
            known.store_state,
            None,
        )
    if state not in STATES:
        return Decision(
            "ignored",
            "none",
            "unknown_state",
            f"unknown consent state {state!r}",
            known.store_state,
            None,
        )
    if change.source == "lookup":
        if known.store_state == "subscribed":
            return Decision(
                "duplicate",
                "none",
                "fetch_on_register",
                "the store has them subscribed already",
                "subscribed",
                "subscribed",
            )
        if at is not None and known.store_at is not None and at <= known.store_at:
            return Decision(
                "stale",
                "none",
                "fetch_on_register",
                "the store's own state is newer",
                known.store_state,
                state,
            )
        return Decision(
            "applied",
            "write_to_store",
            "fetch_on_register",
            "opted in at the provider",
            known.store_state,
            state,
        )
    if change.source == "provider":
        moment = at or now
        verdict = _same_or_stale(state, moment, known.store_state, known.store_at)
        if (
            verdict == "duplicate"
            and at is not None
            and (known.store_at is None or at > known.store_at)
        ):
            # Nothing to write, but the provider said it later than we knew it: noted, so
            # an older callback of the other state arriving after this one is stale.
            return Decision(
                "duplicate",
                "note_provider",
                "provider_callback",
                "already the store's state (noted as of this newer time)",
                known.store_state,
                state,
            )
        if verdict:
            return Decision(
                verdict,
                "none",
                "provider_callback",
                "already the store's state"
                if verdict == "duplicate"
                else "older than the store's state",
                known.store_state,
                state,
            )
        return Decision(
            "applied",
            "write_to_store",
            "provider_callback",
            "callback from the provider",
            known.store_state,
            state,
        )
    # A store-side change, to be sent to the provider.
    if at is not None and known.store_at is not None and at < known.store_at:
        return Decision(
            "stale",
            "none",
            "store_change",
            "older than the store's own state",
            known.store_state,
            state,
        )
    verdict = _same_or_stale(state, at, known.provider_state, known.provider_at)
    if verdict:
        return Decision(
            verdict,
            "none",
            "store_change",
            "already the provider's state"
            if verdict == "duplicate"
            else "older than the provider's state",
            known.provider_state,
            state,
        )
    if state == "subscribed":
        return Decision(
            "applied",
            "send_to_provider",
            "opt_in",
            "store-side opt-in",
            known.provider_state,
            state,
        )
    if state == "not_subscribed":
        return Decision(
            "ignored",
            "none",
            "store_change",
            "not subscribed is no opt-out: nothing to send",
            known.provider_state,
            state,
        )
    # An opt-out: the guard.
    if at is None or known.registered_at is None:
        return Decision(
            "suppressed",
            "none",
            "opt_out_guard",
            "opt_out_guard: no time to measure the guard window from",
            known.provider_state,
            state,
        )
    waited = at - known.registered_at
    if waited < settings.opt_out_guard:
        minutes = settings.opt_out_guard.total_seconds() / 60
        return Decision(
            "suppressed",
            "none",
            "opt_out_guard",
            f"opt_out_guard: {_span(waited)} after registration, under {minutes:g} min",
            known.provider_state,
            state,
        )
    return Decision(
        "applied",
        "send_to_provider",
        "opt_out_guard",
        f"store-side opt-out {_span(waited)} after registration",
        known.provider_state,
        state,
    )


def _span(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    sign = "-" if seconds < 0 else ""
    minutes, secs = divmod(abs(seconds), 60)
    return f"{sign}{minutes}:{secs:02d}"


def store_change(
    previous: tuple[str | None, str | None] | None,
    state: str | None,
    at: str | None,
    created_at: str | None,
    updated_at: str | None,
) -> tuple[str, str | None, str | None] | None:
    """What a customer row from the store means for consent: (source, state, event time).

    `previous` is the (state, time) we held before, None for a new customer. A new
    customer without consent is a registration (rule a); any other difference is a
    store-side change dated by its consent time (else the row's update time).
    """
    if previous is None:
        if state == "subscribed":
            return ("store", state, at or created_at)
        return ("registration", None, created_at)
    if (state, at) == previous or state is None:
        return None
    return ("store", state, at or updated_at)
