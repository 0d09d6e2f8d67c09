"""The demo: a small but realistic tree runs one month of dues end to end.

Builds (idempotently) a province with a ward committee and three branches, and
the Government bloc with a ministry committee, a grassroots committee and two
branches; 100+ members across every category, a few exempt or reduced. Then
opens the next month not yet opened, records a realistic mix of payments,
closes, remits up to the Centre, prints per-level balances and checks that
members' payments equal what all levels retained plus what is unremitted,
unallocated, held as credit or in transit. Running it again plays the next month.
"""

from __future__ import annotations

import random
import tempfile
from datetime import date
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from api.audit import verify
from api.demo_inspection import personal_account_branch
from ledger.app import DuesLedger
from ledger.clock import today
from ledger.errors import LedgerError
from ledger.ids import register_id, roll_id
from ledger.payment import Payment
from ledger.period import Period, add_months
from ledger.ports import BankTransactionFact
from ledger.register import Register
from ledger.roll import Roll
from ledger.services.rolls import MONTHS_AHEAD
from payment_gateways.gateways.portal import PortalGateway, PortalSimulator
from payment_gateways.statements import read_statement
from projections.reads import Reads
from projections.replay import replay

TREE = [
    ("TW", "Ban Chấp hành Trung ương", "central", ""),
    ("HN", "Đảng bộ Thành phố Hà Nội", "provincial", "TW"),
    ("HN-BD", "Đảng ủy phường Ba Đình", "grassroots_committee", "HN"),
    ("HN-BD-KP1", "Chi bộ Khu phố 1", "branch", "HN-BD"),
    ("HN-BD-KP2", "Chi bộ Khu phố 2", "branch", "HN-BD"),
    ("HN-BD-HT", "Chi bộ Hưu trí", "branch", "HN-BD"),
    ("CP", "Đảng bộ Chính phủ", "provincial", "TW"),
    ("CP-BTC", "Đảng ủy Bộ Tài chính", "above_grassroots", "CP"),
    ("CP-BTC-KB", "Đảng ủy Kho bạc Nhà nước", "grassroots_committee", "CP-BTC"),
    ("CP-BTC-KB-TH", "Chi bộ Phòng Tổng hợp", "branch", "CP-BTC-KB"),
    ("CP-BTC-KB-TT", "Chi bộ Phòng Thanh toán", "branch", "CP-BTC-KB"),
]
BRANCHES = {
    "HN-BD-KP1": ("other_below_retirement", 24),
    "HN-BD-KP2": ("social_insured", 22),
    "HN-BD-HT": ("pensioner", 20),
    "CP-BTC-KB-TH": ("social_insured", 21),
    "CP-BTC-KB-TT": ("social_insured", 19),
}
SURNAMES = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi", "Đỗ", "Ngô"]
MIDDLE = ["Văn", "Thị", "Đức", "Minh", "Thu", "Hồng", "Quang", "Thanh"]
GIVEN = ["An", "Bình", "Chi", "Dũng", "Hà", "Hải", "Hương", "Lan", "Long", "Mai", "Nam", "Tâm"]


def _members() -> list[dict[str, str]]:
    rng = random.Random(2026)
    rows: list[dict[str, str]] = []
    for branch, (main_category, count) in BRANCHES.items():
        for i in range(count):
            category = main_category
            if i % 7 == 3:
                category = rng.choice(["student", "sick_or_maternity", "other_retirement_age"])
            base = ""
            if category in ("social_insured", "sick_or_maternity"):
                base = str(rng.randrange(5_000_000, 25_000_000, 1_000) + rng.randrange(0, 999))
            elif category == "pensioner":
                base = str(rng.randrange(4_000_000, 12_000_000, 1_000))
            joined_year = 1970 if (branch == "HN-BD-HT" and i < 3) else rng.randrange(1985, 2024)
            rows.append(
                {
                    "code": f"{branch}-{i + 1:02d}",
                    "full_name": f"{rng.choice(SURNAMES)} {rng.choice(MIDDLE)} {rng.choice(GIVEN)}",
                    "branch_code": branch,
                    "category": category,
                    "monthly_base": base,
                    "region": "I",
                    "party_joined_on": f"{joined_year}-{rng.randrange(1, 13):02d}-15",
                    "national_id": f"0010{rng.randrange(10**7, 10**8)}",
                }
            )
    return rows


