"""Organisation: one node of the party tree, its place over time and its bank accounts.

Rule: the tree is kept month by month. A move, merge or dissolution takes
effect from a named month, so `parent_at(period)` and `children_at(period)`
answer for any month in history. Registered bank accounts carry the holder
kind (organisation, personal, treasury) that inspection relies on.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from ledger.errors import Conflict, InvalidInput
from ledger.ids import org_id

ORG_TYPES = (
    "central",
    "provincial",
    "above_grassroots",
    "grassroots_committee",
    "grassroots_branch",
    "sub_committee",
    "branch",
)
MEMBER_TYPES = ("branch", "grassroots_branch")  # where members belong and pay
HOLDER_KINDS = ("organisation", "personal", "treasury")


def check_org_type(value: str) -> str:
    if value not in ORG_TYPES:
        raise InvalidInput(
            f"Loại tổ chức '{value}' không hợp lệ (cho phép: {', '.join(ORG_TYPES)})",
            f"Unknown organisation type '{value}' (allowed: {', '.join(ORG_TYPES)})",
            field="type",
        )
    return value


class Organisation(Aggregate):
    """A party organisation; its parent and children are histories, not single values."""

    @staticmethod
    def create_id(code: str, **_: Any) -> UUID:
        return org_id(code)

    @event("Registered")
    def __init__(
        self, code: str, name: str, org_type: str, parent_code: str | None, from_period: str
    ) -> None:
        self.code = code
        self.name = name
        self.org_type = org_type
        self.parents: list[list[Any]] = [[from_period, parent_code]]
        self.children: list[list[Any]] = []  # [code, from_period, until_period | None]
        self.created_from = from_period
        self.ended_from: str | None = None
        self.ended_how: str | None = None
        self.merged_into: str | None = None
        self.accounts: list[dict[str, Any]] = []
        self.spending: dict[str, int] = {}  # reference -> amount spent from the retained fund

    # -- queries -------------------------------------------------------------
    def parent_at(self, period: str) -> str | None:
        parent: str | None = None
        for since, code in self.parents:
            if since <= period:
                parent = code
        return parent

    def children_at(self, period: str) -> list[str]:
        return [
            c
            for c, since, until in self.children
            if since <= period and (until is None or period < until)
        ]

    def is_active_at(self, period: str) -> bool:
        return self.created_from <= period and (self.ended_from is None or period < self.ended_from)

    def active_accounts(self, on: str) -> list[dict[str, Any]]:
        """Accounts active on an ISO date `on`."""
        return [
            a
            for a in self.accounts
            if a["active_from"] <= on and (a["active_to"] is None or on <= a["active_to"])
        ]

    def find_account(self, bin_code: str, number: str) -> dict[str, Any] | None:
        for a in self.accounts:
            if a["bin"] == bin_code and a["account_number"] == number:
                return a
        return None

    # -- commands ------------------------------------------------------------
    def attach_child(self, child_code: str, from_period: str) -> None:
        if child_code in self.children_at(from_period):
            return
        self._attach_child(child_code, from_period)

    @event("ChildAttached")
    def _attach_child(self, child_code: str, from_period: str) -> None:
        self.children.append([child_code, from_period, None])

    @event("ChildDetached")
    def detach_child(self, child_code: str, from_period: str) -> None:
        for entry in self.children:
            if entry[0] == child_code and entry[2] is None:
                entry[2] = from_period

    def move_to(self, parent_code: str, from_period: str) -> None:
        self.check_active(from_period)
        if self.parent_at(from_period) == parent_code:
            raise Conflict(
                f"{self.code} đã thuộc {parent_code} từ {from_period}",
                f"{self.code} is already under {parent_code} from {from_period}",
            )
        self._move(parent_code, from_period)

    @event("Moved")
    def _move(self, parent_code: str, from_period: str) -> None:
        self.parents = [p for p in self.parents if p[0] < from_period]
        self.parents.append([from_period, parent_code])

    def end(self, how: str, from_period: str, merged_into: str | None = None) -> None:
        self.check_active(from_period)
        self._end(how, from_period, merged_into)

    @event("Ended")
    def _end(self, how: str, from_period: str, merged_into: str | None) -> None:
        self.ended_from = from_period
        self.ended_how = how
        self.merged_into = merged_into

    def check_active(self, period: str) -> None:
        if not self.is_active_at(period):
            raise Conflict(
                f"Tổ chức {self.code} không hoạt động trong tháng {period}",
                f"Organisation {self.code} is not active in {period}",
            )

    def register_account(
        self, bin_code: str, number: str, holder_name: str, holder_kind: str, active_from: str
    ) -> bool:
        """Register a bank account; registering the same account again changes nothing."""
        if holder_kind not in HOLDER_KINDS:
            raise InvalidInput(
                f"Loại chủ tài khoản '{holder_kind}' không hợp lệ ({', '.join(HOLDER_KINDS)})",
                f"Unknown holder kind '{holder_kind}' ({', '.join(HOLDER_KINDS)})",
                field="holder_kind",
            )
        existing = self.find_account(bin_code, number)
        if existing is not None and existing["active_to"] is None:
            return False
        self._register_account(bin_code, number, holder_name, holder_kind, active_from)
        return True

    @event("AccountRegistered")
    def _register_account(
        self, bin_code: str, number: str, holder_name: str, holder_kind: str, active_from: str
    ) -> None:
        self.accounts = [
            a for a in self.accounts if not (a["bin"] == bin_code and a["account_number"] == number)
        ]
        self.accounts.append(
            {
                "bin": bin_code,
                "account_number": number,
                "holder_name": holder_name,
                "holder_kind": holder_kind,
                "active_from": active_from,
                "active_to": None,
            }
        )

    @event("AccountDeactivated")
    def deactivate_account(self, bin_code: str, number: str, active_to: str) -> None:
        account = self.find_account(bin_code, number)
        if account is not None:
            account["active_to"] = active_to

    @event("Spent")
    def spend(
        self,
        reference: str,
        amount: int,
        purpose: str,
        channel: str,
        spent_on: str,
        period: str,
        postings: list[Any],
    ) -> None:
        """Expenditure from the retained fund; the reference keeps it from being recorded twice."""
        self.spending[reference] = amount
        # getattr: snapshots taken before these fields existed lack them.
        self.spending_channels = {**getattr(self, "spending_channels", {}), reference: channel}

    def spending_uncleared(self, reference: str) -> bool:
        """Bank spending not yet seen leaving the account on a statement."""
        return getattr(self, "spending_channels", {}).get(reference) == "bank" and (
            reference not in getattr(self, "spending_cleared", {})
        )

    @event("SpendingCleared")
    def clear_spending(self, reference: str, transaction: str, postings: list[Any]) -> None:
        """The bank line that took this spending out of the account."""
        self.spending_cleared = {**getattr(self, "spending_cleared", {}), reference: transaction}


class RootIndex(Aggregate):
    """The codes of organisations without a parent (normally just the Centre)."""

    @staticmethod
    def create_id(**_: Any) -> UUID:
        from ledger.ids import roots_id

        return roots_id()

    @event("Started")
    def __init__(self) -> None:
        self.codes: list[str] = []

    @event("RootAdded")
    def add(self, code: str) -> None:
        if code not in self.codes:
            self.codes.append(code)
