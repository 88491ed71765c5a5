"""What outreach costs, defined once: every figure the practice reads (`campaign status`, the Campaigns page,
`stats`, Results) is this sum, so the same campaign never shows two prices.

Cost = the per-attempt charges (one `sent` event per attempt that went out, at the channel's price per
contact) + the call minutes (one `talk` event per call that connected, every started minute at the channel's
per-minute rate). Both are outcome events, written once per attempt with their amount in cents, so summing
them per campaign, per tier and channel or per month gives figures that add up to each other.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import func, select

from receptionist.store import OutcomeEvent, Store

CHARGE_KIND, MINUTES_KIND = "sent", "talk"
COST_KINDS = (CHARGE_KIND, MINUTES_KIND)
INCLUDES = "per-attempt charges plus call minutes"


@dataclass(frozen=True)
class Cost:
    """A cost in cents, split into its two parts; `total` is the one figure shown everywhere."""

    charges_cents: int = 0
    minutes_cents: int = 0

    @property
    def charges(self) -> float:
        return self.charges_cents / 100.0

    @property
    def minutes(self) -> float:
        return self.minutes_cents / 100.0

    @property
    def total(self) -> float:
        return (self.charges_cents + self.minutes_cents) / 100.0

    def as_json(self) -> dict[str, float]:
        return {
            "total": round(self.total, 2),
            "charges": round(self.charges, 2),
            "minutes": round(self.minutes, 2),
        }


def cost_of(kinds: Mapping[str, tuple[int, int]]) -> Cost:
    """The cost of one bucket of outcome counts (kind -> (events, cents))."""
    return Cost(kinds.get(CHARGE_KIND, (0, 0))[1], kinds.get(MINUTES_KIND, (0, 0))[1])


def campaign_cost(store: Store, campaign_id: str) -> Cost:
    """A campaign's cost so far, from its outcome events (one GROUP BY)."""
    with store.sessions() as s:
        rows = s.execute(
            select(OutcomeEvent.kind, func.count(), func.coalesce(func.sum(OutcomeEvent.amount_cents), 0))
            .where(OutcomeEvent.campaign_id == campaign_id, OutcomeEvent.kind.in_(COST_KINDS))
            .group_by(OutcomeEvent.kind)
        ).all()
    return cost_of({kind: (int(n), int(cents)) for kind, n, cents in rows})
