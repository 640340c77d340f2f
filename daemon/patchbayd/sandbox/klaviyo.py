"""Klaviyo below /klaviyo: JSON:API profiles, bulk import jobs, list subscriptions, events
(the account's data lives in klaviyo_store)."""

from __future__ import annotations

import itertools
import re
import uuid
from typing import Any

from starlette.responses import JSONResponse, Response

from ..clock import Clock, parse_time
from . import emails
from .klaviyo_store import ImportJob, Invalid, KlaviyoState, dig
from .system import Call, Dialect, Endpoint, System
from .window import Quota

PREFIX = "/klaviyo"
MEDIA_TYPE = "application/vnd.api+json"
MAX_IMPORT = 10_000
MAX_SUBSCRIBE, MAX_UNSUBSCRIBE = 1000, 100
DEFAULT_PAGE, MAX_PAGE = 20, 100
CODES = {
    400: "invalid",
    401: "not_authenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    415: "unsupported_media",
    429: "throttled",
    503: "service_unavailable",
}
TITLES = {
    400: "Invalid input.",
    401: "Authentication credentials were not provided.",
    403: "You do not have permission to perform this action.",
    404: "Not found.",
    429: "Request was throttled.",
}
FILTER = re.compile(r'equals\((email|phone_number|external_id|id),\s*"([^"]*)"\)')


def problem(
    status: int,
    detail: str,
    *,
    pointer: str = "/data/",
    code: str | None = None,
    title: str | None = None,
) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "status": status,
        "code": code or CODES.get(status, "error"),
        "title": title or TITLES.get(status, "A server error occurred."),
        "detail": detail,
        "source": {"pointer": pointer},
    }


def reply(content: Any, status: int = 200) -> Response:
    return JSONResponse(content, status_code=status, media_type=MEDIA_TYPE)


def error(status: int, message: str) -> Response:
    return reply({"errors": [problem(status, message)]}, status)


def invalid(detail: str, pointer: str, code: str = "invalid") -> Response:
    return reply({"errors": [problem(400, detail, pointer=pointer, code=code)]}, 400)


async def authenticate(call: Call) -> Response | None:
    scheme, _, key = call.request.headers.get("Authorization", "").partition(" ")
    if scheme != "Klaviyo-API-Key" or not call.key_ok(key.strip()):
        return error(401, "Missing or invalid private key.")
    if "revision" not in call.request.headers:
        return reply(
            {
                "errors": [
                    problem(
                        400, "The revision header is required.", title="revision header missing"
                    )
                ]
            },
            400,
        )
    return None


def throttled(retry_after: int) -> Response:
    return error(429, f"Request was throttled. Expected available in {retry_after} seconds.")


def rate_headers(quota: Quota | None) -> dict[str, str]:
    if quota is None:
        return {}
    return {
        "RateLimit-Limit": str(quota.limit),
        "RateLimit-Remaining": str(quota.remaining),
        "RateLimit-Reset": str(quota.reset),
    }


DIALECT = Dialect(error, authenticate, throttled, rate_headers)


def _problem_of(exc: Invalid) -> dict[str, Any]:
    return problem(400, exc.detail, pointer=exc.pointer, code=exc.code)


def _job_profiles(body: dict[str, Any], kind: str, limit: int) -> list[dict[str, Any]]:
    data = body.get("data")
    if not isinstance(data, dict) or data.get("type") != kind:
        raise Invalid(f"data.type must be {kind}", "/data/type")
    rows = dig(data, "attributes", "profiles", "data")
    if not isinstance(rows, list) or not rows:
        raise Invalid("profiles are required", "/data/attributes/profiles/data")
    if len(rows) > limit:
        raise Invalid(f"At most {limit} profiles per job", "/data/attributes/profiles/data")
    return rows


