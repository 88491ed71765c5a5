#!/usr/bin/env python3
"""The LLM engine's server overhead with a fake model that answers at once; prints JSON.

    .venv/bin/python benchmarks/llm_turn.py [TURNS]

- Per turn (Gather loop): the time for one `/voice/gather` webhook, request in to TwiML out, with the LLM
  engine (one streamed completion from the local fake OpenAI server over loopback HTTP), with the offline
  engine, and for the bare webhook floor (benchmarks/floor_app.py: one Redis read, fixed TwiML), all in this
  process through Flask's WSGI test client, so every figure carries the same small overhead. The bare model
  round trip (the openai client streaming one answer from the fake) is measured too: the LLM turn less that
  is the server's own overhead per turn.
- ConversationRelay: the delay between the fake model handing out its first token and the first `text`
  message reaching the Twilio side of the websocket (the app served by a threaded local server).
Same embedded Redis and SQLite store for all.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import tempfile
import threading
import time
from importlib import resources
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

import redis  # noqa: E402
import simple_websocket  # noqa: E402
from twilio.request_validator import RequestValidator  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

from receptionist.config.settings import Settings  # noqa: E402
from receptionist.runtime.embedded_redis import EmbeddedRedis  # noqa: E402
from receptionist.runtime.services import build_services  # noqa: E402
from receptionist.simulation.simulator import CallSimulator, FlaskTransport  # noqa: E402
from receptionist.web import create_app  # noqa: E402
from tests.fake_openai import FakeOpenAI, say  # noqa: E402
from tests.voice_helpers import MAIN, MONDAY_10AM, load_small_practice  # noqa: E402

TOKEN = "bench-token"
BASE = "http://testserver"
ANSWER = "We are open Monday to Friday, 8 AM to 5 PM. Is there anything else?"
QUESTION = "I was wondering about something"  # nothing the guardrails answer in code: it goes to the model


class TimedTransport(FlaskTransport):
    """Times each request the app serves whose path matches."""

    def __init__(self, app, path: str) -> None:
        super().__init__(app, base_url=BASE)
        self.path = path
        self.times: list[float] = []

    def post(self, url: str, params: dict[str, str], headers: dict[str, str]) -> tuple[int, str]:
        start = time.perf_counter()
        out = super().post(url, params, headers)
        if self.path in url:
            self.times.append(time.perf_counter() - start)
        return out


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))] * 1000


def gather_turns(services, turns: int, fake: FakeOpenAI | None) -> list[float]:
    transport = TimedTransport(create_app(services=services), "/voice/gather")
    sim = CallSimulator(transport, base_url=BASE, auth_token=TOKEN)
    per_call = 3
    for n in range(turns // per_call):
        if fake is not None:
            fake.play(*[say(ANSWER) for _ in range(per_call)])
        caller = f"+1312555{n % 10000:04d}"  # a new number each call: the repeat-caller rule stays out of it
        sim.call(from_=caller, to=MAIN, says=[QUESTION] * per_call, fetch_outcome=False)
    return transport.times


def floor_turns(redis_url: str, turns: int) -> list[float]:
    os.environ["REDIS_URL"] = redis_url
    from floor_app import create_app as floor_app

    transport = TimedTransport(floor_app(), "/voice/inbound")
    params = {"CallSid": "CA" + "0" * 32, "From": "+13125550000", "To": MAIN}
    signature = RequestValidator(TOKEN).compute_signature(BASE + "/voice/inbound", params)
    for _ in range(turns):
        transport.post(BASE + "/voice/inbound", params, {"X-Twilio-Signature": signature})
    return transport.times


def model_calls(fake: FakeOpenAI, calls: int) -> list[float]:
    """The bare model round trip: the openai client streaming one answer from the fake, nothing else."""
    import openai

    client = openai.OpenAI(api_key="bench", base_url=fake.url, max_retries=0)
    times = []
    for _ in range(calls):
        fake.play(say(ANSWER))
        start = time.perf_counter()
        stream = client.chat.completions.create(
            model="bench", stream=True, messages=[{"role": "user", "content": QUESTION}]
        )
        "".join((chunk.choices[0].delta.content or "") for chunk in stream if chunk.choices)
        times.append(time.perf_counter() - start)
    client.close()
    return times


def relay_first_token(services, fake: FakeOpenAI, prompts: int) -> list[float]:
    app = create_app(services=services)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    client = app.test_client()
    delays: list[float] = []
    try:
        for n in range(prompts):
            sid = f"CA{n:032d}"
            params = {
                "CallSid": sid,
                "AccountSid": "AC" + "0" * 32,
                "From": f"+1312556{n % 10000:04d}",
                "To": MAIN,
                "CallStatus": "ringing",
                "Direction": "inbound",
            }
            sig = RequestValidator(TOKEN).compute_signature(BASE + "/voice/inbound", params)
            client.post("/voice/inbound", base_url=BASE, data=params, headers={"X-Twilio-Signature": sig})
            ws_sig = RequestValidator(TOKEN).compute_signature(f"ws://testserver/voice/relay?call={sid}", {})
            ws = simple_websocket.Client.connect(
                f"ws://127.0.0.1:{server.server_port}/voice/relay?call={sid}",
                headers={"X-Twilio-Signature": ws_sig},
            )
            try:
                ws.send(
                    json.dumps(
                        {
                            "type": "setup",
                            "callSid": sid,
                            "sessionId": "VX1",
                            "from": params["From"],
                            "to": MAIN,
                        }
                    )
                )
                fake.play(say(ANSWER))
                marks = len(fake.first_token_at)
                ws.send(json.dumps({"type": "prompt", "voicePrompt": QUESTION, "last": True}))
                while True:
                    message = json.loads(ws.receive(timeout=10))
                    if message.get("type") == "text" and message.get("token", "").strip():
                        arrived = time.perf_counter()
                        break
                if len(fake.first_token_at) > marks:
                    delays.append(arrived - fake.first_token_at[marks])
            finally:
                ws.close()
    finally:
        server.shutdown()
        server.server_close()
    return delays


def main() -> None:
    logging.disable(logging.WARNING)
    turns = int(sys.argv[1]) if len(sys.argv) > 1 else 150
    with tempfile.TemporaryDirectory() as tmp, FakeOpenAI() as fake:
        home = Path(tmp)
        server = EmbeddedRedis(home)
        url = server.ensure_running()
        try:
            common = dict(
                receptionist_home=home,
                database_url=f"sqlite:///{home / 'bench.sqlite3'}",
                redis_url=url,
                twilio_auth_token=TOKEN,
                public_base_url=BASE,
            )
            offline = build_services(Settings(**common))
            client = redis.Redis.from_url(url)
            load_small_practice(offline.store, client, home)
            offline.now = lambda: MONDAY_10AM
            llm = build_services(
                Settings(**common, openai_api_key="bench", openai_base_url=fake.url), migrate=False
            )
            llm.now = lambda: MONDAY_10AM
            practice = resources.files("receptionist.config").joinpath("demo_practice.toml").read_text()
            (home / "relay.toml").write_text(
                practice.replace(
                    'timezone = "America/New_York"\naddress',
                    'timezone = "America/New_York"\ntransport = "relay"\naddress',
                    1,
                )
            )
            relay = build_services(
                Settings(
                    **common,
                    openai_api_key="bench",
                    openai_base_url=fake.url,
                    practice_file=home / "relay.toml",
                ),
                migrate=False,
            )
            relay.now = lambda: MONDAY_10AM
            gather_turns(offline, 9, None)
            gather_turns(llm, 9, fake)  # warm up both
            floor = floor_turns(url, turns)
            base = gather_turns(offline, turns, None)
            ours = gather_turns(llm, turns, fake)
            model = model_calls(fake, turns)
            first = relay_first_token(relay, fake, max(20, turns // 5))
            out = {"turns": len(ours), "relay_prompts": len(first)}
            for name, values in (
                ("floor", floor),
                ("offline", base),
                ("llm", ours),
                ("model_call", model),
                ("relay_first_token", first),
            ):
                out[name] = {"p50_ms": round(pct(values, 0.5), 2), "p99_ms": round(pct(values, 0.99), 2)}
            # the server's own time per LLM turn: the turn less the model's round trip, measured in this run
            out["llm_overhead_p50_ms"] = round(out["llm"]["p50_ms"] - out["model_call"]["p50_ms"], 2)
            out["llm_overhead_p99_ms"] = round(out["llm"]["p99_ms"] - out["model_call"]["p99_ms"], 2)
            print(json.dumps(out))
            for services in (offline, llm, relay):
                services.close()
            client.close()
        finally:
            server.stop()


if __name__ == "__main__":
    main()
