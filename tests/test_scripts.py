import threading
import time

import pytest
import redis

from receptionist.store.scripts import HotScript

ECHO = "return {KEYS[1], ARGV[1], redis.call('INCR', KEYS[1])}"
# Spins ARGV[1] empty loops on the server (time stands still inside a script), then answers ARGV[2].
SLOW = "for i = 1, tonumber(ARGV[1]) do end return ARGV[2]"


def test_answers_as_redis_py_scripts_do(redis_client):
    """The script's reply is the one redis-py's own Script call gives, on the same keys and arguments."""
    hot = HotScript(redis_client, ECHO)
    theirs = redis_client.register_script(ECHO)
    assert hot(["rcp:test:n"], ["x"]) == [b"rcp:test:n", b"x", 1]
    assert theirs(keys=["rcp:test:n"], args=["x"]) == [b"rcp:test:n", b"x", 2]
    assert hot(["rcp:test:n"], [7]) == [b"rcp:test:n", b"7", 3]


def test_a_flushed_script_is_loaded_again(redis_client):
    """After SCRIPT FLUSH (a Redis restart without persistence of scripts), the next call loads and runs it."""
    hot = HotScript(redis_client, ECHO)
    assert hot(["rcp:test:n"], ["a"])[2] == 1
    redis_client.script_flush()
    assert hot(["rcp:test:n"], ["b"]) == [b"rcp:test:n", b"b", 2]
    assert redis_client.script_exists(hot.script.sha) == [True]


def test_a_killed_connection_is_reconnected_once(redis_client):
    """The held connection dropped by the server (CLIENT KILL, a restart): the call reconnects and succeeds."""
    hot = HotScript(redis_client, ECHO)
    hot(["rcp:test:n"], ["a"])
    killer = redis.Redis(
        connection_pool=redis.ConnectionPool(**redis_client.connection_pool.connection_kwargs)
    )
    try:
        assert killer.client_kill_filter(_type="normal", skipme=True) >= 1
    finally:
        killer.close()
    assert hot(["rcp:test:n"], ["b"]) == [b"rcp:test:n", b"b", 2]


def test_a_timeout_is_not_retried_and_the_late_reply_is_not_read_later(redis_url):
    """A reply slower than the socket timeout raises at once; the next call gets its own reply, not the late one."""
    spins = 20_000_000
    patient = redis.Redis.from_url(redis_url)
    try:
        started = time.perf_counter()
        assert HotScript(patient, SLOW)([], [spins, "x"]) == b"x"
        lasts = time.perf_counter() - started  # how long the server is busy with it, on this machine
    finally:
        patient.close()
    assert lasts > 0.06
    client = redis.Redis.from_url(redis_url, socket_timeout=0.03)
    try:
        slow = HotScript(client, SLOW)
        with pytest.raises(redis.TimeoutError):
            slow([], [spins, "late"])
        time.sleep(2 * lasts)  # the slow script is done; its late reply waits on the old socket
        assert slow([], [0, "mine"]) == b"mine"
    finally:
        client.close()


def test_each_thread_holds_its_own_connection_and_gives_it_back(redis_url):
    """Threads do not share a connection; an ended thread's connection returns to the pool; close() closes all."""
    client = redis.Redis.from_url(redis_url)
    hot = HotScript(client, ECHO)
    held: list = []
    together = threading.Barrier(3)

    def call() -> None:
        hot(["rcp:test:t"], ["x"])
        held.append(hot._held().conn)
        together.wait(timeout=10)  # all three hold theirs at once

    threads = [threading.Thread(target=call) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({id(c) for c in held}) == 3
    pool = client.connection_pool
    deadline = time.monotonic() + 5
    while pool._in_use_connections and time.monotonic() < deadline:  # a thread's locals go just after join()
        time.sleep(0.01)
    assert {id(c) for c in held} <= {id(c) for c in pool._available_connections}
    assert not pool._in_use_connections
    hot(["rcp:test:t"], ["main"])  # this thread keeps one
    mine = hot._held().conn
    assert mine in pool._in_use_connections and mine._sock is not None
    client.close()
    assert mine._sock is None
    assert all(c._sock is None for c in held)
