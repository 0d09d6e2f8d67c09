"""`statement import`: a bank statement file into the ledger, each line once.

Rule: the file is read and checked whole first (every bad line reported by its
line number, nothing recorded); the statement's account must be registered to
the organisation; re-importing the same or an overlapping file records only
lines not seen before.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from api.cli.context import ledger, out
from api.cli.render import dong, print_json, say
from api.money_ops import import_statement_file

statement_app = typer.Typer(help="Sao kê ngân hàng / Bank statements.", no_args_is_help=True)


@statement_app.command("import")
def import_statement(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="Tệp sao kê CSV hoặc XLSX.")],
    org: Annotated[str, typer.Option("--org", help="Mã tổ chức chủ tài khoản.")],
    account: Annotated[
        str | None, typer.Option("--account", help="Số tài khoản (nếu tổ chức có nhiều).")
    ] = None,
    layout: Annotated[
        str | None, typer.Option("--format", help="Mẫu cột của ngân hàng (mặc định: tự nhận).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="In JSON.")] = False,
) -> None:
    """Nhập sao kê / Import a bank statement (CSV or XLSX)."""
    r = import_statement_file(ledger(ctx), org, file, account=account, layout=layout)
    if as_json:
        print_json(r)
        return
    say(
        out(ctx),
        f"Sao kê {r['account']} ({r['layout']}): {r['lines']} dòng, "
        f"{r['new']} mới, {r['already']} đã có; khớp {r['matched']}, "
        f"đối chiếu {r['cleared']}, đảo {r['reversed']}, đề xuất {r['proposed']}, "
        f"tạm giữ {r['suspense']}, chi chưa rõ {r['flagged']}"
        + (f" ({r['held']} khoản khớp có phần dư tạm giữ)" if r["held"] else "")
        + f"; số dư cuối {dong(r['closing_balance'])}",
        f"Statement {r['account']} ({r['layout']}): {r['lines']} "
        f"line{'' if r['lines'] == 1 else 's'}, "
        f"{r['new']} new, {r['already']} already recorded; {r['matched']} matched, "
        f"{r['cleared']} cleared, {r['reversed']} reversed, {r['proposed']} proposed, "
        f"{r['suspense']} in suspense, {r['flagged']} unexplained outgoing"
        + (f" ({r['held']} matched with money held in suspense)" if r["held"] else "")
        + f"; closing balance {dong(r['closing_balance'])}",
    )
    for d in r["differing"]:
        was, now = d["recorded"], d["statement"]
        say(
            out(ctx),
            f"Cảnh báo: giao dịch {d['external_id']} ({d['value_date']}) đã ghi "
            f"{_dir_vi(was['direction'])} {dong(was['amount'])}, sao kê này in "
            f"{_dir_vi(now['direction'])} {dong(now['amount'])}; giữ bản ghi đầu, cần kiểm tra",
            f"Warning: line {d['external_id']} ({d['value_date']}) was recorded as "
            f"{was['direction']} {dong(was['amount'])}, this statement prints "
            f"{now['direction']} {dong(now['amount'])}; the first record is kept; look into it",
        )


def _dir_vi(direction: str) -> str:
    return "tiền vào" if direction == "in" else "tiền ra"


def register(app: typer.Typer) -> None:
    app.add_typer(statement_app, name="statement")
