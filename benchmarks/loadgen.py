"""Closed-loop load generator: C connections each send signed POSTs back to back for D seconds.

    python loadgen.py BASE_URL AUTH_TOKEN PHONES_JSON CONCURRENCY SECONDS
Prints JSON: requests, errors, requests/s, p50 and p99 in ms. Each request is a new call (its own CallSid)
from a number drawn from the mix, signed as Twilio signs.
"""

from __future__ import annotations

import http.client
import json
import sys
import threading
import time
import urllib.parse
import uuid

from twilio.request_validator import RequestValidator


def main() -> None:
    base, token, phones_path, concurrency, seconds = sys.argv[1:6]
    mix = json.loads(open(phones_path).read())
    concurrency, seconds = int(concurrency), float(seconds)
    parsed = urllib.parse.urlsplit(base)
    url = base + "/voice/inbound"
    validator = RequestValidator(token)
    bodies = []
    for i in range(len(mix["from"])):
        params = {
            "CallSid": "CA" + uuid.uuid4().hex,
            "AccountSid": "AC" + "0" * 32,
            "From": mix["from"][i % len(mix["from"])],
            "To": mix["to"],
            "CallStatus": "ringing",
            "Direction": "inbound",
            "ApiVersion": "2010-04-01",
        }
        body = urllib.parse.urlencode(params)
        bodies.append((body, validator.compute_signature(url, params)))
    latencies: list[list[float]] = [[] for _ in range(concurrency)]
    errors = [0] * concurrency
    stop_at = time.perf_counter() + seconds

    def worker(k: int) -> None:
        conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=20)
        i = k
        while time.perf_counter() < stop_at:
            body, sig = bodies[i % len(bodies)]
            i += concurrency
            t = time.perf_counter()
            try:
                conn.request(
                    "POST",
                    "/voice/inbound",
                    body=body,
                    headers={"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": sig},
                )
                resp = conn.getresponse()
                resp.read()
                ok = resp.status == 200
            except (OSError, http.client.HTTPException):
                ok = False
                conn.close()
                conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=20)
            latencies[k].append(time.perf_counter() - t)
            if not ok:
                errors[k] += 1
        conn.close()

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(concurrency)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    all_lat = sorted(x for lst in latencies for x in lst)
    n = len(all_lat)
    print(
        json.dumps(
            {
                "requests": n,
                "errors": sum(errors),
                "rps": n / elapsed,
                "p50_ms": all_lat[n // 2] * 1000 if n else None,
                "p99_ms": all_lat[min(n - 1, int(n * 0.99))] * 1000 if n else None,
            }
        )
    )


if __name__ == "__main__":
    main()
