"""The integration API, `/api/v1/...`: API keys, optional HMAC signatures, size and rate limits, JSON errors.

Every write goes through `before` first: the body's size against the route's limit, the key
(`Authorization: Bearer rk_...`), the key's scope for the route, the key's rate limit (a fixed window per minute
in Redis), then the signature when the key requires one or the request carries one (over method, path and body;
replays refused, keyed on the `(t, v2)` that verified). Errors are `{"error": {"code": ..., "message": ...}}`
with a 4xx; nothing is changed by a refused request.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from typing import TYPE_CHECKING, Any

import redis
from flask import Blueprint, Response, current_app, g, jsonify, request
from flask.typing import ResponseReturnValue
from pydantic import ValidationError
from werkzeug.exceptions import HTTPException

from receptionist.integrations import apikeys, signing
from receptionist.integrations.errors import ApiError
from receptionist.integrations.schemas import (
    AppointmentsBatch,
    AsapRequestIn,
    BookingEvent,
    IntakeUpdate,
    Opening,
    PatientsBatch,
    Strict,
    VisitsBatch,
)
from receptionist.store import keys
from receptionist.web.extension import services_of
from receptionist.web.openapi import FILE as OPENAPI_FILE

if TYPE_CHECKING:
    from receptionist.runtime.services import Services

bp = Blueprint("api", __name__, url_prefix="/api/v1")
log = logging.getLogger(__name__)

KB = 1024
# the most each route reads; batches and FHIR bundles are larger by nature
SIZE_LIMITS = {
    "api.booking_event": 64 * KB,
    "api.intake": 64 * KB,
    "api.patients": 16 * KB * KB,
    "api.visits": 16 * KB * KB,
    "api.appointments": 16 * KB * KB,
    "api.asap_request": 16 * KB,
    "api.opening": 16 * KB,
    "api.fhir": 16 * KB * KB,  # parsed and validated it takes about five times that in memory
}
RATE_PER_MINUTE = 1200
# the scope each route needs (apikeys.SCOPES)
ROUTE_SCOPES = {
    "api.booking_event": "booking",
    "api.intake": "intake",
    "api.patients": "pms",
    "api.visits": "pms",
    "api.appointments": "pms",
    "api.fhir": "fhir",
    "api.asap_request": "booking",
    "api.opening": "booking",
}
# JSON nested deeper than this is refused before validation (no model here nests more than a few levels)
MAX_JSON_DEPTH = 64
# the most entries one FHIR bundle sent to the API may carry (a bigger export goes as several bundles, or
# through `receptionist import fhir`)
MAX_FHIR_ENTRIES = 50_000


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response:
    response = jsonify({"error": {"code": code, "message": message}})
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


@bp.app_errorhandler(HTTPException)
def _http_error(exc: HTTPException) -> ResponseReturnValue:
    if not request.path.startswith(bp.url_prefix or "/api/v1"):
        return exc
    code = (exc.name or "error").lower().replace(" ", "_")
    return _error(exc.code or 500, code, exc.description or exc.name or "error")


@bp.errorhandler(ApiError)
def _api_error(exc: ApiError) -> Response:
    return _error(exc.status, exc.code, exc.message)


@bp.before_request
def before() -> Response | None:
    if request.endpoint == "api.openapi":
        return None
    limit = SIZE_LIMITS.get(request.endpoint or "", 64 * KB)
    request.max_content_length = limit
    if request.content_length is not None and request.content_length > limit:
        return _error(413, "too_large", f"the body is over this route's limit of {limit} bytes")
    services = services_of(current_app)
    auth = request.headers.get("Authorization", "")
    token = (
        auth[7:].strip() if auth[:7].lower() == "bearer " else request.headers.get("X-Api-Key", "").strip()
    )
    if not token:
        return _error(401, "missing_key", "send the API key as `Authorization: Bearer <key>`")
    caller = apikeys.authenticate(services.store, services.sealer, token)
    if caller is None:
        return _error(401, "bad_key", "the API key is not valid (unknown or revoked)")
    g.api_caller = caller
    scope = ROUTE_SCOPES.get(request.endpoint or "")
    if scope is not None and not caller.may(scope):
        return _error(403, "missing_scope", f"this key does not have the {scope!r} scope this route needs")
    refused = _rate_limited(services, caller.key_id)
    if refused is not None:
        return refused
    body = request.get_data(cache=True)  # over the limit: 413 (chunked bodies have no length up front)
    header = request.headers.get("X-Signature", "")
    if header or caller.require_signature:
        if not header:
            return _error(401, "missing_signature", "this key requires an X-Signature header")
        try:
            t, mac = signing.verify(
                caller.signing_secret,
                header,
                request.method,
                signed_path(),
                body,
                services.now().timestamp(),
            )
        except signing.BadSignature as exc:
            return _error(401, exc.code, exc.message)
        # the one spelling that verified: a replay is the same (t, mac) however its header is written
        digest = hashlib.sha256(f"{caller.key_id}|{t}|{mac}".encode()).hexdigest()
        try:
            first = services.redis.set(
                keys.api_signature_seen(digest), "1", nx=True, ex=2 * signing.TOLERANCE_S + 5
            )
        except (redis.RedisError, OSError):
            return _error(503, "unavailable", "replay protection is unavailable; try again")
        if not first:
            return _error(409, "replayed", "this signed request was already received")
    return None


def signed_path() -> str:
    """The path a signature covers: the request's path, with `?query` when it has one."""
    query = request.query_string.decode("latin-1")
    return request.path + (f"?{query}" if query else "")


