"""Every Redis key name the product uses is built here, in one place."""

PREFIX = "rcp"


def tiers() -> str:
    """Hash: E.164 phone -> "tier<TAB>patient_id<TAB>run_id<TAB>first_name" of the published run."""
    return f"{PREFIX}:tiers"


def tiers_building(run_id: str) -> str:
    """The hash a publish fills before it is renamed over `tiers()` in one step."""
    return f"{PREFIX}:tiers:building:{run_id}"


def tiers_run() -> str:
    """String: the run id whose tiers are published."""
    return f"{PREFIX}:tiers:run"


def tiers_epoch() -> str:
    """Counter: bumped whenever the store's phones change; a publish is complete only if it did not move."""
    return f"{PREFIX}:tiers:epoch"


def call_state(call_sid: str) -> str:
    """String (JSON): a live call's conversation state, with an expiry."""
    return f"{PREFIX}:call:{call_sid}"


def pending_turn(call_sid: str, token: str) -> str:
    """String (JSON): an LLM turn that outlived its webhook, for the holding line's wait route; short expiry."""
    return f"{PREFIX}:call:{call_sid}:pending:{token}"


def caller_ai_calls(phone_hash: str, day: str) -> str:
    """Counter: calls the AI had from one (hashed) number on one day, for the repeat-caller rule."""
    return f"{PREFIX}:caller:{phone_hash}:ai:{day}"


def outreach_patient_lock(patient_id: str) -> str:
    """String with an expiry: the attempt id holding this patient's one contact in progress, any channel."""
    return f"{PREFIX}:outreach:patient:{patient_id}"


def outreach_next_slot(channel: str) -> str:
    """String: the earliest instant (Redis server time, seconds) the next send on `channel` may start."""
    return f"{PREFIX}:outreach:next:{channel}"


def outreach_active_calls() -> str:
    """Sorted set: outbound calls in progress (attempt id -> expiry), for the concurrent-call limit."""
    return f"{PREFIX}:outreach:calls:active"


def recall_day_marker(day: str) -> str:
    """String with an expiry: the day's recall reminders were started (`runtime/worker.py`)."""
    return f"{PREFIX}:recall:started:{day}"


def call_reconcile_marker() -> str:
    """String with an expiry: a worker asked Twilio about unended inbound calls lately (`voice/reconcile.py`)."""
    return f"{PREFIX}:calls:reconcile:done"


def outreach_reconcile_marker() -> str:
    """String with a short expiry: a reconcile job is already scheduled."""
    return f"{PREFIX}:outreach:reconcile:scheduled"


def sequences_advance_marker() -> str:
    """String with a short expiry: an advance-sequences job is already scheduled."""
    return f"{PREFIX}:outreach:sequences:scheduled"


def journal() -> str:
    """List (JSON entries): call-record writes the webhooks made, oldest first, waiting to be drained into SQL."""
    return f"{PREFIX}:journal"


def journal_draining() -> str:
    """List: the entries one drain has taken from `journal()`; trimmed only after they are committed to SQL."""
    return f"{PREFIX}:journal:draining"


def journal_failed() -> str:
    """List: entries SQL refused on their own (kept for an operator, never dropped)."""
    return f"{PREFIX}:journal:failed"


def journal_lock() -> str:
    """Lock: one drain at a time, so entries reach SQL in the order they were written."""
    return f"{PREFIX}:journal:lock"


def status_backlog() -> str:
    """List: status callbacks accepted while SQL could not take them (or before their call's record was in SQL)."""
    return f"{PREFIX}:status:backlog"


def status_backlog_lock() -> str:
    """Lock with a short lease: one drain of the status backlog at a time."""
    return f"{PREFIX}:status:backlog:lock"


def outcome_counters(month: str) -> str:
    """Hash: the outcome counters of one month (YYYY-MM): "<tier>|<channel>|<kind>" -> events, and the same
    field with "|c" appended -> their amount in cents. Rebuilt from the outcome log by `stats rebuild`."""
    return f"{PREFIX}:outcomes:{month}"


def outcome_months() -> str:
    """Set: the months that have outcome counters."""
    return f"{PREFIX}:outcomes:months"


def outcome_building(token: str, month: str) -> str:
    """A rebuild's counters for one month, filled before they replace the live ones in one transaction."""
    return f"{PREFIX}:outcomes:building:{token}:{month}"


def api_rate(key_id: str, window: int) -> str:
    """Counter with an expiry: requests one API key made in one fixed rate-limit window (epoch minutes)."""
    return f"{PREFIX}:api:rate:{key_id}:{window}"


def api_signature_seen(digest: str) -> str:
    """String with an expiry: a signed request already accepted (replay protection), by its signature's hash."""
    return f"{PREFIX}:api:sig:{digest}"


def rescore_scheduled() -> str:
    """String with a short expiry: a re-score after integration updates is already scheduled."""
    return f"{PREFIX}:integrations:rescore"


def signin_failures(name_hash: str) -> str:
    """Counter with an expiry: failed sign-ins for a username that is no account (hashed), for the lock-out."""
    return f"{PREFIX}:signin:fail:{name_hash}"


def tryit_call(call_sid: str) -> str:
    """String (JSON) with an expiry: a dashboard "Try it" call paused at the caller's next turn."""
    return f"{PREFIX}:tryit:{call_sid}"


def run_tier_mix(run_id: str) -> str:
    """String (JSON) with an expiry: a score run's tier mix and value at risk (a run never changes once kept)."""
    return f"{PREFIX}:run:{run_id}:tier_mix"


def webhook_failures() -> str:
    """List (JSON, newest first, capped): outgoing webhook deliveries that failed, for the dashboard."""
    return f"{PREFIX}:webhooks:failures"


def worker_alive(name: str) -> str:
    """String with a short expiry, renewed by a live worker's drain loop: it is alive (for `/healthz`)."""
    return f"{PREFIX}:worker:alive:{name}"


def text_thread_state(digest: str) -> str:
    """String (JSON) with an expiry: a text conversation's state between messages, keyed by a digest of the
    practice number and the sender (no phone number in a key name)."""
    return f"{PREFIX}:text:{digest}"
