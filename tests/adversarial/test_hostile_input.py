"""Bad input at every public endpoint of a real daemon changes nothing and stops nothing.

Each test drives one endpoint with hypothesis-generated hostile requests, plus the
hand-written cases the contract names as explicit examples; `Target.probe` holds every
answer, and the database after it, to the contract (see harness.py). Bounded and
reproducible: one daemon for the module, derandomized, no shrinking (a falsifying case
is reported as generated, which is already one mutation of a valid request).
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, Phase, example, given, settings

from tests.adversarial.harness import (
    TALLY,
    Case,
    Target,
    connect_for_callbacks,
    hostile_config,
)
from tests.adversarial.hostile import (
    MISSING,
    Raw,
    callback_access_cases,
    callback_body_cases,
    callback_email_cases,
    callback_get,
    callback_post,
    deep_arrays,
    huge_int,
    push_access_cases,
    push_document_cases,
    push_field_case,
    push_field_cases,
    render,
    shopify_access_cases,
    shopify_customer,
    shopify_document_cases,
    shopify_field_case,
    shopify_field_cases,
    tolerated_push_cases,
    tolerated_shopify_cases,
    too_large_cases,
    webhook_case,
)
from tests.support import Daemon, Sandbox, short_tmpdir, wait

F = TypeVar("F", bound=Callable[..., Any])

HOSTILE = settings(
    max_examples=50,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    report_multiple_bugs=False,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
NAN = Raw("NaN", "NaN")
SURROGATE_EMAIL = Raw('"\\ud800@x.com"', "lone surrogate: \\ud800@x.com")


def examples(*cases: Case) -> Callable[[F], F]:
    """Each hand-written case as an explicit hypothesis example, run before generation."""

    def apply(test: F) -> F:
        for case in reversed(cases):
            test = example(case=case)(test)
        return test

    return apply


@pytest.fixture(scope="module")
def target(sandbox_server: Sandbox) -> Iterator[Target]:
    """One daemon for the module: starting one per case would blow the time budget."""
    directory = short_tmpdir()
    daemon = Daemon(directory, config_text=hostile_config())
    try:
        daemon.start()
        attacked = Target(daemon, connect_for_callbacks(daemon, sandbox_server))
        try:
            yield attacked
        finally:
            attacked.close()
    finally:
        daemon.kill()
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(autouse=True)
def still_moving_and_quiet(target: Target) -> Iterator[None]:
    """After every test, whatever it did: good input still flows, and stderr holds no
    secret and no hostile payload."""
    yield
    target.pipeline_moves()
    leaked = target.leaks()
    assert not leaked, f"found in the daemon's stderr: {', '.join(leaked)}"


@pytest.fixture(scope="module", autouse=True)
def figures() -> Iterator[None]:
    """The module fails on its figures too, not only on the per-case asserts."""
    yield
    print(f"\n{TALLY.line()}")
    assert TALLY.clean(), TALLY.line()


# -- POST /ingest/{store}/{kind} ----------------------------------------------------------


@settings(HOSTILE, max_examples=80)
@given(case=push_field_cases())
@examples(
    push_field_case("customers", ("member", "points"), NAN, False),
    push_field_case("customers", ("member", "points"), Raw("-Infinity", "-Infinity"), True),
    push_field_case("customers", ("member", "points"), huge_int(5_000), False),
    push_field_case("customers", ("properties", "colour"), deep_arrays(5_000), False),
    push_field_case("customers", ("email",), ["x@example.com"], False),
    push_field_case("customers", ("email",), SURROGATE_EMAIL, False),
    push_field_case("customers", ("first_name",), {"a": 1}, False),
    push_field_case("customers", ("created_at",), "0001-01-01T00:00:00+01:00", False),
    push_field_case("orders", ("created_at",), "9999-12-31T23:59:59-01:00", True),
    push_field_case("customers", ("email_consent", "state"), "maybe", False),
    push_field_case("orders", ("status",), "shipped", False),
    push_field_case("customers", ("email",), MISSING, False),
    push_field_case("events", ("id",), MISSING, True),
    push_field_case("orders", ("items", 0, "price"), Raw("Infinity", "Infinity"), True),
    push_field_case("customers", ("member", "points"), "lots of PAYLOADMARK", False),
    push_field_case("customers", ("member", "tier"), ["gold"], False),
    push_field_case("customers", ("member", "tier_expires_at"), "never PAYLOADMARK", False),
)
def test_ingest_refuses_a_hostile_field(target: Target, case: Case) -> None:
    target.probe(case)


@HOSTILE
@given(case=push_document_cases())
@examples(*too_large_cases())
def test_ingest_refuses_a_hostile_body(target: Target, case: Case) -> None:
    target.probe(case)


@settings(HOSTILE, max_examples=40)
@given(case=push_access_cases())
def test_ingest_refuses_wrong_tokens_stores_kinds_and_methods(target: Target, case: Case) -> None:
    target.probe(case)


@settings(HOSTILE, max_examples=40)
@given(case=tolerated_push_cases())
def test_ingest_survives_odd_but_typed_values(target: Target, case: Case) -> None:
    target.probe(case)


# -- POST /webhooks/shopify/{store} -------------------------------------------------------


@settings(HOSTILE, max_examples=80)
@given(case=shopify_field_cases())
@examples(
    shopify_field_case("customers", "customers/create", ("email",), ["x@example.com"]),
    shopify_field_case("customers", "customers/update", ("first_name",), {"a": 1}),
    shopify_field_case(
        "customers", "customers/create", ("created_at",), "0001-01-01T00:00:00+01:00"
    ),
    shopify_field_case(
        "customers", "customers/update", ("email_marketing_consent", "state"), "maybe"
    ),
    shopify_field_case("customers", "customers/create", ("tags",), {"vip": True}),
    shopify_field_case("customers", "customers/create", ("id",), MISSING),
    shopify_field_case("orders", "orders/paid", ("line_items", 0, "price"), NAN),
    shopify_field_case("orders", "orders/paid", ("id",), huge_int(5_000)),
    shopify_field_case("orders", "orders/paid", ("updated_at",), "9999-12-31T23:59:59-01:00"),
)
def test_signed_webhooks_with_hostile_fields_are_refused_or_quarantined(
    target: Target, case: Case
) -> None:
    target.probe(case)


@settings(HOSTILE, max_examples=40)
@given(case=shopify_document_cases())
def test_signed_webhooks_with_hostile_bodies_are_refused_or_quarantined(
    target: Target, case: Case
) -> None:
    target.probe(case)


@settings(HOSTILE, max_examples=40)
@given(case=shopify_access_cases())
def test_webhooks_refuse_bad_signatures_stores_and_methods(target: Target, case: Case) -> None:
    target.probe(case)


@settings(HOSTILE, max_examples=30)
@given(case=tolerated_shopify_cases())
def test_webhooks_survive_odd_but_typed_resources(target: Target, case: Case) -> None:
    target.probe(case)


# -- GET|POST /callbacks/{token}/opt-in|opt-out -------------------------------------------


@settings(HOSTILE, max_examples=60)
@given(case=callback_email_cases())
@examples(
    callback_get({"email": "PAYLOADMARK\x00@example.com"}, "GET email with NUL", names="email"),
    callback_get({"email": "@example.com"}, "GET empty local part", names="email"),
    callback_get({"email": "PAYLOADMARK x@example.com"}, "GET email with a space", names="email"),
    callback_get(
        {"email": "PAYLOADMARK" + "a" * 5_000 + "@example.com"},
        "GET a 5000-char email",
        names="email",
    ),
    callback_post(render({"email": ["x@example.com"]}), "POST email list", names="email"),
    callback_post(render({"email": {"a": "x@example.com"}}), "POST email object", names="email"),
    callback_post(render({"email": SURROGATE_EMAIL}), "POST surrogate email", names="email"),
    callback_post(render({"email": NAN}), "POST email NaN", names="email"),
)
def test_callbacks_refuse_what_is_no_email(target: Target, case: Case) -> None:
    target.probe(case)


@settings(HOSTILE, max_examples=40)
@given(case=callback_body_cases())
@examples(
    callback_post(
        render({"email": "ok@example.com", "at": "0001-01-01T00:00:00+01:00"}),
        "POST at out of range",
    ),
    callback_post(
        render({"email": "ok@example.com", "at": ["2026-11-22T10:00:00Z"]}), "POST at a list"
    ),
)
def test_callbacks_refuse_hostile_bodies_and_times(target: Target, case: Case) -> None:
    target.probe(case)


@settings(HOSTILE, max_examples=30)
@given(case=callback_access_cases())
def test_callbacks_refuse_unknown_tokens_directions_and_methods(target: Target, case: Case) -> None:
    target.probe(case)


# -- and afterwards, good input at every endpoint -----------------------------------------


def test_good_input_still_flows_at_every_endpoint(target: Target) -> None:
    target.pipeline_moves()  # push ingest
    key = uuid.uuid4().hex[:12]
    email = f"shop-{key}@example.com"
    resource = {**shopify_customer(int(key[:6], 16)), "email": email}
    answer = target.send(
        webhook_case(render(resource), "customers/create", "good"),
        {"X-Shopify-Webhook-Id": f"good-{key}"},
    )
    assert answer.status_code == 200, answer.text
    wait(lambda: target.has_customer("shop", email), 10)
    before = target.counts()["consent_events"]
    answer = target.send(callback_get({"email": f"cb-{key}@example.com"}, "good"))
    assert answer.status_code == 200, answer.text
    # Committed to the inbox when answered; its consent event follows from the processor.
    wait(lambda: target.counts()["consent_events"] > before, 10)
    assert target.client.get("/healthz").json() == {"status": "ok"}
