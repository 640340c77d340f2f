"""One real daemon, and every probe of it checked against the hardening contract.

The contract: a refused request answers 4xx (never 5xx) with {"error": {"code",
"message"}} and changes no row; a signed Shopify webhook with a hostile body is either
refused or quarantined; good input keeps flowing afterwards; nothing secret reaches
stderr. `Target.probe` checks one request against all of it and keeps the tally the
suite prints at the end.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections import deque
from collections.abc import Iterator, Mapping
from contextlib import closing
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx

from tests.support import Daemon, Sandbox, sandbox_config, wait

TOKEN = "demo-token"
WEBHOOK_SECRET = "sandbox-webhook-secret"
SHOPIFY_TOKEN = "sandbox-shopify-token"
PROVIDER_KEY = "sandbox-adversarial-key"
MARK = "PAYLOADMARK"  # in every hostile payload; must never reach the daemon's stderr
CALLBACK = "<callback-token>"  # in a Case path: the integration's token, filled in at send

TABLES = ("inbox", "customers", "orders", "events", "consent_events")
INGEST_HEADERS = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
ANSWER_TIMEOUT = 10.0  # a request not answered in this long is a stall
SETTLE_TIMEOUT = 10.0  # an accepted row not processed in this long is a stall
STALLED_TIMEOUT = 1.0  # once stalled, later checks fail fast
CHECK_EVERY = 20  # probes between two proofs that the pipeline still moves
UNREACHABLE = "http://127.0.0.1:9"  # the discard port: refused at once, the daemon starts

Expect = Literal["refuse", "refuse_or_quarantine", "tolerate"]


@dataclass
class Tally:
    """The suite's figures, kept beside the per-case asserts (which fail tests anyway)."""

    cases: int = 0
    server_errors: int = 0
    state_changes: int = 0
    stalls: int = 0
    notes: set[str] = field(default_factory=set)

    def line(self) -> str:
        return (
            f"adversarial: cases tried {self.cases}, 5xx seen {self.server_errors} "
            f"(goal 0), state changes from refused input {self.state_changes} (goal 0), "
            f"pipeline stalls {self.stalls} (goal 0)"
        )

    def clean(self) -> bool:
        return not (self.server_errors or self.state_changes or self.stalls)


TALLY = Tally()


@dataclass(frozen=True)
class Case:
    """One request and what the contract allows as its answer.

    expect: "refuse" (4xx, nothing written), "refuse_or_quarantine" (that, or 2xx and the
    inbox row set aside with an error), "tolerate" (anything but 5xx or a stall).
    """

    label: str
    method: str
    path: str
    content: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    params: Mapping[str, str] | None = None
    expect: Expect = "refuse"
    status: int | None = None  # the exact refusal status, where the contract names one
    names: str | None = None  # the field path the refusal message must name
    chunked: bool = False  # send without Content-Length
    webhook: bool = False  # give it a fresh X-Shopify-Webhook-Id (no dedupe between cases)

    def __repr__(self) -> str:
        return f"Case({self.method} {self.path} {self.label!r}, expect={self.expect})"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        """How hypothesis prints a falsifying case: the label, not a megabyte of body."""
        printer.text(repr(self))


def error_message(response: httpx.Response) -> str:
    """The message of the one error shape; AssertionError if the body is not that shape."""
    try:
        body = response.json()
    except ValueError:
        raise AssertionError(f"error body is not JSON: {response.text[:200]!r}") from None
    error = body.get("error") if isinstance(body, dict) else None
    assert isinstance(error, dict), f"no error object in {body!r}"[:300]
    assert isinstance(error.get("code"), str) and error["code"], f"no error code in {body!r}"
    message = error.get("message")
    assert isinstance(message, str) and message.strip(), f"empty error message in {body!r}"
    return message


