"""Member: a party member's identity and official branch over time.

Rule: a member belongs officially to exactly one branch in any month
(`branch_at`). Temporary attendance elsewhere is recorded but does not move
where dues are assessed (see docs/policy.md). The national ID number is stored
only encrypted (the library's AES cipher) and shown only masked. Dues facts
(category, income base, exemptions) live in the branch's Register, which is
what opening a month reads.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from ledger.errors import Conflict
from ledger.ids import member_id


def mask_national_id(plain: str | None) -> str:
    """Show only the last 4 digits: `********7890`."""
    if not plain:
        return ""
    return "*" * max(len(plain) - 4, 0) + plain[-4:]


class Member(Aggregate):
    @staticmethod
    def create_id(code: str, **_: Any) -> UUID:
        return member_id(code)

    @event("Registered")
    def __init__(
        self,
        code: str,
        full_name: str,
        branch_code: str,
        from_period: str,
        party_joined_on: str,
        national_id_encrypted: str | None,
    ) -> None:
        self.code = code
        self.full_name = full_name
        self.branches: list[list[str]] = [[from_period, branch_code]]
        self.party_joined_on = party_joined_on
        self.national_id_encrypted = national_id_encrypted
        self.attendance: list[list[Any]] = []  # [branch, from_period, until_period]
        self.ended_from: str | None = None
        self.ended_reason: str | None = None

    def branch_at(self, period: str) -> str | None:
        current: str | None = None
        for since, code in self.branches:
            if since <= period:
                current = code
        if self.ended_from is not None and period >= self.ended_from:
            return None
        return current

    @property
    def branch_code(self) -> str:
        return self.branches[-1][1]

    def check_active(self, period: str) -> None:
        if self.ended_from is not None and period >= self.ended_from:
            raise Conflict(
                f"Đảng viên {self.code} đã thôi sinh hoạt từ {self.ended_from}",
                f"Member {self.code} left the party list from {self.ended_from}",
            )

    def transfer(self, to_branch: str, from_period: str) -> None:
        self.check_active(from_period)
        if self.branch_at(from_period) == to_branch:
            raise Conflict(
                f"Đảng viên {self.code} đã thuộc chi bộ {to_branch}",
                f"Member {self.code} already belongs to branch {to_branch}",
            )
        self._transfer(to_branch, from_period)

    @event("Transferred")
    def _transfer(self, to_branch: str, from_period: str) -> None:
        self.branches = [b for b in self.branches if b[0] < from_period]
        self.branches.append([from_period, to_branch])

    @event("AttendanceRecorded")
    def attend_temporarily(self, branch_code: str, from_period: str, until_period: str) -> None:
        self.attendance.append([branch_code, from_period, until_period])

    def end_membership(self, from_period: str, reason: str) -> None:
        self.check_active(from_period)
        self._end(from_period, reason)

    @event("MembershipEnded")
    def _end(self, from_period: str, reason: str) -> None:
        self.ended_from = from_period
        self.ended_reason = reason
