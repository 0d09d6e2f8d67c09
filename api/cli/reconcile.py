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
    matched = ", ".join(f"{k} {v}" for k, v in report["matched"].items()) or "0"
    say(console, f"Đã khớp: {matched}", f"Matched: {matched}")
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


def _items(console: Any, title: str, items: list[dict[str, Any]], proposals: bool) -> None:
    if not items:
        return
    t = table(title, "ID", "Ngày / Date", "Số tiền / Amount", "Diễn giải / Narrative", "", ids=(0,))
    for i in items:
        p = i.get("proposal")
        extra = f"{p['member']} {','.join(p['months'])}" if proposals and p else ""
        t.add_row(i["id"], i["value_date"], dong(i["amount"]), i["narrative"], extra)
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
    for s in a.get("same_day_closings", []):
        say(
            console,
            f"  Sao kê khác ({s['first']} – {s['last']}, {s['lines']} dòng) in số dư cuối "
            f"{dong(s['closing'])}; đối chiếu theo sao kê có nhiều dòng nhất của ngày "
            f"{s['last']} (bằng nhau: sao kê nhập sau cùng)",
            f"Another statement ({s['first']} – {s['last']}, {s['lines']} lines) printed a "
            f"closing balance of {dong(s['closing'])}; compared with the one holding most of "
            f"{s['last']}'s lines (if as many, the last imported)",
        )
    for line in a["not_on_statement"]:
        say(
            console,
            f"  Có trong sổ, không có trên sao kê: {line['value_date']} {dong(line['amount'])} ({line['source']})",
            f"  In the ledger, not on any statement: {line['value_date']} {dong(line['amount'])} ({line['source']})",
        )
    for b in a["balance_breaks"]:
        say(
            console,
            f"  Số dư sao kê nhảy ở {b['value_date']} ({b['external_id']}): lẽ ra {dong(b['expected'])}, in {dong(b['printed'])} (thiếu dòng?)",
            f"  Statement balance jumps at {b['value_date']} ({b['external_id']}): expected {dong(b['expected'])}, printed {dong(b['printed'])} (a missing line?)",
        )


def register(app: typer.Typer) -> None:
    app.command("reconcile")(reconcile)
