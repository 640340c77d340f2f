"""Properties of the payload hash and the consent decision, checked over generated cases.

The tables (test_consent_rules.py, test_mapping_rules.py) pin chosen edges; these
properties state the promises the tables only sample, and let hypothesis look for a
counterexample:

* `payload_hash` "changes exactly when what would be sent changes": the same contact
  hashes the same whatever order its properties were stored in, and any change to what
  goes out changes the hash (an unchanged hash means the contact is not sent again, so a
  missed change is a contact the provider never gets).
* `decide`: (a) an older event never overwrites a newer state (event time decides
  everywhere), and a shuffled stream of callbacks leaves the newest one's state;
  (b) nothing turns an unsubscribed contact into a subscribed one except an opt-in.

Inputs are modelled on how the engine calls `decide` (reconcile.py): a registration
carries no state, a lookup carries what the provider said (or None), callbacks come from
the provider, store changes are the store row's consent; `Known` is read from the store
row and the provider's last state, merged as `ConsentReconciler._known` merges them.
Runs are repeatable (derandomized, no example database) and bounded (<= 200 examples).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from patchbayd.engine.consent import STATES, Change, Decision, Known, Settings, decide
from patchbayd.engine.mapping import payload_hash
from patchbayd.providers.base import Consent, Contact

REPEATABLE = settings(max_examples=200, derandomize=True, database=None, deadline=None)
REG = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)

# -- payload_hash ------------------------------------------------------------------------

# JSON values a store property can hold, nested objects included (their key order must
# not change the hash either).
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(10**6), 10**6)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8)
)
VALUES = (
    SCALARS
    | st.lists(SCALARS, max_size=3)
    | st.dictionaries(st.text(max_size=4), SCALARS, max_size=3)
)
PROPERTIES = st.dictionaries(st.text(min_size=1, max_size=8), VALUES, max_size=6)
MOMENTS = st.none() | st.integers(-(10**6), 10**6).map(lambda s: REG + timedelta(seconds=s))
CONSENTS = st.none() | st.builds(Consent, st.sampled_from(STATES), MOMENTS)
TEXTS = st.none() | st.text(max_size=12)


@st.composite
def contacts(draw: st.DrawFn) -> Contact:
    return Contact(
        email=draw(TEXTS),
        phone=draw(TEXTS),
        external_id=draw(TEXTS),
        first_name=draw(TEXTS),
        last_name=draw(TEXTS),
        email_consent=draw(CONSENTS),
        sms_consent=draw(CONSENTS),
        tags=tuple(draw(st.lists(st.text(min_size=1, max_size=6), max_size=3, unique=True))),
        properties=draw(PROPERTIES),
    )


_ABSENT = object()


def sent(value: Any) -> str:
    """What a value looks like on the wire (1, 1.0 and True are equal in Python only)."""
    return json.dumps(value, sort_keys=True)


@REPEATABLE
@given(contact=contacts(), destination=TEXTS, data=st.data())
def test_hash_ignores_the_order_properties_were_stored_in(
    contact: Contact, destination: str | None, data: st.DataObject
) -> None:
    shuffled = data.draw(st.permutations(list(contact.properties.items())))
    nested_too = {
        name: dict(reversed(list(value.items()))) if isinstance(value, dict) else value
        for name, value in shuffled
    }
    rebuilt = replace(
        contact, properties=nested_too, tags=tuple(list(contact.tags))
    )  # equal, but not the same objects
    assert rebuilt == contact
    assert payload_hash(rebuilt, destination) == payload_hash(contact, destination)


@REPEATABLE
@given(contact=contacts(), data=st.data())
def test_hash_changes_when_a_property_value_changes(contact: Contact, data: st.DataObject) -> None:
    name = data.draw(
        st.text(min_size=1, max_size=8)
        if not contact.properties
        else st.sampled_from(sorted(contact.properties))
    )
    old = contact.properties.get(name, _ABSENT)
    new = data.draw(VALUES.filter(lambda v: old is _ABSENT or sent(v) != sent(old)))
    changed = replace(contact, properties={**contact.properties, name: new})
    assert payload_hash(changed, None) != payload_hash(contact, None)


FIELDS = ("email", "phone", "external_id", "first_name", "last_name")


@REPEATABLE
@given(contact=contacts(), data=st.data())
def test_hash_changes_when_anything_else_sent_changes(
    contact: Contact, data: st.DataObject
) -> None:
    what = data.draw(
        st.sampled_from((*FIELDS, "email_consent", "sms_consent", "tags", "destination"))
    )
    if what == "destination":
        other = data.draw(TEXTS.filter(lambda d: d is not None))
        assert payload_hash(contact, other) != payload_hash(contact, None)
        return
    old = getattr(contact, what)
    strategy = {
        "email_consent": CONSENTS,
        "sms_consent": CONSENTS,
        "tags": st.lists(st.text(min_size=1, max_size=6), max_size=3, unique=True).map(tuple),
    }.get(what, TEXTS)
    new = data.draw(strategy.filter(lambda v: v != old))
    assert payload_hash(replace(contact, **{what: new}), None) != payload_hash(contact, None)


# -- decide ------------------------------------------------------------------------------

TIMES = st.integers(-60, 120).map(lambda m: REG + timedelta(minutes=m))
MAYBE_TIMES = st.none() | TIMES
KNOWN_STATES = st.none() | st.sampled_from(STATES)
SETTINGS = st.builds(
    Settings, st.integers(0, 30).map(lambda m: timedelta(minutes=m)), st.booleans()
)
NOWS = st.integers(0, 180).map(lambda m: REG + timedelta(minutes=m))


@st.composite
def changes(draw: st.DrawFn, states: st.SearchStrategy[str | None] | None = None) -> Change:
    """A change as the engine builds one, by source."""
    source = draw(st.sampled_from(("store", "provider", "lookup", "registration")))
    if source == "registration":  # store_change: no state, dated by creation
        return Change("registration", None, draw(MAYBE_TIMES))
    pick = (
        states
        if states is not None
        else {
            "store": st.sampled_from(STATES),  # the store row's consent
            "provider": st.sampled_from(("subscribed", "unsubscribed")) | st.just("cleaned"),
            "lookup": st.none() | st.sampled_from(STATES),  # None: not known there
        }[source]
    )
    state = draw(pick)
    if source == "lookup" and state is None:
        return Change("lookup", None, None)
    return Change(source, state, draw(MAYBE_TIMES))


@st.composite
def knowns(draw: st.DrawFn) -> Known:
    """The customer row (its consent may be dated without a state: Shopify sends that)
    and the provider's last state (a consent_states row: no time without a state)."""
    provider_state = draw(KNOWN_STATES)
    return Known(
        draw(MAYBE_TIMES),
        draw(KNOWN_STATES),
        draw(MAYBE_TIMES),
        provider_state,
        draw(MAYBE_TIMES) if provider_state else None,
    )


