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

    @property
    def cleared_by(self) -> str | None:
        """The bank line that showed this payment arriving, for one recorded by hand as paid
        by bank (`pay --channel bank`); None until one has (and for older snapshots)."""
        return self.__dict__.get("_cleared_by")

    @event("SeenOnBank")
    def seen_on_bank(self, transaction_id: str) -> None:
        """A bank line shows this payment arriving: its postings (on the line's `Cleared`)
        move the money from `ORG:assets:bank` onto the account it reached."""
        self._cleared_by = transaction_id

    @event("Reversed")
    def reverse(self, reversed_by: str, postings: list[Posting], on: str | None = None) -> None:
        """The bank took this money back (`reversed_by`: the bank line) on `on` (the line's
        value date, no later than the day it was recorded); the postings undo it."""
        self.reversed_by = reversed_by


def _upcast_reversed_v1_v2(state: dict[str, Any]) -> None:
    """v1 (before a reversal carried its day) had no `on`: its money was filed in the
    month of the payment it undid."""
    state["on"] = None


# v2 adds `on`: the day the bank took the money back, so the reversal's postings fall in
# the month the statement shows them (balances, journal).
Payment.Reversed.class_version = 2  # type: ignore[attr-defined]
Payment.Reversed.upcast_v1_v2 = staticmethod(_upcast_reversed_v1_v2)  # type: ignore[attr-defined]
