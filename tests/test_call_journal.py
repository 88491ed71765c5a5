"""The call journal: webhooks write call records through Redis; drains bring them into SQL, once, losing nothing.

And the tier cache's completeness: a number missing from a complete cache costs no store query, yet a
patient added after the last score run is still recognised.
"""

import redis as redis_lib
from sqlalchemy import event, select

from receptionist.config.practice import load_practice
from receptionist.patients.cache import TierCache
from receptionist.patients.importer import import_patients
from receptionist.patients.scorer import run_scoring
from receptionist.store import Call, CallTurn, Store, keys
from receptionist.telephony.params import CallParams
from receptionist.voice import callrecord, journal
from receptionist.voice.callstate import CallState, CallStates
from receptionist.voice.directory import CallerDirectory
from tests.voice_helpers import MAIN, MONDAY_10AM, PATIENTS, STRANGER, TOM, load_small_practice, simulator_for

AT = MONDAY_10AM
DEAD_STORE = "postgresql+psycopg://nobody@127.0.0.1:1/none"
COLUMNS = (
    "direction",
    "location_id",
    "caller",
    "patient_id",
    "tier",
    "route",
    "transfer",
    "transfer_seconds",
    "outcome",
    "facts",
    "started_at",
)


def a_call(sid: str) -> list[dict]:
    """The operations of a whole call: routed to the AI, three turns, an emergency, a failed transfer."""
    values = {
        "direction": "inbound",
        "location_id": "main",
        "caller": TOM,
        "patient_id": None,
        "tier": None,
        "route": "ai",
    }
    return [
        callrecord.turn(sid, 0, "", "Hello, how can I help?", {}, None, None, AT, values),
        callrecord.turn(sid, 1, "book a cleaning", "Tuesday at 9?", {}, "P2", None, AT),
        callrecord.turn(
            sid, 2, "yes", "Booked.", {"appointment": {"action": "booked", "start": "x"}}, "P2", None, AT
        ),
        callrecord.events(sid, [{"action": "message"}]),
        callrecord.turn(
            sid,
            3,
            "chest pain",
            "Dial 9 1 1.",
            {"emergency": True, "callback_queued": True},
            "P2",
            "emergency",
            AT,
        ),
        callrecord.update(sid, {"transfer": "no-answer", "transfer_seconds": 20}),
        callrecord.facts(sid, {"callback_queued": True}),
    ]


def snapshot(store: Store, sid: str) -> tuple:
    with store.sessions() as s:
        call = s.get(Call, sid)
        turns = s.execute(
            select(CallTurn.seq, CallTurn.caller, CallTurn.receptionist)
            .where(CallTurn.call_sid == sid)
            .order_by(CallTurn.seq)
        ).all()
        started = call.started_at.replace(tzinfo=None)
        return tuple(getattr(call, c) if c != "started_at" else started for c in COLUMNS), [
            tuple(t) for t in turns
        ]


def push(client, entries: list[dict]) -> None:
    client.rpush(keys.journal(), *journal.encode(entries))


def test_drained_records_equal_direct_writes(store, redis_client):
    """The same operations give the same record and transcript through the journal as written directly."""
    via_journal, direct = a_call("CAjournal"), a_call("CAdirect")
    for a, b in zip(via_journal, direct, strict=True):  # the same moments
        if "at" in a:
            b["at"] = a["at"]
    push(redis_client, via_journal)
    journal.write_direct(store, direct)
    assert journal.drain(redis_client, store) == len(via_journal)
    assert journal.backlog(redis_client) == 0
    assert snapshot(store, "CAjournal") == snapshot(store, "CAdirect")
    record, turns = snapshot(store, "CAjournal")
    assert record[5] == "emergency" and record[6] == "no-answer" and len(turns) == 4


def test_duplicates_are_drained_once(store, redis_client):
    """Entries written twice (a retried webhook) make one record and one row per turn."""
    entries = a_call("CAdup")
    push(redis_client, entries)
    push(redis_client, entries)
    journal.drain(redis_client, store, chunk=3)
    journal.drain(redis_client, store)
    once = snapshot(store, "CAdup")
    assert len(once[1]) == 4
    push(redis_client, entries)
    journal.drain(redis_client, store)
    assert snapshot(store, "CAdup") == once


