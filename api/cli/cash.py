"""`cash receive` and `cash deposit`: dues paid in hand, and cash taken to the bank.

Rule: cash received needs the receipt number (it keys the payment, so the same
receipt is never counted twice); a deposit gets a code to write on the slip,
and stays in transit until the account's bank line carrying it is matched.
"""

from __future__ import annotations

from typing import Annotated

import typer

from api.cli import inputs
from api.cli.context import ledger, out, reads
from api.cli.money import show_applied
from api.cli.render import dong, print_json, say

cash_app = typer.Typer(help="Tiền mặt / Cash.", no_args_is_help=True)


@cash_app.command("receive")
def receive(
    ctx: typer.Context,
    member: Annotated[str, typer.Option("--member", help="Mã đảng viên / Member code.")],
    amount: Annotated[str, typer.Option("--amount", help="Số tiền (đ) / Amount in đồng.")],
    receipt: Annotated[str, typer.Option("--receipt", help="Số biên lai / Receipt number.")],
    months: Annotated[str | None, typer.Option("--months", help="YYYY-MM,...")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="In JSON.")] = False,
) -> None:
    """Thu tiền mặt có biên lai / Record cash received, with its receipt number."""
    r = ledger(ctx).receive_cash(
        member,
        inputs.amount(amount),
        inputs.text(receipt, "receipt"),
        inputs.periods(months) if months is not None else None,
    )
    if as_json:
        print_json(
            {
                "reference": r.reference,
                "member": r.member_code,
                "amount": r.amount,
                "applied": r.applied,
                "to_credit": r.to_credit,
                "duplicate": r.duplicate,
            }
        )
        return
    console = out(ctx)
    say(
        console,
        f"Biên lai {receipt}: {dong(r.amount)} của {member}"
        + (" (đã ghi trước đó)" if r.duplicate else ""),
        f"Receipt {receipt}: {dong(r.amount)} from {member}"
        + (" (already recorded)" if r.duplicate else ""),
    )
    if not r.duplicate:  # where it went, as `pay` says it
        show_applied(console, r)


@cash_app.command("deposit")
def deposit(
    ctx: typer.Context,
    org: Annotated[str, typer.Option("--org", help="Mã tổ chức / Organisation code.")],
    amount: Annotated[str, typer.Option("--amount", help="Số tiền (đ) / Amount in đồng.")],
    slip: Annotated[str, typer.Option("--slip", help="Số giấy nộp tiền / Deposit slip number.")],
    as_json: Annotated[bool, typer.Option("--json", help="In JSON.")] = False,
) -> None:
    """Nộp tiền mặt vào ngân hàng / Record cash taken to the bank."""
    app = ledger(ctx)
    slip = inputs.text(slip, "slip")
    again = app.get_request_or_none(app.deposit_code(org, slip)) is not None
    request = app.deposit_cash(org, inputs.amount(amount), slip)
    summary = app.deposit_summary(request)
    summary["duplicate"] = again
    # Not refused: cash held before the ledger began has no record in it. But said, since
    # the books then show less than nothing in hand (docs/cli.md).
    summary["cash_in_books"] = int(reads(ctx).balance(org)["cash"])
    if as_json:
        print_json(summary)
        return
    console = out(ctx)
    if again:
        say(
            console,
            f"Giấy nộp tiền {slip} đã ghi trước đây, không ghi thêm: mã {request.code}",
            f"Deposit slip {slip} was recorded before, nothing recorded again: code {request.code}",
        )
        if summary["seen_on_statement"] and summary["in_transit"]:
            left = dong(summary["in_transit"])
            say(
                console,
                f"Ngân hàng mới báo về một phần; còn {left} chưa về tài khoản",
                f"The bank has shown part of it; {left} is not on the account yet",
            )
        return
    say(
        console,
        f"Nộp {dong(request.total)} vào tài khoản {summary['account']}: ghi mã {request.code} trên giấy nộp tiền",
        f"Depositing {dong(request.total)} into account {summary['account']}: write {request.code} on the slip",
    )
    if summary["cash_in_books"] < 0:
        short = dong(-summary["cash_in_books"])
        say(
            console,
            f"Cảnh báo: tiền mặt trên sổ của {org} âm {short} (nộp ngân hàng nhiều hơn "
            "tiền mặt đã ghi thu); kiểm tra lại số tiền",
            f"Warning: {org}'s cash in the books is {short} below zero (more taken to the "
            "bank than cash recorded as received); check the amount",
        )


def register(app: typer.Typer) -> None:
    app.add_typer(cash_app, name="cash")
