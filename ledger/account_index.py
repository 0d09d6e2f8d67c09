"""Account index: which organisation a bank account number is registered to.

Rule: a bank line names only an account; this index, keyed by the account
number, tells whose books it belongs in, so a statement can be checked
against its organisation and money nobody has explained goes to that
organisation's suspense account. It is written with the registration itself.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from ledger.ids import NAMESPACE


def account_index_id(number: str) -> UUID:
    return uuid5(NAMESPACE, f"account/{number}")


class AccountIndex(Aggregate):
    @staticmethod
    def create_id(number: str, **_: Any) -> UUID:
        return account_index_id(number)

    @event("Started")
    def __init__(self, number: str) -> None:
        self.number = number
        self.owners: list[list[str]] = []  # [bin, org_code]

    def add(self, bin_code: str, org_code: str) -> None:
        if [bin_code, org_code] not in self.owners:  # guard first: a repeat records nothing
            self._add(bin_code, org_code)

    @event("OwnerAdded")
    def _add(self, bin_code: str, org_code: str) -> None:
        self.owners.append([bin_code, org_code])

    def owner(self, bin_code: str | None) -> str | None:
        """The organisation holding this number (at this bank, when the line names one)."""
        found = {o for b, o in self.owners if bin_code is None or b == bin_code}
        return found.pop() if len(found) == 1 else None
