"""Small builders for test scenarios: a tree and members in a few lines."""

from __future__ import annotations

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
