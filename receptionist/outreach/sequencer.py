"""Carrying sequences forward: the next step's attempt row, written when the step before it settles.

`Sequencer.advance()` is the body of the periodic RQ job `advance_sequences_job` (rq's scheduler runs it every
`ADVANCE_EVERY` while any sequence is in progress; `campaign simulate --days` and the benchmark call it once
a simulated day). For every running campaign it reads each patient's latest step (one query), asks
`sequences.next_step` what comes next and when, and for the patients whose next step is due:
- checks the stops in bulk (`stops.py`); a stopped patient's sequence ends with the next step's row written
  as skipped, reason "sequence stopped: <why>", so it is never looked at again and `status` can say why;
- otherwise writes the step's row (id `<campaign>:<patient>:<step>`, INSERT ... ON CONFLICT DO NOTHING, so two
  advance jobs at once write it once) and enqueues its send job by name, only for the rows it inserted; a
  doubled job finds the row already past queued and does nothing (`dispatch.send`);
- a staff call nobody made leaves the staff list (skipped, "not called within the sequence's days");
- a step row still queued an hour after it was due lost its job (a worker killed between the insert and the
  enqueue): it is enqueued again.
The send itself goes through the dispatcher and every gate, like any attempt; a killed worker's claim is
reconciled as for any attempt.

Choosing the sequence (`choose`): the tier's first sequence, or among several by Thompson sampling once the
log has evidence (`outcomes.learning.SequenceBeliefs`). A patient enters at the first step through the
channel the plan gave them; a patient whose planned channel is in none of their tier's sequences keeps the
plan's one contact (no sequence).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from collections.abc import Sequence as Seq
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite

from receptionist import jobqueue
from receptionist.clock import Clock, utc
from receptionist.config.practice import Practice
from receptionist.config.sequences import Sequence
from receptionist.jobqueue import Jobs
from receptionist.outcomes.learning import SequenceBeliefs, load_sequence_beliefs, seed_for
from receptionist.outreach.dispatch import DIRECT, job_options
from receptionist.outreach.planner import PlannedContact
from receptionist.outreach.sequences import (
    STOPPED_PREFIX,
    UNWORKED,
    Last,
    Next,
    Reach,
    next_step,
    stopped,
)
from receptionist.outreach.stops import stop_reasons
from receptionist.store import Campaign, OutreachAttempt, Patient, PatientPhone, Store, keys
from receptionist.wording.written import written_time
from scoring.outcomes import thompson_choices

log = logging.getLogger(__name__)
ADVANCE_EVERY = dt.timedelta(minutes=15)
# a step row still queued this long after it was due has lost its job (a worker killed between the insert and
# the enqueue, a flushed queue): it is enqueued again (a doubled job is harmless: the row is the key)
REQUEUE_AFTER = dt.timedelta(hours=1)
_ACTIVE = ("listed", "queued", "deferred", "sending")


def step_attempt_id(campaign_id: str, patient_id: str, step: int) -> str:
    return f"{campaign_id}:{patient_id}:{step}"


def schedule_advance(jobs: Jobs, every: dt.timedelta = ADVANCE_EVERY) -> None:
    """One advance job in the schedule at a time (a marker stops a second one being added)."""
    seconds = int(every.total_seconds())
    jobs.once_in(
        keys.sequences_advance_marker(),
        max(1, seconds - 10),
        every,
        jobqueue.ADVANCE_SEQUENCES,
        queue="outreach",
    )


def plans_of(practice: Practice) -> dict[str, tuple[str, tuple[str, ...]]]:
    """Sequence name -> (tier, its direct channels): what the learning keeps beliefs for."""
    return {
        s.name: (
            s.tier,
            tuple(st.channel for st in s.steps if st.channel in DIRECT or st.channel == "staff_call"),
        )
        for s in practice.sequences.sequences
    }


def choose(
    contacts: Seq[PlannedContact],
    practice: Practice,
    beliefs: SequenceBeliefs | None,
    seed: int,
    written: Mapping[str, bool] | None = None,
) -> list[tuple[Sequence | None, int]]:
    """Per planned contact: its sequence and the step it enters at, or (None, 0) for the plan's one contact.

    A sequence whose entry step carries an offer fits only a patient with written consent (`written`, by
    patient; everyone when None): the others keep the plan's one contact, as without sequences."""
    seqs = practice.sequences
    rules = practice.outreach
    rng = np.random.default_rng(seed)
    out: list[tuple[Sequence | None, int]] = []
    for pc in contacts:
        may_offer = written is None or written.get(pc.patient_id, False)
        fits = [
            s
            for s in seqs.for_tier(pc.tier)
            if (entry := s.entry(pc.channel)) is not None
            and len(s.steps) > 1
            and (may_offer or not s.steps[entry].offer)
        ]
        if not fits:
            out.append((None, 0))
            continue
        chosen = fits[0]
        if beliefs is not None and beliefs.learning(pc.tier) and len(fits) > 1:
            costs = {
                s.name: sum(rules.expected_cost(st.channel) for st in s.steps if st.channel != "general")
                for s in fits
            }
            name = thompson_choices(
                rng,
                [pc.reactivation_score],
                [[s.name for s in fits]],
                beliefs.posteriors(pc.tier),
                costs,
                rules.exploration_floor,
            )[0]
            chosen = next(s for s in fits if s.name == name)
        entry = chosen.entry(pc.channel)
        out.append((chosen, entry or 0))
    return out


