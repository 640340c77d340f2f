"""Control API for syncs: create (or dry-run), list, show, start, stop, run, delete, progress."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..clock import isoformat, parse_time
from ..db import syncs as rows
from ..engine.mapping import MappingError, parse_mapping, parse_tags
from ..engine.sync import NoDestination
from ..integrations import UnknownIntegration
from ..model import SEGMENTS, SYNC_MODES, Sync
from ..providers.errors import ProviderError
from .errors import ApiError
from .integrations_api import json_object
from .sse import event_stream
from .state import parts_of

if TYPE_CHECKING:
    from ..components import Components
    from ..engine.sync import Report


def report_json(report: Report) -> dict[str, Any]:
    return report.as_dict()  # unset optional counts left out, as runs are stored


async def sync_or_404(request: Request) -> Sync:
    raw = request.path_params["id"]
    found = await rows.get(parts_of(request).db, int(raw)) if raw.isdigit() else None
    if found is None:
        raise ApiError(404, f"no sync {raw!r}")
    return found


async def destination(parts: Components, integration_id: int, wanted: str | None) -> str | None:
    try:
        return await parts.syncs.destination(integration_id, wanted)
    except NoDestination as exc:
        raise ApiError(422, str(exc)) from None
    except ProviderError as exc:
        raise ApiError(502, f"cannot read the lists: {exc.reason}") from None


def rules_from(body: dict[str, Any]) -> dict[str, Any]:
    try:
        mapping = parse_mapping(list(body.get("map") or []))
        tags = parse_tags(body.get("tags") or None)
    except MappingError as exc:
        raise ApiError(422, str(exc)) from None
    rules: dict[str, Any] = {
        "mapping": mapping,
        "tags": list(tags),
        "export_opted_out": bool(body.get("export_opted_out")),
    }
    for key in ("acquired_since", "acquired_until"):
        value = body.get(key)
        if value:
            moment = parse_time(value if "T" in str(value) else f"{value}T00:00:00Z")
            if moment is None:
                raise ApiError(422, f"{key} must be a date like 2026-01-31, got {value!r}")
            rules[key] = isoformat(moment)
    return rules


async def create(request: Request) -> Response:
    parts = parts_of(request)
    body = await json_object(request)
    integration_id = body.get("integration")
    if not isinstance(integration_id, int):
        raise ApiError(422, "integration (an id) is required")
    try:
        parts.integrations.get(integration_id)
    except UnknownIntegration as exc:
        raise ApiError(404, str(exc)) from None
    segment = body.get("segment") or ""
    if segment not in SEGMENTS:
        raise ApiError(422, f"segment must be one of {', '.join(SEGMENTS)}")
    mode = body.get("mode") or "active"
    if mode not in SYNC_MODES:
        raise ApiError(422, f"mode must be one of {', '.join(SYNC_MODES)}")
    rules = rules_from(body)
    dest = await destination(parts, integration_id, body.get("list"))
    now = isoformat(parts.clock.now())
    if body.get("dry_run"):
        draft = Sync(
            id=0,
            integration_id=integration_id,
            segment=segment,
            destination=dest,
            mode=mode,
            rules=rules,
            state="dry",
            reason=None,
            seq_done=0,
            created_at=now,
        )
        return JSONResponse(
            {
                "dry_run": True,
                "sync": draft.public(),
                "report": report_json(await parts.syncs.dry_run(draft)),
            }
        )
    sync = await parts.syncs.create(
        integration_id=integration_id, segment=segment, destination=dest, mode=mode, rules=rules
    )
    return JSONResponse(sync.public(), status_code=201)


async def listing(request: Request) -> Response:
    parts = parts_of(request)
    result = []
    for sync in await rows.live(parts.db):
        last = await rows.runs(parts.db, sync.id, 1)
        result.append(
            {
                **sync.public(),
                "running": parts.syncs.running(sync.id),
                "last_run": last[0].public() if last else None,
            }
        )
    return JSONResponse({"syncs": result})


async def show(request: Request) -> Response:
    parts = parts_of(request)
    sync = await sync_or_404(request)
    return JSONResponse(
        {
            **sync.public(),
            "running": parts.syncs.running(sync.id),
            "sent": await rows.sent_count(parts.db, sync.id),
            "runs": [r.public() for r in await rows.runs(parts.db, sync.id)],
            "failures": await rows.failures(parts.db, sync.id),
        }
    )


async def start(request: Request) -> Response:
    sync = await sync_or_404(request)
    await parts_of(request).syncs.start(sync)
    return JSONResponse({"started": sync.id})


async def stop(request: Request) -> Response:
    sync = await sync_or_404(request)
    await parts_of(request).syncs.stop(sync.id)
    return JSONResponse({"stopped": sync.id})


async def run(request: Request) -> Response:
    parts = parts_of(request)
    sync = await sync_or_404(request)
    body = await json_object(request)
    if body.get("dry_run") is True or request.query_params.get("dry_run") in ("1", "true"):
        return JSONResponse(
            {
                "dry_run": True,
                "sync": sync.public(),
                "report": report_json(await parts.syncs.dry_run(sync)),
            }
        )
    parts.syncs.request(sync.id)
    return JSONResponse({"running": sync.id})


async def delete(request: Request) -> Response:
    sync = await sync_or_404(request)
    await parts_of(request).syncs.delete(sync.id)
    return JSONResponse({"deleted": sync.id})


async def progress(request: Request) -> Response:
    parts = parts_of(request)
    sync = await sync_or_404(request)
    follow = request.query_params.get("follow") in ("1", "true")
    # Subscribe before reading the state: a run ending in between is not missed.
    subscription = parts.bus.subscribe() if follow else None
    last = await rows.runs(parts.db, sync.id, 1)
    snapshot = {
        "sync": sync.id,
        "state": sync.state,
        "running": parts.syncs.running(sync.id),
        "run": last[0].public() if last else None,
    }
    if subscription is None:
        return JSONResponse(snapshot)

    return event_stream(
        subscription,
        [f"event: snapshot\ndata: {json.dumps(snapshot)}\n\n"],
        lambda event: event.kind == "progress" and event.fields.get("sync") == sync.id,
    )


ROUTES = [
    Route("/v1/syncs", listing),
    Route("/v1/syncs", create, methods=["POST"]),
    Route("/v1/syncs/{id}", show),
    Route("/v1/syncs/{id}", delete, methods=["DELETE"]),
    Route("/v1/syncs/{id}/start", start, methods=["POST"]),
    Route("/v1/syncs/{id}/stop", stop, methods=["POST"]),
    Route("/v1/syncs/{id}/run", run, methods=["POST"]),
    Route("/v1/syncs/{id}/progress", progress),
]
