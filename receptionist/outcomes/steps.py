"""Statistics by sequence step: the response by step and tier, and the cost per reactivation by sequence.

Read from the durable log (one query over the attempts, one over their events) and summed by plain functions.
A patient's sequence counts once however many of its steps went out: reached when one step went out,
responded or reactivated when any step's contact earned it (last touch, as everywhere). Attempts from before
sequences, and patients the plan gave one contact only, are the sequence `SINGLE`, today's single-step plan.
Costs are the same events as everywhere (`cost.py`): per-attempt charges plus call minutes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from receptionist.outcomes.cost import COST_KINDS
from receptionist.outcomes.events import TIERS
from receptionist.store import OutcomeEvent, OutreachAttempt, Store
from scoring.outcomes import wilson_interval

SINGLE = "single step"
_KINDS = (*COST_KINDS, "responded", "reactivated")
CHUNK = 900  # attempt ids per query (well under SQLite's bound on parameters)


@dataclass(frozen=True)
class AttemptFacts:
    attempt_id: str
    campaign_id: str
    patient_id: str
    tier: str
    step: int
    channel: str
    sequence: str
    sent: bool


@dataclass(frozen=True)
class StepRow:
    tier: str
    sequence: str
    step: int
    channel: str
    sent: int
    responded: int
    response_rate: float | None
    response_ci: tuple[float, float]

    def as_json(self) -> dict[str, Any]:
        return {
            "tier": self.tier,
            "sequence": self.sequence,
            "step": self.step,
            "channel": self.channel,
            "sent": self.sent,
            "responded": self.responded,
            "response_rate": None if self.response_rate is None else round(self.response_rate, 4),
            "response_ci": [round(x, 4) for x in self.response_ci],
        }


@dataclass(frozen=True)
class SequenceRow:
    tier: str
    sequence: str
    patients: int  # reached: at least one step went out
    contacts: int  # steps that went out
    responded: int
    reactivated: int
    cost: float
    cost_per_reactivation: float | None

    def as_json(self) -> dict[str, Any]:
        return {
            "tier": self.tier,
            "sequence": self.sequence,
            "patients": self.patients,
            "contacts": self.contacts,
            "responded": self.responded,
            "reactivated": self.reactivated,
            "response_rate": round(self.responded / self.patients, 4) if self.patients else None,
            "cost": round(self.cost, 2),
            "cost_per_reactivation": None
            if self.cost_per_reactivation is None
            else round(self.cost_per_reactivation, 2),
        }


def read(store: Store) -> tuple[list[AttemptFacts], dict[str, dict[str, tuple[int, int]]]]:
    """Every attempt (its step and sequence) and, per attempt, its events of `_KINDS` (kind -> (n, cents))."""
    with store.engine.connect() as conn:
        attempts = [
            AttemptFacts(aid, cid, pid, tier, int(step or 0), channel, seq or SINGLE, sent is not None)
            for aid, cid, pid, tier, step, channel, seq, sent in conn.execute(
                select(
                    OutreachAttempt.id,
                    OutreachAttempt.campaign_id,
                    OutreachAttempt.patient_id,
                    OutreachAttempt.tier,
                    OutreachAttempt.step,
                    OutreachAttempt.channel,
                    OutreachAttempt.sequence,
                    OutreachAttempt.sent_at,
                ).where(OutreachAttempt.status != "holdout")
            )
        ]
        # driven by the attempts (the index on the events' attempt id), not by the whole event log: the
        # Results page reads this, and a practice's log holds millions of events from calls and visits
        events: dict[str, dict[str, tuple[int, int]]] = defaultdict(dict)
        ids = [a.attempt_id for a in attempts]
        for i in range(0, len(ids), CHUNK):
            for aid, kind, cents in conn.execute(
                select(OutcomeEvent.attempt_id, OutcomeEvent.kind, OutcomeEvent.amount_cents).where(
                    OutcomeEvent.attempt_id.in_(ids[i : i + CHUNK]), OutcomeEvent.kind.in_(_KINDS)
                )
            ):
                n, c = events[aid].get(kind, (0, 0))
                events[aid][kind] = (n + 1, c + int(cents or 0))
    return attempts, dict(events)


def by_step(attempts: Iterable[AttemptFacts], events: dict[str, dict[str, tuple[int, int]]]) -> list[StepRow]:
    """Response by tier, sequence and step (steps that went out, and the responses their contact earned)."""
    acc: dict[tuple[str, str, int, str], list[int]] = defaultdict(lambda: [0, 0])
    for a in attempts:
        if not a.sent:
            continue
        cell = acc[(a.tier, a.sequence, a.step, a.channel)]
        cell[0] += 1
        cell[1] += 1 if "responded" in events.get(a.attempt_id, {}) else 0
    order = {t: i for i, t in enumerate(TIERS)}
    return [
        StepRow(t, seq, step, ch, n, k, k / n if n else None, wilson_interval(k, n))
        for (t, seq, step, ch), (n, k) in sorted(
            acc.items(), key=lambda kv: (order.get(kv[0][0], 9), kv[0][1], kv[0][2])
        )
    ]


def by_sequence(
    attempts: Iterable[AttemptFacts], events: dict[str, dict[str, tuple[int, int]]]
) -> list[SequenceRow]:
    """Per tier and sequence: patients reached, contacts, responses, returns, cost and cost per return."""
    patients: dict[tuple[str, str], set[tuple[str, str]]] = defaultdict(set)
    responded: dict[tuple[str, str], set[tuple[str, str]]] = defaultdict(set)
    returned: dict[tuple[str, str], set[tuple[str, str]]] = defaultdict(set)
    contacts: dict[tuple[str, str], int] = defaultdict(int)
    cents: dict[tuple[str, str], int] = defaultdict(int)
    for a in attempts:
        key, who = (a.tier, a.sequence), (a.campaign_id, a.patient_id)
        ev = events.get(a.attempt_id, {})
        if a.sent:
            patients[key].add(who)
            contacts[key] += 1
        cents[key] += sum(ev.get(k, (0, 0))[1] for k in COST_KINDS)
        if "responded" in ev:
            responded[key].add(who)
        if "reactivated" in ev:
            returned[key].add(who)
    order = {t: i for i, t in enumerate(TIERS)}
    rows = []
    for key in sorted(patients, key=lambda k: (order.get(k[0], 9), k[1])):
        cost = cents[key] / 100.0
        back = len(returned[key])
        rows.append(
            SequenceRow(
                key[0],
                key[1],
                len(patients[key]),
                contacts[key],
                len(responded[key]),
                back,
                cost,
                cost / back if back else None,
            )
        )
    return rows


def sequence_counts(store: Store) -> tuple[dict[tuple[str, str], int], dict[tuple[str, str], int]]:
    """(tier, sequence) -> patients reached, and -> patients who responded: the learning's evidence."""
    attempts, events = read(store)
    rows = by_sequence([a for a in attempts if a.sequence != SINGLE], events)
    return (
        {(r.tier, r.sequence): r.patients for r in rows},
        {(r.tier, r.sequence): r.responded for r in rows},
    )