def setup(app: DuesLedger) -> None:
    """The tree, accounts, members and two hardship decisions; changes nothing when run again."""
    app.import_orgs(
        [
            (n + 2, dict(zip(("code", "name", "type", "parent_code"), r, strict=True)))
            for n, r in enumerate(TREE)
        ]
    )
    for n, (code, *_rest) in enumerate(TREE):
        app.add_account(
            code, "970436", f"10{n:02d}77{n:04d}", f"{code} - TO CHUC DANG", "organisation"
        )
    created = app.import_members([(n + 2, r) for n, r in enumerate(_members())]).created
    if created:
        start = app.current_period()
        app.grant_exemption(
            "HN-BD-KP1-05", "poor_household", 100, "QĐ 12/QĐ-ĐU", start, add_months(start, 11)
        )
        app.grant_exemption(
            "HN-BD-KP1-09", "hardship", 50, "QĐ 13/QĐ-ĐU", start, add_months(start, 5)
        )


def max_opened(app: DuesLedger) -> Period | None:
    register = app.get_or_none(register_id("HN-BD-KP1"), Register)
    return max(register.opened) if register is not None and register.opened else None


def next_period(app: DuesLedger) -> Period:
    register = app.get_or_none(register_id("HN-BD-KP1"), Register)
    if register is None or not register.opened:
        return app.current_period()
    return add_months(max(register.opened), 1)


QR_PAYERS = ["HN-BD-KP2-01", "HN-BD-KP2-02", "HN-BD-KP2-03", "CP-BTC-KB-TH-01", "CP-BTC-KB-TH-02"]
BATCH_BRANCH = "CP-BTC-KB-TT"
PORTAL_SECRET = "demo-portal-secret"  # the simulated portal's shared secret, demo only


def owing(app: DuesLedger, branch: str, period: Period) -> list[str]:
    roll = app.get_or_none(roll_id(branch, period), Roll)
    assert roll is not None
    return [c for c, line in roll.lines.items() if int(line["assessed"]) > int(line["paid"])]


def pay_by_qr(app: DuesLedger, period: Period, console: Console) -> None:
    """A few members scan their VietQR and pay through the (simulated) national portal;
    a treasurer pays for several members with one QR. The portal notifies twice."""
    portal, gateway = PortalSimulator(PORTAL_SECRET), PortalGateway(PORTAL_SECRET)

    def settle(payload: str, payer: str) -> int:
        body = portal.pay(payload, payer)
        created = 0
        for fact in gateway.parse_notification(body, portal.headers(body)):
            created += app.record_bank_transaction(fact)[1]
            created += app.record_bank_transaction(fact)[1]  # a retried notification
        return created

    paid = 0
    first = None
    for code in QR_PAYERS:
        try:
            request = app.member_request(code)
        except LedgerError:
            continue  # nothing owed (exempt, or paid ahead)
        first = first or request
        paid += settle(request.payload, request.payer_name)
    members = owing(app, BATCH_BRANCH, period)[:5]
    batch = app.batch_request("Thủ quỹ Chi bộ Phòng Thanh toán", members, period=period)
    settle(batch.payload, batch.payer_name)
    status = app.request_status(batch.code)
    if first is not None:
        console.print(
            f"VietQR: {paid} đảng viên quét mã, nộp qua Cổng DVC (mỗi thông báo gửi 2 lần, ghi 1 lần) / "
            f"{paid} members paid by QR through the portal (each notification twice, recorded once); "
            f"e.g. {first.code}: {first.total:,} đ → {first.target['bin']} {first.target['account_number']}"
        )
    console.print(
        f"Nộp hộ / pay-on-behalf {batch.code}: {len(members)} đảng viên, {batch.total:,} đ, "
        f"trạng thái / status {status['status']}"
    )


