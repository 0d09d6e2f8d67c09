"""Payment: money a member paid, keyed by its reference so a retry records nothing new.

Rule: a payment is applied to the member's oldest unpaid months first (or to
the months named), and anything left over becomes the member's credit, used by
the months opened later. The event keeps where every đồng went and the
postings for the money received.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from ledger.ids import payment_id
from ledger.postings import Posting

CHANNELS = ("bank", "cash", "batch", "payroll")


class Payment(Aggregate):
    @staticmethod
    def create_id(reference: str, **_: Any) -> UUID:
        return payment_id(reference)

    @event("Received")
    def __init__(
        self,
        reference: str,
        member_code: str,
        branch_code: str,
        amount: int,
        channel: str,
        received_on: str,
        applied: list[list[Any]],
        to_credit: int,
        postings: list[Posting],
    ) -> None:
        self.reference = reference
        self.member_code = member_code
        self.branch_code = branch_code
        self.amount = amount
        self.channel = channel
        self.received_on = received_on
        self.applied = applied
        self.to_credit = to_credit
        self.postings = postings
        self.reversed_by: str | None = None

    @event("Reversed")
    def reverse(self, reversed_by: str, postings: list[Posting]) -> None:
        """The bank took this money back (`reversed_by`: the bank line); the postings undo it."""
        self.reversed_by = reversed_by
