"""The dues book's rows (domain.md §7, form S01/ĐP), as the read models give them.

`projections.dues_book` fills these from the read models; `api/book.py` lays them out
as CSV or XLSX. Money is integer đồng.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class MemberMonth:
    """Part I: one member, one month."""

    no: int  # the member's number in the book (1..n, stable across the period)
    member_code: str
    full_name: str
    period: str  # YYYY-MM
    exempt: bool
    income: int | None  # income the dues were computed on (None: a fixed-amount rule)
    owed_this_month: int  # dues assessed when the month opened
    arrears: int  # back-dated increases (truy thu) recorded for this month later
    owed_total: int  # owed_this_month + arrears (what is assessed now)
    collected: int
    unpaid_end: int  # unpaid at month end: owed_total - collected, never negative


@dataclass(frozen=True)
class BranchMonth:
    """Part II: the organisation, one month."""

    period: str  # YYYY-MM
    remitted_on: str | None  # ISO date of the last remittance for the month, if any
    members_end: int  # members on the roll at month end
    members_exempt: int
    unpaid: int
    collected: int
    retained: int
    payable: int  # payable to the level above
    remitted: int
    not_remitted: int  # payable - remitted
    receiver: str | None  # name of the level above that received it


@dataclass(frozen=True)
class DuesBook:
    org_code: str
    org_name: str
    period_label: str  # as asked: "2026-12", "2026-Q4" or "2026"
    periods: list[str]  # the months covered, in order
    part1: list[MemberMonth] = field(default_factory=list)
    part2: list[BranchMonth] = field(default_factory=list)
