"""Play calls and explain failures: shared by the pytest harness and the report."""

from __future__ import annotations

from dataclasses import dataclass

from tests.calls.harness import CallSpec, Checker, Failure, Played, play
from tests.calls.practice import World


@dataclass
class Result:
    spec: CallSpec
    played: Played
    failures: list[Failure]

    @property
    def passed(self) -> bool:
        return not self.failures

    @property
    def behaves(self) -> bool:
        """Passes but for outcome fields the rebuilt engine is to add (triage, identity, language)."""
        return all(f.missing_field for f in self.failures)

    def explain(self, *, transcript: bool = True) -> str:
        lines = [f"{self.spec.id} ({self.spec.file}): {self.spec.what}"]
        lines += [f"  FAILED {f}" for f in self.failures]
        if self.played.missing:
            lines.append(
                f"  (the outcome lacks {', '.join(dict.fromkeys(self.played.missing))}: read from the store)"
            )
        if transcript:
            o = self.played.outcome
            brief = {
                k: o.get(k) for k in ("route", "transfer", "appointment", "triage", "identity") if k in o
            }
            lines.append(f"  outcome: {brief}")
            lines += [f"    {line}" for line in self.played.transcript().splitlines()]
        return "\n".join(lines)


def run_one(world: World, spec: CallSpec) -> Result:
    played = play(world, spec)
    return Result(spec, played, Checker(played).failures())
