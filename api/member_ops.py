"""Member imports shared by the CLI and the API: the CSV columns, and an import kept inside a set of branches.

Rule: `dangphi member import` may name any branch; an upload through the API may
name only branches of the organisation it is sent to (the caller's scope). A row
naming another branch is reported exactly like a branch that does not exist, with
the format problems of every row, and nothing is imported; otherwise the ledger
checks the whole file itself (`DuesLedger.import_members`).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date

from api.csv_ops import Rows, parse_csv
from ledger.app import DuesLedger
from ledger.errors import ImportRejected
from ledger.services.members import member_row_problems
from ledger.services.structure import ImportResult

MEMBER_COLUMNS = (
    "code",
    "full_name",
    "branch_code",
    "category",
    "monthly_base",
    "region",
    "party_joined_on",
)
MEMBER_OPTIONAL = ("national_id",)
EXEMPT_PERCENTS = ("100", "30", "50", "70")
WHAT = "đảng viên / members"


def read_members(text: str, *, label: str, name: str) -> Rows:
    """The rows of a members CSV (docs/cli.md "Members")."""
    return parse_csv(text, MEMBER_COLUMNS, MEMBER_OPTIONAL, label=label, name=name)


def unknown_branch(branch: str) -> tuple[str, str]:
    """The ledger's own words for a branch it does not hold."""
    return f"không có chi bộ '{branch}'", f"branch '{branch}' does not exist"


def problems_outside(
    rows: Rows, branches: Collection[str], today: date
) -> list[tuple[int, str, str]]:
    """Empty if every row names one of `branches`; otherwise the rows naming another
    branch together with every row's format problems."""
    outside = [
        (line, *unknown_branch(branch))
        for line, row in rows
        if (branch := (row.get("branch_code") or "").strip()) not in branches
    ]
    if not outside:
        return []
    formats = [(line, vi, en) for line, row in rows for vi, en in member_row_problems(row, today)]
    return sorted(outside + formats)


def import_within(ledger: DuesLedger, rows: Rows, branches: Collection[str]) -> ImportResult:
    """Import the rows if each names one of `branches` (ImportRejected otherwise)."""
    problems = problems_outside(rows, branches, date.fromisoformat(ledger.today_iso()))
    if problems:
        raise ImportRejected(problems, WHAT)
    return ledger.import_members(rows)
