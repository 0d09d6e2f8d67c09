"""`reconcile`: what the bank lines of an organisation's accounts came to.

Rule: one view for the treasurer: lines matched (by rule), proposals waiting
for confirmation, money in suspense, unexplained outgoing money, remittances
in transit from children, and for each registered account the last
statement's closing balance against the ledger's balance for that account on
the same date, with the differences listed. It only reads.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from api.cli.context import out, reads
from api.cli.render import dong, print_json, say, table
from api.cli.suspense import stale_note


def reconcile(
    ctx: typer.Context,
    org: Annotated[str, typer.Option("--org", help="Mã tổ chức / Organisation code.")],
    as_json: Annotated[bool, typer.Option("--json", help="In JSON.")] = False,
) -> None:
    """Đối chiếu ngân hàng / Bank reconciliation for an organisation."""
    report = reads(ctx).reconcile(org)  # bank lines from the read model, caught up first
    if as_json:
        print_json(report)
        return
    console = out(ctx)
    counts = report["matched"].items()
    matched_vi = ", ".join(f"{MATCHED_VI.get(k, k)} {v}" for k, v in counts) or "0"
    matched_en = ", ".join(f"{k} {v}" for k, v in counts) or "0"
    say(console, f"Đã khớp: {matched_vi}", f"Matched: {matched_en}")
    _items(console, "Đề xuất chờ xác nhận / Proposals to confirm", report["proposed"], True)
    _items(console, "Tạm giữ / Suspense", report["suspense"], False)
    _items(console, "Chi chưa rõ / Unexplained outgoing", report["flagged"], False)
    for r in report["in_transit"]:
        say(
            console,
            f"Đang chuyển từ {r['child']} (tháng {r['period']}): {dong(r['amount'])}",
            f"In transit from {r['child']} ({r['period']}): {dong(r['amount'])}",
        )
    for a in report["accounts"]:
        _account(console, a)


# how a line was matched or cleared (`matched` keys), in Vietnamese
MATCHED_VI = {
    "request": "yêu cầu thanh toán",
    "remittance": "tiền cấp dưới nộp",
    "deposit": "tiền mặt nộp vào",
    "refund": "hoàn trả",
    "spending": "khoản chi",
    "reversal": "ngân hàng hoàn lại",
    "payment": "khoản nộp đã ghi tay",  # `pay --channel bank --reference` the line showed
}


def _items(console: Any, title: str, items: list[dict[str, Any]], proposals: bool) -> None:
    if not items:
        return
    headers = ["ID", "Ngày / Date", "Số tiền / Amount", "Diễn giải / Narrative"]
    if proposals:
        headers.append("Đề xuất / Proposal")
    t = table(title, *headers, money=(2,), ids=(0, 1))
    for i in items:
        narrative = str(i["narrative"])
        if i.get("stale_proposal"):  # the member paid those months otherwise since
            narrative += f" — {stale_note(i['stale_proposal'])}"
        row = [i["id"], i["value_date"][:10], dong(i["amount"]), narrative]
        if proposals:
            p = i.get("proposal") or {}
            row.append(f"{p.get('member', '')} {','.join(p.get('months', []))}")
        t.add_row(*row)
    console.print(t)


def _account(console: Any, a: dict[str, Any]) -> None:
    number = a["account"]
    if a["statement_closing"] is None:
        say(
            console,
            f"Tài khoản {number}: chưa có sao kê có số dư ({a['lines']} giao dịch trong sổ)",
            f"Account {number}: no statement with balances yet ({a['lines']} lines in the ledger)",
        )
    else:
        agrees = a["difference"] == 0
        say(
            console,
            f"Tài khoản {number} ngày {a['as_of']}: sao kê {dong(a['statement_closing'])}, sổ "
            f"{dong(a['ledger_balance'])}, "
            + ("khớp" if agrees else f"chênh {dong(a['difference'])}"),
            f"Account {number} on {a['as_of']}: statement {dong(a['statement_closing'])}, ledger "
            f"{dong(a['ledger_balance'])}, "
            + ("agree" if agrees else f"differ by {dong(a['difference'])}"),
        )
    if a.get("before_opening"):
        say(
            console,
            f"  Số dư đầu kỳ ({a['opening']['on']}) đã gồm {dong(a['before_opening'])} của các "
            "giao dịch trong sổ ghi ngày trước đó; không tính hai lần",
            f"the opening balance ({a['opening']['on']}) already holds "
            f"{dong(a['before_opening'])} of lines in the ledger dated before it; not "
            "counted twice",
        )
    for s in a.get("same_day_closings", []):
        say(
            console,
            f"  Sao kê khác ({s['first']} – {s['last']}, {s['lines']} dòng) in số dư cuối "
            f"{dong(s['closing'])}; đối chiếu theo sao kê có số dư cuối khớp với sổ, nếu "
            f"không có thì sao kê có nhiều dòng nhất của ngày {s['last']}",
            f"another statement ({s['first']} – {s['last']}, {s['lines']} "
            f"line{'' if s['lines'] == 1 else 's'}) printed a "
            f"closing balance of {dong(s['closing'])}; compared with the one whose closing "
            f"agrees with the ledger, else the one holding most of {s['last']}'s lines",
        )
    for line in a["not_on_statement"]:
        say(
            console,
            f"  Có trong sổ, không có trên sao kê: {line['value_date']} {dong(line['amount'])} ({line['source']})",
            f"in the ledger, not on any statement: {line['value_date']} {dong(line['amount'])} ({line['source']})",
        )
    for line in a.get("reversed", []):
        seen = f"{line['value_date'][:10]} {dong(line['amount'])} ({line['external_id']}) {line['narrative']}"
        say(
            console,
            f"  Ngân hàng đã hoàn lại: {seen}",
            f"reversed by the bank: {seen}",
        )
    for b in a["balance_breaks"]:
        say(
            console,
            f"  Số dư sao kê nhảy ở {b['value_date']} ({b['external_id']}): lẽ ra {dong(b['expected'])}, in {dong(b['printed'])} (thiếu dòng?)",
            f"statement balance jumps at {b['value_date']} ({b['external_id']}): expected {dong(b['expected'])}, printed {dong(b['printed'])} (a missing line?)",
        )


def register(app: typer.Typer) -> None:
    app.command("reconcile")(reconcile)
