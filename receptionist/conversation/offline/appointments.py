"""The appointment lifecycle behind the identity check: confirming ("when is my appointment?"), cancelling,
rescheduling, and running late. Identity comes first (`policy/identity.py`): the date of birth on file, at
most three tries; no date of birth on file, or an unknown number, means nothing is read out or changed and
staff call back. Running late discloses nothing: staff hear which visit and how late, the caller hears
whether to come."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from receptionist.conversation.nlu import Heard
from receptionist.conversation.nlu.lexicon import lexicon
from receptionist.conversation.nlu.text import tokens
from receptionist.conversation.offline import frame as frames
from receptionist.conversation.offline.offers import pick, views
from receptionist.conversation.offline.state import Offer
from receptionist.conversation.policy.family import FAMILY, match_member, members_like
from receptionist.conversation.policy.identity import MAX_TRIES
from receptionist.conversation.types import AppointmentView, Reply, ToolError
from receptionist.wording import spoken

if TYPE_CHECKING:
    from receptionist.conversation.offline.engine import Turn


# what a caller may say instead of a date of birth that is answered on its own (the question is asked again)
ASIDES = frozenset({
    "faq_hours", "faq_address", "faq_parking", "faq_insurance", "faq_payment", "faq_new_patients", "faq_services",
    "faq_prices", "human", "goodbye", "back_out", "robot", "complaint", "wrong_number", "vendor",
})  # fmt: skip


def start(turn: Turn, task: str, h: Heard) -> Reply:
    st = turn.st
    st.task = task
    st.resume = task
    st.offers, st.shown = [], []
    e = h.entities
    st.hint_days = [d.isoformat() for d in e.days]
    st.hint_weekdays = list(e.weekdays)
    st.hint_kind = e.visit_kind
    st.relative = relative_words(h.text)
    frames.update(st.frame, e, providers=turn._providers())
    who, refused = _whose(turn, h)
    if refused is not None:
        # someone else's record: a friend, a stranger, or family not linked to the caller's on file
        st.task = None
        turn.tools.note({"action": "identity", "result": refused})
        if refused == "family_not_linked":
            turn.tools.queue_callback(
                f"wants to {_task_words(task)} for a family member not linked on file", "normal"
            )
        return turn.done(turn.line(refused))
    if who is None and turn.tools.patient_id is None:
        return turn.ask(turn.line("ask_identity"), "ask_identity", "dob")
    st.id_for = who or turn.tools.patient_id
    if st.id_for in turn.tools.verified:
        return proceed(turn)
    view = turn._patient_view() if st.id_for != turn.tools.patient_id else turn.tools.caller()
    has_dob = view.has_dob if st.id_for == turn.tools.patient_id else _member_has_dob(turn, st.id_for)
    if not has_dob:
        turn.tools.note({"action": "identity", "result": "not_on_file"})
        turn.tools.queue_callback(f"wants to {_task_words(task)}: no date of birth on file", "normal")
        st.task = None
        return turn.done(turn.line("no_dob_on_file"))
    st.id_tries = 0
    if h.entities.dob is not None:
        return on_dob(turn, h)
    name = _member_name(turn, st.id_for)
    if name:
        return turn.ask(turn.line("ask_dob_for", name=spoken.clean(name)), "ask_dob", "dob")
    return turn.ask(turn.line("ask_dob"), "ask_dob", "dob")


def _whose(turn: Turn, h: Heard) -> tuple[str | None, str | None]:
    """A family member the caller names ("Emma's appointment", "my son's") found on file, or the line that
    refuses: someone outside the family ("my neighbour's", "John Smith's"), or family not linked on file."""
    if turn.tools.patient_id is None:
        return None, None
    named = turn._family_named(h)
    member = named[-1] if named else None
    about = _records_of(h)  # the relations whose record is asked about: "my wife's appointment"
    people = [p for p in h.entities.for_whom if p.relation in FAMILY and p.relation in about]
    if member is None and people:
        member = match_member(turn.tools.caller(), people[0].name)
        if member is None and people[0].name is None:
            fits = members_like(turn.tools.caller(), people[0])
            member = fits[0] if len(fits) == 1 else None
    if member is not None:
        turn.st.frame.for_patient, turn.st.frame.for_name = member.patient_id, member.first_name
        return member.patient_id, None
    if about - FAMILY:
        return None, "not_family"
    name = h.entities.whose
    own = (turn.tools.caller().first_name or "").lower()
    if name is not None and name.split()[0].lower() != own:
        return None, "not_family"
    if about:
        return None, "family_not_linked"
    return None, None


def _records_of(h: Heard) -> set[str]:
    """Relations whose record is asked about ("my wife's appointment", "the cleaning for my son"), as the
    relation recorded; a relation said otherwise ("my daughter can't drive me") is not whose record it is."""
    lex = lexicon(h.language)
    words = tokens(h.text, lex).words
    relations, records = lex.table("relations").entries, lex.words("names", "records")
    for_words = lex.words("relation_cues", "for_words") | {"of"}
    found = set()
    for i, w in enumerate(words):
        if (w,) not in relations:
            continue
        possessive = i + 1 < len(words) and words[i + 1] in records
        for_them = i >= 2 and words[i - 2] in for_words and words[i - 1] in ("my", "our", "his", "her")
        if possessive or for_them:
            found.add(str(relations[(w,)]))
    return found


def _member_has_dob(turn: Turn, pid: str | None) -> bool:
    return any(m.patient_id == pid and m.has_dob for m in turn.tools.caller().family)


def _member_name(turn: Turn, pid: str | None) -> str | None:
    if pid is None or pid == turn.tools.patient_id:
        return None
    return next((m.first_name for m in turn.tools.caller().family if m.patient_id == pid), None)


def on_dob(turn: Turn, h: Heard) -> Reply | None:
    st = turn.st
    dob = turn.dob(h)
    if dob is None:
        if h.top in ASIDES:
            return None  # a question or a request for a person: answered as such, the question asked again
        st.id_tries += 1
        if st.id_tries >= MAX_TRIES + 1:
            turn.tools.queue_callback(
                f"wants to {_task_words(st.resume)}: date of birth not understood", "high"
            )
            st.task, st.resume = None, None
            return turn.done(turn.line("dob_failed"))
        return turn.reply(turn.line("dob_not_heard"))
    try:
        ok = turn.tools.verify_identity(dob, for_patient=st.id_for)
    except ToolError:
        turn.tools.queue_callback(f"wants to {_task_words(st.resume)}: identity not confirmable", "normal")
        st.task = None
        return turn.done(turn.line("no_dob_on_file"))
    if ok:
        turn.said.append(turn.line("verified"))
        return proceed(turn)
    st.id_tries += 1
    if st.id_tries >= MAX_TRIES:
        turn.tools.queue_callback(f"wants to {_task_words(st.resume)}: date of birth did not match", "high")
        st.task, st.resume = None, None
        return turn.done(turn.line("dob_failed"))
    return turn.ask(turn.line("dob_again"), "ask_dob", "dob")


def on_identity(turn: Turn, h: Heard) -> Reply | None:
    st = turn.st
    name, dob = h.entities.caller_name, turn.dob(h)
    if name is None or not name.first or not name.last or dob is None:
        if h.intents and not (name or dob):
            return None
        st.id_tries += 1
        if st.id_tries >= MAX_TRIES:
            turn.tools.queue_callback(f"wants to {_task_words(st.resume)}: caller not identified", "normal")
            st.task = None
            return turn.done(turn.line("identity_failed"))
        return turn.reply(turn.line("ask_identity"))
    pid = turn.tools.identify(name.first, name.last, dob)
    if pid is None:
        st.id_tries += 1
        if st.id_tries >= MAX_TRIES:
            turn.tools.queue_callback(f"wants to {_task_words(st.resume)}: caller not identified", "normal")
            st.task = None
            return turn.done(turn.line("identity_failed"))
        return turn.reply(turn.line("ask_identity"))
    st.id_for = pid
    turn.said.append(turn.line("verified"))
    return proceed(turn)


def proceed(turn: Turn) -> Reply:
    """Identity confirmed: take up the task."""
    st = turn.st
    task = st.resume or st.task
    try:
        upcoming = turn.tools.upcoming(for_patient=st.id_for)
    except ToolError as error:
        return turn.done(str(error))
    st.appts = views(upcoming)
    if task == "confirm":
        st.task = None
        return turn.done(_listing(turn, upcoming))
    if not upcoming:
        st.task = None
        if task == "reschedule":
            return turn.start_booking(None)
        return turn.done(turn.line("none_upcoming"))
    chosen = _by_hints(turn, upcoming)
    if chosen is None and turn.h is not None and turn.st.stage != "ask_dob":
        chosen = _match(turn, upcoming, turn.h)
    if chosen is None and len(upcoming) > 1:
        st.task = task
        return turn.ask(turn.line("which_appt", list=_list(turn, upcoming)), "choose_appt")
    target = chosen or upcoming[0]
    return _act(turn, task or "", target)


def _act(turn: Turn, task: str, target: AppointmentView) -> Reply:
    st = turn.st
    st.target = target.id
    st.task = task
    what = _what(turn, target)
    if task == "cancel":
        return turn.ask(
            turn.line("confirm_cancel", what=what, **turn._when(target)), "confirm_cancel", "yes_no"
        )
    # reschedule: the visit's own type, at a time that suits; what named the visit is not the new time
    st.frame.visit_type = target.kind
    _new_time(turn, target)
    if frames.has_constraints(st.frame) or st.frame.after:
        return offer_move(turn)
    return turn.ask(turn.line("ask_move_when", what=_visit_name(turn, target.kind)), "ask_when")


def offer_move(turn: Turn, *, more: bool = False) -> Reply:
    st = turn.st
    kind = st.frame.visit_type or "exam"
    if not more:
        turn._closed_days(st.frame)
    after = None
    if more and st.offers:
        after = max(o.when for o in st.offers)
    wanted = frames.wanted(st.frame, after=after)
    found = [
        s for s in turn.tools.openings(kind, wanted, for_patient=st.id_for, limit=4) if s.id not in st.shown
    ]
    relaxed = False
    if not found and frames.has_constraints(st.frame):
        found = turn.tools.openings(
            kind, frames.wanted(st.frame, after=after, relax=True), for_patient=st.id_for, limit=3
        )
        relaxed = True
    if not found:
        turn.tools.queue_callback("wants to reschedule: no opening found", "normal")
        st.task = None
        return turn.done(turn.line("no_openings", visit=spoken.kind_phrase(_visit_name(turn, kind))))
    st.offers = [turn._offer(s) for s in found[:3]]
    st.pick = 0 if more and not relaxed or turn.texting else None  # what the caller has heard (Turn.on_offer)
    st.shown.extend(o.unit_id for o in st.offers)
    st.stage, st.expecting = "confirm_move", "offer_choice"
    if relaxed:
        return turn.reply(turn.line("offer_none_match", **turn._when(found[0])))
    if more:
        return turn.reply(turn.line("offer_others", options=turn._options(found[:3])))
    return turn.reply(
        turn.line(
            "offer_match", visit_for=spoken.kind_phrase(_visit_name(turn, kind)), **turn._when(found[0])
        )
    )


def move_to(turn: Turn, offer: Offer) -> Reply:
    st = turn.st
    if st.target is None:
        return turn.book(offer)
    try:
        moved = turn.tools.reschedule(st.target, offer.unit_id)
    except ToolError as error:
        turn.said.append(str(error))
        return offer_move(turn, more=True)
    st.offers, st.shown, st.task, st.target = [], [], None, None
    return turn.done(turn.line("moved", what=_visit_name(turn, moved.kind), **turn._when(moved)))


def relative_words(text: str) -> list[str]:
    """The moves relative to the visit the caller has ("same time", "push it back a week")."""
    lex = lexicon("en")
    table = lex.grouped("relative_to_appointment")
    words = tokens(text, lex).words
    found = []
    for i in range(len(words)):
        hit = table.match(words, i)
        if hit is not None and str(hit[1]) not in found:
            found.append(str(hit[1]))
    return found


def _new_time(turn: Turn, target: AppointmentView) -> None:
    """The frame after the visit to move is known: its own day is no longer a wish (it named the visit), and
    moves relative to it become constraints: the same day, the same time, later, earlier, a week later."""
    import datetime as dt

    st, frame = turn.st, turn.st.frame
    day = target.start.date()
    frame.days = [d for d in frame.days if d != day.isoformat() or d not in st.hint_days[:1]]
    if day.weekday() in frame.weekdays and len(st.hint_weekdays) > 1:
        frame.weekdays = [w for w in frame.weekdays if w != day.weekday()]
    elif frame.weekdays == [day.weekday()] and st.hint_weekdays == [day.weekday()] and not frame.days:
        frame.weekdays = []
    minute = target.start.hour * 60 + target.start.minute
    rel = st.relative
    if "same_day" in rel and not [d for d in frame.days if d != day.isoformat()]:
        frame.days = [day.isoformat()]  # "that day" is the visit's own day unless another day was named
    if "same_time" in rel:
        frame.near_minute = minute
        frame.earliest_minute, frame.latest_minute = max(0, minute - 60), minute + 90
    if "later" in rel:
        frame.earliest_minute = minute + 30
    if "later_day" in rel:
        frame.days = frame.days or [day.isoformat()]
        frame.earliest_minute = max(minute + 30, 13 * 60)
    if "earlier" in rel:
        frame.latest_minute = minute
    if "week_later" in rel:
        frame.after = dt.datetime.combine(
            day + dt.timedelta(days=7), dt.time(0), target.start.tzinfo
        ).isoformat()


def _by_hints(turn: Turn, items: list[AppointmentView]) -> AppointmentView | None:
    """The appointment the first request named (by day, weekday or kind), once identity is confirmed."""
    st = turn.st
    if not items or not (st.hint_days or st.hint_weekdays or st.hint_kind):
        return None
    import datetime as dt

    days = {dt.date.fromisoformat(d) for d in st.hint_days}
    on_day = [a for a in items if a.start.date() in days] if days else []
    if len(on_day) == 1:
        return on_day[0]
    on_weekday = [a for a in items if a.start.weekday() in st.hint_weekdays] if st.hint_weekdays else []
    if len(on_weekday) == 1:
        return on_weekday[0]
    kind = st.hint_kind
    if kind:
        by_kind = [a for a in items if kind in a.kind or a.kind.startswith(kind[:5])]
        if len(by_kind) == 1:
            return by_kind[0]
    return None


def on_choose(turn: Turn, h: Heard) -> Reply | None:
    st = turn.st
    items = [_view(a) for a in st.appts]
    chosen = _match(turn, items, h)
    if chosen is None:
        if h.has("no") or h.has("back_out"):
            st.task = None
            return turn.done(turn.line("kept"))
        if h.intents:
            return None
        return turn.reply(turn.line("which_appt", list=_list(turn, items)))
    return _act(turn, st.task or "", chosen)


def on_confirm_cancel(turn: Turn, h: Heard) -> Reply | None:
    st = turn.st
    if h.has("yes") and not h.has("no"):
        try:
            cancelled = turn.tools.cancel(st.target or 0)
        except ToolError as error:
            st.task = None
            return turn.done(str(error))
        st.task, st.target = None, None
        turn.said.append(turn.line("cancelled", what=_what(turn, cancelled), **turn._when(cancelled)))
        st.frame.visit_type = cancelled.kind
        st.frame.for_patient = cancelled.patient_id if cancelled.patient_id != turn.tools.patient_id else None
        return turn.ask(turn.line("rebook"), "offer_book", "yes_no")
    if h.has("no") or h.has("back_out"):
        st.task, st.target = None, None
        return turn.done(turn.line("kept"))
    if h.has("reschedule"):
        st.task = "reschedule"
        target = next((a for a in st.appts if a["id"] == st.target), None)
        if target is not None:
            return _act(turn, "reschedule", _view(target))
    return None


def late(turn: Turn, h: Heard) -> Reply:
    minutes = h.entities.minutes_late
    if minutes is None:
        turn.st.task = "late"
        return turn.ask(turn.line("ask_late"), "ask_late")
    return _report_late(turn, minutes)


def on_late_minutes(turn: Turn, h: Heard) -> Reply | None:
    minutes = h.entities.minutes_late
    if minutes is None and h.entities.numbers:
        minutes = h.entities.numbers[0] if h.entities.numbers[0] <= 180 else None
    if minutes is None:
        asides = ("yes", "no", "thanks", "greeting", "unsure", "wait", "repeat", "running_late")
        if any(name not in asides for name, _ in h.intents):
            return None  # another request: taken up as such
        return _report_late(turn, None)  # "I'm not sure", or no number heard: staff are told all the same
    return _report_late(turn, minutes)


def _report_late(turn: Turn, minutes: int | None) -> Reply:
    turn.st.task = None
    notice = turn.tools.running_late(minutes)
    grace = turn.practice.front_desk.late_grace_minutes if turn.practice else 15
    if not notice.found:
        return turn.done(turn.line("late_no_visit"))
    if minutes is None:
        return turn.done(turn.line("late_unknown"))
    if notice.within_grace:
        return turn.done(turn.line("late_come", minutes=minutes))
    return turn.done(turn.line("late_too_late", grace=grace))


def late_then(turn: Turn, h: Heard, task: str) -> Reply:
    """ "I'm running forty minutes late, can we just move it?": staff hear about the lateness, and the move
    (or the cancellation) is taken up at once, behind the identity check like any other."""
    turn.tools.running_late(h.entities.minutes_late)
    turn.said.append(turn.line("late_noted"))
    return start(turn, task, h)


# -- helpers ------------------------------------------------------------------------------------------------
def _view(a: dict[str, Any]) -> AppointmentView:
    import datetime as dt

    return AppointmentView(
        int(a["id"]),
        dt.datetime.fromisoformat(a["start"]),
        a["provider"],
        a["kind"],
        "booked",
        patient_id=a.get("patient_id", ""),
    )


def _visit_name(turn: Turn, kind: str) -> str:
    visit = turn.practice.visit_type(kind) if turn.practice else None
    return visit.name if visit is not None else kind.replace("_", " ")


def _what(turn: Turn, a: AppointmentView) -> str:
    own = a.patient_id in ("", turn.tools.patient_id)
    name = _visit_name(turn, a.kind)
    if own:
        return f"your {name}"
    who = _member_name(turn, a.patient_id) or turn.st.frame.for_name
    return f"{spoken.clean(who)}'s {name}" if who else f"the {name}"


def _listing(turn: Turn, items: list[AppointmentView]) -> str:
    if not items:
        return turn.line("none_upcoming")
    if len(items) == 1:
        a = items[0]
        return turn.line("one_upcoming", what=_what(turn, a).replace("your ", "a ", 1), **turn._when(a))
    return turn.line("several_upcoming", count=spoken.number_word(len(items)), list=_list(turn, items[:4]))


def _list(turn: Turn, items: list[AppointmentView]) -> str:
    return spoken.spoken_list(
        [f"{_visit_name(turn, a.kind)} {turn._when(a)['on_when']}" for a in items], conjunction="and"
    )


def _match(turn: Turn, items: list[AppointmentView], h: Heard | None) -> AppointmentView | None:
    """The appointment a turn names: by position, day, weekday, time or kind."""
    if h is None or not items:
        return None
    e = h.entities
    if e.offer_ref is not None:
        offers = [Offer(a.id, a.start.isoformat(), a.provider, 30) for a in items]
        i = pick(e.offer_ref, offers)
        if i is not None:
            return items[i]
    candidates = items
    if e.days:
        candidates = [a for a in candidates if a.start.date() in e.days]
    if e.weekdays:
        candidates = [a for a in candidates if a.start.weekday() in e.weekdays]
    kind = e.visit_kind
    if kind:
        by_kind = [a for a in candidates if kind in a.kind or a.kind.startswith(kind[:5])]
        candidates = by_kind or candidates
    if candidates is not items and len(candidates) == 1:
        return candidates[0]
    if len(items) == 1:
        return items[0]
    return None


def _task_words(task: str | None) -> str:
    return {
        "confirm": "confirm an appointment",
        "cancel": "cancel an appointment",
        "reschedule": "reschedule an appointment",
    }.get(task or "", "discuss an appointment")
