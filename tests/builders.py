"""Small builders for test scenarios: a tree and members in a few lines."""

from __future__ import annotations

from typing import Any

from ledger.app import DuesLedger

TREE = [
    ("TW", "Trung ương", "central", ""),
    ("HN", "Thành ủy Hà Nội", "provincial", "TW"),
    ("HN-BD", "Đảng ủy phường Ba Đình", "grassroots_committee", "HN"),
    ("HN-BD-01", "Chi bộ khu phố 1", "branch", "HN-BD"),
    ("HN-BD-02", "Chi bộ khu phố 2", "branch", "HN-BD"),
]


def org_rows(rows: list[tuple[str, str, str, str]] = TREE) -> list[tuple[int, dict[str, str]]]:
    return [
        (i + 2, {"code": c, "name": n, "type": t, "parent_code": p})
        for i, (c, n, t, p) in enumerate(rows)
    ]


def member_row(
    code: str,
    branch: str,
    category: str = "social_insured",
    base: int | None = 7_000_000,
    region: str = "I",
    joined: str = "2005-05-19",
    national_id: str = "",
) -> dict[str, str]:
    return {
        "code": code,
        "full_name": f"Nguyễn Văn {code}",
        "branch_code": branch,
        "category": category,
        "monthly_base": "" if base is None else str(base),
        "region": region,
        "party_joined_on": joined,
        "national_id": national_id,
    }


def small_ledger(app: DuesLedger) -> DuesLedger:
    app.import_orgs(org_rows())
    rows = [member_row(f"M{i}", "HN-BD-01" if i < 3 else "HN-BD-02") for i in range(5)]
    app.import_members([(i + 2, r) for i, r in enumerate(rows)])
    return app


def numbered(rows: list[dict[str, str]], first_line: int = 2) -> list[tuple[int, dict[str, str]]]:
    """Rows as an import reads them from a file: (line number, row), the header on line 1."""
    return [(first_line + i, r) for i, r in enumerate(rows)]


def month_of(app: DuesLedger, code: str, period: str) -> dict[str, Any]:
    """One month of a member's statement."""
    for m in app.member_statement(code)["months"]:
        if m["period"] == period:
            return dict(m)
    raise AssertionError(f"{code} has no statement line for {period}")


def org_balances(app: DuesLedger, org: str) -> dict[str, int]:
    """The account balances of one organisation, keyed by the account path after its code."""
    prefix = f"{org}:"
    return {k[len(prefix) :]: v for k, v in app.account_balances().items() if k.startswith(prefix)}


def unbalanced_events(app: DuesLedger) -> list[str]:
    """Every stored event whose debits differ from its credits (should be none)."""
    bad = []
    for event, lines in app.postings():
        debits = sum(a for _, side, a in lines if side == "D")
        credits = sum(a for _, side, a in lines if side == "C")
        if debits != credits or any(a <= 0 for *_, a in lines):
            bad.append(f"{type(event).__qualname__} v{event.originator_version}: {lines}")
    return bad


def written(app: DuesLedger) -> int:
    """How many events the log holds: compare before and after a refused command."""
    return app.recorder.max_notification_id() or 0