def pay_mix(app: DuesLedger, period: Period) -> dict[str, int]:
    """Most pay in full by bank; some cash, some partial, some ahead, about one in ten not at all."""
    rng = random.Random(period)
    counts = {"full": 0, "cash": 0, "partial": 0, "ahead": 0, "unpaid": 0}
    for branch in BRANCHES:
        roll = app.get_or_none(roll_id(branch, period), Roll)
        assert roll is not None
        for code, line in roll.lines.items():
            owed = int(line["assessed"]) - int(line["paid"])
            roll_die = rng.random()
            if owed <= 0:
                continue
            if roll_die < 0.10:
                counts["unpaid"] += 1
                continue
            reference = f"DEMO-{period}-{code}"
            if roll_die < 0.20:
                app.pay(code, max(owed // 2, 1), channel="bank", reference=reference)
                counts["partial"] += 1
            elif roll_die < 0.32:
                app.pay(code, owed * 4, channel="bank", reference=reference)
                counts["ahead"] += 1
            elif roll_die < 0.50:
                app.pay(code, owed, channel="cash", reference=reference)
                counts["cash"] += 1
            else:
                app.pay(code, owed, channel="bank", reference=reference)
                counts["full"] += 1
    return counts


STATEMENT_BRANCH = "HN-BD-KP1"


def reconcile_statement(app: DuesLedger, period: Period, console: Console) -> None:
    """The branch's bank statement for the month: a QR transfer, a member paying by name,
    money nobody explained and a bank fee. Imported twice (the second time records
    nothing); the treasurer confirms the proposal and marks the fee as not dues."""
    owing_now = owing(app, STATEMENT_BRANCH, period)
    if len(owing_now) < 2:
        return
    request = app.member_request(owing_now[0])
    named = owing_now[1]
    oldest = next(m for m in app.member_statement(named)["months"] if m["outstanding"] > 0)
    report = app.reconcile(STATEMENT_BRANCH)["accounts"][0]
    balance = report["ledger_balance"] if report["ledger_balance"] is not None else 5_000_000
    account = app.get_org(STATEMENT_BRANCH).accounts[0]
    month, year = period[5:], period[:4]
    rows = [
        (
            request.total,
            0,
            f"MBVCB.4525077405.{request.code} DP {month} {year}.CT tu 0351000646393",
        ),
        (oldest["outstanding"], 0, f"IBFT {named} CHUYEN TIEN DANG PHI THANG {month}"),
        (200_000, 0, "NGUYEN THI LAN CHUYEN TIEN"),
        (0, 11_000, "PHI DICH VU SMS BANKING"),
    ]
    # the 10th of the month, or today if that is later than today: a bank line cannot be
    # dated ahead (the ledger refuses it), and a demo run again opens the next month
    day = min(date(int(year), int(month), 10), today(app.clock)).strftime("%d/%m/%Y")
    lines = ["Ngày giao dịch,Số tham chiếu,Ghi nợ,Ghi có,Số dư,Diễn giải"]
    for n, (credit, debit, narrative) in enumerate(rows, start=1):
        balance += credit - debit
        lines.append(
            f'{day},FT{year[2:]}{month}{n:05d},"{debit:,}" ,"{credit:,}","{balance:,}",{narrative}'.replace(
                '"0"', ""
            ).replace(" ,", ",")
        )
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "sao-ke.csv"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        statement = read_statement(
            path, bin_code=account["bin"], account_number=account["account_number"]
        )
    facts = list(statement.facts)
    opening, closing = statement.opening_balance, statement.closing_balance
    counts = app.import_statement(
        STATEMENT_BRANCH, facts, opening_balance=opening, closing_balance=closing
    )
    again = app.import_statement(
        STATEMENT_BRANCH, facts, opening_balance=opening, closing_balance=closing
    )
    console.print(
        f"Sao kê {STATEMENT_BRANCH} / statement: {counts['new']} dòng mới / new lines "
        f"(khớp mã / by code {counts['matched']}, đề xuất / proposed {counts['proposed']}, "
        f"tạm giữ / suspense {counts['suspense']}, chi chưa rõ / unexplained out {counts['flagged']}); "
        f"nhập lại / imported again: {again['new']} mới / new"
    )
    for item in app.suspense_items(STATEMENT_BRANCH):
        if item.get("proposal") and item["proposal"]["member"] == named:
            app.confirm_proposal(item["id"])
            console.print(
                f"  Thủ quỹ xác nhận / treasurer confirms {item['id']}: {named} "
                f"{', '.join(item['proposal']['months'])}"
            )
        elif item["direction"] == "out":
            app.resolve_suspense(item["id"], not_dues="Phí ngân hàng / bank fee")
    report = app.reconcile(STATEMENT_BRANCH)["accounts"][0]
    console.print(
        f"  Đối chiếu / reconcile {report['account']}: sao kê / statement {report['statement_closing']:,} đ, "
        f"sổ / ledger {report['ledger_balance']:,} đ, chênh / difference {report['difference']:,} đ"
    )


def remit_up(app: DuesLedger, period: Period, console: Console) -> None:
    """Bottom up, so each level remits what it received from below as well. One branch
    sends its share by plain bank transfer: in transit until the parent's bank reports it."""
    orgs = app.subtree(period)
    for org in reversed(orgs):
        parent = org.parent_at(period)
        if parent is None:
            continue
        if org.code != STATEMENT_BRANCH:
            app.remit(org.code, period)
            continue
        sent = app.remit(org.code, period, via="bank")
        if not sent.code:
            continue
        in_transit = app.balance(parent, period)["in_transit"]
        account = app.get_org(parent).accounts[0]
        tx, _ = app.record_bank_transaction(
            BankTransactionFact(
                source="sepay",
                external_id=f"DEMO-{sent.code}",
                bin_code=None,
                account_number=account["account_number"],
                direction="in",
                amount=sent.amount,
                value_date=app.today_iso(),
                narrative=f"{org.code} CK {sent.code} NOP DANG PHI {period}",
            )
        )
        console.print(
            f"{org.code} chuyển khoản {sent.amount:,} đ cho {parent} (mã {sent.code}): đang chuyển "
            f"{in_transit:,} đ, rồi ngân hàng của {parent} báo có → "
            f"{'đã nhận' if tx.matched else 'chưa khớp'} / sent by bank transfer, in transit, "
            f"then matched at the parent: {bool(tx.matched)}"
        )


def check(app: DuesLedger) -> dict[str, int]:
    """Payments (from payment events) against what the rolls, remittances and registers hold."""
    paid = sum(e.amount for e in app.iter_events() if isinstance(e, Payment.Received))
    retained = unremitted = in_transit = unallocated = spent = credit = 0
    codes = [o.code for o in app.subtree(app.current_period())]
    for code in codes:
        b = app.balance(code)
        retained += b["retained"]
        unremitted += b["payable_to_parent"] - b["remitted_to_parent"]
        in_transit += b["in_transit"]
        spent += b["spent"]
    for branch in BRANCHES:
        register = app.get_or_none(register_id(branch), Register)
        assert register is not None
        credit += sum(int(r["credit"]) for r in register.members.values())
        for p in register.opened:
            roll = app.get_or_none(roll_id(branch, p), Roll)
            if roll is not None and not roll.closed:
                unallocated += roll.collected
    zero = sum(app.account_balances().values())
    return {
        "paid": paid,
        "retained": retained,
        "unremitted": unremitted,
        "unallocated": unallocated,
        "credit": credit,
        "in_transit": in_transit,
        "spent": spent,
        "postings_sum": zero,
    }


def balance_tables(app: DuesLedger, reads: Reads, period: Period) -> list[Table]:
    """Every level's figures, read from the read models (roll-ups over the tree that month):
    what was collected, then how it was allocated. Two tables of organisation codes, so each
    fits 80 columns (one of nine columns cut every figure short there: a newcomer's check)."""
    columns = (
        (
            f"Thu theo cấp (mô hình đọc) / Collection by level (read models) — {period}",
            (
                ("Phải thu\nAssessed", "assessed"),
                ("Đã thu\nCollected", "collected"),
                ("Còn nợ\nOutstanding", "outstanding"),
                ("Toàn hệ thống\nSubtree\ncollected", "subtree_collected"),
            ),
        ),
        (
            f"Phân bổ theo cấp / Allocation by level — {period}",
            (
                ("Giữ lại\nRetained", "retained"),
                ("Phải nộp\nPayable", "payable_to_parent"),
                ("Đã nộp\nRemitted", "remitted_to_parent"),
                ("Nhận cấp dưới\nFrom\nchildren", "received_from_children"),
            ),
        ),
    )
    orgs = app.subtree(period)
    depth = {o.code: 0 for o in orgs}
    figures = []
    for org in orgs:
        parent = org.parent_at(period)
        if parent in depth:
            depth[org.code] = depth[parent] + 1
        figures.append(("  " * depth[org.code] + org.code, reads.balance(org.code, period)))
    tables = []
    for title, shown in columns:
        table = Table(title=title, show_lines=False)
        table.add_column("Tổ chức\nOrganisation", justify="left", no_wrap=True)
        for header, _ in shown:
            table.add_column(header, justify="right", no_wrap=True)
        for label, b in figures:
            table.add_row(label, *(f"{b[key]:,}" for _, key in shown))
        tables.append(table)
    return tables


def auditor(app: DuesLedger, reads: Reads, console: Console) -> None:
    """The auditor's tools: the hash chain over the event log, then the read models rebuilt
    elsewhere and compared."""
    chain = verify(app)
    if not chain.sound:
        raise SystemExit(f"audit verify: {chain.as_dict()}")
    console.print(
        f"Kiểm toán / audit verify: chuỗi băm đúng cho {chain.events} sự kiện, đầu chuỗi "
        f"{chain.head_hash[:16]}… / the hash chain holds over every event"
    )
    report = replay(app, reads.models)
    if not report.ok:
        raise SystemExit(f"audit replay found differences: {report.differences[:3]}")
    console.print(
        f"Kiểm toán / audit replay: dựng lại {sum(report.tables.values()):,} dòng mô hình đọc từ "
        f"{report.events} sự kiện, không chênh lệch / read models rebuilt from the event log "
        "equal the live ones"
    )


def run_demo(app: DuesLedger, console: Console, fast: bool = False) -> int:
    console.rule("[bold]dangphi — sổ đảng phí điện tử / electronic party dues ledger")
    setup(app)
    period = next_period(app)
    latest = add_months(app.current_period(), MONTHS_AHEAD)
    if period > latest:  # each run opens the next month; months so far ahead are refused
        console.print(
            f"Bản minh hoạ đã mở sổ đến tháng {max_opened(app)}, không mở thêm được (tối đa "
            f"{latest}); xoá dangphi.sqlite3 và dangphi.sqlite3.key để chạy lại từ đầu / "
            f"The demo has opened every month up to {max_opened(app)} and may open no more "
            f"(at most {latest}); delete dangphi.sqlite3 and dangphi.sqlite3.key to start again"
        )
        return 0
    opened = app.open_month(period)
    console.print(
        f"Mở sổ tháng {period}: {opened.branches} chi bộ, {opened.members} đảng viên, "
        f"phải thu {opened.amount:,} đ / opened {period}: {opened.branches} branches, "
        f"{opened.members} members, assessed {opened.amount:,} đ"
    )
    pay_by_qr(app, period, console)
    reconcile_statement(app, period, console)
    personal_account_branch(app, period, console)
    counts = pay_mix(app, period)
    console.print("Thu đảng phí / payments: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    closed = app.close_month(period, "TW")
    console.print(
        f"Khoá sổ: {closed.branches} chi bộ, đã thu {closed.amount:,} đ / closed: "
        f"{closed.branches} branches, collected {closed.amount:,} đ"
    )
    remit_up(app, period, console)
    console.print("Nộp cấp trên qua Cổng DVC quốc gia / remitted up to the Centre via the portal")
    reads = Reads(app)
    try:
        for table in balance_tables(app, reads, period):
            console.print(table)
        rates = reads.collection("TW", period)
        console.print(
            f"Tỉ lệ thu / collection rate {period}: {rates['members_paid']}/{rates['members_due']} "
            f"đảng viên nộp đủ / members paid in full ({rates['members_rate']}), "
            f"đã thu / phải thu / collected / assessed {rates['amount_rate']}"
        )
        auditor(app, reads, console)
    finally:
        reads.close()
    figures = check(app)
    rhs = (
        figures["retained"]
        + figures["unremitted"]
        + figures["unallocated"]
        + figures["credit"]
        + figures["in_transit"]
        - figures["spent"]
    )
    table = Table(title="Kiểm tra cân đối / Balance check (all months so far)")
    table.add_column("Khoản / Item")
    table.add_column("đ", justify="right")
    labels: list[tuple[str, Any]] = [
        ("Đảng viên đã nộp / paid by members", figures["paid"]),
        ("Các cấp giữ lại / retained by all levels", figures["retained"]),
        ("Chưa nộp cấp trên / payable, not yet remitted", figures["unremitted"]),
        ("Đã thu, chưa phân bổ / collected, month still open", figures["unallocated"]),
        ("Nộp trước (dư có) / members' credit", figures["credit"]),
        ("Đang chuyển / in transit", figures["in_transit"]),
        ("Đã chi / spent", figures["spent"]),
    ]
    for label, value in labels:
        table.add_row(label, f"{value:,}")
    console.print(table)
    ok = figures["paid"] == rhs and figures["postings_sum"] == 0
    if ok:
        console.print(
            f"[green]✓ Cân đối[/green]: {figures['paid']:,} = {rhs:,}; mọi bút toán cân (tổng = 0). "
            "Balanced: members' payments equal retained + unremitted + unallocated + credit + in transit."
        )
        return 0
    console.print(f"[red]✗ Không cân đối / NOT balanced[/red]: {figures}")
    return 1


def main_safe(app: DuesLedger, console: Console) -> int:
    try:
        return run_demo(app, console)
    except LedgerError as e:
        console.print(f"[red]Lỗi: {e.message_vi}\nError: {e.message_en}[/red]")
        return 2
