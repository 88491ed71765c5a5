"""The statistics the practice manager reads: per tier and channel, per month, from outcome counts.

Pure over the counts (live counters or the store's), the practice's costs and expectations: no I/O, no
patient data. Formulas in docs/outcomes.md.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from receptionist.config.practice import OutreachRules
from receptionist.outcomes.cost import INCLUDES, cost_of
from receptionist.outcomes.events import CHANNELS, RECALL_TIER, TIERS
from receptionist.outcomes.log import Counts
from scoring.outcomes import wilson_interval

MIN_ATTEMPTS_TO_FLAG = 20
ADVICE = "consider a better offer or another channel"


@dataclass(frozen=True)
class Row:
    month: str  # YYYY-MM, or "all"
    tier: str
    channel: str
    attempts: int
    reached: int
    responded: int
    reactivated: int
    response_rate: float | None
    response_ci: tuple[float, float]
    reactivation_rate: float | None
    reactivation_ci: tuple[float, float]
    revenue: float
    cost: float
    cost_per_reactivation: float | None
    roi: float | None  # (revenue - cost) / cost
    expected_response: tuple[float, float] | None

    def as_json(self) -> dict[str, Any]:
        d = asdict(self)
        for k in ("response_rate", "reactivation_rate", "roi"):
            d[k] = None if d[k] is None else round(d[k], 4)
        for k in ("response_ci", "reactivation_ci"):
            d[k] = [round(x, 4) for x in d[k]]
        d["expected_response"] = list(self.expected_response) if self.expected_response else None
        d["revenue"], d["cost"] = round(self.revenue, 2), round(self.cost, 2)
        if self.cost_per_reactivation is not None:
            d["cost_per_reactivation"] = round(self.cost_per_reactivation, 2)
        return d


@dataclass(frozen=True)
class Lift:
    tier: str
    contacted: int
    contacted_reactivated: int
    contacted_rate: float | None
    contacted_ci: tuple[float, float]
    held_out: int
    held_out_reactivated: int
    held_out_rate: float | None
    held_out_ci: tuple[float, float]
    lift: float | None  # contacted rate - held-out rate, in points of probability
    added_reactivations: float | None  # contacted x lift: returns the outreach itself brought

    def as_json(self) -> dict[str, Any]:
        d = asdict(self)
        for k in ("contacted_rate", "held_out_rate", "lift", "added_reactivations"):
            d[k] = None if d[k] is None else round(d[k], 4)
        for k in ("contacted_ci", "held_out_ci"):
            d[k] = [round(x, 4) for x in d[k]]
        return d


@dataclass(frozen=True)
class Report:
    months: tuple[str, ...]
    rows: tuple[Row, ...]  # per month, tier, channel (only buckets with anything in them)
    totals: tuple[Row, ...]  # per tier and channel over the months shown
    lift: tuple[Lift, ...]
    flags: tuple[str, ...]
    # recall reminders (healthcare, exempt): per month and channel, then "all"; kept out of the rows above
    recall: tuple[Row, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {
            "months": list(self.months),
            "rows": [r.as_json() for r in self.rows],
            "totals": [r.as_json() for r in self.totals],
            "lift": [x.as_json() for x in self.lift],
            "flags": list(self.flags),
            "recall": [r.as_json() for r in self.recall],
        }


def _sums(
    counts: Counts, months: Iterable[str] | None
) -> dict[tuple[str, str, str], dict[str, tuple[int, int]]]:
    """(month, tier, channel) -> kind -> (events, cents); month "all" sums the months."""
    keep = set(months) if months is not None else None
    out: dict[tuple[str, str, str], dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    for (m, t, ch, k), (n, c) in counts.items():
        if keep is not None and m not in keep:
            continue
        for bucket in ((m, t, ch), ("all", t, ch)):
            acc = out[bucket][k]
            acc[0] += n
            acc[1] += c
    return {b: {k: (v[0], v[1]) for k, v in kinds.items()} for b, kinds in out.items()}


def _row(month: str, tier: str, channel: str, kinds: dict[str, tuple[int, int]], rules: OutreachRules) -> Row:
    def n(kind: str) -> int:
        return kinds.get(kind, (0, 0))[0]

    attempts, responded, reactivated = n("sent"), n("responded"), n("reactivated")
    revenue = kinds.get("revenue", (0, 0))[1] / 100.0
    cost = cost_of(kinds).total  # per-attempt charges plus call minutes (outcomes/cost.py)
    return Row(
        month,
        tier,
        channel,
        attempts,
        n("reached"),
        responded,
        reactivated,
        responded / attempts if attempts else None,
        wilson_interval(responded, attempts),
        reactivated / attempts if attempts else None,
        wilson_interval(reactivated, attempts),
        revenue,
        cost,
        cost / reactivated if reactivated else None,
        (revenue - cost) / cost if cost > 0 else None,
        rules.expected_response.get(tier, {}).get(channel),
    )


def build_report(counts: Counts, rules: OutreachRules, months: Iterable[str] | None = None) -> Report:
    sums = _sums(counts, months)
    shown = sorted({m for (m, _, ch) in sums if m != "all" and ch in CHANNELS}, reverse=True)
    order = {t: i for i, t in enumerate(TIERS)}
    chan = {c: i for i, c in enumerate(CHANNELS)}

    def key(b: tuple[str, str, str]) -> tuple[Any, ...]:
        m, t, ch = b
        return (m != "all", [-ord(x) for x in m], order.get(t, 9), t, chan.get(ch, 9))

    rows, totals, recall = [], [], []
    for b in sorted(sums, key=key):
        m, t, ch = b
        if ch not in CHANNELS:
            continue
        r = _row(m, t, ch, sums[b], rules)
        if r.attempts == 0 and not sums[b].get("holdout"):
            continue
        if t == RECALL_TIER:
            recall.append(r)
            continue
        (totals if m == "all" else rows).append(r)
    lift = tuple(_lift(t, sums) for t in sorted({t for (_, t, _) in sums if t in order}, key=order.get))
    latest = shown[0] if shown else None
    flags = tuple(_flag(r, latest == r.month) for r in rows if r.month == latest and _below(r))
    return Report(tuple(shown), tuple(rows), tuple(totals), lift, flags, tuple(recall))


def _lift(tier: str, sums: dict[str, Any]) -> Lift:
    c = h = cr = hr = 0
    for (m, t, ch), kinds in sums.items():
        if m != "all" or t != tier or ch not in CHANNELS:
            continue
        c += kinds.get("sent", (0, 0))[0]
        cr += kinds.get("reactivated", (0, 0))[0]
        h += kinds.get("holdout", (0, 0))[0]
        hr += kinds.get("holdout_reactivated", (0, 0))[0]
    c_rate = cr / c if c else None
    h_rate = hr / h if h else None
    lift = c_rate - h_rate if c_rate is not None and h_rate is not None else None
    return Lift(
        tier,
        c,
        cr,
        c_rate,
        wilson_interval(cr, c),
        h,
        hr,
        h_rate,
        wilson_interval(hr, h),
        lift,
        c * lift if lift is not None else None,
    )


def _below(r: Row) -> bool:
    return (
        r.expected_response is not None
        and r.response_rate is not None
        and r.attempts >= MIN_ATTEMPTS_TO_FLAG
        and r.response_rate < r.expected_response[0]
    )


def _flag(r: Row, this_month: bool) -> str:
    low, high = r.expected_response or (0.0, 0.0)
    lo, hi = r.response_ci
    when = "this month" if this_month else f"in {r.month}"
    return (
        f"{r.tier}-tier {r.channel.replace('_', ' ')} response {r.response_rate:.0%} {when} "
        f"({r.responded} of {r.attempts}, 95% interval {lo:.0%}-{hi:.0%}), expected {low:.0%}-{high:.0%}: "
        f"{ADVICE}"
    )


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x:.0%}"


def _money(x: float | None) -> str:
    return "-" if x is None else f"${x:,.0f}" if abs(x) >= 100 else f"${x:,.2f}"


def render(report: Report) -> str:
    """Plain text for `receptionist stats`."""
    if not report.rows and not report.recall:
        return "no outcomes yet: run a campaign (`receptionist campaign run`), then look again"
    lines = []
    head = (
        f"  {'tier':<5} {'channel':<10} {'sent':>6} {'reached':>7} {'resp':>5} {'rate (95%)':>15} "
        f"{'react':>5} {'rate (95%)':>15} {'revenue':>10} {'cost':>9} {'cost/react':>10} {'ROI':>7} "
        f"{'expected':>9}"
    )

    def line(r: Row) -> str:
        exp = f"{r.expected_response[0]:.0%}-{r.expected_response[1]:.0%}" if r.expected_response else "-"
        return (
            f"  {r.tier:<5} {r.channel:<10} {r.attempts:>6} {r.reached:>7} {r.responded:>5} "
            f"{_pct(r.response_rate):>4} ({_pct(r.response_ci[0])}-{_pct(r.response_ci[1])}) "
            f"{r.reactivated:>5} {_pct(r.reactivation_rate):>4} "
            f"({_pct(r.reactivation_ci[0])}-{_pct(r.reactivation_ci[1])}) {_money(r.revenue):>10} "
            f"{_money(r.cost):>9} {_money(r.cost_per_reactivation):>10} "
            f"{'-' if r.roi is None else f'{r.roi:.1f}x':>7} {exp:>9}"
        )

    for month in report.months:
        if not any(r.month == month and r.attempts for r in report.rows):
            continue  # a month of recall reminders only: they are shown apart, below
        lines.append(f"{month}: contacts made that month, and what came of them")
        lines.append(head)
        lines += [line(r) for r in report.rows if r.month == month and r.attempts]
    if len(report.months) > 1:
        lines.append("all months")
        lines.append(head)
        lines += [line(r) for r in report.totals if r.attempts]
    lines.append(f"cost: {INCLUDES}, the same figure as `campaign status` and the dashboard")
    lines.append("true lift: reactivation among contacted vs held-out (not contacted) patients")
    for x in report.lift:
        lift = (
            "-"
            if x.lift is None
            else f"{x.lift * 100:+.1f} points, about {x.added_reactivations:.0f} returns the outreach added"
        )
        lines.append(
            f"  {x.tier:<5} contacted {_pct(x.contacted_rate)} ({x.contacted_reactivated}/{x.contacted}), "
            f"held out {_pct(x.held_out_rate)} ({x.held_out_reactivated}/{x.held_out}): {lift}"
        )
    for f in report.flags:
        lines.append("! " + f)
    if report.recall:
        lines.append("recall reminders (healthcare messages, counted apart from reactivation above)")
        lines.append(f"  {'month':<7}" + head)
        lines += [f"  {r.month:<7}" + line(r) for r in report.recall if r.attempts]
    return "\n".join(lines)
