"""The Results page's sequence tables: the response by step and tier, and the cost per reactivation by sequence
(`outcomes/steps.py` computes them; this only lays them out, with their CSVs)."""

from __future__ import annotations

from typing import Any

from receptionist.dashboard.formatting import channel
from receptionist.dashboard.results import Table


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x:.0%}"


def _money(x: float | None) -> str:
    return "-" if x is None else f"${x:,.2f}"


def step_tables(report: dict[str, Any]) -> list[Table]:
    """Two tables, or none before any sequence step went out."""
    if not report["steps"]:
        return []
    steps = report["steps"]
    seqs = report["sequences"]
    return [
        Table(
            "steps",
            "Response by step and tier",
            "Each step of each sequence that went out, and the responses its contact earned (last touch).",
            ["Tier", "Sequence", "Step", "Channel", "Sent", "Responded", "Rate"],
            [
                [
                    r["tier"],
                    r["sequence"],
                    str(r["step"] + 1),
                    channel(r["channel"]),
                    f"{r['sent']:,}",
                    f"{r['responded']:,}",
                    _pct(r["response_rate"]),
                ]
                for r in steps
            ],
            ["tier", "sequence", "step", "channel", "sent", "responded", "response_rate"],
            [
                [
                    r["tier"],
                    r["sequence"],
                    r["step"],
                    r["channel"],
                    r["sent"],
                    r["responded"],
                    r["response_rate"],
                ]
                for r in steps
            ],
        ),
        Table(
            "sequences",
            "Cost per reactivation by sequence",
            "A patient counts once however many steps went out; cost is per-attempt charges plus call minutes.",
            ["Tier", "Sequence", "Patients", "Contacts", "Responded", "Returned", "Cost", "Cost per return"],
            [
                [
                    r["tier"],
                    r["sequence"],
                    f"{r['patients']:,}",
                    f"{r['contacts']:,}",
                    f"{r['responded']:,}",
                    f"{r['reactivated']:,}",
                    _money(r["cost"]),
                    _money(r["cost_per_reactivation"]),
                ]
                for r in seqs
            ],
            [
                "tier",
                "sequence",
                "patients",
                "contacts",
                "responded",
                "reactivated",
                "cost",
                "cost_per_reactivation",
            ],
            [
                [
                    r["tier"],
                    r["sequence"],
                    r["patients"],
                    r["contacts"],
                    r["responded"],
                    r["reactivated"],
                    r["cost"],
                    r["cost_per_reactivation"],
                ]
                for r in seqs
            ],
        ),
    ]