class Target:
    """The daemon under attack, reached only on 127.0.0.1 and its control socket."""

    def __init__(self, daemon: Daemon, callback_token: str, tally: Tally = TALLY) -> None:
        self.daemon, self.callback_token, self.tally = daemon, callback_token, tally
        self.client = httpx.Client(
            base_url=f"http://127.0.0.1:{daemon.port()}", timeout=ANSWER_TIMEOUT
        )
        self.db_path = daemon.state_dir / "patchbay.db"
        self.recent: deque[str] = deque(maxlen=CHECK_EVERY)
        self.since_check = 0
        self.stalled = False
        self.secrets = {
            "ingest token": TOKEN,
            "webhook secret": WEBHOOK_SECRET,
            "Shopify access token": SHOPIFY_TOKEN,
            "provider key": PROVIDER_KEY,
            "callback token": callback_token,
            "payload marker": MARK,
        }

    def close(self) -> None:
        self.client.close()

    # -- the database, read-only ---------------------------------------------------------

    def _query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        uri = f"file:{self.db_path}?mode=ro"
        with closing(sqlite3.connect(uri, uri=True, timeout=5)) as db:
            return db.execute(sql, params).fetchall()

    def counts(self) -> dict[str, int]:
        sql = " UNION ALL ".join(f"SELECT '{t}', count(*) FROM {t}" for t in TABLES)
        return {name: int(count) for name, count in self._query(sql)}

    def pending(self) -> int:
        return int(self._query("SELECT count(*) FROM inbox WHERE processed_at IS NULL")[0][0])

    def inbox_row(self, dedupe: str) -> tuple[int, str | None, str | None] | None:
        rows = self._query("SELECT id, processed_at, error FROM inbox WHERE dedupe = ?", (dedupe,))
        return (int(rows[0][0]), rows[0][1], rows[0][2]) if rows else None

    # -- requests ------------------------------------------------------------------------

    def send(self, case: Case, headers: Mapping[str, str] | None = None) -> httpx.Response:
        content: bytes | Iterator[bytes] = case.content
        if case.chunked:
            content = (case.content[i : i + 65536] for i in range(0, len(case.content), 65536))
        return self.client.request(
            case.method,
            case.path.replace(CALLBACK, self.callback_token),
            content=content,
            params=case.params,
            headers={**case.headers, **(headers or {})},
        )

    def alive(self) -> str:
        code = self.daemon.proc.poll() if self.daemon.proc else None
        return "daemon running" if code is None else f"daemon exited with {code}"

    def probe(self, case: Case) -> httpx.Response:
        """Send one case and hold its answer, and the state after it, to the contract."""
        if self.stalled or self.since_check >= CHECK_EVERY:
            self.pipeline_moves()
        self.since_check += 1
        self.tally.cases += 1
        self.recent.append(repr(case))
        extra = {"X-Shopify-Webhook-Id": f"adv-{uuid.uuid4().hex}"} if case.webhook else {}
        self._drain(f"before {case!r}")  # rows still landing would pass for this case's
        before = self.counts()
        try:
            response = self.send(case, extra)
        except httpx.TimeoutException:
            self.tally.stalls += 1
            raise AssertionError(f"{case!r}: no answer in {ANSWER_TIMEOUT} s") from None
        except httpx.TransportError as exc:
            self.tally.server_errors += 1  # a dropped connection is a server failure too
            raise AssertionError(f"{case!r}: no answer ({exc!r}); {self.alive()}") from None
        status = response.status_code
        if status >= 500:
            self.tally.server_errors += 1
            raise AssertionError(f"{case!r}: answered {status}: {response.text[:300]}")
        if 400 <= status < 500:
            self._refused(case, response, before)
        elif 200 <= status < 300:
            self._accepted(case, response, before, extra.get("X-Shopify-Webhook-Id"))
        else:
            raise AssertionError(f"{case!r}: answered {status}: {response.text[:300]}")
        return response

    def _refused(self, case: Case, response: httpx.Response, before: dict[str, int]) -> None:
        after = self.counts()
        if after != before:
            self.tally.state_changes += 1
            changed = {t: (before[t], after[t]) for t in TABLES if before[t] != after[t]}
            raise AssertionError(
                f"{case!r}: refused ({response.status_code}) yet changed {changed}"
            )
        message = error_message(response)
        if case.status is not None:
            assert response.status_code == case.status, (
                f"{case!r}: expected {case.status}, got {response.status_code}: {message!r}"
            )
        if case.names is not None:
            assert case.names in message, (
                f"{case!r}: the message does not name {case.names!r}: {message[:300]!r}"
            )

    def _accepted(
        self, case: Case, response: httpx.Response, before: dict[str, int], webhook_id: str | None
    ) -> None:
        answer = f"{response.status_code} {response.text[:200]}"
        if case.expect == "refuse":
            self.tally.state_changes += 1  # hostile input taken in: a row was written
            self._drain(f"after {case!r}")
            raise AssertionError(f"{case!r}: hostile input accepted: {answer}")
        if case.expect == "tolerate":
            self._drain(f"after {case!r} was accepted")
            return
        assert webhook_id is not None, "refuse_or_quarantine is for webhooks"
        dedupe = f"webhook:{webhook_id}"
        try:
            wait(
                lambda: (row := self.inbox_row(dedupe)) is not None and row[1] is not None,
                SETTLE_TIMEOUT,
            )
        except AssertionError:
            self.tally.stalls += 1
            raise AssertionError(
                f"{case!r}: accepted ({answer}) but its inbox row was not "
                f"processed in {SETTLE_TIMEOUT} s"
            ) from None
        row = self.inbox_row(dedupe)
        assert row is not None
        after = self.counts()
        changed = {
            t: (before[t], after[t]) for t in TABLES if t != "inbox" and before[t] != after[t]
        }
        if row[2] is None or changed:
            self.tally.state_changes += 1
            raise AssertionError(
                f"{case!r}: accepted ({answer}) and applied, not quarantined "
                f"(error={row[2]!r}, changed {changed})"
            )
        self._listed_as_quarantined(case, row[0])

    def _listed_as_quarantined(self, case: Case, inbox_id: int) -> None:
        try:
            listed = self.daemon.api("/v1/inbox/quarantined")
        except httpx.HTTPStatusError as exc:
            if exc.response.status_code == 404:
                self.tally.notes.add("GET /v1/inbox/quarantined answered 404 (not there yet)")
                return
            if exc.response.status_code >= 500:
                self.tally.server_errors += 1
            raise AssertionError(f"{case!r}: GET /v1/inbox/quarantined: {exc}") from None
        found = [item for item in listed["items"] if item.get("id") == inbox_id]
        assert found and found[0].get("error"), (
            f"{case!r}: inbox row {inbox_id} not listed as quarantined: {listed!r}"[:400]
        )

    def _drain(self, when: str) -> None:
        """Wait until every committed inbox row is processed; a stall if it never is."""
        try:
            wait(lambda: self.pending() == 0, STALLED_TIMEOUT if self.stalled else SETTLE_TIMEOUT)
        except AssertionError:
            self.stalled = True
            self.tally.stalls += 1
            raise AssertionError(f"the inbox did not drain {when}; {self.alive()}") from None

    # -- proofs that the pipeline still moves, and that nothing leaked -------------------

    def has_customer(self, store: str, email: str) -> bool:
        found = self.daemon.api(f"/v1/stores/{store}/customers?email={email}")["customers"]
        return any(c["email"] == email for c in found)

    def pipeline_moves(self) -> None:
        """A fresh good customer goes in and comes out in the store table, in time."""
        self.since_check = 0
        key = uuid.uuid4().hex[:12]
        email = f"good-{key}@example.com"
        item = {
            "id": f"good-{key}",
            "email": email,
            "first_name": "Good",
            "created_at": "2026-11-22T10:00:00Z",
            "updated_at": "2026-11-22T10:00:00Z",
        }
        timeout = STALLED_TIMEOUT if self.stalled else SETTLE_TIMEOUT
        try:
            response = self.client.post(
                "/ingest/demo/customers", content=json.dumps(item), headers=INGEST_HEADERS
            )
            assert response.status_code == 202, f"{response.status_code} {response.text[:200]}"
            wait(lambda: self.has_customer("demo", email), timeout)
        except (AssertionError, httpx.HTTPError) as exc:
            self.stalled = True
            self.tally.stalls += 1
            raise AssertionError(
                f"pipeline stalled: a good customer was not processed "
                f"({str(exc) or type(exc).__name__}; {self.alive()}); "
                f"the cases before: {list(self.recent)}"
            ) from None
        self.stalled = False

    def leaks(self) -> list[str]:
        """Names of the secrets and payload markers found in the daemon's stderr."""
        stderr = self.daemon.stderr()
        return [name for name, value in self.secrets.items() if value in stderr]


def hostile_config() -> str:
    """Push store `demo`, and Shopify store `shop` whose Admin API is unreachable:
    webhooks need only its secret, and no background import can move the row counts
    the probes compare."""
    return sandbox_config(
        UNREACHABLE, daemon='provider_timeout = "1s"\nintegration_check_interval = "1h"'
    )


def connect_for_callbacks(daemon: Daemon, sandbox: Sandbox) -> str:
    """Connect Omnisend (the sandbox's) to `demo`; return the token of its callback URLs."""
    made = json.loads(
        daemon.cli(
            "integrations",
            "connect",
            "omnisend",
            "--store",
            "demo",
            "--api-key-env",
            "PB_ADVERSARIAL_KEY",
            "--base-url",
            f"{sandbox.url}/omnisend",
            "--fetch-on-register",
            "off",
            "--json",
            env_extra={"PB_ADVERSARIAL_KEY": PROVIDER_KEY},
        ).stdout
    )
    shown = json.loads(daemon.cli("integrations", "show", str(made["id"]), "--json").stdout)
    return str(shown["callbacks"]["opt_in"].split("/callbacks/", 1)[1].split("/", 1)[0])
