"""What the next plan learns from the outcome log: a response-rate posterior per tier and channel.

Prior: the practice's expected response range per tier and channel (its midpoint, worth `prior_strength`
attempts). Data: `responded` out of `sent` in the log, every month. A tier switches from the fixed default
order to Thompson sampling once the log holds `LEARN_AFTER` attempts in it (`scoring.outcomes.thompson_choices`:
per patient, the channel with the best drawn value x p - cost, with an exploration floor).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import numpy as np

from receptionist.config.practice import OutreachRules
from receptionist.outcomes.events import CHANNELS, TIERS
from receptionist.outcomes.log import Counts, store_counts
from receptionist.outcomes.steps import sequence_counts
from receptionist.store import Store
from scoring.outcomes import Beta, probability_best

LEARN_AFTER = 10  # attempts seen in a tier before its channels are chosen from its outcomes


@dataclass(frozen=True)
class ChannelBelief:
    tier: str
    channel: str
    attempts: int
    responded: int
    prior: Beta
    posterior: Beta

    @property
    def mean(self) -> float:
        return self.posterior.mean


@dataclass(frozen=True)
class Beliefs:
    by_tier: dict[str, dict[str, ChannelBelief]]

    def learning(self, tier: str) -> bool:
        return sum(b.attempts for b in self.by_tier.get(tier, {}).values()) >= LEARN_AFTER

    def posteriors(self, tier: str) -> dict[str, Beta]:
        return {ch: b.posterior for ch, b in self.by_tier.get(tier, {}).items()}

    def p_response(self, tier: str, channel: str) -> float:
        b = self.by_tier.get(tier, {}).get(channel)
        return b.mean if b is not None else 0.0


def beliefs_from(counts: Counts, rules: OutreachRules) -> Beliefs:
    sent: dict[tuple[str, str], int] = {}
    resp: dict[tuple[str, str], int] = {}
    for (_, t, ch, k), (n, _) in counts.items():
        if k == "sent":
            sent[(t, ch)] = sent.get((t, ch), 0) + n
        elif k == "responded":
            resp[(t, ch)] = resp.get((t, ch), 0) + n
    by_tier: dict[str, dict[str, ChannelBelief]] = {}
    for t in TIERS:
        by_tier[t] = {}
        for ch in CHANNELS:
            low, high = rules.expected_response.get(t, {}).get(ch, (0.01, 0.05))
            prior = Beta.prior((low + high) / 2.0, rules.prior_strength)
            n, k = sent.get((t, ch), 0), resp.get((t, ch), 0)
            by_tier[t][ch] = ChannelBelief(t, ch, n, k, prior, prior.update(k, n))
    return Beliefs(by_tier)


def load_beliefs(store: Store, rules: OutreachRules) -> Beliefs:
    return beliefs_from(store_counts(store, kinds=("sent", "responded")), rules)


def seed_for(run_id: str) -> int:
    """The plan's random draws are seeded by its score run: the same run gives the same plan."""
    return int.from_bytes(hashlib.sha256(f"plan:{run_id}".encode()).digest()[:8], "big")