def _rate_limited(services: Any, key_id: str) -> Response | None:
    per_minute = int(current_app.config.get("API_RATE_PER_MINUTE", RATE_PER_MINUTE))
    now = services.now().timestamp()
    window = int(now // 60)
    try:
        pipe = services.redis.pipeline(transaction=True)
        pipe.incr(keys.api_rate(key_id, window))
        pipe.expire(keys.api_rate(key_id, window), 120)
        count = int(pipe.execute()[0])
    except (redis.RedisError, OSError):
        log.warning("rate limit for key %s not checked: Redis unavailable", key_id)
        return None
    if count > per_minute:
        retry = max(1, int((window + 1) * 60 - now))
        return _error(
            429,
            "rate_limited",
            f"over {per_minute} requests a minute for this key",
            {"Retry-After": str(retry)},
        )
    return None


def load_json(raw: bytes) -> Any:
    """The body as JSON; 400 for malformed JSON, 400 `too_deep` past `MAX_JSON_DEPTH` levels."""
    try:
        data = json.loads(raw)
    except RecursionError:
        raise ApiError(400, "too_deep", f"the JSON nests deeper than {MAX_JSON_DEPTH} levels") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, "malformed_json", f"the body is not valid JSON ({str(exc)[:100]})") from None
    if _depth(data) > MAX_JSON_DEPTH:
        raise ApiError(400, "too_deep", f"the JSON nests deeper than {MAX_JSON_DEPTH} levels")
    return data


