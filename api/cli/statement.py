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
from payment_gateways.statements import read_statement

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
    app = ledger(ctx)
    target = app.statement_account(org, account)
    statement = read_statement(
        file, bin_code=target["bin"], account_number=target["account_number"], layout=layout
    )
    counts = app.import_statement(
        org,
        list(statement.facts),
        opening_balance=statement.opening_balance,
        closing_balance=statement.closing_balance,
    )
    result = {
        **counts,
        "lines": len(statement.facts),
        "layout": statement.layout,
        "account": target["account_number"],
        "closing_balance": statement.closing_balance,
    }
    if as_json:
        print_json(result)
        return
    say(
        out(ctx),
        f"Sao kê {target['account_number']} ({statement.layout}): {len(statement.facts)} dòng, "
        f"{counts['new']} mới, {counts['already']} đã có; khớp {counts['matched']}, "
        f"đối chiếu {counts['cleared']}, đề xuất {counts['proposed']}, tạm giữ {counts['suspense']}, "
        f"chi chưa rõ {counts['flagged']}; số dư cuối {dong(statement.closing_balance)}",
        f"Statement {target['account_number']} ({statement.layout}): {len(statement.facts)} lines, "
        f"{counts['new']} new, {counts['already']} already recorded; {counts['matched']} matched, "
        f"{counts['cleared']} cleared, {counts['proposed']} proposed, {counts['suspense']} in suspense, "
        f"{counts['flagged']} unexplained outgoing; closing balance {dong(statement.closing_balance)}",
    )


def register(app: typer.Typer) -> None:
    app.add_typer(statement_app, name="statement")