def step_report(store: Store) -> dict[str, Any]:
    """The JSON of `stats` and the Results page: `steps` (response by step and tier), `sequences` (cost per
    reactivation by sequence)."""
    attempts, events = read(store)
    return {
        "steps": [r.as_json() for r in by_step(attempts, events)],
        "sequences": [r.as_json() for r in by_sequence(attempts, events)],
    }


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x:.0%}"


def render_steps(report: dict[str, Any]) -> list[str]:
    """Plain text for `receptionist stats`: two small tables, or nothing when no step went out."""
    if not report["steps"]:
        return []
    lines = ["response by step and tier (steps that went out, and the responses they earned)"]
    lines.append(
        f"  {'tier':<5} {'sequence':<14} {'step':>4} {'channel':<10} {'sent':>6} {'resp':>5} {'rate':>5}"
    )
    for r in report["steps"]:
        lines.append(
            f"  {r['tier']:<5} {r['sequence']:<14} {r['step']:>4} {r['channel']:<10} {r['sent']:>6} "
            f"{r['responded']:>5} {_pct(r['response_rate']):>5}"
        )
    lines.append("cost per reactivation by sequence (a patient counts once, whatever steps went out)")
    lines.append(
        f"  {'tier':<5} {'sequence':<14} {'patients':>8} {'contacts':>8} {'resp':>5} {'react':>5} "
        f"{'cost':>9} {'cost/react':>10}"
    )
    for r in report["sequences"]:
        per = "-" if r["cost_per_reactivation"] is None else f"${r['cost_per_reactivation']:,.2f}"
        lines.append(
            f"  {r['tier']:<5} {r['sequence']:<14} {r['patients']:>8} {r['contacts']:>8} {r['responded']:>5} "
            f"{r['reactivated']:>5} {'$' + format(r['cost'], ',.2f'):>9} {per:>10}"
        )
    return lines
