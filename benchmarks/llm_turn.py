#!/usr/bin/env python3
"""Per-turn server overhead of the LLM engine with an instant fake model, against the offline engine.

    .venv/bin/python benchmarks/llm_turn.py [CALLS]

Both run the same whole calls in process (the simulator through Flask's test client, a real embedded Redis
and a SQLite store): three caller turns each. The LLM side talks HTTP to the local fake OpenAI server of the
tests, which answers at once (streamed), so the difference is the engine's own work: guardrails, prompt,
one streamed completion over loopback HTTP, state. Prints JSON with ms per webhook and the ratio.
"""

from __future__ import annotations

import json
import logging
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import redis  # noqa: E402

from receptionist.embedded_redis import EmbeddedRedis  # noqa: E402
from receptionist.services import build_services  # noqa: E402
from receptionist.settings import Settings  # noqa: E402
from tests.fake_openai import FakeOpenAI, say  # noqa: E402
from tests.voice_helpers import MAIN, TOM, load_small_practice, simulator_for  # noqa: E402

SAYS = ["what are your hours", "where are you located", "what are your hours again"]


def run(services, calls: int, fake: FakeOpenAI | None) -> float:  # noqa: ANN001
    sim = simulator_for(services)
    webhooks = 0
    start = time.perf_counter()
    for _ in range(calls):
        for key in services.redis.scan_iter("rcp:caller:*"):  # the repeat-caller rule would send Tom to staff
            services.redis.delete(key)
        if fake is not None:
            fake.play(*[say("We are open Monday to Friday, 8 AM to 5 PM.") for _ in SAYS])
        result = sim.call(from_=TOM, to=MAIN, says=SAYS, fetch_outcome=False)
        webhooks += len(result.requests)
    return (time.perf_counter() - start) / webhooks * 1000


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    calls = int(sys.argv[1]) if len(sys.argv) > 1 else 30
    with tempfile.TemporaryDirectory() as tmp, FakeOpenAI() as fake:
        home = Path(tmp)
        server = EmbeddedRedis(home)
        url = server.ensure_running()
        try:
            common = dict(receptionist_home=home, database_url=f"sqlite:///{home / 'bench.sqlite3'}", redis_url=url,
                          twilio_auth_token="bench-token", public_base_url="http://testserver")
            offline = build_services(Settings(**common))
            client = redis.Redis.from_url(url)
            load_small_practice(offline.store, client, home)
            llm = build_services(Settings(**common, openai_api_key="bench", openai_base_url=fake.url), migrate=False)
            run(offline, 3, None)
            run(llm, 3, fake)  # warm both
            base = run(offline, calls, None)
            ours = run(llm, calls, fake)
            print(json.dumps({"calls": calls, "turns_per_call": len(SAYS), "offline_ms_per_webhook": round(base, 2),
                              "llm_ms_per_webhook": round(ours, 2), "ratio": round(ours / base, 2),
                              "llm_requests": len(fake.requests)}))
            for services in (offline, llm):
                services.close()
            client.close()
        finally:
            server.stop()


if __name__ == "__main__":
    main()
