"""Loaded by every Python process of CI's year-ahead run (it is put on PYTHONPATH there, nowhere else).

libfaketime shifts the wall clock and, with FAKETIME_DONT_FAKE_MONOTONIC=1, leaves the monotonic clock
alone, so timeouts keep real time. But it rewrites the absolute deadline of clock_nanosleep on the
monotonic clock as if that clock were shifted too, and Python's time.sleep (which sleeps that way) then
fails with EINVAL. This sleeps on select() instead, to the same monotonic deadline. Faking the monotonic
clock as well is no way out: condition waits (threading.Event.wait, queue.get) then never time out.
"""

import select
import time


def _sleep(seconds: float) -> None:
    if seconds < 0:
        raise ValueError("sleep length must be non-negative")
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        select.select([], [], [], left)


time.sleep = _sleep