KNOWN = knowns()


def merged(known: Known) -> Known:
    """`Known` as ConsentReconciler._known builds it: a newer provider state we already
    hold (a write to the store still in the inbox) stands in for the store's."""
    if (
        known.provider_state
        and known.provider_at
        and (known.store_at is None or known.provider_at > known.store_at)
    ):
        return replace(known, store_state=known.provider_state, store_at=known.provider_at)
    return known


def older(at: datetime | None, than: datetime | None) -> bool:
    return at is not None and than is not None and at < than


def not_newer(at: datetime | None, than: datetime | None) -> bool:
    return at is not None and than is not None and at <= than


@REPEATABLE
@given(change=changes(), known=KNOWN, options=SETTINGS, now=NOWS)
def test_a_change_not_newer_than_a_side_never_overwrites_it(
    change: Change, known: Known, options: Settings, now: datetime
) -> None:
    """(a), as decide's docstring words it, against the side each action writes."""
    decision = decide(change, known, options, now)
    if decision.action == "write_to_store":
        moment = change.at or (now if change.source == "provider" else None)
        assert not not_newer(moment, known.store_at), decision
    if decision.action == "send_to_provider":
        assert not not_newer(change.at, known.provider_at), decision
        assert not older(change.at, known.store_at), decision  # arrived late: stale


@REPEATABLE
@given(change=changes(), raw=KNOWN, options=SETTINGS, now=NOWS)
def test_nothing_older_than_either_side_is_written_to_the_store(
    change: Change, raw: Known, options: Settings, now: datetime
) -> None:
    """(a) with `Known` merged as the engine merges it: a callback or lookup not newer
    than the provider's last state is not written over it either."""
    decision = decide(change, merged(raw), options, now)
    if decision.action == "write_to_store":
        moment = change.at or (now if change.source == "provider" else None)
        assert not not_newer(moment, raw.store_at), decision
        assert not not_newer(moment, raw.provider_at), decision