def _depth(data: Any) -> int:
    """How deeply `data` nests (iteratively: a deep document costs no recursion)."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > deepest:
            deepest = depth
            if deepest > MAX_JSON_DEPTH:
                return deepest
        if isinstance(node, dict):
            stack.extend((v, depth + 1) for v in node.values() if isinstance(v, dict | list))
        elif isinstance(node, list):
            stack.extend((v, depth + 1) for v in node if isinstance(v, dict | list))
    return deepest


def _parse(model: type[Strict]) -> Any:
    if not request.is_json:
        raise ApiError(415, "unsupported_media_type", "send the body as application/json")
    data = load_json(request.get_data(cache=True))
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors(include_input=False, include_url=False)
        unknown = [e for e in errors if e["type"] == "extra_forbidden"]
        first = (unknown or errors)[:3]
        where = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in first)
        code = "unknown_field" if unknown else "invalid_field"
        more = f" (and {len(errors) - len(first)} more)" if len(errors) > 3 else ""
        raise ApiError(422, code, where + more) from None


def _today(services: Services) -> dt.date:
    return services.practice.today(services.now())


@bp.get("/openapi.json")
def openapi() -> Response:
    return Response(OPENAPI_FILE.read_bytes(), mimetype="application/json")


@bp.post("/booking-events")
def booking_event() -> tuple[Response, int]:
    from receptionist.integrations.events import booking_event as apply

    event: BookingEvent = _parse(BookingEvent)
    if (event.phone or event.email) and not g.api_caller.may("lookup"):
        if not event.patient_id:
            raise ApiError(
                403,
                "missing_scope",
                "finding a patient by phone or email needs the 'lookup' scope; send patient_id instead",
            )
        event = event.model_copy(update={"phone": None, "email": None})  # by id only
    done = apply(services_of(current_app), g.api_caller.key_id, event)
    return jsonify(done.body), 200 if done.duplicate else 201


@bp.post("/intake")
def intake() -> tuple[Response, int]:
    from receptionist.integrations.events import intake_update as apply

    done = apply(services_of(current_app), g.api_caller.key_id, _parse(IntakeUpdate))
    return jsonify(done.body), 200 if done.duplicate else 201


@bp.put("/patients")
def patients() -> Response:
    from receptionist.integrations.pms import upsert_patients_batch

    services = services_of(current_app)
    return jsonify(upsert_patients_batch(services, _parse(PatientsBatch).patients, _today(services)))


@bp.put("/visits")
def visits() -> Response:
    from receptionist.integrations.pms import upsert_visits_batch

    services = services_of(current_app)
    return jsonify(upsert_visits_batch(services, _parse(VisitsBatch).visits, _today(services)))


@bp.put("/appointments")
def appointments() -> Response:
    from receptionist.integrations.pms import upsert_appointments_batch

    services = services_of(current_app)
    batch = _parse(AppointmentsBatch).appointments
    freed = services.asap.booked_by_external([a.id for a in batch if a.status == "cancelled"])
    counts = upsert_appointments_batch(services, batch, refuse_taken=True)
    for appointment_id in freed:  # cancelled now: their times go to the ASAP list
        services.slot_opened(appointment_id)
    return jsonify(counts)


@bp.post("/asap-requests")
def asap_request() -> tuple[Response, int]:
    req: AsapRequestIn = _parse(AsapRequestIn)
    asap = services_of(current_app).asap
    try:
        appointment = asap.by_external(req.appointment_id) if req.appointment_id else None
        if req.appointment_id and appointment is None:
            raise ValueError(f"appointment_id: no appointment {req.appointment_id!r}")
        request_id = asap.request(
            req.patient_id,
            visit_type=req.visit_type,
            location_id=req.location_id,
            since=req.since,
            until=req.until,
            appointment_id=appointment,
            via="api",
        )
    except ValueError as exc:
        raise ApiError(422, "invalid_field", str(exc)) from None
    return jsonify({"id": request_id}), 201


@bp.post("/openings")
def opening() -> tuple[Response, int]:
    req: Opening = _parse(Opening)
    asap = services_of(current_app).asap
    try:
        unit = asap.unit_at(req.location_id, req.provider, req.start)
        if unit is None:
            raise ValueError("start: the schedule has no unit of that provider at that time")
        offer = asap.open_slot(req.location_id, unit, req.visit_type, why="api")
    except ValueError as exc:
        raise ApiError(422, "invalid_field", str(exc)) from None
    return jsonify({"offer_id": offer}), 201


@bp.post("/fhir")
def fhir() -> Response:
    from receptionist.integrations.fhir import import_bundle

    if not request.is_json and request.mimetype != "application/fhir+json":
        raise ApiError(415, "unsupported_media_type", "send the bundle as application/json")
    data = load_json(request.get_data(cache=True))
    entries = data.get("entry") if isinstance(data, dict) else None
    if isinstance(entries, list) and len(entries) > MAX_FHIR_ENTRIES:
        raise ApiError(
            413, "too_many_entries", f"the bundle has {len(entries)} entries: send at most {MAX_FHIR_ENTRIES}"
        )
    services = services_of(current_app)
    return jsonify(import_bundle(services, data, today=_today(services)).as_json())
