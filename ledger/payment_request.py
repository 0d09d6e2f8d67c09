"""Payment request: what a member (or a payer for many members) is asked to pay, by VietQR.

Rule: the amount always comes from the ledger (arrears, this month, months
ahead), never from the caller. The money goes to the branch's registered
organisation account; a personal or treasury account needs an explicit
override with a reason, recorded as its own event for inspection. A request
expires, can be cancelled, and records every transfer that settles it; money
for an expired or cancelled request is still recorded, never lost.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from ledger.batching import record_applied
from ledger.errors import Conflict
from ledger.ids import NAMESPACE
from ledger.postings import Posting, acct, check_balanced, credit, debit

KINDS = ("member", "batch", "payroll")  # dues a payer is asked for
# Codes the ledger gives its own transfers, so the bank line that carries one is matched:
# a remittance to the parent, cash taken to the bank, a refund paid out of suspense.
TRANSFER_KINDS = ("remittance", "deposit", "refund")
STATUSES = ("open", "paid", "partly_paid", "expired", "cancelled")


@lru_cache(maxsize=65_536)  # matching a statement asks for the same ids many times
def request_id(code: str) -> UUID:
    return uuid5(NAMESPACE, f"request/{code}")


class PaymentRequest(Aggregate):
    @staticmethod
    def create_id(code: str, **_: Any) -> UUID:
        return request_id(code)

    @event("Created")
    def __init__(
        self,
        code: str,
        kind: str,
        branch_code: str,
        payer_name: str,
        payer_account: str | None,
        items: list[list[Any]],
        total: int,
        hint: str,
        target: dict[str, Any],
        payload: str,
        created_at: str,
        expires_at: str,
    ) -> None:
        self.code = code
        self.kind = kind
        self.branch_code = branch_code
        self.payer_name = payer_name
        self.payer_account = payer_account
        self.items = items  # [member_code, [periods], amount]
        self.total = total
        self.hint = hint
        self.target = target
        self.payload = payload
        self.created_at = created_at
        self.expires_at = expires_at
        self.override_reason: str | None = None
        self.cancelled_at: str | None = None
        self.received = 0
        self.held = 0
        self.paid_by_member: dict[str, int] = {}
        self.transfers: list[dict[str, Any]] = []
        self.seen: dict[str, str] = {}  # side ("in" | "out") -> bank transaction that cleared it
        self.reversed: list[str] = []  # transactions whose money the bank took back

    @event("TargetOverridden")
    def override_target(self, holder_kind: str, reason: str) -> None:
        self.override_reason = reason

    def cancel(self, reason: str, at: str) -> None:
        """Cancel the request; a retry changes nothing. A deposit's cash still in transit
        goes back to cash (`DepositCancelled`); one cancelled before 2026-11-24 (a plain
        `Cancelled`, its cash left in transit) is put back by cancelling it again."""
        if self.kind == "deposit" and self.in_transit() > 0:
            self._cancel_deposit(reason, at, self.in_transit())
            return
        if self.cancelled_at is not None:
            return
        if self.kind == "refund":  # the money is owed back whatever happens to the code
            raise Conflict(
                f"Không huỷ được yêu cầu hoàn trả {self.code}: khoản tiền vẫn phải trả lại "
                "(nợ hoàn trả). Dòng chi mang mã này, hoặc dòng ngân hàng hoàn lại giao dịch "
                "gốc, sẽ tất toán nó",
                f"Refund {self.code} cannot be cancelled: the money is still owed back "
                "(refunds_due). The outgoing line carrying this code, or the bank's "
                "return of the original line, settles it",
            )
        paid = self.total - self.in_transit() if self.kind == "deposit" else self.received
        if paid >= self.total:  # (a deposit's lines clear it; it receives no transfers)
            raise Conflict(
                f"Yêu cầu {self.code} đã được thanh toán, không huỷ được",
                f"Request {self.code} is already paid and cannot be cancelled",
            )
        self._cancel(reason, at)

    @event("Cancelled")
    def _cancel(self, reason: str, at: str) -> None:
        self.cancelled_at = at

    def _cancel_deposit(self, reason: str, at: str, amount: int) -> None:
        org = self.branch_code
        postings = [
            debit(acct(org, "assets", "cash"), amount),
            credit(acct(org, "assets", "deposits_in_transit"), amount),
        ]
        self._deposit_cancelled(reason, at, amount, check_balanced(postings))

    @event("DepositCancelled")
    def _deposit_cancelled(
        self, reason: str, at: str, amount: int, postings: list[Posting]
    ) -> None:
        """A cash deposit cancelled: `amount`, what was still in transit (not shown arriving
        on the account), is back in the treasurer's cash. What lines cleared stays in the
        bank; a later line with this code is not a deposit (it waits in suspense)."""
        self.cancelled_at = self.cancelled_at or at
        self.withdrawn = int(getattr(self, "withdrawn", 0)) + amount

    def has_transaction(self, transaction_id: str) -> bool:
        return any(t["transaction_id"] == transaction_id for t in self.transfers)

    @event("MoneyReceived")
    def receive(
        self,
        transaction_id: str,
        amount: int,
        received_at: str,
        status_at_receipt: str,
        shares: list[list[Any]],
        held: int,
        postings: list[Posting],
    ) -> None:
        """`shares`: `[member, amount, payment reference]` for each member paid from this transfer."""
        self._take(transaction_id, amount, received_at, status_at_receipt, shares, held)

    def take_transfer(
        self,
        transaction_id: str,
        amount: int,
        received_at: str,
        status_at_receipt: str,
        shares: list[list[Any]],
        held: int,
    ) -> list[Any]:
        """What `receive` does for a transfer that posts nothing, without its event yet: a
        bulk command records the transfers it took as one event when it saves
        (`record_taken`). Returns the item. Only through `UnitOfWork.receive_on_request`,
        whose `flush` records it: until then the request's state is ahead of its events."""
        self._take(transaction_id, amount, received_at, status_at_receipt, shares, held)
        return [transaction_id, amount, received_at, status_at_receipt, shares, held]

    def record_taken(self, transfers: list[list[Any]]) -> None:
        """Record the transfers `take_transfer` already applied: one `TransfersReceived`, or
        the usual `MoneyReceived` (with no postings) for one (`ledger.batching`)."""
        if len(transfers) == 1:
            transaction_id, amount, received_at, status, shares, held = transfers[0]
            record_applied(
                self,
                PaymentRequest.MoneyReceived,  # type: ignore[attr-defined]
                transaction_id=transaction_id,
                amount=amount,
                received_at=received_at,
                status_at_receipt=status,
                shares=shares,
                held=held,
                postings=[],
            )
        elif transfers:
            record_applied(self, PaymentRequest.TransfersReceived, transfers=transfers)  # type: ignore[attr-defined]

    @event("TransfersReceived")
    def _transfers_received(self, transfers: list[list[Any]]) -> None:
        """`transfers`: `[transaction_id, amount, received_at, status_at_receipt, shares,
        held]`, each what one `MoneyReceived` without postings records, in the order they
        were taken (a statement's chunk paying the same request several times)."""
        for transaction_id, amount, received_at, status, shares, held in transfers:
            self._take(transaction_id, amount, received_at, status, shares, held)

    def _take(
        self,
        transaction_id: str,
        amount: int,
        received_at: str,
        status_at_receipt: str,
        shares: list[list[Any]],
        held: int,
    ) -> None:
        self.received += amount
        self.held += held
        for member, share, _ in shares:
            self.paid_by_member[member] = self.paid_by_member.get(member, 0) + share
        self.transfers.append(
            {
                "transaction_id": transaction_id,
                "amount": amount,
                "received_at": received_at,
                "status_at_receipt": status_at_receipt,
                "shares": shares,
                "held": held,
            }
        )

    @event("TransferSeen")
    def see(self, side: str, transaction_id: str, amount: int, postings: list[Posting]) -> None:
        """A bank line shows this transfer leaving (`out`) or arriving (`in`); the postings
        move it from the books' uncleared bank onto the account it went through. `amount`
        is what it cleared: a deposit may arrive in more than one line."""
        self.seen[side] = transaction_id
        cleared = dict(getattr(self, "cleared", None) or {})  # kept from 2026-11-24
        cleared[side] = int(cleared.get(side, 0)) + amount
        self.cleared = cleared

    def uncleared(self, side: str) -> int:
        """What of this transfer no bank line on `side` has shown yet: a remittance sent in
        parts (over the bank's per-transfer limit) is cleared by each part's line. One seen
        before the amounts were kept (a snapshot without them) was cleared whole."""
        cleared = getattr(self, "cleared", None)
        if cleared is None:
            return 0 if side in self.seen else self.total
        return self.total - int(cleared.get(side, 0))

    def in_transit(self) -> int:
        """A deposit's cash not yet shown arriving on the account. One seen before the
        amounts were kept (a snapshot without them) was cleared whole."""
        cleared = getattr(self, "cleared", None)
        withdrawn = int(getattr(self, "withdrawn", 0))  # back in cash by a cancel
        if cleared is None:
            return 0 if "in" in self.seen else self.total - withdrawn
        return self.total - int(cleared.get("in", 0)) - withdrawn

    def deposit_cleared(self) -> int:
        """What of a deposit its bank lines showed arriving on the account."""
        return self.total - self.in_transit() - int(getattr(self, "withdrawn", 0))

    @event("CashDeposited")
    def deposit_cash(self, amount: int, postings: list[Posting]) -> None:
        """Cash taken from the treasurer to the bank (a `deposit` request): in transit until
        the line with this code is on the account's statement."""

    @event("MoneyReversed")
    def reverse(self, transaction_id: str, reversed_by: str, amount: int) -> None:
        """The bank took back a transfer that settled this request."""
        for t in self.transfers:
            if t["transaction_id"] == transaction_id:
                self.received -= t["amount"]
                self.held -= t["held"]
                for member, share, _ in t["shares"]:
                    self.paid_by_member[member] -= share
        self.reversed.append(transaction_id)

    def remaining(self) -> list[int]:
        """What each listed member still owes under this request."""
        return [max(int(i[2]) - self.paid_by_member.get(i[0], 0), 0) for i in self.items]

    def status(self, now: datetime) -> str:
        if self.kind == "refund" and "out" in self.seen:  # paid out: it receives nothing
            return "paid"
        if self.received >= self.total and self.received > 0:
            return "paid"
        if self.received > 0:
            return "partly_paid"
        if self.cancelled_at is not None:
            return "cancelled"
        if now.isoformat() >= self.expires_at:
            return "expired"
        return "open"
