"""The demo's inspection story: a branch whose treasurer collects dues into a personal account.

Adds (idempotently) Chi bộ Khu phố 4 under the ward committee, three members and
the treasurer's own account registered as personal; each member is asked, with
the override reason recorded, to pay into that account and does so. Then prints
what `dangphi inspect --org HN-BD-KP4` shows: the collection into a personal
account (with the override) and the collection without an organisation account.
Call it before the month is closed, so the branch's money is closed and remitted
with everyone else's.
"""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from ledger.app import DuesLedger
from ledger.errors import LedgerError
from ledger.ids import roll_id
from ledger.period import Period
from ledger.ports import BankTransactionFact
from ledger.roll import Roll
from projections.findings import Findings
from projections.reads import Reads

BRANCH = "HN-BD-KP4"
PARENT = "HN-BD"
BIN = "970436"
PERSONAL = "0912345678"
TREASURER = "NGUYEN THI THU"
REASON = "Chi bộ chưa mở tài khoản mang tên tổ chức; thủ quỹ thu hộ tạm thời"
MEMBERS = [
    ("HN-BD-KP4-01", "Nguyễn Văn Hùng", "7200000", "1998-03-15"),
    ("HN-BD-KP4-02", "Trần Thị Nga", "9850000", "2006-09-15"),
    ("HN-BD-KP4-03", "Lê Minh Tuấn", "6400000", "2012-11-15"),
]


def setup_branch(app: DuesLedger) -> None:
    app.import_orgs(
        [(2, {"code": BRANCH, "name": "Chi bộ Khu phố 4", "type": "branch", "parent_code": PARENT})]
    )
    app.import_members(
        [
            (
                n + 2,
                {
                    "code": code,
                    "full_name": name,
                    "branch_code": BRANCH,
                    "category": "social_insured",
                    "monthly_base": base,
                    "region": "I",
                    "party_joined_on": joined,
                    "national_id": "",
                },
            )
            for n, (code, name, base, joined) in enumerate(MEMBERS)
        ]
    )
    app.add_account(BRANCH, BIN, PERSONAL, TREASURER, "personal")


def personal_account_branch(app: DuesLedger, period: Period, console: Console) -> None:
    setup_branch(app)
    if app.get_or_none(roll_id(BRANCH, period), Roll) is None:
        app.open_month(period, BRANCH)
    paid = 0
    for code, *_ in MEMBERS:
        try:
            request = app.member_request(code, override_reason=REASON)
        except LedgerError:
            continue  # nothing owed (already paid this month)
        app.record_bank_transaction(
            BankTransactionFact(
                source="demo-bank",
                external_id=f"KP4-{request.code}",
                bin_code=None,
                account_number=PERSONAL,
                direction="in",
                amount=request.total,
                value_date=app.today_iso(),
                narrative=f"{request.code} {request.hint} CK DEN {TREASURER}",
            )
        )
        paid += request.total
    console.print(
        f"{BRANCH}: thủ quỹ thu {paid:,} đ vào tài khoản cá nhân {PERSONAL} (có ghi lý do ngoại "
        f"lệ) / the treasurer collected {paid:,} đ into a personal account, override recorded"
    )
    reads = Reads(app)
    try:
        found = Findings(reads).list(BRANCH, period=period)
    finally:
        reads.close()
    table = Table(title=f"dangphi inspect --org {BRANCH} --period {period}", title_justify="left")
    for header in ("Loại / Kind", "Mức / Severity", "Nội dung / Explanation"):
        table.add_column(header)
    for f in found:
        table.add_row(
            Text(f"{f['kind']} {f['kind_name']}"),
            Text(f["severity"]),
            Text(f"{f['explanation_vi']}\n{f['explanation_en']}"),
        )
    console.print(table)
