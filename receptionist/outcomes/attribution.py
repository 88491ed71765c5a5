"""Which visits a contact earned: reactivations and the revenue after them, computed from the store as of a day.

For every contact (an attempt that went out, dated by `sent_at`) and every held-out patient (dated by their
campaign's start), in the practice's local days:
- the return is the patient's first visit day V with D < V <= D + attribution_window_days (and V <= as_of),
  credited to the latest contact or hold-out of that patient dated before V (last touch);
- revenue is every visit line from the return day up to, not including, the same day `revenue_months` later
  (and up to as_of), one `revenue` event per line, so a refund imported later is its own negative line.
Events are keyed by attempt and visit line: running it again, or after more visits arrive, adds only what is new.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select

from receptionist.clock import utc
from receptionist.config.practice import OutreachRules
from receptionist.outcomes.events import Event, local_day, month_of
from receptionist.outcomes.log import OutcomeLog
from receptionist.store import Campaign, OutreachAttempt, Store, VisitLine


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day `months` later (the month's last day when it is shorter)."""
    y, m = divmod(day.month - 1 + months, 12)
    year, month = day.year + y, m + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True)
class _Touch:
    attempt_id: str
    campaign_id: str
    tier: str
    channel: str
    held_out: bool
    when: dt.datetime
    day: dt.date


def attribution_events(store: Store, rules: OutreachRules, zone: ZoneInfo, as_of: dt.date) -> list[Event]:
    """Every reactivation and revenue event the store supports as of `as_of` (new and already recorded)."""
    window = rules.attribution_window_days
    touches: dict[str, list[_Touch]] = defaultdict(list)
    with store.sessions() as s:
        rows = s.execute(
            select(
                OutreachAttempt.id,
                OutreachAttempt.campaign_id,
                OutreachAttempt.patient_id,
                OutreachAttempt.tier,
                OutreachAttempt.channel,
                OutreachAttempt.status,
                OutreachAttempt.sent_at,
                Campaign.created_at,
            )
            .join(Campaign, Campaign.id == OutreachAttempt.campaign_id)
            .where(or_(OutreachAttempt.sent_at.is_not(None), OutreachAttempt.status == "holdout"))
        )
        for aid, cid, pid, tier, channel, status, sent_at, created in rows:
            held = status == "holdout"
            when = utc(created if held else sent_at)
            touches[pid].append(_Touch(aid, cid, tier, channel, held, when, local_day(when, zone)))
        if not touches:
            return []
        first = min(t.day for ts in touches.values() for t in ts)
        visits: dict[str, list[tuple[dt.date, int, int]]] = defaultdict(list)
        q = (
            select(VisitLine.patient_id, VisitLine.day, VisitLine.id, VisitLine.amount_cents)
            .join(OutreachAttempt, OutreachAttempt.patient_id == VisitLine.patient_id)
            .where(
                VisitLine.day > first,
                VisitLine.day <= as_of,
                or_(OutreachAttempt.sent_at.is_not(None), OutreachAttempt.status == "holdout"),
            )
            .distinct()
        )
        for pid, day, line_id, amount in s.execute(q):
            if pid in touches:
                visits[pid].append((day, line_id, amount))
    out: list[Event] = []
    for pid, mine in touches.items():
        lines = sorted(visits.get(pid, ()))
        if not lines:
            continue
        mine.sort(key=lambda t: (t.when, t.attempt_id))
        days = sorted({d for d, _, _ in lines})
        credited: set[str] = set()
        returns: list[tuple[_Touch, dt.date]] = []
        for day in days:
            # the latest touch dated before this visit, whose window the visit falls in
            before = [t for t in mine if t.day < day]
            if not before:
                continue
            t = before[-1]
            if t.attempt_id in credited or day > t.day + dt.timedelta(days=window):
                continue
            if _returned_earlier(t, days, day):
                continue
            credited.add(t.attempt_id)
            returns.append((t, day))
        for i, (t, day) in enumerate(returns):
            month = month_of(t.when, zone)
            at = dt.datetime.combine(day, dt.time(12), zone).astimezone(dt.UTC)
            prefix = "holdout_" if t.held_out else ""
            out.append(
                Event(
                    f"reactivated:{t.attempt_id}",
                    prefix + "reactivated",
                    t.tier,
                    t.channel,
                    month,
                    at,
                    0,
                    pid,
                    t.attempt_id,
                    t.campaign_id,
                )
            )
            # revenue until the months are over, or until a later contact earned a return of its own
            until = add_months(day, rules.revenue_months)
            if i + 1 < len(returns):
                until = min(until, returns[i + 1][1])
            for vday, line_id, amount in lines:
                if day <= vday < until:
                    vat = dt.datetime.combine(vday, dt.time(12), zone).astimezone(dt.UTC)
                    out.append(
                        Event(
                            f"revenue:{t.attempt_id}:{line_id}",
                            prefix + "revenue",
                            t.tier,
                            t.channel,
                            month,
                            vat,
                            int(amount),
                            pid,
                            t.attempt_id,
                            t.campaign_id,
                        )
                    )
    return out


def _returned_earlier(t: _Touch, days: list[dt.date], day: dt.date) -> bool:
    """Whether the patient already had a visit after this touch and before `day` (then `day` is not the return)."""
    return any(t.day < d < day for d in days)


def attribute(store: Store, log: OutcomeLog, rules: OutreachRules, zone: ZoneInfo, as_of: dt.date) -> int:
    """Record the reactivations and revenue the store supports as of `as_of`; returns how many events were new."""
    return log.record(attribution_events(store, rules, zone, as_of))
