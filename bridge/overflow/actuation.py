"""One AMI step per call, idempotent, never raising: the step's outcome goes to the audit trail
and a failed step is simply tried again by the controller's next reconciliation.

"Already there" (QueueAdd) and "Not there" (QueueRemove) mean the PBX is already as wanted;
"No such caller" / "Already requested" (QueueWithdrawCaller) mean the caller has moved on.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from bridge.overflow.audit import AuditEntry, AuditLog
from routing.overflow import Loan
from telephony.ami.client import ActionResult
from telephony.ami.errors import AMIError

# (action, headers) -> the reply; AMIClient.action fits, tests may wrap it.
SendAction = Callable[..., Awaitable[ActionResult]]
ACTION_TIME_LIMIT_S = 3.0


def loan_detail(loan: Loan) -> dict[str, str]:
    return {
        "member": loan.member,
        "donor": loan.donor,
        "recipient": loan.recipient,
        "queue": loan.queue,
        "penalty": str(loan.penalty),
    }


class Actuator:
    def __init__(self, send: SendAction, audit: AuditLog) -> None:
        self.send = send
        self.audit = audit
        self.failures = 0

    async def lend(
        self, loan: Loan, paused: bool, member_name: str, state_interface: str, why: str, t: float
    ) -> bool:
        headers = {
            "Queue": loan.queue,
            "Interface": loan.member,
            "Penalty": str(loan.penalty),
            "Paused": "true" if paused else "false",
            "MemberName": member_name,
            "StateInterface": state_interface,
            "Reason": "overflow",
        }
        detail = {**loan_detail(loan), "paused": str(paused).lower()}
        outcome, error = await self._step("QueueAdd", headers, "Already there")
        if outcome == "already":
            # Someone put it there before (a restart, an operator): make penalty and pause ours.
            outcome, error = await self._converge(loan, paused)
        await self._record("lend", outcome, detail, why, error, t)
        return outcome != "failed"

    async def give_back(self, loan: Loan, why: str, t: float) -> bool:
        headers = {"Queue": loan.queue, "Interface": loan.member}
        outcome, error = await self._step("QueueRemove", headers, "Not there")
        await self._record("return", outcome, loan_detail(loan), why, error, t)
        return outcome != "failed"

    async def pause(self, loan: Loan, paused: bool, why: str, t: float) -> bool:
        headers = {
            "Queue": loan.queue,
            "Interface": loan.member,
            "Paused": "true" if paused else "false",
            "Reason": "overflow reserve",
        }
        outcome, error = await self._step("QueuePause", headers, None)
        await self._record(
            "pause" if paused else "resume", outcome, loan_detail(loan), why, error, t
        )
        return outcome != "failed"

    async def withdraw(self, queue: str, channel: str, exten: str, why: str, t: float) -> bool:
        headers = {"Queue": queue, "Caller": channel, "WithdrawInfo": exten}
        outcome, error = await self._step(
            "QueueWithdrawCaller", headers, "No such caller", "Already requested"
        )
        detail = {"queue": queue, "caller": channel, "to": exten}
        await self._record("withdraw", outcome, detail, why, error, t)
        return outcome != "failed"

    async def _converge(self, loan: Loan, paused: bool) -> tuple[str, str]:
        penalty = {"Queue": loan.queue, "Interface": loan.member, "Penalty": str(loan.penalty)}
        outcome, error = await self._step("QueuePenalty", penalty, None)
        if outcome == "failed":
            return outcome, error
        pause = {
            "Queue": loan.queue,
            "Interface": loan.member,
            "Paused": "true" if paused else "false",
        }
        outcome, error = await self._step("QueuePause", pause, None)
        return ("already", "") if outcome == "done" else (outcome, error)

    async def _step(
        self, action: str, headers: dict[str, str], *already: str | None
    ) -> tuple[str, str]:
        """("done" | "already" | "failed", error text)."""
        try:
            await self.send(action, time_limit=ACTION_TIME_LIMIT_S, **headers)
        except AMIError as error:  # includes timeouts and a lost connection
            if any(text and text.lower() in error.message.lower() for text in already):
                return "already", ""
            self.failures += 1
            return "failed", str(error)
        except OSError as error:
            self.failures += 1
            return "failed", f"AMI {action}: {error}"
        return "done", ""

    async def _record(
        self, kind: str, outcome: str, detail: dict[str, str], why: str, error: str, t: float
    ) -> None:
        await self.audit.record(AuditEntry(kind, outcome, detail, why, error, t))
