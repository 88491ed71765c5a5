"""`understand()` is cheap enough for every turn of a call: measured on 500 corpus lines after `warm()`."""

from __future__ import annotations

import datetime as dt
import random
import statistics
import time
from zoneinfo import ZoneInfo

from receptionist.conversation import nlu
from receptionist.conversation.nlu import intents

NOW = dt.datetime(2026, 11, 17, 10, 0, tzinfo=ZoneInfo("America/New_York"))
PROVIDERS = ("Dr. Sarah Chen", "Dr. Rivera", "Hygienist Patel")


def test_understand_p50_under_2ms_and_p95_under_8ms(tmp_path):
    """CPU time (time.process_time) per call over a mixed sample of 500 corpus lines, detection included,
    once warm: p50 under 2 ms, p95 under 8 ms. The best of three passes is kept (a shared machine)."""
    nlu.warm(cache=tmp_path)
    examples = intents.corpus("en")
    sample = [ex.text for ex in random.Random(7).sample(list(examples), 500)]
    passes = []
    for _ in range(3):
        times = []
        for text in sample:
            start = time.process_time()
            nlu.understand(text, now=NOW, providers=PROVIDERS)
            times.append(time.process_time() - start)
        times.sort()
        passes.append((statistics.median(times), times[int(len(times) * 0.95)]))
    p50, p95 = min(passes)
    assert p50 < 0.002 and p95 < 0.008, f"p50 {p50 * 1000:.2f} ms, p95 {p95 * 1000:.2f} ms"