def test_a_drain_that_fails_half_way_loses_nothing(store, redis_client):
    """SQL failing during a drain leaves every entry for the next drain; a chunk committed but not yet
    trimmed when the drainer died is applied again as a no-op."""
    push(redis_client, a_call("CAone") + a_call("CAtwo"))
    dead = Store(DEAD_STORE)
    try:
        journal.drain(redis_client, dead)
    except Exception:  # noqa: BLE001 - whatever the driver raises, the entries must stay
        pass
    finally:
        dead.dispose()
    assert journal.backlog(redis_client) == 14
    assert not redis_client.exists(keys.journal_lock())
    # a drainer that committed its first chunk and died before trimming it
    first = [e for e in map(journal._decode, redis_client.lrange(keys.journal_draining(), 0, 4))]
    journal.write_direct(store, first)
    assert journal.drain(redis_client, store, chunk=5) == 14
    assert [len(snapshot(store, sid)[1]) for sid in ("CAone", "CAtwo")] == [4, 4]
    assert snapshot(store, "CAone")[0][5] == "emergency"


def test_an_entry_sql_refuses_is_set_aside_not_lost(store, redis_client):
    push(redis_client, a_call("CAgood"))
    redis_client.rpush(keys.journal(), "not json", '{"op": "turn", "sid": "CAbad"}')
    assert journal.drain(redis_client, store) == 9
    assert len(snapshot(store, "CAgood")[1]) == 4
    assert redis_client.llen(keys.journal_failed()) == 2 and journal.backlog(redis_client) == 0


def test_redis_down_writes_the_record_directly(store):
    """With Redis unreachable the state save applies the record operations to SQL at once."""
    states = CallStates(redis_lib.Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2), store)
    state = CallState(location_id="main", turn=1)
    for entry in a_call("CAdown"):
        state.record(entry)
    states.save("CAdown", state)
    record, turns = snapshot(store, "CAdown")
    assert record[5] == "emergency" and len(turns) == 4
    assert states.load("CAdown") == CallState(location_id="main", turn=1, rev=1)  # the first save is number 1


def test_a_whole_call_is_in_sql_after_its_final_status_callback(services, store, redis_client, tmp_path):
    """The webhooks only journal; the completed status callback drains before summing up the outcome."""
    load_small_practice(store, redis_client, tmp_path)
    call = simulator_for(services).call(
        from_=TOM, to=MAIN, says=["what are your hours", "bye"], fetch_outcome=False
    )
    assert journal.backlog(redis_client) == 0
    record, turns = snapshot(store, call.call_sid)
    assert record[5] == "ai" and record[3] == "P2" and len(turns) == len(call.turns)
    with store.sessions() as s:
        assert s.get(Call, call.call_sid).status == "completed"


# -- the tier cache's completeness -------------------------------------------------------------------------------


def test_a_miss_on_a_complete_cache_needs_no_store(store, redis_client, tmp_path):
    """After a score run, an unknown number is known to be nobody's without asking the store."""
    load_small_practice(store, redis_client, tmp_path)
    cache = TierCache(redis_client)
    assert cache.read(STRANGER).complete
    dead = Store(DEAD_STORE)
    try:
        assert CallerDirectory(dead, cache).find(STRANGER) is None  # would raise if it queried the store
    finally:
        dead.dispose()


def test_a_patient_imported_after_scoring_is_recognised(services, store, redis_client, tmp_path):
    """Importing patients after the score run: their number is found (in the store) on their first call."""
    load_small_practice(store, redis_client, tmp_path)
    (tmp_path / "new.csv").write_text(
        "patient_id,first_name,last_name,phone,email,zip,consent_voice,consent_sms,"
        "opted_out\nP9,Nadia,Quill,(312) 555-0123,,20009,yes,yes,no\n"
    )
    import_patients(
        store, tmp_path / "new.csv", progress=False, today=MONDAY_10AM.date(), cache=TierCache(redis_client)
    )
    found = services.directory.find(STRANGER)
    assert (found.patient_id, found.tier, found.source) == ("P9", None, "store")
    call = simulator_for(services).call(from_=STRANGER, to=MAIN, says=["bye"])
    assert "Nadia" in call.turns[0]["receptionist"]


def test_a_caller_registered_on_the_phone_is_recognised_next_time(services, store, redis_client, tmp_path):
    """The AI registering an unknown caller as a new patient makes the cache's misses go to the store."""
    load_small_practice(store, redis_client, tmp_path)
    call = simulator_for(services).call(
        from_=STRANGER,
        to=MAIN,
        says=[  # the name comes first now: it decides the visit type before any time is offered
            "I'm a new patient and I'd like to book a cleaning",
            "Sure, it's Nadia Quill",
            "yes",
            "no thanks",
        ],
    )
    assert call.outcome["appointment"]["action"] == "booked", call.turns
    assert not TierCache(redis_client).read(STRANGER).complete
    assert services.directory.find(STRANGER).patient_id.startswith("N")


