"""What every request and response of the app gets, whatever blueprint serves it: body limits before anything
reads a body, security headers, and a clear 4xx for input nested too deeply to parse.

Limits: each route reads at most its family's limit (`limit_for`); a body announced larger is refused with 413
before the form, the JSON or the Twilio signature is looked at, and a chunked body is cut off at the limit as
it is read. So a 100 MB post to `/voice/inbound` or `/login` costs nothing. The integration API's routes keep
their own, larger limits (`web.api.SIZE_LIMITS`).

Headers: `nosniff`, no framing, no referrer to other sites, a CSP that allows nothing on responses that are not
the dashboard's pages (TwiML, JSON, the unsubscribe page), and HSTS when the public URL is https.
"""

from __future__ import annotations

from flask import Flask, Response, abort, request
from flask.typing import ResponseReturnValue

from receptionist.web.extension import services_of

KB = 1024
TWILIO_BLUEPRINTS = {"voice", "relay", "outreach"}
LIMITS = {
    "twilio": 64 * KB,  # Twilio's form posts are a few KB
    "login": 16 * KB,
    "dashboard": 64 * KB,
    "default": 16 * KB,
}
# responses that are not dashboard pages: nothing may load, frame or be posted from them but their own form
PLAIN_CSP = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
HSTS = "max-age=31536000; includeSubDomains"


def limit_for(endpoint: str, blueprint: str | None) -> int:
    from receptionist.web.api import SIZE_LIMITS

    if endpoint in SIZE_LIMITS:
        return SIZE_LIMITS[endpoint]
    if blueprint == "api":
        return 64 * KB
    if blueprint in TWILIO_BLUEPRINTS:
        return LIMITS["twilio"]
    if endpoint == "auth.login":
        return LIMITS["login"]
    if blueprint in (None, "health", "stats"):
        return LIMITS["default"]
    return LIMITS["dashboard"]


def init_security(app: Flask) -> None:
    from receptionist.web.api import SIZE_LIMITS

    secure = services_of(app).settings.secure_cookies
    # the backstop for anything not named: the largest route's limit; forms are held in memory up to this
    app.config.setdefault("MAX_CONTENT_LENGTH", max(SIZE_LIMITS.values()))
    app.config.setdefault("MAX_FORM_MEMORY_SIZE", 64 * KB)
    app.config.setdefault("MAX_FORM_PARTS", 200)

    @app.before_request
    def limit_body() -> None:
        limit = limit_for(request.endpoint or "", request.blueprint)
        request.max_content_length = limit
        if request.blueprint == "api":
            return  # the API refuses it first thing too, as its JSON error (`web.api.before`)
        if request.content_length is not None and request.content_length > limit:
            abort(413)

    @app.after_request
    def headers(response: Response) -> Response:
        h = response.headers
        h.setdefault("X-Content-Type-Options", "nosniff")
        h.setdefault("X-Frame-Options", "DENY")
        h.setdefault("Referrer-Policy", "same-origin")
        h.setdefault("Content-Security-Policy", PLAIN_CSP)
        h.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        h.setdefault("Permissions-Policy", "camera=(), geolocation=(), microphone=(self)")
        if secure:
            h.setdefault("Strict-Transport-Security", HSTS)
        return response

    @app.errorhandler(RecursionError)
    def too_deep(_exc: RecursionError) -> ResponseReturnValue:
        if request.path.startswith("/api/"):
            body = {"error": {"code": "too_deep", "message": "the JSON nests too deeply"}}
            return body, 400
        return "the request nests too deeply to read", 400
