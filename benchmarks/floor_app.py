"""The floor for the inbound benchmark: a minimal Flask app doing one Redis read and returning fixed TwiML."""

import os

import redis
from flask import Flask, Response, request

TWIML = (
    '<?xml version="1.0" encoding="UTF-8"?><Response><Say>Thank you for calling.</Say>'
    "<Dial><Number>+12025550111</Number></Dial></Response>"
)


def create_app() -> Flask:
    app = Flask(__name__)
    client = redis.Redis.from_url(os.environ["REDIS_URL"])

    @app.post("/voice/inbound")
    def inbound() -> Response:
        client.hget("rcp:tiers", request.form.get("From", ""))
        return Response(TWIML, mimetype="text/xml")

    return app
