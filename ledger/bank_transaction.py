"""Bank transaction: one line of money moving through an organisation's account.

Rule: a transaction is keyed by where it came from and the bank's (or the
gateway's) own id, or a content hash where there is none, so the same
webhook delivered seven times, or a statement imported twice, is recorded
once. What it settled is recorded on it, so nothing is counted twice.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from ledger.ids import NAMESPACE

DIRECTIONS = ("in", "out")


def transaction_id(source: str, external_id: str) -> UUID:
    return uuid5(NAMESPACE, f"banktx/{source}/{external_id}")


class BankTransaction(Aggregate):
    @staticmethod
    def create_id(source: str, external_id: str, **_: Any) -> UUID:
        return transaction_id(source, external_id)

    @event("Recorded")
    def __init__(
        self,
        source: str,
        external_id: str,
        bin_code: str | None,
        account_number: str,
        direction: str,
        amount: int,
        value_date: str,
        narrative: str,
        counterparty: str | None,
        reference: str | None,
        recorded_at: str,
    ) -> None:
        self.source = source
        self.external_id = external_id
        self.bin_code = bin_code
        self.account_number = account_number
        self.direction = direction
        self.amount = amount
        self.value_date = value_date
        self.narrative = narrative
        self.counterparty = counterparty
        self.reference = reference
        self.recorded_at = recorded_at
        self.matched: dict[str, Any] | None = None
        self.suspense: dict[str, Any] | None = None

    @event("Matched")
    def match(self, how: str, target: str, detail: dict[str, Any]) -> None:
        self.matched = {"how": how, "target": target, **detail}

    @event("HeldInSuspense")
    def hold(self, org_code: str, flagged: bool, postings: list[Any]) -> None:
        """Money nobody has explained yet, in the books of the organisation whose account it
        moved through: incoming to its suspense account; outgoing flagged for the treasurer."""
        self.suspense = {"org": org_code, "flagged": flagged, "resolved": False}