def choose_for_plan(
    store: Store, practice: Practice, contacts: Seq[PlannedContact], run_id: str
) -> list[tuple[Sequence | None, int]]:
    """`choose` with the beliefs the outcome log supports (read only when a tier has several sequences)."""
    seqs = practice.sequences
    several = any(len(seqs.for_tier(t)) > 1 for t in ("high", "mid", "low"))
    beliefs = load_sequence_beliefs(store, practice.outreach, plans_of(practice)) if several else None
    with store.engine.connect() as conn:
        written = {pid: bool(w) for pid, w in conn.execute(select(Patient.id, Patient.consent_written))}
    return choose(contacts, practice, beliefs, seed_for(f"sequences:{run_id}"), written)


@dataclass(frozen=True)
class _Row:
    attempt_id: str
    campaign_id: str
    patient_id: str
    tier: str
    sequence: str
    rank: int
    score: float
    value: float
    purpose: str
    last: Last


class Sequencer:
    """Advances every running sequence campaign and says where each patient stands."""

    def __init__(self, *, store: Store, practice: Practice, now: Clock, jobs: Jobs, email_on: bool) -> None:
        self.store = store
        self.practice = practice
        self.now = now
        self.jobs = jobs
        self.email_on = email_on

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.practice.timezone)

    # -- reading ---------------------------------------------------------------------------------------------
    def _latest(self, campaign_ids: list[str]) -> dict[str, list[_Row]]:
        """Campaign -> each patient's latest step row (the highest step)."""
        if not campaign_ids:
            return {}
        A = OutreachAttempt
        best: dict[tuple[str, str], _Row] = {}
        with self.store.engine.connect() as conn:
            for r in conn.execute(
                select(
                    A.id,
                    A.campaign_id,
                    A.patient_id,
                    A.tier,
                    A.sequence,
                    A.rank,
                    A.reactivation_score,
                    A.expected_value,
                    A.purpose,
                    A.step,
                    A.channel,
                    A.status,
                    A.sent_at,
                    A.finished_at,
                    A.not_before,
                    A.staff_outcome,
                    A.staff_outcome_at,
                    A.reason,
                ).where(A.campaign_id.in_(campaign_ids), A.sequence.is_not(None))
            ):
                key = (r.campaign_id, r.patient_id)
                if key in best and best[key].last.step >= r.step:
                    continue
                best[key] = _Row(
                    r.id,
                    r.campaign_id,
                    r.patient_id,
                    r.tier,
                    r.sequence,
                    r.rank,
                    float(r.reactivation_score or 0.0),
                    float(r.expected_value or 0.0),
                    r.purpose or "marketing",
                    Last(
                        int(r.step or 0),
                        r.channel,
                        r.status,
                        utc(r.sent_at) if r.sent_at else None,
                        utc(r.finished_at) if r.finished_at else None,
                        utc(r.not_before) if r.not_before else None,
                        r.staff_outcome,
                        utc(r.staff_outcome_at) if r.staff_outcome_at else None,
                        r.reason or "",
                    ),
                )
        out: dict[str, list[_Row]] = {}
        for row in best.values():
            out.setdefault(row.campaign_id, []).append(row)
        return out

    def _reach(self, patient_ids: set[str]) -> dict[str, Reach]:
        with self.store.engine.connect() as conn:
            phones = set(conn.scalars(select(PatientPhone.patient_id).distinct()))
            return {
                pid: Reach(
                    pid in phones,
                    email or "",
                    bool(voice),
                    bool(sms),
                    bool(written),
                    prefs or {},
                    self.email_on,
                )
                for pid, email, voice, sms, written, prefs in conn.execute(
                    select(
                        Patient.id,
                        Patient.email,
                        Patient.consent_voice,
                        Patient.consent_sms,
                        Patient.consent_written,
                        Patient.contact_preferences,
                    )
                )
                if pid in patient_ids
            }

    def _campaigns(self, campaign_id: str | None = None, running: bool = True) -> dict[str, dt.datetime]:
        with self.store.sessions() as s:
            q = select(Campaign.id, Campaign.created_at)
            if campaign_id is not None:
                q = q.where(Campaign.id == campaign_id)
            if running:
                q = q.where(Campaign.status == "running")
            return {cid: utc(at) for cid, at in s.execute(q)}

    def _plan(
        self, campaign_id: str | None = None, running: bool = True
    ) -> tuple[dict[str, dt.datetime], list[tuple[_Row, Next | None]]]:
        started = self._campaigns(campaign_id, running)
        latest = self._latest(list(started))
        rows = [r for rs in latest.values() for r in rs]
        reach = self._reach({r.patient_id for r in rows})
        out = []
        for r in rows:
            seq = self.practice.sequences.named(r.sequence)
            rc = reach.get(r.patient_id)
            nxt = (
                next_step(seq, r.last, rc, r.purpose, started[r.campaign_id])
                if seq is not None and rc is not None
                else None
            )
            out.append((r, nxt))
        return started, out

    # -- the job ---------------------------------------------------------------------------------------------
    def advance(self) -> dict[str, int]:
        """Write (and enqueue) every next step that is due now; end the sequences a stop reason ends."""
        now = utc(self.now())
        started, planned = self._plan()
        due = [(r, n) for r, n in planned if n is not None and n.due <= now]
        counts = {"due": len(due), "created": 0, "enqueued": 0, "stopped": 0, "in_progress": 0}
        counts["in_progress"] = sum(1 for r, n in planned if n is not None or r.last.status in _ACTIVE)
        counts["requeued"] = self._requeue_lost(list(started), now)
        if not due:
            return counts
        since = {r.patient_id: started[r.campaign_id] for r, _ in due}
        stops = stop_reasons(self.store, since, now, self.zone)
        rows: list[dict[str, Any]] = []
        for r, n in due:
            assert n is not None
            why = stops.get(r.patient_id)
            status = "skipped" if why else "queued" if n.channel in DIRECT else "listed"
            rows.append(
                {
                    "id": step_attempt_id(r.campaign_id, r.patient_id, n.step),
                    "campaign_id": r.campaign_id,
                    "patient_id": r.patient_id,
                    "tier": r.tier,
                    "channel": n.channel,
                    "purpose": n.purpose,
                    "rank": r.rank,
                    "reactivation_score": r.score,
                    "expected_value": r.value,
                    "status": status,
                    "reason": (STOPPED_PREFIX + why)[:200] if why else "",
                    "tries": 0,
                    "cost": 0.0,
                    "notes": [],
                    "step": n.step,
                    "sequence": r.sequence,
                    "offer": n.offer or None,
                    "not_before": n.due,
                    "finished_at": now if why else None,
                }
            )
        inserted = self._insert(rows)
        by_id = {row["id"]: row for row in rows}
        new = [by_id[i] for i in inserted]
        counts["created"] = sum(1 for row in new if row["status"] != "skipped")
        counts["stopped"] = sum(1 for row in new if row["status"] == "skipped")
        self._retire_unworked(due, now)
        queued = [row["id"] for row in new if row["status"] == "queued"]
        self._enqueue(queued)
        counts["enqueued"] = len(queued)
        if new:
            log.info("sequences advanced: %s", counts)
        return counts

    def _enqueue(self, ids: list[str]) -> None:
        for i in range(0, len(ids), 1000):
            self.jobs.enqueue_many(
                jobqueue.SEND_ATTEMPT,
                [(aid,) for aid in ids[i : i + 1000]],
                queue="outreach",
                **job_options(bulk=True),
            )

    def _requeue_lost(self, campaign_ids: list[str], now: dt.datetime) -> int:
        """Step rows queued long ago and never taken: enqueued again, at most once per `REQUEUE_AFTER`."""
        if not campaign_ids:
            return 0
        A = OutreachAttempt
        stale = (
            A.campaign_id.in_(campaign_ids),
            A.sequence.is_not(None),
            A.step > 0,
            A.status == "queued",
            A.not_before < now - REQUEUE_AFTER,
        )
        with self.store.session() as s:
            ids = list(s.scalars(select(A.id).where(*stale)))
            for i in range(0, len(ids), 500):
                s.execute(
                    update(A).where(A.id.in_(ids[i : i + 500]), A.status == "queued").values(not_before=now)
                )
        self._enqueue(ids)
        return len(ids)

    def _insert(self, rows: list[dict[str, Any]]) -> list[str]:
        dialect = postgresql if self.store.dialect == "postgresql" else sqlite
        stmt = (
            dialect.insert(OutreachAttempt)
            .on_conflict_do_nothing(index_elements=["id"])
            .returning(OutreachAttempt.id)
        )
        out: list[str] = []
        with self.store.session() as s:
            for i in range(0, len(rows), 2000):
                out.extend(s.execute(stmt, rows[i : i + 2000]).scalars())
        return out

    def _retire_unworked(self, due: list[tuple[_Row, Next | None]], now: dt.datetime) -> None:
        """Staff calls nobody made in the step's days: off the staff list (the next step has taken over)."""
        ids = [
            r.attempt_id
            for r, n in due
            if n is not None and n.replaces_unworked and r.last.status == "listed"
        ]
        if not ids:
            return
        with self.store.session() as s:
            for i in range(0, len(ids), 500):
                s.execute(
                    update(OutreachAttempt)
                    .where(OutreachAttempt.id.in_(ids[i : i + 500]), OutreachAttempt.status == "listed")
                    .values(status="skipped", reason=UNWORKED, finished_at=now)
                )

    # -- where each patient stands ----------------------------------------------------------------------------
    def progress(self, campaign_id: str) -> dict[str, Any]:
        """Per patient of a sequence campaign: the current step, the next one and when it is due (in the
        practice's zone, in words), or why the sequence ended. Patient ids only, no names or numbers."""
        started, planned = self._plan(campaign_id, running=False)
        if not started:
            return {"patients": [], "by_step": {}}
        now = utc(self.now())
        since = {r.patient_id: started[r.campaign_id] for r, _ in planned}
        stops = stop_reasons(self.store, since, now, self.zone) if since else {}
        zone = self.practice.main.zone  # due times in the location's zone, in words
        patients = []
        by_step: dict[str, int] = {}
        for r, n in sorted(planned, key=lambda rn: (rn[0].rank, rn[0].patient_id)):
            seq = self.practice.sequences.named(r.sequence)
            ended = stopped(r.last) or stops.get(r.patient_id)
            label = f"{r.last.step + 1}. {r.last.channel.replace('_', ' ')}"
            by_step[label] = by_step.get(label, 0) + 1
            entry: dict[str, Any] = {
                "patient_id": r.patient_id,
                "tier": r.tier,
                "sequence": r.sequence,
                "step": r.last.step,
                "steps": len(seq.steps) if seq else r.last.step + 1,
                "channel": r.last.channel,
                "status": r.last.status,
                "next_step": None,
                "next_channel": None,
                "due": None,
                "due_local": None,
                "stopped": ended,
            }
            if n is not None and not ended:
                when = max(n.due, now)
                entry.update(
                    next_step=n.step,
                    next_channel=n.channel,
                    due=n.due.isoformat(),
                    due_local=written_time(when, zone),
                )
            patients.append(entry)
        return {"patients": patients, "by_step": by_step}