@dataclass
class Sides:
    """The store's consent and the provider's, as the engine's actions leave them."""

    store_state: str | None
    store_at: datetime | None
    provider_state: str | None
    provider_at: datetime | None

    def known(self) -> Known:
        return merged(
            Known(REG, self.store_state, self.store_at, self.provider_state, self.provider_at)
        )

    def apply(self, change: Change, options: Settings, now: datetime) -> Decision:
        if (
            change.source == "store"
            and change.state in STATES
            and not older(change.at, self.store_at)
        ):  # the row changed first (newer-wins upsert)
            self.store_state, self.store_at = change.state, change.at
        decision = decide(change, self.known(), options, now)
        if decision.action == "write_to_store":  # reconcile._act: store and provider state
            self.store_state = self.provider_state = decision.new_state
            self.store_at = self.provider_at = change.at or now
        elif decision.action in ("send_to_provider", "note_provider"):
            self.provider_state, self.provider_at = decision.new_state, change.at
        return decision


@st.composite
def callback_streams(draw: st.DrawFn) -> list[Change]:
    """Dated provider callbacks for one contact, no two at the same instant."""
    minutes = draw(st.lists(st.integers(1, 120), min_size=1, max_size=6, unique=True))
    return [
        Change(
            "provider",
            draw(st.sampled_from(("subscribed", "unsubscribed"))),
            REG + timedelta(minutes=m),
        )
        for m in minutes
    ]


def final_store_state(arrival: list[Change], options: Settings, now: datetime) -> str | None:
    sides = Sides("subscribed", REG, "subscribed", REG)  # opted in at registration
    for change in arrival:
        sides.apply(change, options, now)
    return sides.store_state


def newest(callbacks: list[Change]) -> str | None:
    return max(callbacks, key=lambda c: c.at or REG).state


@REPEATABLE
@given(callbacks=callback_streams(), options=SETTINGS, now=NOWS)
def test_callbacks_decided_in_time_order_leave_the_newest_state(
    callbacks: list[Change], options: Settings, now: datetime
) -> None:
    """(a) over a stream, as one pass sees it (consent_rows.pending orders by event time)."""
    arrival = sorted(callbacks, key=lambda c: c.at or REG)
    assert final_store_state(arrival, options, now) == newest(callbacks), arrival


@REPEATABLE
@given(callbacks=callback_streams(), data=st.data(), options=SETTINGS, now=NOWS)
def test_shuffled_callbacks_leave_the_newest_state(
    callbacks: list[Change], data: st.DataObject, options: Settings, now: datetime
) -> None:
    """(a) over a stream, in any arrival order: the newest event's state wins. (It did
    not: a callback equal to the store's state was a duplicate that recorded nothing, not
    even its time, so an older callback of the other state arriving later was applied.
    A newer duplicate is now noted as the provider's state.)"""
    arrival = data.draw(st.permutations(callbacks))
    assert final_store_state(arrival, options, now) == newest(callbacks), arrival


def test_an_older_opt_out_after_a_duplicate_opt_in_does_not_win() -> None:
    """The smallest counterexample hypothesis finds for the property above."""
    arrival = [
        Change("provider", "subscribed", REG + timedelta(minutes=2)),
        Change("provider", "unsubscribed", REG + timedelta(minutes=1)),
    ]
    assert final_store_state(arrival, Settings(), REG + timedelta(hours=1)) == "subscribed"


@REPEATABLE
@given(change=changes(), known=KNOWN, options=SETTINGS, now=NOWS)
def test_only_an_opt_in_subscribes(
    change: Change, known: Known, options: Settings, now: datetime
) -> None:
    """(b), one decision: whatever is written or sent is the change's own state, so a
    subscription written or sent always comes from an opt-in event."""
    decision = decide(change, merged(known), options, now)
    if decision.action in ("write_to_store", "send_to_provider"):
        assert decision.new_state == change.state, decision
        if decision.new_state == "subscribed":
            assert change.source in ("store", "provider", "lookup")
    assert decision.action != "write_to_store" or change.source in ("provider", "lookup")
    assert decision.action != "send_to_provider" or change.source == "store"


NO_OPT_IN = st.none() | st.sampled_from(("not_subscribed", "unsubscribed", "cleaned"))


@REPEATABLE
@given(
    stream=st.lists(changes(states=NO_OPT_IN), min_size=1, max_size=8),
    start=st.sampled_from(("store", "provider", "both")),
    options=SETTINGS,
    now=NOWS,
)
def test_an_unsubscribed_contact_stays_unsubscribed_without_an_opt_in(
    stream: list[Change], start: str, options: Settings, now: datetime
) -> None:
    """(b) over a stream: registrations, lookups, callbacks and store changes, none of
    them an opt-in, never subscribe an unsubscribed contact on either side."""
    sides = Sides(
        "unsubscribed" if start != "provider" else None,
        REG,
        "unsubscribed" if start != "store" else None,
        REG,
    )
    for change in stream:
        decision = sides.apply(change, options, now)
        assert "subscribed" not in (sides.store_state, sides.provider_state), decision