def test_a_publish_racing_a_phone_change_is_not_marked_complete(redis_client):
    cache = TierCache(redis_client)
    epoch = cache.epoch()
    cache.phones_changed()  # an import between reading the store and the swap
    cache.publish("run1", [("+12025550143", "high", "P1")], complete_at=epoch)
    assert cache.lookup("+12025550143").tier == "high" and not cache.read(STRANGER).complete
    cache.publish("run2", [("+12025550143", "high", "P1")], complete_at=cache.epoch())
    assert cache.read(STRANGER).complete and cache.size() == 1
    cache.phones_changed()
    assert not cache.read(STRANGER).complete


# -- the first name for the greeting comes with the tier -------------------------------------------------------


def statements_during(store: Store, act):
    """What `act()` returns, and the SQL statements it sent."""
    seen: list[str] = []

    def note(conn, cursor, statement, *args):
        seen.append(statement)

    event.listen(store.engine, "before_cursor_execute", note)
    try:
        return act(), seen
    finally:
        event.remove(store.engine, "before_cursor_execute", note)


def inbound(services, sid: str, caller: str) -> str:
    services.now = lambda: MONDAY_10AM
    return services.callflow.inbound(
        CallParams.parse(
            {
                "CallSid": sid,
                "AccountSid": "AC" + "0" * 32,
                "From": caller,
                "To": MAIN,
                "CallStatus": "ringing",
                "Direction": "inbound",
            }
        )
    )


def test_a_known_callers_name_comes_with_the_tier(services, store, redis_client, tmp_path):
    """On a complete cache the AI greets a known caller by first name without a store query."""
    load_small_practice(store, redis_client, tmp_path)
    assert TierCache(redis_client).lookup(TOM).first_name == "Tom"
    twiml, statements = statements_during(services.store, lambda: inbound(services, "CAname1", TOM))
    assert "Hi Tom, thank you for calling" in twiml and statements == []
    assert services.callflow.states.load("CAname1").first_name == "Tom"


def test_the_directory_trusts_a_name_only_while_the_cache_is_complete(store, redis_client):
    cache = TierCache(redis_client)
    cache.publish("run1", [(TOM, "low", "P2", "Tom")], complete_at=cache.epoch())
    directory = CallerDirectory(store, cache)
    assert directory.find(TOM).first_name == "Tom"
    cache.phones_changed()  # patients are changing: the entry's name may be out of date
    found = directory.find(TOM)
    assert (found.patient_id, found.source, found.first_name) == ("P2", "cache", None)


def test_a_renamed_patient_is_greeted_by_the_new_name(services, store, redis_client, tmp_path):
    """An import that renames a patient: the cached name is not used until the next score run carries the new one."""
    load_small_practice(store, redis_client, tmp_path)
    (tmp_path / "renamed.csv").write_text(PATIENTS.replace("P2,Tom,", "P2,Thomas,"))
    import_patients(
        store,
        tmp_path / "renamed.csv",
        progress=False,
        today=MONDAY_10AM.date(),
        cache=TierCache(redis_client),
    )
    cache = TierCache(redis_client)
    assert (
        cache.lookup(TOM).first_name == "Tom" and not cache.read(TOM).complete
    )  # stale, and not vouched for
    assert "Hi Thomas, thank you" in inbound(services, "CAname2", TOM)
    run_scoring(store, cache, load_practice(), MONDAY_10AM.date())
    assert cache.lookup(TOM).first_name == "Thomas" and cache.read(TOM).complete
    twiml, statements = statements_during(services.store, lambda: inbound(services, "CAname3", TOM))
    assert "Hi Thomas, thank you" in twiml and statements == []


def test_an_entry_published_without_a_name_reads_it_from_the_store(services, store, redis_client, tmp_path):
    """A hash published before names were carried still greets known callers by name (from the store)."""
    load_small_practice(store, redis_client, tmp_path)
    cache = TierCache(redis_client)
    cache.publish("old", [(TOM, "low", "P2")], complete_at=cache.epoch())
    assert cache.lookup(TOM).first_name is None and cache.read(TOM).complete
    twiml, statements = statements_during(services.store, lambda: inbound(services, "CAname4", TOM))
    assert "Hi Tom, thank you" in twiml and any("patients" in s for s in statements)
