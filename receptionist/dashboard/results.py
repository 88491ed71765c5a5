"""The Results page's tables and charts, built from the outcome report and the run's tier mix. Pure: the same
numbers go to the table, the CSV download and the chart (a Chart.js configuration, plain JSON)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from receptionist.dashboard import formatting as f
from receptionist.outcomes.cost import INCLUDES
from receptionist.outcomes.report import Report

TIER_COLOURS = {"high": "#1d6f8b", "mid": "#e0a43a", "low": "#8c97a3", "none": "#c4c9cf"}
SERIES = ["#1d6f8b", "#e0a43a", "#6a4c93", "#2a9d8f", "#d1495b", "#8c97a3", "#4f772d", "#b5838d"]


@dataclass(frozen=True)
class Table:
    name: str  # also the CSV's file name
    title: str
    note: str
    header: list[str]
    rows: list[list[str]]
    csv_header: list[str]
    csv_rows: list[list[Any]]
    chart: dict[str, Any] | None = field(default=None)


def _r(x: float | None, digits: int = 4) -> float | None:
    return None if x is None else round(x, digits)


def _bar(
    labels: list[str],
    datasets: list[dict[str, Any]],
    *,
    percent: bool = False,
    stacked: bool = False,
    kind: str = "bar",
    y_title: str = "",
) -> dict[str, Any]:
    y: dict[str, Any] = {
        "beginAtZero": True,
        "stacked": stacked,
        "title": {"display": bool(y_title), "text": y_title},
    }
    return {
        "type": kind,
        "data": {"labels": labels, "datasets": datasets},
        "options": {
            "responsive": True,
            "maintainAspectRatio": False,
            "animation": False,
            "scales": {"x": {"stacked": stacked}, "y": y},
            "plugins": {"legend": {"position": "bottom"}},
        },
    }


def tiers_table(mix: list[dict[str, Any]]) -> Table:
    labels = [f.tier(m["tier"]) for m in mix]
    chart = _bar(
        labels,
        [
            {
                "label": "Active",
                "data": [m["patients"] - m["lapsed"] for m in mix],
                "backgroundColor": "#2a9d8f",
            },
            {"label": "Lapsed", "data": [m["lapsed"] for m in mix], "backgroundColor": "#d1495b"},
        ],
        stacked=True,
        y_title="patients",
    )
    return Table(
        "tiers",
        "Tier mix and value at risk",
        "Patients per value tier in the latest score run. Yearly spend at risk: what the lapsed patients spent a "
        "year (recent years weighted most). Patient value at risk: the same patients' patient value (PLV), "
        "their yearly spend weighted up for tenure, departments used and bills paid; also per year, so "
        "it runs above the yearly spend.",
        [
            "Tier",
            "Patients",
            "Lapsed",
            "Yearly spend at risk",
            "Patient value at risk (PLV, per year)",
            "Expected next 12 months",
        ],
        [
            [
                f.tier(m["tier"]),
                f"{m['patients']:,}",
                f"{m['lapsed']:,}",
                f.money(m["annual_at_risk"]),
                f.money(m["plv_at_risk"]),
                f.money(m["expected_12m"]),
            ]
            for m in mix
        ],
        [
            "tier",
            "patients",
            "lapsed",
            "annual_value_at_risk",
            "plv_at_risk_per_year",
            "expected_value_12m",
        ],
        [
            [
                m["tier"],
                m["patients"],
                m["lapsed"],
                round(m["annual_at_risk"], 2),
                round(m["plv_at_risk"], 2),
                round(m["expected_12m"], 2),
            ]
            for m in mix
        ],
        chart,
    )


def expected_table(report: Report) -> Table:
    rows = [r for r in report.totals if r.attempts]
    labels = [f"{f.tier(r.tier)} · {f.channel(r.channel)}" for r in rows]
    chart = _bar(
        labels,
        [
            {
                "label": "Response rate (%)",
                "data": [_r((r.response_rate or 0) * 100, 1) for r in rows],
                "backgroundColor": "#1d6f8b",
            },
            {
                "label": "Expected range (%)",
                "backgroundColor": "rgba(224,164,58,0.45)",
                "data": [
                    [round(r.expected_response[0] * 100, 1), round(r.expected_response[1] * 100, 1)]
                    if r.expected_response
                    else None
                    for r in rows
                ],
            },
        ],
        y_title="% of contacts",
    )
    return Table(
        "expected",
        "Response against the expected range (all months)",
        "A bar below the shaded range means the channel does worse for that tier than practices usually see.",
        ["Tier", "Channel", "Sent", "Responded", "Response rate (95% interval)", "Expected"],
        [
            [
                f.tier(r.tier),
                f.channel(r.channel),
                f"{r.attempts:,}",
                f"{r.responded:,}",
                f"{f.pct(r.response_rate, 1)} ({f.pct(r.response_ci[0])}-{f.pct(r.response_ci[1])})",
                f.pct_range(r.expected_response),
            ]
            for r in rows
        ],
        [
            "tier",
            "channel",
            "sent",
            "responded",
            "response_rate",
            "response_ci_low",
            "response_ci_high",
            "expected_low",
            "expected_high",
        ],
        [
            [
                r.tier,
                r.channel,
                r.attempts,
                r.responded,
                _r(r.response_rate),
                _r(r.response_ci[0]),
                _r(r.response_ci[1]),
                r.expected_response[0] if r.expected_response else None,
                r.expected_response[1] if r.expected_response else None,
            ]
            for r in rows
        ],
        chart,
    )


def month_range(months: list[str]) -> list[str]:
    """Every month (YYYY-MM) from the first to the last given, so a chart never skips a month without data."""
    if not months:
        return []
    first, last = min(months), max(months)
    year, month = int(first[:4]), int(first[5:7])
    out = []
    while f"{year:04d}-{month:02d}" <= last:
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def monthly_table(report: Report) -> Table:
    rows = [r for r in report.rows if r.attempts]
    months = month_range(list(report.months))
    buckets = sorted(
        {(r.tier, r.channel) for r in rows},
        key=lambda b: (["high", "mid", "low"].index(b[0]) if b[0] in ("high", "mid", "low") else 9, b[1]),
    )
    by = {(r.month, r.tier, r.channel): r for r in rows}
    datasets = []
    for i, (t, ch) in enumerate(buckets):
        colour = SERIES[i % len(SERIES)]
        datasets.append(
            {
                "label": f"{f.tier(t)} · {f.channel(ch)} response %",
                "borderColor": colour,
                "backgroundColor": colour,
                "spanGaps": True,
                "data": [
                    _r((by[(m, t, ch)].response_rate or 0) * 100, 1) if (m, t, ch) in by else None
                    for m in months
                ],
            }
        )
    chart = _bar(months, datasets, kind="line", y_title="% of contacts")
    return Table(
        "monthly",
        "Response and reactivation by month",
        "Contacts made in each month (a cohort) and what came of them; reactivation is a visit within the "
        "attribution window.",
        ["Month", "Tier", "Channel", "Sent", "Response rate", "Expected", "Reactivation rate"],
        [
            [
                r.month,
                f.tier(r.tier),
                f.channel(r.channel),
                f"{r.attempts:,}",
                f.pct(r.response_rate, 1),
                f.pct_range(r.expected_response),
                f.pct(r.reactivation_rate, 1),
            ]
            for r in rows
        ],
        [
            "month",
            "tier",
            "channel",
            "sent",
            "reached",
            "responded",
            "reactivated",
            "response_rate",
            "expected_low",
            "expected_high",
            "reactivation_rate",
        ],
        [
            [
                r.month,
                r.tier,
                r.channel,
                r.attempts,
                r.reached,
                r.responded,
                r.reactivated,
                _r(r.response_rate),
                r.expected_response[0] if r.expected_response else None,
                r.expected_response[1] if r.expected_response else None,
                _r(r.reactivation_rate),
            ]
            for r in rows
        ],
        chart,
    )


def funnel_table(report: Report) -> Table:
    tiers: dict[str, list[int]] = {}
    for r in report.totals:
        acc = tiers.setdefault(r.tier, [0, 0, 0, 0])
        for i, v in enumerate((r.attempts, r.reached, r.responded, r.reactivated)):
            acc[i] += v
    order = [t for t in ("high", "mid", "low", "none") if t in tiers]
    stages = ["Contacted", "Reached", "Responded", "Reactivated"]
    chart = _bar(
        stages,
        [{"label": f.tier(t), "data": tiers[t], "backgroundColor": TIER_COLOURS[t]} for t in order],
        y_title="patients",
    )
    return Table(
        "funnel",
        "Funnel per tier (all months)",
        "Of the patients contacted, how many were reached, responded and came back.",
        ["Tier", *stages, "Reached %", "Reactivated %"],
        [
            [
                f.tier(t),
                *(f"{v:,}" for v in tiers[t]),
                f.pct(tiers[t][1] / tiers[t][0] if tiers[t][0] else None),
                f.pct(tiers[t][3] / tiers[t][0] if tiers[t][0] else None, 1),
            ]
            for t in order
        ],
        ["tier", "contacted", "reached", "responded", "reactivated"],
        [[t, *tiers[t]] for t in order],
        chart,
    )


def lift_table(report: Report) -> Table:
    rows = list(report.lift)
    chart = _bar(
        [f.tier(x.tier) for x in rows],
        [
            {
                "label": "Contacted: came back %",
                "data": [_r((x.contacted_rate or 0) * 100, 2) for x in rows],
                "backgroundColor": "#1d6f8b",
            },
            {
                "label": "Held out: came back %",
                "data": [_r((x.held_out_rate or 0) * 100, 2) for x in rows],
                "backgroundColor": "#8c97a3",
            },
        ],
        y_title="% reactivated",
    )
    return Table(
        "lift",
        "Lift versus hold-out",
        "Reactivation among contacted patients against a random hold-out that was "
        "not contacted: the difference is what the outreach itself brought back.",
        ["Tier", "Contacted", "Came back", "Held out", "Came back", "Lift", "Returns added"],
        [
            [
                f.tier(x.tier),
                f"{x.contacted:,}",
                f.pct(x.contacted_rate, 1),
                f"{x.held_out:,}",
                f.pct(x.held_out_rate, 1),
                "-" if x.lift is None else f"{x.lift * 100:+.1f} pts",
                "-" if x.added_reactivations is None else f"{x.added_reactivations:.0f}",
            ]
            for x in rows
        ],
        [
            "tier",
            "contacted",
            "contacted_reactivated",
            "contacted_rate",
            "held_out",
            "held_out_reactivated",
            "held_out_rate",
            "lift",
            "added_reactivations",
        ],
        [
            [
                x.tier,
                x.contacted,
                x.contacted_reactivated,
                _r(x.contacted_rate),
                x.held_out,
                x.held_out_reactivated,
                _r(x.held_out_rate),
                _r(x.lift),
                _r(x.added_reactivations, 2),
            ]
            for x in rows
        ],
        chart,
    )


def money_table(report: Report) -> Table:
    rows = [r for r in report.totals if r.attempts]
    labels = [f"{f.tier(r.tier)} · {f.channel(r.channel)}" for r in rows]
    chart = _bar(
        labels,
        [
            {
                "label": "Cost per reactivation ($)",
                "data": [_r(r.cost_per_reactivation, 2) for r in rows],
                "backgroundColor": "#d1495b",
            },
            {"label": "Revenue ($)", "data": [_r(r.revenue, 2) for r in rows], "backgroundColor": "#2a9d8f"},
        ],
        y_title="dollars",
    )
    return Table(
        "money",
        "Cost per reactivation and ROI (all months)",
        f"Cost is the {INCLUDES} (the figure the Campaigns page shows); revenue is "
        "the attributed visits. ROI = (revenue - cost) / cost.",
        ["Tier", "Channel", "Cost", "Reactivated", "Cost per reactivation", "Revenue", "ROI"],
        [
            [
                f.tier(r.tier),
                f.channel(r.channel),
                f.money(r.cost),
                f"{r.reactivated:,}",
                f.money(r.cost_per_reactivation),
                f.money(r.revenue),
                f.ratio(r.roi),
            ]
            for r in rows
        ],
        ["tier", "channel", "cost", "reactivated", "cost_per_reactivation", "revenue", "roi"],
        [
            [
                r.tier,
                r.channel,
                round(r.cost, 2),
                r.reactivated,
                _r(r.cost_per_reactivation, 2),
                round(r.revenue, 2),
                _r(r.roi),
            ]
            for r in rows
        ],
        chart,
    )


def build_tables(report: Report, mix: list[dict[str, Any]]) -> list[Table]:
    return [
        tiers_table(mix),
        expected_table(report),
        monthly_table(report),
        funnel_table(report),
        lift_table(report),
        money_table(report),
    ]
