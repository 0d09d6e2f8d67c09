"""The dues book (sổ thu, nộp đảng phí, domain.md §7), read from the read models.

Part I (per member, per month) comes from the member statements' roll lines
(`rm_lines`, `rm_members`); Part II (per month) from the organisation's balance rows
(`rm_balance`) and the tree (the level above that month). Members are numbered in
code order, once for the whole period, so a member keeps their number on every page.
"""

from __future__ import annotations

from typing import Any

from ledger.errors import NotFound
from projections.book_types import BranchMonth, DuesBook, MemberMonth
from projections.reads import Reads


def dues_book(reads: Reads, org_code: str, label: str, periods: list[str]) -> DuesBook:
    reads.catch_up()
    info = reads.tree.org(org_code)
    if info is None:
        raise NotFound(
            f"Không có tổ chức đảng mã '{org_code}'",
            f"No party organisation with code '{org_code}'",
            field="org",
        )
    views = reads.views
    marks = ",".join("?" for _ in periods)
    lines = views.query(
        "SELECT l.period, l.member, m.full_name, l.exempt, l.income, l.assessed_open, "
        "l.assessed, l.paid FROM rm_lines l LEFT JOIN rm_members m ON m.code = l.member "
        f"WHERE l.branch = ? AND l.period IN ({marks}) ORDER BY l.period, l.member",
        [org_code, *periods],
    )
    balances = {
        row[0]: row[1:]
        for row in views.query(
            "SELECT period, members, members_exempt, outstanding, collected, retained, "
            "payable_to_parent, remitted_to_parent, remitted_on FROM rm_balance "
            f"WHERE org = ? AND period IN ({marks})",
            [org_code, *periods],
        )
    }
    if not lines and not balances:
        raise NotFound(
            f"Sổ chưa có số liệu của '{org_code}' cho kỳ {label}",
            f"The ledger has no figures for '{org_code}' in {label}",
            field="period",
        )
    numbers = {code: i + 1 for i, code in enumerate(sorted({r[1] for r in lines}))}
    part1 = [
        MemberMonth(
            no=numbers[code],
            member_code=code,
            full_name=name or code,
            period=period,
            exempt=bool(exempt),
            # the ledger records no income for a fixed amount or a full exemption (0)
            income=int(income) if income else None,
            owed_this_month=int(opened),
            # signed: a back-dated cut is a negative truy thu, so the three columns add up
            arrears=int(assessed) - int(opened),
            owed_total=int(assessed),
            collected=int(paid),
            unpaid_end=max(int(assessed) - int(paid), 0),
        )
        for period, code, name, exempt, income, opened, assessed, paid in lines
    ]
    part2: list[BranchMonth] = []
    for period in periods:
        row = balances.get(period)
        if row is None:
            continue
        members, exempt, unpaid, collected, retained, payable, remitted, on = row
        part2.append(
            BranchMonth(
                period=period,
                remitted_on=on,
                members_end=int(members),
                members_exempt=int(exempt),
                unpaid=int(unpaid),
                collected=int(collected),
                retained=int(retained),
                payable=int(payable),
                remitted=int(remitted),
                not_remitted=int(payable) - int(remitted),
                receiver=_receiver(reads, org_code, period),
            )
        )
    return DuesBook(
        org_code=org_code,
        org_name=str(info["name"]),
        period_label=label,
        periods=list(periods),
        part1=part1,
        part2=part2,
    )


def _receiver(reads: Reads, code: str, period: str) -> str | None:
    """The level above in `period` (the tree as it was then), by name."""
    rows: list[Any] = reads.views.query(
        "SELECT c.parent, o.name FROM rm_children c JOIN rm_org o ON o.code = c.parent "
        "WHERE c.child = ? AND c.since <= ? AND (c.until IS NULL OR ? < c.until) "
        "ORDER BY c.since DESC",
        [code, period, period],
    )
    return str(rows[0][1]) if rows else None
