"""Policy commands: changing a retained share or a rate is an event, not a deploy.

Rule: a change names its effective month and its legal basis (or says
"UNCONFIRMED"); months assessed or closed before it keep the version they used.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from ledger.errors import InvalidInput
from ledger.organisation import check_org_type
from ledger.period import Period, parse_period
from ledger.services.base import LedgerBase


class PolicyCommands(LedgerBase):
    def set_retention(
        self, org_type: str, retained_percent: str, from_period: Period, basis: str = ""
    ) -> int:
        """Record a new retained share for an organisation type; returns the new policy version."""
        check_org_type(org_type)
        parse_period(from_period, field="from")
        try:
            percent = Decimal(str(retained_percent).strip())
        except InvalidOperation:
            percent = Decimal(-1)
        if not percent.is_finite() or not Decimal(0) <= percent <= Decimal(100):
            raise InvalidInput(
                f"Tỷ lệ giữ lại '{retained_percent}' phải từ 0 đến 100",
                f"Retained percent '{retained_percent}' must be between 0 and 100",
                field="retained_percent",
            )
        policy = self.policy()
        policy.change_retention(
            org_type, percent, from_period, basis.strip() or "UNCONFIRMED: set by a treasurer"
        )
        self.save(policy)
        return policy.version
