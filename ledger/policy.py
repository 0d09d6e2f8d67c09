"""Dues policy: rates, minimum wages, rounding and retained shares as versioned data.

Rule: the policy is data in events, never constants in a deploy. The first
event adopts the defaults in `policy_defaults` (each rule with its legal basis
or "UNCONFIRMED"); every later change (a retained share, a rate) is its own
event with an effective month. The aggregate's version is the policy version
that every assessment records.
"""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from ledger.ids import policy_id
from ledger.policy_rules import PolicyBook


class DuesPolicy(Aggregate):
    @staticmethod
    def create_id(**_: Any) -> UUID:
        return policy_id()

    @event("Adopted")
    def __init__(self, data: dict[str, Any]) -> None:
        self.data = copy.deepcopy(data)

    @property
    def book(self) -> PolicyBook:
        return PolicyBook(self.data, self.version)

    def change_retention(
        self, org_type: str, retained_percent: Decimal, from_period: str, basis: str
    ) -> None:
        # Validate before the event exists: with_retention raises on bad input.
        self.book.with_retention(org_type, retained_percent, from_period, basis)
        self._retention_changed(org_type, str(retained_percent), from_period, basis)

    @event("RetentionChanged")
    def _retention_changed(
        self, org_type: str, retained_percent: str, from_period: str, basis: str
    ) -> None:
        self.data = PolicyBook(self.data, self.version).with_retention(
            org_type, Decimal(retained_percent), from_period, basis
        )

    def change_rate(self, entry: dict[str, Any]) -> None:
        self.book.with_rate(entry)
        self._rate_changed(entry)

    @event("RateChanged")
    def _rate_changed(self, entry: dict[str, Any]) -> None:
        self.data = PolicyBook(self.data, self.version).with_rate(entry)