def mix_reasons(
    beliefs: Beliefs,
    planned: dict[str, dict[str, int]],
    values: dict[str, float],
    rules: OutreachRules,
    seed: int,
) -> dict[str, dict[str, Any]]:
    """Per tier: the channel mix planned, each channel's evidence, and a sentence saying why."""
    rng = np.random.default_rng(seed)
    out: dict[str, dict[str, Any]] = {}
    for t in TIERS:
        counts = planned.get(t, {})
        total = sum(counts.values())
        if not total:
            continue
        # the channels the planner can choose between for this tier (staff calls are for the high tier)
        direct = {
            ch: b
            for ch, b in beliefs.by_tier[t].items()
            if ch in ("ai_call", "sms", "email") or (ch == "staff_call" and t == "high")
        }
        value = values.get(t, 0.0)
        best = probability_best(
            rng, value, {ch: b.posterior for ch, b in direct.items()}, rules.expected_costs
        )
        channels = {}
        for ch, b in beliefs.by_tier[t].items():
            lo, hi = b.posterior.interval()
            channels[ch] = {
                "planned": counts.get(ch, 0),
                "attempts": b.attempts,
                "responded": b.responded,
                "p_response": round(b.mean, 4),
                "interval": [round(lo, 4), round(hi, 4)],
                "value_per_contact": round(value * b.mean - rules.expected_cost(ch), 2),
                "p_best": round(best.get(ch, 0.0), 3) if ch in best else None,
            }
        direct_counts = {ch: n for ch, n in counts.items() if ch != "general" and n}
        top = max(direct_counts or counts, key=lambda c: counts[c])
        if beliefs.learning(t) and direct_counts:
            b = beliefs.by_tier[t][top]
            seen = sum(x.attempts for x in beliefs.by_tier[t].values())
            why = (
                f"{t}: {top.replace('_', ' ')} for {counts[top] / total:.0%} of contacts, learned from {seen} "
                f"attempts: {b.responded}/{b.attempts} responded, P(response) {b.mean:.0%}, worth "
                f"${value * b.mean - rules.expected_cost(top):,.0f} a contact at the tier's median value "
                f"(${value:,.0f}); best in {best.get(top, 0.0):.0%} of posterior draws"
            )
            others = [f"{ch.replace('_', ' ')} {n}" for ch, n in direct_counts.items() if ch != top]
            if others:
                why += (
                    f"; still trying {', '.join(others)} (at least {rules.exploration_floor:.0%} exploration)"
                )
            if counts.get("general"):
                why += f"; {counts['general']} to the general campaign (no room or no lawful direct channel)"
        else:
            seen = sum(x.attempts for x in beliefs.by_tier[t].values())
            why = (
                f"{t}: the default order (staff call, AI call, text, email) until {LEARN_AFTER} attempts are "
                f"seen in this tier ({seen} so far); {top.replace('_', ' ')} for {counts[top] / total:.0%}"
            )
        out[t] = {"learning": beliefs.learning(t), "reason": why, "channels": channels}
    return out


# -- sequences (issue 16): the same learning, one level up ----------------------------------------------------
# A tier with several sequences in the practice file chooses among them by Thompson sampling once the log
# holds `LEARN_AFTER` patients who went through them; until then every patient gets the tier's first (default)
# sequence. A sequence's prior: the chance that at least one of its direct steps gets a response, from the
# steps' channel priors taken as independent touches; its data: patients who responded at any of its steps
# out of the patients it reached.


@dataclass(frozen=True)
class SequenceBeliefs:
    by_tier: dict[str, dict[str, ChannelBelief]]  # tier -> sequence name -> belief (`channel`: the name)

    def learning(self, tier: str) -> bool:
        by = self.by_tier.get(tier, {})
        return len(by) > 1 and sum(b.attempts for b in by.values()) >= LEARN_AFTER

    def posteriors(self, tier: str) -> dict[str, Beta]:
        return {name: b.posterior for name, b in self.by_tier.get(tier, {}).items()}


def sequence_prior(rules: OutreachRules, tier: str, channels: tuple[str, ...]) -> float:
    """P(a response at one of the steps at least), the steps' expected-response midpoints as independent."""
    miss = 1.0
    for ch in channels:
        low, high = rules.expected_response.get(tier, {}).get(ch, (0.01, 0.05))
        miss *= 1.0 - (low + high) / 2.0
    return 1.0 - miss


def sequence_beliefs_from(
    reached: dict[tuple[str, str], int],
    responded: dict[tuple[str, str], int],
    rules: OutreachRules,
    plans: dict[str, tuple[str, tuple[str, ...]]],
) -> SequenceBeliefs:
    """`plans`: sequence name -> (tier, its channels); counts keyed by (tier, sequence name)."""
    by_tier: dict[str, dict[str, ChannelBelief]] = {}
    for name, (tier, channels) in plans.items():
        prior = Beta.prior(sequence_prior(rules, tier, channels), rules.prior_strength)
        n, k = reached.get((tier, name), 0), responded.get((tier, name), 0)
        by_tier.setdefault(tier, {})[name] = ChannelBelief(
            tier, name, n, k, prior, prior.update(min(k, n), n)
        )
    return SequenceBeliefs(by_tier)


def load_sequence_beliefs(
    store: Store, rules: OutreachRules, plans: dict[str, tuple[str, tuple[str, ...]]]
) -> SequenceBeliefs:
    reached, responded = sequence_counts(store)
    return sequence_beliefs_from(reached, responded, rules, plans)
