"""Three policies side by side over many replications: the figures `hotline-bridge simulate`
prints and benchmarks/surge.py reproduces at 10,000 replications."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from routing.simulation.engine import POLICIES, Outcome, PolicyName, simulate
from routing.simulation.scenario import Scenario


@dataclass
class Totals:
    """Summed counts of one policy, per centre in scenario order."""

    offered: list[int]
    early_released: list[int]
    support_starts: int = 0
    queue_adds: int = 0
    ami_actions: int = 0
    stand_downs: int = 0
    replications: int = 0

    @classmethod
    def empty(cls, centres: int) -> Totals:
        return cls([0] * centres, [0] * centres)

    def add(self, outcome: Outcome) -> None:
        for i, (offered, released) in enumerate(
            zip(outcome.offered, outcome.early_released, strict=True)
        ):
            self.offered[i] += offered
            self.early_released[i] += released
        self.support_starts += outcome.support_starts
        self.queue_adds += outcome.queue_adds
        self.ami_actions += outcome.ami_actions
        self.stand_downs += outcome.stand_downs
        self.replications += 1

    def merge(self, other: Totals) -> None:
        for i in range(len(self.offered)):
            self.offered[i] += other.offered[i]
            self.early_released[i] += other.early_released[i]
        self.support_starts += other.support_starts
        self.queue_adds += other.queue_adds
        self.ami_actions += other.ami_actions
        self.stand_downs += other.stand_downs
        self.replications += other.replications


@dataclass
class Comparison:
    scenario: Scenario
    totals: dict[PolicyName, Totals] = field(default_factory=dict)

    def merge(self, other: Comparison) -> None:
        for policy, totals in other.totals.items():
            if policy in self.totals:
                self.totals[policy].merge(totals)
            else:
                self.totals[policy] = totals

    def figures(self, policy: PolicyName) -> dict[str, Any]:
        """One policy's block of the `--json` object: rates are early releases / arrivals in the
        window, as fractions."""
        totals = self.totals[policy]
        runs = max(totals.replications, 1)
        codes = [c.code for c in self.scenario.centres]
        surged = set(self.scenario.surged_codes)
        rates = {
            code: _rate(totals.early_released[i], totals.offered[i]) for i, code in enumerate(codes)
        }
        pick = [i for i, code in enumerate(codes) if code in surged]
        others = [rates[code] for code in codes if code not in surged]
        return {
            "surged_rate": _rate(
                sum(totals.early_released[i] for i in pick), sum(totals.offered[i] for i in pick)
            ),
            "overall_rate": _rate(sum(totals.early_released), sum(totals.offered)),
            "worst_other_rate": max(others, default=0.0),
            "centre_rates": rates,
            "offered": sum(totals.offered),
            "early_released": sum(totals.early_released),
            "support_starts_per_replication": totals.support_starts / runs,
            "queue_adds_per_replication": totals.queue_adds / runs,
            "ami_actions_per_replication": totals.ami_actions / runs,
            "stand_downs_per_replication": totals.stand_downs / runs,
        }

    def to_json(self, seed: int) -> dict[str, Any]:
        replications = max((t.replications for t in self.totals.values()), default=0)
        return {
            "scenario": self.scenario.name,
            "window_s": self.scenario.window_s,
            "seed": seed,
            "replications": replications,
            "policies": {policy: self.figures(policy) for policy in self.totals},
        }


def _rate(released: int, offered: int) -> float:
    return released / offered if offered else 0.0


def compare(
    scenario: Scenario,
    seed: int,
    replications: Iterable[int],
    policies: Iterable[PolicyName] = POLICIES,
) -> Comparison:
    """Run each replication number under each policy (the same callers for every policy)."""
    chosen = tuple(policies)
    comparison = Comparison(scenario, {p: Totals.empty(len(scenario.centres)) for p in chosen})
    for replication in replications:
        for policy in chosen:
            comparison.totals[policy].add(simulate(scenario, policy, seed, replication))
    return comparison


def table(comparison: Comparison) -> str:
    """The three-policy table as text, for people."""
    codes = comparison.scenario.surged_codes
    surged = (", ".join(codes) or "-") if len(codes) <= 2 else f"{len(codes)} centres"
    lines = [
        f"{comparison.scenario.name}: window {comparison.scenario.window_s:.0f} s, "
        f"early-release rate of calls arriving in the window",
        f"{'policy':<10} {'surged (' + surged + ')':>22} {'all calls':>10} {'worst other':>12} "
        f"{'offered':>9} {'released':>9} {'AMI actions/run':>16}",
    ]
    for policy in comparison.totals:
        f = comparison.figures(policy)
        lines.append(
            f"{policy:<10} {f['surged_rate']:>22.2%} {f['overall_rate']:>10.2%} "
            f"{f['worst_other_rate']:>12.2%} {f['offered']:>9} {f['early_released']:>9} "
            f"{f['ami_actions_per_replication']:>16.1f}"
        )
    return "\n".join(lines)