def _subscription_rows(rows: list[Any]) -> list[dict[str, Any]]:
    checked = []
    for index, row in enumerate(rows):
        attributes = row.get("attributes") if isinstance(row, dict) else None
        pointer = f"/data/attributes/profiles/data/{index}/attributes"
        if not isinstance(attributes, dict) or not emails.is_valid(attributes.get("email")):
            raise Invalid("A valid email is required", f"{pointer}/email")
        consented = dig(attributes, "subscriptions", "email", "marketing", "consented_at")
        if consented is not None and parse_time(consented) is None:
            raise Invalid(
                "Invalid consented_at", f"{pointer}/subscriptions/email/marketing/consented_at"
            )
        checked.append(attributes)
    return checked


def create(clock: Clock) -> System[KlaviyoState]:
    return System("klaviyo", KlaviyoState(clock), DIALECT, clock)


def endpoints(system: System[KlaviyoState]) -> list[Endpoint]:
    state = system.state

    async def accounts(call: Call) -> Response:
        return reply(
            {
                "data": [
                    {
                        "type": "account",
                        "id": "ACC123",
                        "attributes": {
                            "contact_information": {
                                "organization_name": "Sandbox Store",
                                "default_sender_email": "store@example.com",
                                "default_sender_name": "Sandbox Store",
                            },
                            "timezone": "UTC",
                            "preferred_currency": "EUR",
                        },
                    }
                ]
            }
        )

    async def import_profile(call: Call) -> Response:
        body = await call.json_object()
        data = body.get("data")
        if not isinstance(data, dict) or data.get("type") != "profile":
            return invalid("data.type must be profile", "/data/type")
        try:
            created, pid = state.import_profile(
                data.get("attributes"), call.faults.capacity, "/data/attributes", data.get("id")
            )
        except Invalid as exc:
            return reply({"errors": [_problem_of(exc)]}, 400)
        return reply({"data": state.resource(pid)}, 201 if created else 200)

    async def start_import(call: Call) -> Response:
        body = await call.json_object()
        try:
            rows = _job_profiles(body, "profile-bulk-import-job", MAX_IMPORT)
        except Invalid as exc:
            return reply({"errors": [_problem_of(exc)]}, 400)
        call.count_items(len(rows))
        job = ImportJob(uuid.uuid4().hex, len(rows), state.now(), ready_at=call.job_ready_at())
        for index, row in enumerate(rows):
            pointer = f"/data/attributes/profiles/data/{index}"
            try:
                attributes = row.get("attributes") if isinstance(row, dict) else None
                state.import_profile(
                    attributes,
                    call.faults.capacity,
                    pointer,
                    row.get("id") if isinstance(row, dict) else None,
                )
            except Invalid as exc:
                job.errors.append(
                    {
                        "type": "import-error",
                        "id": uuid.uuid4().hex,
                        "attributes": {
                            "code": exc.code,
                            "title": "Invalid input.",
                            "detail": exc.detail,
                            "source": {"pointer": pointer},
                            "original_payload": row,
                        },
                    }
                )
        state.jobs[job.id] = job
        return reply({"data": job.resource("queued")}, 202)

    async def get_import(call: Call) -> Response:
        job = state.jobs.get(call.request.path_params["job_id"])
        if job is None:
            return error(404, "Bulk import job not found.")
        done = call.job_done(job.ready_at)
        return reply({"data": job.resource("complete" if done else "processing")})

    async def import_errors(call: Call) -> Response:
        job = state.jobs.get(call.request.path_params["job_id"])
        if job is None:
            return error(404, "Bulk import job not found.")
        return reply(
            {
                "data": job.errors,
                "links": {"self": str(call.request.url), "next": None, "prev": None},
            }
        )

    async def get_profiles(call: Call) -> Response:
        params = call.request.query_params
        raw_filter = params.get("filter")
        if raw_filter is not None:
            match = FILTER.fullmatch(raw_filter.strip())
            if match is None:
                return reply(
                    {"errors": [problem(400, f"Invalid filter: {raw_filter}", pointer="filter")]},
                    400,
                )
            name, value = match.groups()
            pid = value if name == "id" and value in state.profiles else state.find({name: value})
            return reply(
                {
                    "data": [state.resource(pid)] if pid else [],
                    "links": {"self": str(call.request.url), "next": None, "prev": None},
                }
            )
        size_raw = params.get("page[size]", str(DEFAULT_PAGE))
        offset_raw = params.get("page[cursor]", "0")
        if not (size_raw.isdigit() and 1 <= int(size_raw) <= MAX_PAGE and offset_raw.isdigit()):
            return error(400, "Invalid page[size] or page[cursor].")
        size, offset = int(size_raw), int(offset_raw)
        ids = list(itertools.islice(state.profiles, offset, offset + size))
        following = None
        if offset + size < len(state.profiles):
            following = str(
                call.request.url.include_query_params(
                    **{"page[cursor]": offset + size, "page[size]": size}
                )
            )
        return reply(
            {
                "data": [state.resource(pid) for pid in ids],
                "links": {"self": str(call.request.url), "next": following, "prev": None},
            }
        )

    async def subscribe(call: Call) -> Response:
        body = await call.json_object()
        try:
            rows = _subscription_rows(
                _job_profiles(body, "profile-subscription-bulk-create-job", MAX_SUBSCRIBE)
            )
            list_id = dig(body, "data", "relationships", "list", "data", "id")
            if list_id not in state.lists:
                raise Invalid(f"List {list_id} does not exist.", "/data/relationships/list/data/id")
            historical = dig(body, "data", "attributes", "historical_import") is True
            if historical and any(
                dig(row, "subscriptions", "email", "marketing", "consented_at") is None
                for row in rows
            ):
                raise Invalid(
                    "consented_at is required for historical imports",
                    "/data/attributes/profiles/data",
                )
        except Invalid as exc:
            return reply({"errors": [_problem_of(exc)]}, 400)
        call.count_items(len(rows))
        state.subscribe(rows, list_id, call.faults.capacity)
        return Response(status_code=202)

    async def unsubscribe(call: Call) -> Response:
        body = await call.json_object()
        try:
            rows = _subscription_rows(
                _job_profiles(body, "profile-subscription-bulk-delete-job", MAX_UNSUBSCRIBE)
            )
            list_id = dig(body, "data", "relationships", "list", "data", "id")
            if list_id is not None and list_id not in state.lists:
                raise Invalid(f"List {list_id} does not exist.", "/data/relationships/list/data/id")
        except Invalid as exc:
            return reply({"errors": [_problem_of(exc)]}, 400)
        call.count_items(len(rows))
        state.unsubscribe(rows, list_id)
        return Response(status_code=202)

    async def lists(call: Call) -> Response:
        return reply(
            {
                "data": [
                    {
                        "type": "list",
                        "id": lid,
                        "attributes": {
                            "name": data["name"],
                            "created": data["created"],
                            "updated": data["created"],
                            "opt_in_process": "single_opt_in",
                        },
                    }
                    for lid, data in state.lists.items()
                ],
                "links": {"self": str(call.request.url), "next": None, "prev": None},
            }
        )

    async def add_event(call: Call) -> Response:
        body = await call.json_object()
        problem_ = state.add_event(body.get("data"))
        if problem_ is not None:
            return reply({"errors": [_problem_of(problem_)]}, 400)
        return Response(status_code=202)

    return [
        Endpoint("GET", "/api/accounts", accounts),
        Endpoint("POST", "/api/profile-import", import_profile),
        Endpoint("POST", "/api/profile-bulk-import-jobs", start_import),
        Endpoint("GET", "/api/profile-bulk-import-jobs/{job_id}", get_import),
        Endpoint("GET", "/api/profile-bulk-import-jobs/{job_id}/import-errors", import_errors),
        Endpoint("GET", "/api/profiles", get_profiles),
        Endpoint("POST", "/api/profile-subscription-bulk-create-jobs", subscribe),
        Endpoint("POST", "/api/profile-subscription-bulk-delete-jobs", unsubscribe),
        Endpoint("GET", "/api/lists", lists),
        Endpoint("POST", "/api/events", add_event),
    ]
