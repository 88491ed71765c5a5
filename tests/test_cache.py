import threading

import pytest
import redis

from receptionist.patients.cache import CacheUnavailable, TierCache
from receptionist.voice.directory import CallerDirectory


def test_publish_and_lookup(redis_client):
    """Published entries are found by phone with tier, patient and run."""
    cache = TierCache(redis_client)
    assert cache.publish("run1", [("+12025550143", "high", "P1"), ("+12025550177", "low", "P2")]) == 2
    hit = cache.lookup("+12025550143")
    assert (hit.patient_id, hit.tier, hit.run_id) == ("P1", "high", "run1")
    assert cache.lookup("+19995550000") is None
    assert cache.current_run() == "run1" and cache.size() == 2


def test_entries_carry_the_first_name(redis_client):
    """An entry may carry the patient's first name (any text); one published without it reads as None."""
    cache = TierCache(redis_client)
    cache.publish(
        "run1",
        [
            ("+12025550143", "high", "P1", "Margaret"),
            ("+12025550177", "low", "P2", "Mary\tAnn"),
            ("+12025550188", "low", "P3", ""),
            ("+12025550199", "mid", "P4"),
        ],
    )
    assert cache.lookup("+12025550143").first_name == "Margaret"
    assert cache.lookup("+12025550177").first_name == "Mary\tAnn"
    assert cache.lookup("+12025550188").first_name == ""
    hit = cache.lookup("+12025550199")
    assert (hit.patient_id, hit.tier, hit.run_id, hit.first_name) == ("P4", "mid", "run1", None)


def test_one_read_gives_the_entry_the_mark_and_further_keys(redis_client):
    """The routing read: the phone's entry, whether the hash is complete, and other keys' values, in order."""
    cache = TierCache(redis_client)
    redis_client.set("rcp:test:a", "2")
    miss = cache.read("+12025550143", "rcp:test:a", "rcp:test:missing")
    assert (miss.hit, miss.complete, miss.also) == (None, False, [b"2", None])
    cache.publish("run1", [("+12025550143", "high", "P1", "Margaret")], complete_at=cache.epoch())
    hit = cache.read("+12025550143", "rcp:test:missing", "rcp:test:a")
    assert (hit.hit.patient_id, hit.complete, hit.also) == ("P1", True, [None, b"2"])
    assert cache.read("+19995550000").also == [] and cache.read("+19995550000").complete


def test_a_new_run_replaces_the_old_one_entirely(redis_client):
    """After a publish, numbers only in the old run are gone: no mix of runs."""
    cache = TierCache(redis_client)
    cache.publish("run1", [("+12025550143", "high", "P1"), ("+12025550177", "low", "P2")])
    cache.publish("run2", [("+12025550143", "mid", "P1")])
    assert cache.lookup("+12025550177") is None
    assert cache.lookup("+12025550143").run_id == "run2"
    cache.publish("run3", [])
    assert cache.size() == 0 and cache.current_run() == "run3"


def test_readers_never_see_a_mix_of_runs(redis_client, redis_url):
    """Concurrent readers during large publishes see every number of one whole run, never partial data."""
    writer = TierCache(redis_client)
    phones = [f"+1202555{i:04d}" for i in range(20_000)]
    writer.publish("run0", [(p, "low", f"P{i}") for i, p in enumerate(phones)])
    stop = threading.Event()
    problems: list[str] = []
    probes = phones[::997]

    def read() -> None:
        client = redis.Redis.from_url(redis_url)
        cache = TierCache(client)
        while not stop.is_set():
            runs = set()
            pipe = client.pipeline(transaction=True)
            for p in probes:
                pipe.hget("rcp:tiers", p)
            for raw in pipe.execute():
                if raw is None:
                    problems.append("missing")
                else:
                    runs.add(raw.decode().split("\t")[2])
            if len(runs) > 1:
                problems.append(f"mixed {runs}")
            assert cache.lookup(probes[0]) is not None
        client.close()

    readers = [threading.Thread(target=read) for _ in range(3)]
    for t in readers:
        t.start()
    for run in range(1, 4):
        writer.publish(f"run{run}", [(p, "mid", f"P{i}") for i, p in enumerate(phones)], chunk=1000)
    stop.set()
    for t in readers:
        t.join()
    assert problems == []
    assert writer.current_run() == "run3"


def test_dead_redis_raises_cache_unavailable():
    """A Redis that does not answer raises CacheUnavailable quickly instead of hanging."""
    client = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2, socket_timeout=0.2)
    with pytest.raises(CacheUnavailable):
        TierCache(client).lookup("+12025550143")


def test_directory_falls_back_to_the_store_when_redis_is_dead(store):
    """With Redis unreachable the directory still finds a known caller in the store."""
    from receptionist.store import Patient, PatientPhone

    with store.session() as s:
        s.add(Patient(id="P1", first_name="Ann", has_contact=True))
        s.flush()
        s.add(PatientPhone(patient_id="P1", phone="+12025550143"))
    dead = TierCache(redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2, socket_timeout=0.2))
    caller = CallerDirectory(store, dead).find("+12025550143")
    assert caller is not None and (caller.patient_id, caller.tier, caller.source) == ("P1", None, "store")
    assert CallerDirectory(store, dead).find("+19995550000") is None
