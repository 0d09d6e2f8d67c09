"""Remittance: an organisation's payable share for one month, sent to its parent.

Rule: through the National Public Service Portal a transfer between
organisations is paid and received at once, so one event records both the
child's payment and the parent's receipt, and the parent allocates what it
received into its own retained share and its own payable share. A remittance
by plain bank transfer (`via="bank"`) carries a reference code; it is in
transit at the parent until the parent's bank line with that code arrives,
and only then does the parent allocate it (`Received`). Several remittances
for the same month add up; the aggregate is keyed by child and month.

A month remitted beyond what later became payable (a back-dated cut, a bank
reversal) is netted in a later month's remittance to the same parent: the later
month records `Offset` (this much of what it owed was settled by that earlier
month's excess, no money moving) and the earlier month `Netted` (this much of its
excess was used), both in one save. The parent, receiving less money for the
later month, allocates less; no postings are needed: the child's
`payable_to_parent` account already holds the earlier month's excess as a debit.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from ledger.ids import remittance_id
from ledger.postings import Posting, acct, check_balanced, credit, debit


def in_transit_postings(child: str, parent: str, amount: int) -> list[Posting]:
    """Sent by bank transfer, not yet seen at the parent: out of the child's (uncleared)
    bank; at the parent, money on its way, not yet allocated."""
    return check_balanced(
        [
            debit(acct(child, "liabilities", "payable_to_parent"), amount),
            credit(acct(child, "assets", "bank"), amount),
            debit(acct(parent, "assets", "in_transit", child), amount),
            credit(acct(parent, "income", "in_transit", child), amount),
        ]
    )


def receipt_postings(
    child: str, parent: str, bank: str, amount: int, parent_retained: int, parent_payable: int
) -> list[Posting]:
    """The parent's bank line for a remittance in transit: into `bank`, then allocated."""
    return [
        debit(bank, amount),
        credit(acct(parent, "assets", "in_transit", child), amount),
        debit(acct(parent, "income", "in_transit", child), amount),
        credit(acct(parent, "equity", "retained"), parent_retained),
        credit(acct(parent, "liabilities", "payable_to_parent"), parent_payable),
    ]


def remittance_postings(
    child: str, parent: str, amount: int, parent_retained: int, parent_payable: int
) -> list[Posting]:
    return check_balanced(
        [
            debit(acct(child, "liabilities", "payable_to_parent"), amount),
            credit(acct(child, "assets", "bank"), amount),
            debit(acct(parent, "assets", "bank"), amount),
            credit(acct(parent, "equity", "retained"), parent_retained),
            credit(acct(parent, "liabilities", "payable_to_parent"), parent_payable),
        ]
    )


class Remittance(Aggregate):
    @staticmethod
    def create_id(org_code: str, period: str, **_: Any) -> UUID:
        return remittance_id(org_code, period)

    @event("Started")
    def __init__(self, org_code: str, period: str) -> None:
        self.org_code = org_code
        self.period = period
        self.remitted = 0
        self.parent_code: str | None = None
        self.parent_retained = 0
        self.parent_payable = 0
        self.in_transit = 0  # sent by bank transfer, not yet seen at the parent
        self.transfers: list[dict[str, Any]] = []
        # [month, amount, on]: earlier months' excess deducted from this month's remittance
        self.offsets_in: list[list[Any]] = []
        # [month, amount, on]: this month's excess deducted from later months' remittances
        self.offsets_out: list[list[Any]] = []

    @property
    def offset_in(self) -> int:
        return sum(int(o[1]) for o in getattr(self, "offsets_in", []))

    @property
    def offset_out(self) -> int:
        return sum(int(o[1]) for o in getattr(self, "offsets_out", []))

    @property
    def settled(self) -> int:
        """What of this month's payable share the parent has: money sent (`remitted`), plus
        earlier months' excess deducted from it, minus this month's excess netted later."""
        return self.remitted + self.offset_in - self.offset_out

    @event("Offset")
    def offset(self, parent_code: str, from_period: str, amount: int, on: str) -> None:
        """`amount` of what this month owes the parent is settled by what was remitted
        beyond the payable share for `from_period` (recorded there as `Netted`)."""
        self.parent_code = self.parent_code or parent_code
        if not hasattr(self, "offsets_in"):
            self.offsets_in = []
        self.offsets_in.append([from_period, amount, on])

    @event("Netted")
    def netted(self, in_period: str, amount: int, on: str) -> None:
        """`amount` of this month's excess was deducted from the remittance of `in_period`."""
        if not hasattr(self, "offsets_out"):
            self.offsets_out = []
        self.offsets_out.append([in_period, amount, on])

    @event("Remitted")
    def remit(
        self,
        parent_code: str,
        amount: int,
        via: str,
        reference: str,
        remitted_on: str,
        parent_retained_percent: str,
        parent_retained: int,
        parent_payable: int,
        postings: list[Posting],
    ) -> None:
        self.parent_code = parent_code
        self.remitted += amount
        self.parent_retained += parent_retained
        self.parent_payable += parent_payable
        if via == "bank":
            self.in_transit += amount
        self.transfers.append(
            {
                "amount": amount,
                "via": via,
                "reference": reference,
                "on": remitted_on,
                "received": 0 if via == "bank" else amount,
            }
        )

    def transfer(self, reference: str) -> dict[str, Any] | None:
        return next((t for t in self.transfers if t["reference"] == reference), None)

    @event("Received")
    def receive(
        self,
        reference: str,
        amount: int,
        received_on: str,
        transaction: str,
        parent_retained_percent: str,
        parent_retained: int,
        parent_payable: int,
        postings: list[Posting],
    ) -> None:
        """The parent's bank line for a transfer in transit: allocated now."""
        self.in_transit -= amount
        self.parent_retained += parent_retained
        self.parent_payable += parent_payable
        t = self.transfer(reference)
        if t is not None:
            t["received"] = t.get("received", 0) + amount
